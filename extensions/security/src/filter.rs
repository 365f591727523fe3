use std::sync::Arc;

use beginnings_abi::{
    Action, Error, Filter, Hooks, Host, PreparedHeader, PreparedName, Request, Response,
};

use crate::config::{NONCE_SLOT, Rendered};

/// The header that tells browsers to use HTTPS only.
const HSTS: &str = "strict-transport-security";

/// The request value that carries the per-request nonce to later extensions, the handler
/// and templates.
pub const NONCE_VALUE: &str = "csp.nonce";

/// The fixed headers and their names, prepared with the host once: looking for one on the
/// answer and setting it per request then parses and copies nothing.
pub struct Prepared {
    rendered: Rendered,
    always: Vec<(PreparedName, PreparedHeader)>,
    hsts_name: PreparedName,
    hsts: Option<PreparedHeader>,
    /// The policy's header name, when a policy is configured.
    csp_name: Option<PreparedName>,
    /// The policy when it carries no per-request nonce.
    csp: Option<PreparedHeader>,
}

impl Prepared {
    pub fn new(rendered: Rendered, host: &Host) -> Result<Self, Error> {
        let always = rendered
            .always
            .iter()
            .map(|(name, value)| Ok((host.prepare_name(name)?, host.prepare_header(name, value)?)))
            .collect::<Result<_, Error>>()?;
        let hsts = match (&rendered.hsts, rendered.hsts_always) {
            (Some(hsts), true) => Some(host.prepare_header(HSTS, hsts)?),
            _ => None,
        };
        // The policy's name is looked for on every answer; the policy itself is prepared
        // only when it carries no per-request nonce.
        let (csp_name, csp) = match &rendered.csp {
            Some((name, policy)) => {
                let prepared = if rendered.nonce {
                    None
                } else {
                    Some(host.prepare_header(name, policy)?)
                };
                (Some(host.prepare_name(name)?), prepared)
            }
            None => (None, None),
        };
        Ok(Prepared {
            hsts_name: host.prepare_name(HSTS)?,
            csp_name,
            rendered,
            always,
            hsts,
            csp,
        })
    }
}

/// Adds the configured headers to every answer; a header the handler already set is kept,
/// so an application can loosen one policy on one route without switching all off.
pub struct SecurityHeadersFilter {
    headers: Arc<Prepared>,
}

impl SecurityHeadersFilter {
    pub fn new(headers: Arc<Prepared>) -> Self {
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

    /// The request hook only makes the nonce, on configurations that ask for one.
    fn hooks(&self) -> Hooks {
        if self.headers.rendered.nonce {
            Hooks::none().request().response()
        } else {
            Hooks::none().response()
        }
    }

    fn on_request(&self, _state: &mut (), request: &mut Request<'_>) -> Result<Action, Error> {
        request.set_value(NONCE_VALUE, &new_nonce()?)?;
        Ok(Action::Continue)
    }

    fn on_response(&self, _state: &mut (), response: &mut Response<'_>) -> Result<(), Error> {
        let headers = &*self.headers;
        for (name, prepared) in &headers.always {
            if response.header_nth_by(name, 0).is_none() {
                response.set_prepared(prepared)?;
            }
        }
        if let Some(hsts) = &headers.hsts
            && response.header_nth_by(&headers.hsts_name, 0).is_none()
        {
            response.set_prepared(hsts)?;
        }
        if let (Some((name, policy)), Some(prepared_name)) =
            (&headers.rendered.csp, &headers.csp_name)
            && response.header_nth_by(prepared_name, 0).is_none()
        {
            match &headers.csp {
                Some(prepared) => response.set_prepared(prepared)?,
                None => {
                    // An early answer from an earlier extension has no nonce; its policy
                    // then allows no inline code at all, which is the safe side.
                    let nonce = response.value(NONCE_VALUE).unwrap_or("none").to_string();
                    response.set_header(name, &policy.replace(NONCE_SLOT, &nonce))?;
                }
            }
        }
        Ok(())
    }
}
