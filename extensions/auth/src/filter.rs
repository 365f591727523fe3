//! The per-route filter: authenticate, check the route's roles and scopes, hand on the identity.

use std::sync::Arc;

use beginnings_abi::json::Value;
use beginnings_abi::{Action, Error, Filter, Hooks, Reply, Request, Route};
use serde::{Deserialize, Deserializer};

use crate::authenticator::{Authenticator, Failure, bearer_token};
use crate::config::{OneOrMany, StorePolicy};
use crate::identity::Identity;
use crate::revocation::Revocation;

/// The names of the route settings the extension reads: the fields of [`RouteSettings`].
pub mod settings {
    /// `true` makes the extension check the route; `false`, `null` or absent leaves it open.
    pub const AUTH_REQUIRED: &str = "auth_required";
    /// Any one of these roles is enough.
    pub const ROLES: &str = "roles";
    /// Every one of these scopes is needed.
    pub const SCOPES: &str = "scopes";
    /// The same as `scopes` (both lists are needed when both are set).
    pub const PERMISSIONS: &str = "permissions";
    pub const ALL: [&str; 4] = [AUTH_REQUIRED, ROLES, SCOPES, PERMISSIONS];
}

/// The route settings the extension reads (its `RouteConfig`); the field names are the keys
/// in [`settings::ALL`]. Routes whose values for them are equal share one filter.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RouteSettings {
    /// `true` makes the extension check the route; absent or `null` leaves it open, any
    /// other value is an error naming the route and the key.
    pub auth_required: Option<bool>,
    /// A string or list of roles. Read only where the filter is built (an unchecked route
    /// is not refused for a malformed one); `Some(Value::Null)` when written as `null`.
    #[serde(deserialize_with = "present")]
    pub roles: Option<Value>,
    /// A string or list of scopes, read as `roles` is.
    #[serde(deserialize_with = "present")]
    pub scopes: Option<Value>,
    /// A string or list of permissions, read as `roles` is.
    #[serde(deserialize_with = "present")]
    pub permissions: Option<Value>,
}

impl RouteSettings {
    /// Whether the route names roles, scopes or permissions (even as `null`).
    pub fn names_requirements(&self) -> bool {
        self.roles.is_some() || self.scopes.is_some() || self.permissions.is_some()
    }
}

/// A key that is present, whatever its value: `None` only when the key is absent.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

pub struct AuthFilter {
    pub(crate) shared: Arc<Authenticator>,
    rule: Rule,
    /// False only on the revoke endpoint's route when it does not say `auth_required`:
    /// there only the endpoint itself is guarded.
    required: bool,
}

/// What a route asks of an authenticated identity.
struct Rule {
    any_role: Vec<String>,
    all_scopes: Vec<String>,
    /// `all_scopes` space-separated, for the 403 challenge.
    scope_text: String,
}

impl AuthFilter {
    /// The filter for a route's settings; the path only names the route in errors.
    pub fn new(
        shared: Arc<Authenticator>,
        route: &Route<'_, RouteSettings>,
    ) -> Result<Self, Error> {
        let given = route.settings;
        let required = given.auth_required.unwrap_or(false);
        let list = |key: &str, value: &Option<Value>| -> Result<Vec<String>, Error> {
            match value {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(value) => OneOrMany::deserialize(value)
                    .map(OneOrMany::into_vec)
                    .map_err(|e| Error::new(format!("route {}: {key}: {e}", route.path))),
            }
        };
        let any_role = list(settings::ROLES, &given.roles)?;
        let mut all_scopes = list(settings::SCOPES, &given.scopes)?;
        for permission in list(settings::PERMISSIONS, &given.permissions)? {
            if !all_scopes.contains(&permission) {
                all_scopes.push(permission);
            }
        }
        let scope_text = all_scopes.join(" ");
        Ok(AuthFilter {
            shared,
            required,
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

impl AuthFilter {
    /// The identity behind the request's credentials, or the 401 answer.
    fn identify(&self, request: &Request<'_>) -> Result<Arc<Identity>, Action> {
        self.shared.authenticate(request).map_err(|failure| {
            self.shared.stats.rejected.add();
            Action::Respond(self.shared.answers.unauthorized(request, failure))
        })
    }

    /// Checks the route's roles and scopes, then hands the identity on.
    fn admit(&self, identity: &Identity, request: &mut Request<'_>) -> Result<Action, Error> {
        let shared = &self.shared;
        if let Some(message) = self.rule.refusal(identity) {
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

    /// `None` when the token is not on the revocation list, else the answer.
    async fn revoked(
        &self,
        revocation: &Revocation,
        identity: &Identity,
        request: &mut Request<'_>,
    ) -> Option<Action> {
        let token = request
            .header_by(&self.shared.authorization)
            .and_then(bearer_token)?;
        let key = Revocation::key_of(identity, token)?;
        match revocation.is_revoked(&key).await {
            Ok(false) => None,
            Ok(true) => {
                self.shared.stats.revoked.add();
                self.shared.stats.rejected.add();
                let failure = Failure::Invalid("the token has been revoked");
                Some(Action::Respond(
                    self.shared.answers.unauthorized(request, failure),
                ))
            }
            // The host logs the outage once and counts every failed operation.
            Err(_) => match revocation.on_error {
                StorePolicy::Open => None,
                StorePolicy::Closed => Some(Action::Respond(
                    Reply::error(503, "token revocation cannot be checked")
                        .header("retry-after", "1"),
                )),
            },
        }
    }
}

/// A CORS preflight never carries credentials (Fetch standard); refusing it would keep
/// browsers from ever sending the real, authenticated request.
fn is_preflight(request: &Request<'_>) -> bool {
    request.method() == "OPTIONS" && request.header("access-control-request-method").is_some()
}

impl Filter for AuthFilter {
    type State = ();

    /// A request hook only; with a revocation list every request waits for the shared
    /// store, so the hook is the asynchronous one.
    fn hooks(&self) -> Hooks {
        if self.shared.revocation.is_some() {
            Hooks::none().request_async()
        } else {
            Hooks::none().request()
        }
    }

    fn on_request(&self, _state: &mut (), request: &mut Request<'_>) -> Result<Action, Error> {
        if is_preflight(request) || !self.required {
            return Ok(Action::Continue);
        }
        match self.identify(request) {
            Ok(identity) => self.admit(&identity, request),
            Err(answer) => Ok(answer),
        }
    }

    async fn on_request_async(
        &self,
        state: &mut (),
        request: &mut Request<'_>,
    ) -> Result<Action, Error> {
        let Some(revocation) = &self.shared.revocation else {
            return self.on_request(state, request);
        };
        let revoke_call = crate::revoke::is_call(revocation, request);
        if !revoke_call && (is_preflight(request) || !self.required) {
            return Ok(Action::Continue);
        }
        let identity = match self.identify(request) {
            Ok(identity) => identity,
            Err(answer) => return Ok(answer),
        };
        if let Some(answer) = self.revoked(revocation, &identity, request).await {
            return Ok(answer);
        }
        if revoke_call {
            return Ok(crate::revoke::answer(&self.shared, revocation, &identity, request).await);
        }
        self.admit(&identity, request)
    }
}
