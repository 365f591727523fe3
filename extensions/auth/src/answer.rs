//! The answers the extension gives: 401 with an RFC 6750 challenge, 403, or a redirect to
//! the login page for requests that prefer HTML.

use beginnings_abi::{Error, Reply, Request};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::authenticator::Failure;
use crate::config::{AuthConfig, is_quotable};
use crate::identity::Method;

/// Everything but the RFC 3986 unreserved characters is encoded in the return path.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub struct Answers {
    realm: String,
    /// `login_url` followed by `?` or `&` and `<param>=`, ready for the encoded path.
    login_prefix: Option<String>,
}

impl Answers {
    pub fn new(config: &AuthConfig) -> Result<Self, Error> {
        if !is_quotable(&config.realm) {
            return Err(Error::new(format!(
                "realm: {:?} cannot be quoted in WWW-Authenticate (use visible ASCII without \\ or \")",
                config.realm
            )));
        }
        let param = &config.login_return_param;
        if param.is_empty()
            || !param
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::new(format!(
                "login_return_param: {param:?} must be letters, digits, `_` or `-`"
            )));
        }
        let login_prefix = match &config.login_url {
            None => None,
            Some(url) if url.is_empty() || !url.bytes().all(|b| (0x21..0x7f).contains(&b)) => {
                return Err(Error::new(format!(
                    "login_url: {url:?} is not a valid URL (visible ASCII, no spaces)"
                )));
            }
            Some(url) => {
                let separator = if url.contains('?') { '&' } else { '?' };
                Some(format!("{url}{separator}{param}="))
            }
        };
        Ok(Answers {
            realm: config.realm.clone(),
            login_prefix,
        })
    }

    /// The answer to a request without valid credentials.
    pub fn unauthorized(&self, request: &Request<'_>, failure: Failure) -> Reply {
        if let Some(prefix) = &self.login_prefix
            && request.header("accept").is_some_and(prefers_html)
        {
            let mut target = request.path().to_string();
            if !request.query().is_empty() {
                target.push('?');
                target.push_str(request.query());
            }
            let location = format!("{prefix}{}", utf8_percent_encode(&target, QUERY_VALUE));
            return Reply::new(303)
                .header("location", location)
                .header("vary", "accept")
                .header("cache-control", "no-store");
        }
        let (challenge, message) = match failure {
            Failure::Missing => (
                format!("Bearer realm=\"{}\"", self.realm),
                "authentication required".to_string(),
            ),
            Failure::Invalid(reason) => (
                format!(
                    "Bearer realm=\"{}\", error=\"invalid_token\", error_description=\"{reason}\"",
                    self.realm
                ),
                format!("invalid credentials: {reason}"),
            ),
        };
        let reply = Reply::error(401, &message).header("www-authenticate", challenge);
        if self.login_prefix.is_some() {
            reply.header("vary", "accept")
        } else {
            reply
        }
    }

    /// The answer to an authenticated request that lacks a role or scope the route needs.
    pub fn forbidden(&self, method: Method, message: &str, scope: &str) -> Reply {
        let reply = Reply::error(403, message);
        if method != Method::Jwt {
            return reply;
        }
        let mut challenge = format!(
            "Bearer realm=\"{}\", error=\"insufficient_scope\"",
            self.realm
        );
        if !scope.is_empty() && is_quotable(scope) {
            challenge.push_str(&format!(", scope=\"{scope}\""));
        }
        reply.header("www-authenticate", challenge)
    }
}

/// Whether an `Accept` header ranks HTML at least as high as JSON (browsers do; API
/// clients ask for JSON or send `*/*`).
pub fn prefers_html(accept: &str) -> bool {
    let mut html: f32 = 0.0;
    let mut json: f32 = 0.0;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let quality = parts
            .filter_map(|p| {
                let (name, value) = p.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())?
            })
            .next()
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("text/html")
            || media.eq_ignore_ascii_case("application/xhtml+xml")
        {
            html = html.max(quality);
        } else if media.eq_ignore_ascii_case("application/json") {
            json = json.max(quality);
        }
    }
    html > 0.0 && html >= json
}
