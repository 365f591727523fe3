//! The filter: issues the token on safe requests, checks it on the others.

use std::sync::Arc;

use beginnings_abi::log::debug;
use beginnings_abi::{Action, Counter, Error, Filter, Hooks, Reply, Request, Response};
use cookie::Cookie;

use crate::config::Binding;
use crate::token::{Signer, same};

/// The request value that carries the token to later extensions, handlers and templates.
pub const TOKEN_VALUE: &str = "csrf.token";

/// What every filter of one extension instance shares.
pub struct Settings {
    pub signer: Signer,
    pub cookie_name: String,
    pub header_name: String,
    pub field_name: String,
    pub bind_to: Option<Binding>,
    /// The `Set-Cookie` attributes after the value (`; Path=/; SameSite=Lax; Secure`).
    pub cookie_attributes: String,
    pub rejected: Counter,
}

pub struct CsrfFilter {
    pub settings: Arc<Settings>,
}

/// The cookie to set on the answer, when the request hook issued a token.
#[derive(Default)]
pub struct CsrfState {
    set_cookie: Option<String>,
}

/// Methods that must not change state, so never need a token (RFC 9110, section 9.2.1).
fn is_safe(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
}

impl CsrfFilter {
    /// Every value of the token cookie (a cookie from a sibling domain may sit beside ours).
    fn cookies<'r>(&self, request: &'r Request<'_>) -> Vec<&'r str> {
        named_cookies(request, &self.settings.cookie_name).collect()
    }

    /// The session identifier the token is bound to; empty when there is none (yet).
    fn binding(&self, request: &Request<'_>) -> String {
        match &self.settings.bind_to {
            None => String::new(),
            Some(Binding::Cookie(name)) => named_cookies(request, name)
                .next()
                .unwrap_or_default()
                .to_string(),
            Some(Binding::Value(name)) => request.value(name).unwrap_or_default().to_string(),
        }
    }

    /// The token the request submits: the header, else the form field of a urlencoded body.
    fn submitted(&self, request: &Request<'_>) -> Option<String> {
        if let Some(token) = request.header(&self.settings.header_name) {
            return Some(token.trim().to_string());
        }
        let form = request.header("content-type").is_some_and(|kind| {
            kind.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
        if !form {
            return None;
        }
        form_urlencoded::parse(request.body())
            .find(|(name, _)| *name == self.settings.field_name)
            .map(|(_, value)| value.into_owned())
    }

    /// Why an unsafe request is refused, if it is.
    fn refusal(&self, request: &Request<'_>, binding: &[u8]) -> Option<&'static str> {
        let cookies = self.cookies(request);
        if cookies.is_empty() {
            return Some("csrf cookie missing");
        }
        let Some(submitted) = self.submitted(request) else {
            return Some("csrf token missing");
        };
        let valid = cookies
            .iter()
            .any(|cookie| same(&submitted, cookie) && self.settings.signer.verify(cookie, binding));
        (!valid).then_some("csrf token invalid")
    }
}

impl Filter for CsrfFilter {
    type State = CsrfState;

    /// Both hooks; the request hook reads the form field of urlencoded bodies.
    fn hooks(&self) -> Hooks {
        Hooks::none().request().response().body()
    }

    fn on_request(
        &self,
        state: &mut CsrfState,
        request: &mut Request<'_>,
    ) -> Result<Action, Error> {
        let binding = self.binding(request);
        let binding = binding.as_bytes();
        let token = if is_safe(request.method()) {
            let known = self
                .cookies(request)
                .into_iter()
                .find(|cookie| self.settings.signer.verify(cookie, binding))
                .map(str::to_string);
            match known {
                Some(token) => token,
                // None yet, or one from another session or secret: a fresh token.
                None => {
                    let token = self
                        .settings
                        .signer
                        .issue(binding)
                        .map_err(|e| Error::new(format!("csrf token: no randomness: {e}")))?;
                    state.set_cookie = Some(format!(
                        "{}={token}{}",
                        self.settings.cookie_name, self.settings.cookie_attributes
                    ));
                    token
                }
            }
        } else {
            if let Some(reason) = self.refusal(request, binding) {
                self.settings.rejected.add(1);
                debug!("{} {}: {reason}", request.method(), request.path());
                return Ok(Action::Respond(Reply::error(403, reason)));
            }
            // Checked above: the submitted token equals a valid cookie.
            self.submitted(request).unwrap_or_default()
        };
        request.set_value(TOKEN_VALUE, &token)?;
        Ok(Action::Continue)
    }

    fn on_response(&self, state: &mut CsrfState, response: &mut Response<'_>) -> Result<(), Error> {
        match state.set_cookie.take() {
            // Appended: the application's own cookies on this answer stay.
            Some(cookie) => response.append_header("set-cookie", &cookie),
            None => Ok(()),
        }
    }
}

/// Every value of cookie `name`, from every `Cookie` line in order: an HTTP/2 client may
/// send each cookie in a field of its own (RFC 9113, section 8.2.3), so reading only the
/// first line would miss the token or, worse, the session the token is bound to.
fn named_cookies<'r, 'n>(
    request: &'r Request<'_>,
    name: &'n str,
) -> impl Iterator<Item = &'r str> + use<'r, 'n> {
    request
        .header_values("cookie")
        .into_iter()
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name() == name)
        .filter_map(|cookie| cookie.value_raw())
}
