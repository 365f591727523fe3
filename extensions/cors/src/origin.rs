//! Which origins a route accepts: `*`, exact origins, and patterns with a wildcard
//! leading label (`https://*.example.com`) or a wildcard port (`http://localhost:*`).

use std::collections::HashSet;

/// The compiled `allow_origins` list.
#[derive(Debug, Clone)]
pub enum Origins {
    /// `*`: every origin, answered with `Access-Control-Allow-Origin: *`.
    Any,
    List {
        exact: HashSet<String>,
        patterns: Vec<Pattern>,
    },
}

/// One origin pattern. Browsers send origins lowercase and without a default port, and the
/// configured entries are normalized the same way, so matching compares bytes.
#[derive(Debug, Clone)]
pub struct Pattern {
    scheme: String,
    host: HostRule,
    port: PortRule,
}

#[derive(Debug, Clone)]
enum HostRule {
    Exact(String),
    /// `*.example.com`: one or more labels before `.example.com` (kept with its dot).
    Subdomains(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortRule {
    Exact(Option<String>),
    Any,
}

impl Origins {
    /// Compiles `allow_origins`; an error names the index of the bad entry.
    pub fn compile(entries: &[String], key: &str) -> Result<Origins, String> {
        let mut exact = HashSet::new();
        let mut patterns = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let entry = entry.trim();
            if entry == "*" {
                return Ok(Origins::Any);
            }
            if entry == "null" {
                exact.insert(entry.to_string());
                continue;
            }
            let pattern = Pattern::parse(entry)
                .map_err(|reason| format!("{key}[{index}]: {entry:?} {reason}"))?;
            match pattern {
                Pattern {
                    scheme,
                    host: HostRule::Exact(host),
                    port: PortRule::Exact(port),
                } => {
                    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                    exact.insert(format!("{scheme}://{host}{port}"));
                }
                pattern => patterns.push(pattern),
            }
        }
        Ok(Origins::List { exact, patterns })
    }

    /// True when no origin at all is allowed (the extension then stays out of the route).
    pub fn is_empty(&self) -> bool {
        matches!(self, Origins::List { exact, patterns } if exact.is_empty() && patterns.is_empty())
    }

    /// The origins listed exactly (not by a pattern), as browsers send them.
    pub fn listed(&self) -> impl Iterator<Item = &str> {
        let exact = match self {
            Origins::Any => None,
            Origins::List { exact, .. } => Some(exact),
        };
        exact.into_iter().flatten().map(String::as_str)
    }

    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Origins::Any => true,
            Origins::List { exact, patterns } => {
                exact.contains(origin) || patterns.iter().any(|p| p.matches(origin))
            }
        }
    }
}

impl Pattern {
    fn parse(entry: &str) -> Result<Pattern, String> {
        const SHAPE: &str = "is not an origin: expected scheme://host[:port] with no path, \
            e.g. https://app.example.com or https://*.example.com";
        let entry = entry.to_ascii_lowercase();
        let (scheme, rest) = entry.split_once("://").ok_or(SHAPE)?;
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_ok || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(SHAPE.into());
        }
        let (host, port) = split_host_port(rest).ok_or(SHAPE)?;
        let port = match port {
            None => PortRule::Exact(None),
            Some("*") => PortRule::Any,
            Some(port) if port.parse::<u16>().is_ok() && !port.starts_with('+') => {
                // Browsers leave the scheme's default port out of the origin they send.
                let default = matches!((scheme, port), ("http", "80") | ("https", "443"));
                PortRule::Exact((!default).then(|| port.to_string()))
            }
            Some(_) => return Err(format!("{SHAPE} (the port must be a number or *)")),
        };
        let host = if let Some(suffix) = host.strip_prefix("*.") {
            if !valid_labels(suffix) {
                return Err(SHAPE.into());
            }
            HostRule::Subdomains(format!(".{suffix}"))
        } else if host.contains('*') {
            return Err("has a wildcard that is not a whole leading label \
                (write https://*.example.com)"
                .into());
        } else if host.starts_with('[') || valid_labels(host) {
            HostRule::Exact(host.to_string())
        } else {
            return Err(SHAPE.into());
        };
        Ok(Pattern {
            scheme: scheme.to_string(),
            host,
            port,
        })
    }

    fn matches(&self, origin: &str) -> bool {
        let Some((scheme, rest)) = origin.split_once("://") else {
            return false;
        };
        let Some((host, port)) = split_host_port(rest) else {
            return false;
        };
        if scheme != self.scheme {
            return false;
        }
        let port_ok = match &self.port {
            // A port is digits only: `localhost:*` must not take `localhost:evil` or
            // `localhost:80.evil.com` (another host to anyone who reads past the colon).
            PortRule::Any => port.is_none_or(is_port),
            PortRule::Exact(expected) => expected.as_deref() == port,
        };
        port_ok
            && match &self.host {
                HostRule::Exact(expected) => host == expected,
                HostRule::Subdomains(suffix) => host
                    .strip_suffix(suffix.as_str())
                    .is_some_and(|labels| !labels.is_empty() && valid_labels(labels)),
            }
    }
}

/// `host[:port]` or `[v6]:port`; `None` when the text cannot be an origin's authority.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        None => Some((authority, None)),
        Some((host, port)) if !port.contains(':') => Some((host, Some(port))),
        Some(_) => None,
    }
}

/// A port as an origin carries it: 1 to 5 ASCII digits, at most 65535.
fn is_port(text: &str) -> bool {
    (1..=5).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u16>().is_ok()
}

/// Dot-separated, non-empty labels of lowercase letters, digits, `-` and `_`.
fn valid_labels(host: &str) -> bool {
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(entries: &[&str]) -> Origins {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        Origins::compile(&entries, "allow_origins").unwrap()
    }

    #[test]
    fn a_port_wildcard_takes_digits_only() {
        let local = origins(&["http://localhost:*"]);
        for origin in [
            "http://localhost",
            "http://localhost:1",
            "http://localhost:8080",
            "http://localhost:65535",
        ] {
            assert!(local.allows(origin), "{origin}");
        }
        for origin in [
            "http://localhost:evil",
            "http://localhost:80.evil.com",
            "http://localhost:",
            "http://localhost:+80",
            "http://localhost:-1",
            "http://localhost:65536",
            "http://localhost:000080",
            "http://localhost:8080/",
            "https://localhost:8080",
            "http://localhost.evil.com:8080",
        ] {
            assert!(!local.allows(origin), "{origin}");
        }
    }
}
