//! Who is asking: the user whose token the auth extension verified.
//!
//! The extension only checks tokens on routes whose settings say `auth_required: true`;
//! every handler that changes data asks for a caller itself as well, so a configuration that
//! forgets the setting answers 401 instead of letting anyone in.

use beginnings::routing::StatusCode;
use beginnings::{IntoResponse, Json, Request};
use serde_json::json;

use super::input::{Failure, Outcome};

/// A verified user: `sub` of the token is the user's id.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub id: i64,
    pub admin: bool,
}

impl Caller {
    /// The caller of a route that needs a login: 401 without a verified token, and for a
    /// token whose `sub` is missing or not a user id (such a token names nobody, so it
    /// may act for nobody, rather than falling back to an id the body names).
    pub fn required(request: &Request) -> Outcome<Caller> {
        if request.value("auth.method").is_none() {
            return Err(unauthenticated(
                "invalid_request",
                "log in first: send the token from POST /api/v1/login as `Authorization: Bearer <token>`",
            ));
        }
        let id = request
            .value("auth.subject")
            .and_then(|subject| subject.parse::<i64>().ok())
            .ok_or_else(|| {
                unauthenticated(
                    "invalid_token",
                    "the token names no user: its `sub` claim must be a user id",
                )
            })?;
        let admin = request
            .value("auth.roles")
            .is_some_and(|roles| roles.split(',').any(|role| role == "admin"));
        Ok(Caller { id, admin })
    }

    /// 403 unless the caller is user `owner` or an admin.
    pub fn may_act_for(self, owner: i64, what: &str) -> Outcome<()> {
        if self.id == owner || self.admin {
            Ok(())
        } else {
            Err(Failure::status(
                StatusCode::FORBIDDEN,
                format!("only {what} or an admin may do this"),
            ))
        }
    }
}

/// A 401 in the error shape, with the RFC 6750 challenge a bearer client expects.
fn unauthenticated(error: &str, message: &str) -> Failure {
    let challenge = format!("Bearer realm=\"api\", error=\"{error}\"");
    let body = json!({"error": {"status": 401, "message": message}});
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Ok(value) = challenge.parse() {
        response.headers_mut().insert("www-authenticate", value);
    }
    Failure::Answer(Box::new(response))
}
