//! PLACEHOLDER resolver: prefix patterns only; replaced by the full resolver.
use std::collections::BTreeMap;

use crate::config::{ConfigError, RouteSettings, RoutesConfig};

#[derive(Debug, Clone)]
pub struct ResolvedRouteConfig {
    pub settings: RouteSettings,
    pub sources: BTreeMap<String, String>,
    pub matched_patterns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct RouteConfigResolver {
    routes: RoutesConfig,
}

impl RouteConfigResolver {
    pub fn new(routes: &RoutesConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            routes: routes.clone(),
        })
    }

    pub fn resolve(
        &self,
        path: &str,
        _methods: &[&str],
        code: Option<&RouteSettings>,
    ) -> ResolvedRouteConfig {
        let mut settings = self.routes.global_defaults.clone();
        let mut matched = Vec::new();
        for (pattern, values, _) in &self.routes.patterns {
            let hit = match pattern.strip_suffix("/*") {
                Some(prefix) => path.starts_with(&format!("{prefix}/")),
                None => pattern == path,
            };
            if hit {
                matched.push(pattern.clone());
                settings.extend(values.clone());
            }
        }
        if let Some(code) = code {
            settings.extend(code.clone());
        }
        ResolvedRouteConfig {
            settings,
            sources: BTreeMap::new(),
            matched_patterns: matched,
        }
    }
}
