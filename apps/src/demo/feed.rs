//! `GET /api/v1/posts/events`: new posts as server-sent events (`event: post`, the post as
//! JSON data, its id as the event id), for pages that show posts as they are written.

use beginnings::routing::{Event, Sse};
use beginnings::{Request, State};
use tokio::sync::broadcast;

use super::Demo;
use super::posts::Post;

/// Posts a slow reader may fall behind by before it misses some (it is told, in a comment).
const BACKLOG: usize = 64;

/// Where new posts are announced: each open feed holds a receiver.
pub struct Feed(broadcast::Sender<Event>);

impl Default for Feed {
    fn default() -> Self {
        Feed(broadcast::channel(BACKLOG).0)
    }
}

impl Feed {
    /// Tells the open feeds about `post` (nothing to do when none is open).
    pub fn announce(&self, post: &Post) {
        if self.0.receiver_count() == 0 {
            return;
        }
        match Event::new()
            .event("post")
            .id(post.id.to_string())
            .json_data(post)
        {
            Ok(event) => {
                let _ = self.0.send(event);
            }
            Err(error) => tracing::warn!(post = post.id, "post not announced: {error}"),
        }
    }
}

pub async fn events(demo: State<Demo>, _request: Request) -> Sse {
    let receiver = demo.feed.0.subscribe();
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                Event::new().comment(format!("{missed} posts missed; reload the list"))
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((event, receiver))
    });
    Sse::new(events).boxed()
}
