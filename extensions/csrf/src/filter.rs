//! The filter: issues the token on safe requests, checks it on the others.

use std::borrow::Cow;
use std::sync::Arc;

use beginnings_abi::log::debug;
use beginnings_abi::{Action, Counter, Error, Filter, Hooks, Reply, Request, Response};
use cookie::Cookie;

use crate::config::Binding;
use crate::token::{Signer, TOKEN_CHARS, same};

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
    fn cookies<'r>(&self, lines: &[&'r str]) -> impl Iterator<Item = &'r str> {
        named_cookies(lines, &self.settings.cookie_name)
    }

    /// The session identifier the token is bound to; empty when there is none (yet).
    fn binding<'r>(&self, request: &'r Request<'_>, lines: &[&'r str]) -> &'r str {
        match &self.settings.bind_to {
            None => "",
            Some(Binding::Cookie(name)) => named_cookies(lines, name).next().unwrap_or_default(),
            Some(Binding::Value(name)) => request.value(name).unwrap_or_default(),
        }
    }

    /// The token the request submits: the header, else the form field of a urlencoded body.
    fn submitted<'r>(&self, request: &'r Request<'_>) -> Option<Cow<'r, str>> {
        if let Some(token) = request.header(&self.settings.header_name) {
            return Some(Cow::Borrowed(token.trim()));
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
            .map(|(_, value)| value)
    }

    /// Why an unsafe request is refused, if it is.
    fn refusal(
        &self,
        request: &Request<'_>,
        lines: &[&str],
        binding: &[u8],
    ) -> Option<&'static str> {
        if self.cookies(lines).next().is_none() {
            return Some("csrf cookie missing");
        }
        let Some(submitted) = self.submitted(request) else {
            return Some("csrf token missing");
        };
        let valid = self
            .cookies(lines)
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
        let lines = request.header_values("cookie");
        let binding = self.binding(request, &lines).as_bytes();
        // A valid token is copied on the stack: the request is borrowed while it is read,
        // and must be free again to hand the token on.
        let mut copy = [0u8; TOKEN_CHARS];
        let token: Cow<'_, str> = if is_safe(request.method()) {
            let known = self
                .cookies(&lines)
                .find(|cookie| self.settings.signer.verify(cookie, binding));
            match known {
                Some(token) => on_stack(token, &mut copy),
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
                    Cow::Owned(token)
                }
            }
        } else {
            if let Some(reason) = self.refusal(request, &lines, binding) {
                self.settings.rejected.add(1);
                debug!("{} {}: {reason}", request.method(), request.path());
                return Ok(Action::Respond(Reply::error(403, reason)));
            }
            // Checked above: the submitted token equals a valid cookie.
            let submitted = self.submitted(request).unwrap_or_default();
            on_stack(&submitted, &mut copy)
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

/// `token` copied into `copy` when it has a valid token's length (it always has, once it
/// verified), else into a String.
fn on_stack<'c>(token: &str, copy: &'c mut [u8; TOKEN_CHARS]) -> Cow<'c, str> {
    if token.len() != TOKEN_CHARS {
        return Cow::Owned(token.to_string());
    }
    copy.copy_from_slice(token.as_bytes());
    std::str::from_utf8(copy).map_or_else(|_| Cow::Owned(token.to_string()), Cow::Borrowed)
}

/// Every value of cookie `name`, from every `Cookie` line in order: an HTTP/2 client may
/// send each cookie in a field of its own (RFC 9113, section 8.2.3), so reading only the
/// first line would miss the token or, worse, the session the token is bound to.
fn named_cookies<'r>(lines: &[&'r str], name: &str) -> impl Iterator<Item = &'r str> {
    lines
        .iter()
        .flat_map(|line| Cookie::split_parse(*line))
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name() == name)
        .filter_map(|cookie| cookie.value_raw())
}
