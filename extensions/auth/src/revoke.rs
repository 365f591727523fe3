//! `POST <revoke_path>`: the extension answers the request itself, for callers with
//! `revoke_role`. The token to revoke comes in the `Revoke-Token` header (or a `jti` in the
//! query), since the filter does not buffer bodies.

use beginnings_abi::json::Value;
use beginnings_abi::{Action, Error, Reply, Request};
use percent_encoding::percent_decode_str;

use crate::authenticator::Authenticator;
use crate::identity::Identity;
use crate::revocation::Revocation;

/// The request header that carries the token `POST <revoke_path>` revokes.
pub const REVOKE_TOKEN_HEADER: &str = "revoke-token";

/// What is to be revoked: a whole token, or every token carrying a `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Token(String),
    Jti { jti: String, ttl: Option<u64> },
}

/// Whether the request is a call of the revoke endpoint.
pub fn is_call(revocation: &Revocation, request: &Request<'_>) -> bool {
    revocation
        .endpoint
        .as_ref()
        .is_some_and(|(path, _)| request.method() == "POST" && request.path() == path)
}

/// The endpoint's answer: 204 once the entry is stored (or when the token has expired
/// already), 403 without the role, 400 for a bad target, 503 when the store fails.
pub async fn answer(
    shared: &Authenticator,
    revocation: &Revocation,
    identity: &Identity,
    request: &mut Request<'_>,
) -> Action {
    let Some((_, role)) = &revocation.endpoint else {
        return Action::Continue;
    };
    if !identity.roles.iter().any(|r| r == role) {
        shared.stats.forbidden.add();
        let message = format!("requires the role: {role}");
        return Action::Respond(shared.answers.forbidden(identity.method, &message, ""));
    }
    let Some(verifier) = shared.verifier() else {
        return Action::Respond(Reply::error(500, "no jwt verifier configured"));
    };
    let target = match Target::from_request(request.header(REVOKE_TOKEN_HEADER), request.query()) {
        Ok(target) => target,
        Err(message) => return Action::Respond(Reply::error(400, &message)),
    };
    let entry = match revocation.entry(&target, verifier) {
        Ok(Some(entry)) => entry,
        // An expired token is refused anyway: nothing to store.
        Ok(None) => return Action::Respond(done()),
        Err(message) => return Action::Respond(Reply::error(400, &message)),
    };
    match revocation.store(&entry).await {
        Ok(()) => Action::Respond(done()),
        // A revocation that was not stored must not look like one that was, whatever
        // `on_store_error` says about checks.
        Err(_) => Action::Respond(
            Reply::error(503, "the revocation could not be stored").header("retry-after", "1"),
        ),
    }
}

fn done() -> Reply {
    Reply::new(204).header("cache-control", "no-store")
}

impl Target {
    /// The command's argument: a token or a `jti` as a string (a token has two dots), or
    /// `{"token": ..}` or `{"jti": .., "ttl_seconds": ..}`.
    pub fn from_argument(argument: &Value) -> Result<Target, Error> {
        let usage = "revoke: expected a token or a jti (a string, {\"token\": ..} or \
                     {\"jti\": .., \"ttl_seconds\": ..})";
        let target = match argument {
            Value::String(text) if text.matches('.').count() == 2 => Target::Token(text.clone()),
            Value::String(jti) => Target::Jti {
                jti: jti.clone(),
                ttl: None,
            },
            Value::Object(map) => match (map.get("token"), map.get("jti")) {
                (Some(Value::String(token)), None) => Target::Token(token.clone()),
                (None, Some(Value::String(jti))) => Target::Jti {
                    jti: jti.clone(),
                    ttl: match map.get("ttl_seconds") {
                        None => None,
                        Some(ttl) => Some(ttl.as_u64().ok_or_else(|| {
                            Error::new("revoke: ttl_seconds must be a whole number of seconds")
                        })?),
                    },
                },
                _ => return Err(Error::new(usage)),
            },
            _ => return Err(Error::new(usage)),
        };
        target
            .checked()
            .map_err(|e| Error::new(format!("revoke: {e}")))
    }

    /// The target of `POST <revoke_path>`: the `Revoke-Token` header (the bare token or
    /// `Bearer <token>`), else the query's `jti` (and optional `ttl_seconds`).
    pub fn from_request(token_header: Option<&str>, query: &str) -> Result<Target, String> {
        if let Some(header) = token_header {
            let token = header.trim();
            let token = match token.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => token,
            };
            return Target::Token(token.to_string()).checked();
        }
        let mut jti = None;
        let mut ttl = None;
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(&value.replace('+', " "))
                .decode_utf8()
                .map_err(|_| format!("{name}: not UTF-8"))?
                .into_owned();
            match name {
                "jti" => jti = Some(value),
                "ttl_seconds" => {
                    ttl = Some(value.parse::<u64>().map_err(|_| {
                        "ttl_seconds: must be a whole number of seconds".to_string()
                    })?)
                }
                _ => {}
            }
        }
        match jti {
            Some(jti) => Target::Jti { jti, ttl }.checked(),
            None => Err(format!(
                "name what to revoke: the token in the {REVOKE_TOKEN_HEADER} header, or ?jti="
            )),
        }
    }

    fn checked(self) -> Result<Target, String> {
        match &self {
            Target::Token(token) if token.is_empty() => Err("the token is empty".into()),
            Target::Jti { jti, .. } if jti.is_empty() => Err("the jti is empty".into()),
            Target::Jti { jti, .. } if jti.len() > 1024 => {
                Err("the jti is longer than 1024 bytes".into())
            }
            _ => Ok(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use beginnings_abi::json::json;

    use super::Target;

    fn jti(jti: &str, ttl: Option<u64>) -> Target {
        Target::Jti {
            jti: jti.into(),
            ttl,
        }
    }

    #[test]
    fn command_arguments_name_a_token_or_a_jti() {
        let token = "aaa.bbb.ccc";
        assert_eq!(
            Target::from_argument(&json!(token)).unwrap(),
            Target::Token(token.into())
        );
        assert_eq!(
            Target::from_argument(&json!("id-1")).unwrap(),
            jti("id-1", None)
        );
        assert_eq!(
            Target::from_argument(&json!({"jti": "id-1", "ttl_seconds": 30})).unwrap(),
            jti("id-1", Some(30))
        );
        for bad in [
            json!(null),
            json!(""),
            json!({"jti": 5}),
            json!({"token": "a", "jti": "b"}),
        ] {
            assert!(Target::from_argument(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_name_a_token_in_a_header_or_a_jti_in_the_query() {
        assert_eq!(
            Target::from_request(Some("Bearer aaa.bbb.ccc"), "").unwrap(),
            Target::Token("aaa.bbb.ccc".into())
        );
        assert_eq!(
            Target::from_request(None, "x=1&jti=a%2Fb&ttl_seconds=9").unwrap(),
            jti("a/b", Some(9))
        );
        assert!(Target::from_request(None, "").is_err());
        assert!(Target::from_request(None, "jti=a&ttl_seconds=soon").is_err());
    }
}
