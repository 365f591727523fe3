//! `GET /api/v1/echo`: a WebSocket behind the route's extensions (the demo's configuration
//! asks for a login token on it, so the auth extension judges the upgrade request). The
//! session greets the user the token names, then sends every message back.

use beginnings::websocket::{Message, WebSocket};
use beginnings::{IntoResponse, Request, Response};

pub async fn echo(mut request: Request) -> Response {
    let upgrade = match request.websocket() {
        Ok(upgrade) => upgrade,
        Err(refused) => return refused.into_response(),
    };
    let user = request.value("auth.subject").unwrap_or("guest").to_owned();
    upgrade.on_upgrade(move |socket| session(socket, user))
}

async fn session(mut socket: WebSocket, user: String) {
    if socket
        .send(Message::Text(format!("hello {user}")))
        .await
        .is_err()
    {
        return;
    }
    while let Some(message) = socket.recv().await {
        if socket.send(message).await.is_err() {
            return;
        }
    }
}
