use beginnings_abi::{Error, Filter, Response};

/// Adds the configured headers to every answer; a header the handler already set is kept,
/// so an application can loosen one policy on one route without switching all off.
pub struct SecurityHeadersFilter {
    headers: Vec<(&'static str, String)>,
}

impl SecurityHeadersFilter {
    pub fn new(headers: Vec<(&'static str, String)>) -> Self {
        SecurityHeadersFilter { headers }
    }
}

impl Filter for SecurityHeadersFilter {
    type State = ();
    const ON_REQUEST: bool = false;

    fn on_response(&self, _state: &mut (), response: &mut Response<'_>) -> Result<(), Error> {
        for (name, value) in &self.headers {
            if response.header_bytes(name).is_none() {
                response.set_header(name, value)?;
            }
        }
        Ok(())
    }
}
