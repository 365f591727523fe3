//! The per-route filter: authenticate, check the route's roles and scopes, hand on the identity.

use std::sync::Arc;

use beginnings_abi::{Action, Error, Filter, Request, Route};

use crate::authenticator::Authenticator;
use crate::config::OneOrMany;
use crate::identity::Identity;

/// The route settings the extension reads.
pub mod settings {
    /// `true` makes the extension check the route; any other value leaves it open.
    pub const AUTH_REQUIRED: &str = "auth_required";
    /// Any one of these roles is enough.
    pub const ROLES: &str = "roles";
    /// Every one of these scopes is needed.
    pub const SCOPES: &str = "scopes";
    /// The same as `scopes` (both lists are needed when both are set).
    pub const PERMISSIONS: &str = "permissions";
    pub const ALL: [&str; 4] = [AUTH_REQUIRED, ROLES, SCOPES, PERMISSIONS];
}

pub struct AuthFilter {
    shared: Arc<Authenticator>,
    rule: Rule,
}

/// What a route asks of an authenticated identity.
struct Rule {
    any_role: Vec<String>,
    all_scopes: Vec<String>,
    /// `all_scopes` space-separated, for the 403 challenge.
    scope_text: String,
}

impl AuthFilter {
    pub fn new(shared: Arc<Authenticator>, route: &Route<'_>) -> Result<Self, Error> {
        let list = |key: &str| -> Result<Vec<String>, Error> {
            Ok(route
                .setting::<OneOrMany>(key)?
                .map(OneOrMany::into_vec)
                .unwrap_or_default())
        };
        let any_role = list(settings::ROLES)?;
        let mut all_scopes = list(settings::SCOPES)?;
        for permission in list(settings::PERMISSIONS)? {
            if !all_scopes.contains(&permission) {
                all_scopes.push(permission);
            }
        }
        let scope_text = all_scopes.join(" ");
        Ok(AuthFilter {
            shared,
            rule: Rule {
                any_role,
                all_scopes,
                scope_text,
            },
        })
    }
}

impl Rule {
    /// `None` when the identity may pass, else what it lacks.
    fn refusal(&self, identity: &Identity) -> Option<String> {
        if !self.any_role.is_empty() && !self.any_role.iter().any(|r| identity.roles.contains(r)) {
            return Some(format!(
                "requires one of the roles: {}",
                self.any_role.join(", ")
            ));
        }
        let missing: Vec<&str> = self
            .all_scopes
            .iter()
            .filter(|s| !identity.scopes.contains(s))
            .map(String::as_str)
            .collect();
        (!missing.is_empty()).then(|| format!("missing scopes: {}", missing.join(", ")))
    }
}

impl Filter for AuthFilter {
    type State = ();
    const ON_RESPONSE: bool = false;

    fn on_request(&self, _state: &mut (), request: &mut Request<'_>) -> Result<Action, Error> {
        // A CORS preflight never carries credentials (Fetch standard); refusing it would
        // keep browsers from ever sending the real, authenticated request.
        if request.method() == "OPTIONS"
            && request.header("access-control-request-method").is_some()
        {
            return Ok(Action::Continue);
        }
        let shared = &self.shared;
        let identity = match shared.authenticate(request) {
            Ok(identity) => identity,
            Err(failure) => {
                shared.stats.rejected.add();
                return Ok(Action::Respond(
                    shared.answers.unauthorized(request, failure),
                ));
            }
        };
        if let Some(message) = self.rule.refusal(&identity) {
            shared.stats.forbidden.add();
            return Ok(Action::Respond(shared.answers.forbidden(
                identity.method,
                &message,
                &self.rule.scope_text,
            )));
        }
        shared.stats.accepted.add();
        identity.attach(request)?;
        Ok(Action::Continue)
    }
}
