//! The HTML pages: the newest posts and one post, rendered from `templates:` and styled by
//! the stylesheet that `static:` serves.

use std::sync::Arc;

use beginnings::builtin::Templates;
use beginnings::routing::Response;
use beginnings::{IntoResponse, Request, Router, State};
use serde_json::json;

use super::input::{Outcome, Page};
use super::posts;
use super::store::Store;

/// What the pages share: the API's store, and the templates they are rendered from.
pub struct Pages {
    pub store: Store,
    pub templates: Arc<Templates>,
}

pub fn router() -> Router<Pages> {
    Router::new("")
        .get("/", index_page)
        .get("/posts/{id}", post_page)
}

async fn index_page(pages: State<Pages>, request: Request) -> Outcome<Response> {
    let paging = Page::from_request(&request)?;
    let database = pages.store.database(&request).await?;
    let (posts, total) = posts::page(database.pool().await?, paging, None).await?;
    let next = (paging.offset() + paging.per_page < total).then_some(paging.page + 1);
    let previous = (paging.page > 1).then_some(paging.page - 1);
    let context = json!({
        "title": "Posts",
        "posts": posts,
        "total": total,
        "page": paging.page,
        "next": next,
        "previous": previous,
    });
    let page = pages.templates.render("index.html", context);
    Ok(page.unwrap_or_else(IntoResponse::into_response))
}

async fn post_page(pages: State<Pages>, request: Request) -> Outcome<Response> {
    let id = super::input::path_id(&request, "post")?;
    let database = pages.store.database(&request).await?;
    let post = posts::find(database.pool().await?, id).await?;
    let context = json!({"title": post.title, "post": post});
    let page = pages.templates.render("post.html", context);
    Ok(page.unwrap_or_else(IntoResponse::into_response))
}
