//! `/api/v1/users`: list (paged), get, create, update, delete.

use beginnings::builtin::sqlx::{self, Row, any::AnyRow};
use beginnings::routing::{Response, StatusCode};
use beginnings::{IntoResponse, Json, Request, State};
use serde::Serialize;

use super::Demo;
use super::caller::Caller;
use super::input::{Failure, Fields, Outcome, Page, check_email, page_response, path_id};
use super::password;

#[derive(Debug, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: String,
    pub created_at: String,
}

const COLUMNS: &str = "id, name, email, role, created_at";
const FIELDS: &[&str] = &["name", "email", "password"];

impl User {
    pub fn from_row(row: &AnyRow) -> Result<User, sqlx::Error> {
        Ok(User {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            role: row.try_get("role")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

pub async fn list(demo: State<Demo>, request: Request) -> Outcome<Response> {
    let page = Page::from_request(&request)?;
    let database = demo.store.database(&request).await?;
    let pool = database.pool().await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await?;
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY id LIMIT $1 OFFSET $2");
    let rows = sqlx::query(&sql)
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let users = rows
        .iter()
        .map(User::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_response(users, page, total, "/api/v1/users"))
}

pub async fn get(demo: State<Demo>, request: Request) -> Outcome<Json<User>> {
    let id = path_id(&request, "user")?;
    let database = demo.store.database(&request).await?;
    find(database.pool().await?, id).await.map(Json)
}

pub async fn find(pool: &sqlx::AnyPool, id: i64) -> Outcome<User> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await?;
    match row {
        Some(row) => Ok(User::from_row(&row)?),
        None => Err(Failure::status(StatusCode::NOT_FOUND, "no such user")),
    }
}

pub async fn create(demo: State<Demo>, request: Request) -> Outcome<Response> {
    let fields = Fields::parse(&request, FIELDS)?;
    let name = fields.required_text("name", 100)?;
    let email = fields.required_text("email", 254)?.to_lowercase();
    check_email(&email)?;
    let hash = match fields.text("password", 200)? {
        Some(password) => Some(password::hash(&password).await?),
        None => None,
    };
    let database = demo.store.database(&request).await?;
    let pool = database.pool().await?;
    let sql = format!(
        "INSERT INTO users (name, email, password_hash) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(name)
        .bind(email)
        .bind(hash)
        .fetch_one(pool)
        .await
        .map_err(email_taken)?;
    let user = User::from_row(&row)?;
    Ok((StatusCode::CREATED, Json(user)).into_response())
}

/// Fields sent are changed, the others kept; by the user themself or an admin.
pub async fn update(demo: State<Demo>, request: Request) -> Outcome<Json<User>> {
    let id = path_id(&request, "user")?;
    Caller::required(&request)?.may_act_for(id, "the user themself")?;
    let fields = Fields::parse(&request, FIELDS)?;
    let name = fields.text("name", 100)?;
    let email = fields.text("email", 254)?.map(|e| e.to_lowercase());
    if let Some(email) = &email {
        check_email(email)?;
    }
    let hash = match fields.text("password", 200)? {
        Some(password) => Some(password::hash(&password).await?),
        None => None,
    };
    let database = demo.store.database(&request).await?;
    let pool = database.pool().await?;
    let sql = format!(
        "UPDATE users SET name = COALESCE($1, name), email = COALESCE($2, email), \
         password_hash = COALESCE($3, password_hash) WHERE id = $4 RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(name)
        .bind(email)
        .bind(hash)
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(email_taken)?;
    match row {
        Some(row) => Ok(Json(User::from_row(&row)?)),
        None => Err(Failure::status(StatusCode::NOT_FOUND, "no such user")),
    }
}

/// By an admin only (the configuration says so with `roles: [admin]`; the handler checks
/// again in case a configuration leaves that out).
pub async fn delete(demo: State<Demo>, request: Request) -> Outcome<StatusCode> {
    let id = path_id(&request, "user")?;
    if !Caller::required(&request)?.admin {
        return Err(Failure::status(
            StatusCode::FORBIDDEN,
            "only an admin may delete a user",
        ));
    }
    let database = demo.store.database(&request).await?;
    // The posts go first: a database may not enforce the schema's ON DELETE CASCADE.
    let mut tx = database.pool().await?.begin().await?;
    sqlx::query("DELETE FROM posts WHERE author_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if deleted.rows_affected() == 0 {
        return Err(Failure::status(StatusCode::NOT_FOUND, "no such user"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The unique index on `email` refuses a second account for one address: a 409 naming the
/// field rather than a 500.
fn email_taken(error: sqlx::Error) -> Failure {
    let unique = matches!(&error, sqlx::Error::Database(e) if e.is_unique_violation());
    if unique {
        Failure::conflict("email", "is already registered")
    } else {
        error.into()
    }
}
