//! `GET /ui/events`: the live health of every server the viewer may see, as server-sent
//! events (`health`, `{"servers": [...]}`), so open pages follow checks without
//! reloading ([`crate::ui::live`] says when an event is sent and when the stream ends).

use std::convert::Infallible;

use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use mcpgw_auth::session::cookie;
use serde_json::json;

use crate::AppState;
use crate::ui::live::{Credential, Follow};
use crate::ui::viewer::Viewer;

/// The event stream.
pub async fn stream(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let credential = Credential::of(&headers, cookie::find(&headers, cookie::SESSION_COOKIE));
    let start = Follow::new(state, viewer.principal, credential);
    let events = futures::stream::unfold(start, |mut follow| async move {
        let servers = follow.next().await?;
        let event = Event::default()
            .event("health")
            .json_data(json!({ "servers": servers }))
            .ok()?;
        Some((Ok(event), follow))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
