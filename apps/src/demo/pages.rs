//! The HTML pages: the newest posts and one post, rendered from `templates:` and styled by
//! the stylesheet that `static:` serves.

use std::sync::Arc;

use beginnings::builtin::Templates;
use beginnings::routing::Response;
use beginnings::{IntoResponse, Request, Router};
use serde_json::json;

use super::Demo;
use super::input::{Outcome, Page};
use super::posts;

pub fn router(demo: &Demo, templates: Arc<Templates>) -> Router {
    let index = (demo.clone(), templates.clone());
    let show = (demo.clone(), templates);
    Router::new("")
        .get("/", move |request| {
            let (demo, templates) = index.clone();
            index_page(demo, templates, request)
        })
        .get("/posts/{id}", move |request| {
            let (demo, templates) = show.clone();
            post_page(demo, templates, request)
        })
}

async fn index_page(demo: Demo, templates: Arc<Templates>, request: Request) -> Outcome<Response> {
    let paging = Page::from_request(&request)?;
    let database = demo.store.database(&request).await?;
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
    Ok((templates.render("index.html", context)).unwrap_or_else(IntoResponse::into_response))
}

async fn post_page(demo: Demo, templates: Arc<Templates>, request: Request) -> Outcome<Response> {
    let id = super::input::path_id(&request, "post")?;
    let database = demo.store.database(&request).await?;
    let post = posts::find(database.pool().await?, id).await?;
    let context = json!({"title": post.title, "post": post});
    Ok((templates.render("post.html", context)).unwrap_or_else(IntoResponse::into_response))
}
