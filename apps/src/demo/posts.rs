//! `/api/v1/posts`: list (paged, `?author_id=` to filter), get, create (announced on the
//! feed, [`super::feed`]), update, delete.
//! Writing takes a login: the author of a new post is the token's user, and only the author
//! or an admin changes or deletes a post.

use beginnings::builtin::sqlx::{self, AnyPool, Row, any::AnyRow};
use beginnings::routing::{Response, StatusCode};
use beginnings::{IntoResponse, Json, Request, State};
use serde::Serialize;

use super::Demo;
use super::caller::Caller;
use super::input::{Failure, Fields, Outcome, Page, page_response, path_id, query_pairs};

#[derive(Debug, Serialize)]
pub struct Post {
    pub id: i64,
    pub author_id: i64,
    pub author: String,
    pub title: String,
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
}

const SELECT: &str = "SELECT p.id, p.author_id, u.name AS author, p.title, p.body, \
     p.created_at, p.updated_at FROM posts p JOIN users u ON u.id = p.author_id";

impl Post {
    fn from_row(row: &AnyRow) -> Result<Post, sqlx::Error> {
        Ok(Post {
            id: row.try_get("id")?,
            author_id: row.try_get("author_id")?,
            author: row.try_get("author")?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// Newest first; `author_id` of `0` or absent lists every author's.
pub async fn page(pool: &AnyPool, page: Page, author: Option<i64>) -> Outcome<(Vec<Post>, i64)> {
    let author = author.unwrap_or(0);
    let total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM posts WHERE $1 = 0 OR author_id = $1")
            .bind(author)
            .fetch_one(pool)
            .await?;
    let sql =
        format!("{SELECT} WHERE $1 = 0 OR p.author_id = $1 ORDER BY p.id DESC LIMIT $2 OFFSET $3");
    let rows = sqlx::query(&sql)
        .bind(author)
        .bind(page.per_page)
        .bind(page.offset())
        .fetch_all(pool)
        .await?;
    let posts = rows.iter().map(Post::from_row).collect::<Result<_, _>>()?;
    Ok((posts, total))
}

pub async fn find(pool: &AnyPool, id: i64) -> Outcome<Post> {
    let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    match row {
        Some(row) => Ok(Post::from_row(&row)?),
        None => Err(Failure::status(StatusCode::NOT_FOUND, "no such post")),
    }
}

pub async fn list(demo: State<Demo>, request: Request) -> Outcome<Response> {
    let paging = Page::from_request(&request)?;
    let author = match query_pairs(&request).find(|(key, _)| *key == "author_id") {
        Some((_, value)) => Some(
            value
                .parse()
                .map_err(|_| Failure::invalid("author_id", "must be a user id"))?,
        ),
        None => None,
    };
    let database = demo.store.database(&request).await?;
    let (posts, total) = page(database.pool().await?, paging, author).await?;
    Ok(page_response(posts, paging, total, "/api/v1/posts"))
}

pub async fn get(demo: State<Demo>, request: Request) -> Outcome<Json<Post>> {
    let id = path_id(&request, "post")?;
    let database = demo.store.database(&request).await?;
    find(database.pool().await?, id).await.map(Json)
}

/// The author is the logged-in user, never an id the body names.
pub async fn create(demo: State<Demo>, request: Request) -> Outcome<Response> {
    let author = Caller::required(&request)?.id;
    let fields = Fields::parse(&request, &["title", "body"])?;
    let title = fields.required_text("title", 200)?;
    let body = fields.required_text("body", 20_000)?;
    let database = demo.store.database(&request).await?;
    let pool = database.pool().await?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
        .bind(author)
        .fetch_optional(pool)
        .await?;
    if exists.is_none() {
        // A valid token of a user deleted since it was issued.
        return Err(Failure::status(
            StatusCode::FORBIDDEN,
            "the token's user no longer exists",
        ));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO posts (author_id, title, body) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(author)
    .bind(title)
    .bind(body)
    .fetch_one(pool)
    .await?;
    let post = find(pool, id).await?;
    demo.feed.announce(&post);
    Ok((StatusCode::CREATED, Json(post)).into_response())
}

/// Fields sent are changed, the others kept.
pub async fn update(demo: State<Demo>, request: Request) -> Outcome<Json<Post>> {
    let id = path_id(&request, "post")?;
    let caller = Caller::required(&request)?;
    let fields = Fields::parse(&request, &["title", "body"])?;
    let title = fields.text("title", 200)?;
    let body = fields.text("body", 20_000)?;
    let database = demo.store.database(&request).await?;
    let pool = database.pool().await?;
    caller.may_act_for(find(pool, id).await?.author_id, "the author")?;
    sqlx::query(
        "UPDATE posts SET title = COALESCE($1, title), body = COALESCE($2, body), \
         updated_at = CURRENT_TIMESTAMP WHERE id = $3",
    )
    .bind(title)
    .bind(body)
    .bind(id)
    .execute(pool)
    .await?;
    find(pool, id).await.map(Json)
}

pub async fn delete(demo: State<Demo>, request: Request) -> Outcome<StatusCode> {
    let id = path_id(&request, "post")?;
    let caller = Caller::required(&request)?;
    let database = demo.store.database(&request).await?;
    let pool = database.pool().await?;
    caller.may_act_for(find(pool, id).await?.author_id, "the author")?;
    sqlx::query("DELETE FROM posts WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
