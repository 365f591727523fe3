//! Error answers in the form the client prefers: the JSON error shape for API clients, a
//! small HTML page for browsers. Text taken from the request is escaped in both.

use http::{HeaderValue, header};
use hyper::body::Body as _;

use crate::builtin::Templates;
use crate::routing::{Body, Response};

/// Whether the `Accept` header ranks `text/html` above `application/json` (a browser's
/// `text/html,...,*/*;q=0.8` does; `*/*` alone and a missing header do not).
pub(crate) fn prefers_html(accept: Option<&HeaderValue>) -> bool {
    // Asked of every request, and most never name HTML (`application/json`, `*/*`): those
    // are told by a scan for the word, without splitting the list.
    let Some(accept) = accept
        .filter(|value| mentions_html(value.as_bytes()))
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let (mut html, mut json) = (0.0_f32, 0.0_f32);
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if media.eq_ignore_ascii_case("text/html") {
            html = html.max(quality);
        } else if media.eq_ignore_ascii_case("application/json") {
            json = json.max(quality);
        }
    }
    html > 0.0 && html > json
}

/// Whether `text` has `html` in it, in any case: media types are case-insensitive.
fn mentions_html(text: &[u8]) -> bool {
    text.windows(4)
        .any(|word| word.eq_ignore_ascii_case(b"html"))
}

/// Turns an answer in the JSON error shape (`{"error": {"status", "message"}}`) into an HTML
/// page — the application's `errors/<status>.html` template where there is one — and leaves
/// any other answer as it is. A streamed answer is never read here: error answers are whole.
pub(crate) fn into_html(response: &mut Response, templates: &Templates) {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    let Some(bytes) = response.body().as_bytes().filter(|_| is_json) else {
        return;
    };
    let parsed: Option<(u64, String)> = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| {
            let error = value.get("error")?;
            let status = error.get("status")?.as_u64()?;
            let message = error.get("message")?.as_str()?.to_owned();
            Some((status, message))
        });
    let Some((status, message)) = parsed else {
        return;
    };
    let reason = response.status().canonical_reason().unwrap_or("Error");
    let page = templates
        .error_page(response.status(), &message)
        .unwrap_or_else(|| builtin_page(status, reason, &message));
    *response.body_mut() = Body::from(page);
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
}

/// A HEAD answer: the headers of the GET answer, its `Content-Length` included, and no body.
pub(crate) fn without_body(response: &mut Response) {
    let body = std::mem::take(response.body_mut());
    if let Some(length) = body.size_hint().exact()
        && !response.headers().contains_key(header::CONTENT_LENGTH)
    {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
}

fn builtin_page(status: u64, reason: &str, message: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{status} {reason}</title></head>\n\
         <body><h1>{status} {reason}</h1>\n<p>{}</p></body></html>\n",
        escape(message)
    )
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::error_response;
    use http::StatusCode;
    use http_body_util::BodyExt;

    fn accept(value: &'static str) -> bool {
        prefers_html(Some(&HeaderValue::from_static(value)))
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        assert!(accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accept("*/*"));
        assert!(!accept("application/json"));
        assert!(!accept("application/json, text/html;q=0.5"));
        assert!(!accept("text/html;q=0"));
        assert!(!prefers_html(None));
        // Media types are case-insensitive, the quick scan too.
        assert!(accept("Text/HTML"));
        assert!(accept("application/json;q=0.5, TEXT/Html"));
    }

    #[tokio::test]
    async fn the_html_page_escapes_the_message() {
        let mut response = error_response(StatusCode::NOT_FOUND, "<script>alert('x')</script>");
        into_html(&mut response, &Templates::unconfigured());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(page.contains("404 Not Found"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
    }
}
