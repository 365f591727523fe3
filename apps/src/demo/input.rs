//! Reading requests: JSON bodies field by field (so every problem names its field and is
//! answered 422), path ids and pagination.

use beginnings::builtin::{DatabaseError, sqlx};
use beginnings::routing::{Response, StatusCode};
use beginnings::{IntoResponse, Json, Rejection, Request};
use serde_json::{Map, Value, json};

/// An answer that is not the happy path: the framework's error shape, or a 422 naming a field.
#[derive(Debug)]
pub enum Failure {
    Rejected(Rejection),
    /// A problem with one field: 422, or 409 when the value conflicts with stored data.
    Invalid {
        status: StatusCode,
        field: &'static str,
        message: String,
    },
    /// A finished answer, for the few that need headers of their own (a 401's challenge).
    Answer(Box<Response>),
}

impl Failure {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Failure::Invalid {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field,
            message: message.into(),
        }
    }

    pub fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        Failure::Invalid {
            status: StatusCode::CONFLICT,
            field,
            message: message.into(),
        }
    }

    pub fn status(status: StatusCode, message: impl Into<String>) -> Self {
        Failure::Rejected(Rejection::new(status, message))
    }
}

impl From<Rejection> for Failure {
    fn from(rejection: Rejection) -> Self {
        Failure::Rejected(rejection)
    }
}

impl From<DatabaseError> for Failure {
    fn from(error: DatabaseError) -> Self {
        Failure::Rejected(error.into())
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Failure::Rejected(error.into())
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Failure::Rejected(rejection) => rejection.into_response(),
            Failure::Answer(response) => *response,
            // The error shape every answer uses, plus the field, so a form can point at it.
            Failure::Invalid {
                status,
                field,
                message,
            } => {
                let body = json!({"error": {
                    "status": status.as_u16(),
                    "message": format!("{field}: {message}"),
                    "field": field,
                }});
                (status, Json(body)).into_response()
            }
        }
    }
}

pub type Outcome<T> = Result<T, Failure>;

/// The JSON object of a request body; anything else is a 400.
pub struct Fields {
    map: Map<String, Value>,
}

impl Fields {
    /// Parses the body, refusing fields not in `allowed` (a typo would otherwise be ignored).
    pub fn parse(request: &Request, allowed: &[&'static str]) -> Outcome<Fields> {
        let value: Value = request.json()?;
        let Value::Object(map) = value else {
            return Err(Failure::status(
                StatusCode::BAD_REQUEST,
                "expected a JSON object",
            ));
        };
        if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            let message = format!(
                "unknown field `{unknown}` (expected {})",
                allowed.join(", ")
            );
            return Err(Failure::status(StatusCode::UNPROCESSABLE_ENTITY, message));
        }
        Ok(Fields { map })
    }

    /// A string field, trimmed; `None` when absent or null.
    pub fn text(&self, field: &'static str, max_chars: usize) -> Outcome<Option<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                let s = s.trim();
                if s.is_empty() {
                    Err(Failure::invalid(field, "must not be empty"))
                } else if s.chars().count() > max_chars {
                    Err(Failure::invalid(
                        field,
                        format!("must be at most {max_chars} characters"),
                    ))
                } else {
                    Ok(Some(s.to_owned()))
                }
            }
            Some(_) => Err(Failure::invalid(field, "must be a string")),
        }
    }

    pub fn required_text(&self, field: &'static str, max_chars: usize) -> Outcome<String> {
        self.text(field, max_chars)?
            .ok_or_else(|| Failure::invalid(field, "is required"))
    }
}

/// An email address as far as a demo needs: something, `@`, a domain with a dot.
pub fn check_email(email: &str) -> Outcome<()> {
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
    }) && !email.contains(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(Failure::invalid("email", "must be an email address"))
    }
}

/// The `{id}` of the path; a non-number names no row, so it is a 404 like a missing one.
pub fn path_id(request: &Request, what: &str) -> Outcome<i64> {
    request
        .param("id")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
        .ok_or_else(|| Failure::status(StatusCode::NOT_FOUND, format!("no such {what}")))
}

/// `?page=N&per_page=M` (1-based; at most 100 per page).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    pub const MAX_PER_PAGE: i64 = 100;

    pub fn from_request(request: &Request) -> Outcome<Page> {
        let mut page = Page {
            page: 1,
            per_page: 20,
        };
        for (key, value) in query_pairs(request) {
            let (slot, field, max) = match key {
                "page" => (&mut page.page, "page", i64::MAX / Self::MAX_PER_PAGE),
                "per_page" => (&mut page.per_page, "per_page", Self::MAX_PER_PAGE),
                _ => continue,
            };
            *slot = value
                .parse()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    Failure::invalid(field, format!("must be a number from 1 to {max}"))
                })?;
        }
        Ok(page)
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }
}

/// The query string's `key=value` pairs (values as written; the demo's are numbers).
pub fn query_pairs(request: &Request) -> impl Iterator<Item = (&str, &str)> {
    request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
}

/// A list answer: the items as a JSON array, the paging in headers (`X-Total-Count`, and
/// `Link` with `next`/`prev` the way many public APIs page).
pub fn page_response<T: serde::Serialize>(
    items: Vec<T>,
    page: Page,
    total: i64,
    path: &str,
) -> Response {
    let mut response = Json(items).into_response();
    let headers = response.headers_mut();
    headers.insert("x-total-count", total.into());
    let link = |page_no: i64, rel: &str| {
        format!(
            "<{path}?page={page_no}&per_page={}>; rel=\"{rel}\"",
            page.per_page
        )
    };
    let mut links = Vec::new();
    if page.offset() + page.per_page < total {
        links.push(link(page.page + 1, "next"));
    }
    if page.page > 1 {
        links.push(link(page.page - 1, "prev"));
    }
    if !links.is_empty()
        && let Ok(value) = links.join(", ").parse()
    {
        headers.insert("link", value);
    }
    response
}
