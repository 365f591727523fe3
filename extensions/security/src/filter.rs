use std::sync::Arc;

use beginnings_abi::{Action, Error, Filter, Request, Response};

use crate::config::{NONCE_SLOT, Rendered};

/// The request value that carries the per-request nonce to later extensions, the handler
/// and templates.
pub const NONCE_VALUE: &str = "csp.nonce";

/// Adds the configured headers to every answer; a header the handler already set is kept,
/// so an application can loosen one policy on one route without switching all off.
pub struct SecurityHeadersFilter {
    headers: Arc<Rendered>,
}

impl SecurityHeadersFilter {
    pub fn new(headers: Arc<Rendered>) -> Self {
        SecurityHeadersFilter { headers }
    }
}

/// A 128-bit random nonce, base64: unguessable per request, as CSP requires.
fn new_nonce() -> Result<String, Error> {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(format!("no randomness for a nonce: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

impl Filter for SecurityHeadersFilter {
    type State = ();

    fn has_request_hook(&self) -> bool {
        self.headers.nonce
    }

    fn on_request(&self, _state: &mut (), request: &mut Request<'_>) -> Result<Action, Error> {
        request.set_value(NONCE_VALUE, &new_nonce()?)?;
        Ok(Action::Continue)
    }

    fn on_response(&self, _state: &mut (), response: &mut Response<'_>) -> Result<(), Error> {
        let headers = &*self.headers;
        for (name, value) in &headers.always {
            if response.header_bytes(name).is_none() {
                response.set_header(name, value)?;
            }
        }
        if let Some(hsts) = &headers.hsts
            && headers.hsts_always
            && response.header_bytes("strict-transport-security").is_none()
        {
            response.set_header("strict-transport-security", hsts)?;
        }
        if let Some((name, policy)) = &headers.csp
            && response.header_bytes(name).is_none()
        {
            if headers.nonce {
                // An early answer from an earlier extension has no nonce; its policy then
                // allows no inline code at all, which is the safe side.
                let nonce = response.value(NONCE_VALUE).unwrap_or("none").to_string();
                response.set_header(name, &policy.replace(NONCE_SLOT, &nonce))?;
            } else {
                response.set_header(name, policy)?;
            }
        }
        Ok(())
    }
}
