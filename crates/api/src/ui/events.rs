//! `GET /ui/events`: the live health of every server the viewer may see, as server-sent
//! events, so open pages follow checks without reloading. A snapshot is sent at once,
//! then whenever the registry changes (a check that changes a server's health or tools,
//! a registration, an edit) and at most every few seconds otherwise, to carry the times
//! of checks that changed nothing. The stream ends when the session does.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use mcpgw_auth::session::cookie;
use serde_json::json;

use crate::AppState;
use crate::access::Access;
use crate::ui::rows::LiveHealth;
use crate::ui::viewer::Viewer;

/// How often the health is re-read when nothing announced a change (check times move on
/// without a change being announced).
const POLL: Duration = Duration::from_secs(5);

/// The event stream.
pub async fn stream(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let cookie_value = cookie::find(&headers, cookie::SESSION_COOKIE)
        .unwrap_or_default()
        .to_owned();
    let changes = state.registry.subscribe();
    let start = Follow {
        state,
        viewer,
        cookie_value,
        changes,
        last: None,
        first: true,
    };
    let events = futures::stream::unfold(start, |mut follow| async move {
        let event = follow.next().await?;
        Some((Ok(event), follow))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// The state of one open stream.
struct Follow {
    state: AppState,
    viewer: Viewer,
    cookie_value: String,
    changes: tokio::sync::watch::Receiver<u64>,
    last: Option<Vec<LiveHealth>>,
    first: bool,
}

impl Follow {
    /// The next event to send, or `None` to end the stream (the session ended).
    async fn next(&mut self) -> Option<Event> {
        loop {
            if !self.first {
                // A closed channel (shutdown) ends the stream; a timeout re-reads.
                if let Ok(Err(_)) = tokio::time::timeout(POLL, self.changes.changed()).await {
                    return None;
                }
                let session = self
                    .state
                    .sessions
                    .find(&self.cookie_value, mcpgw_auth::now())
                    .await;
                if !matches!(session, Ok(Some(_))) {
                    return None;
                }
            }
            self.first = false;
            let Some(current) = self.snapshot().await else {
                continue;
            };
            if self.last.as_ref() != Some(&current) {
                let event = Event::default()
                    .event("health")
                    .json_data(json!({ "servers": current }))
                    .ok()?;
                self.last = Some(current);
                return Some(event);
            }
        }
    }

    /// The live fields of every server the viewer may see now (the policy may have been
    /// reloaded since the page opened); `None` if the registry cannot be read.
    async fn snapshot(&self) -> Option<Vec<LiveHealth>> {
        let servers = match self.state.registry.list().await {
            Ok(servers) => servers,
            Err(error) => {
                tracing::warn!(%error, "live health: cannot read the registry");
                return None;
            }
        };
        let access = Access::of(&self.state, &self.viewer.principal);
        Some(
            access
                .listable(servers)
                .into_iter()
                .map(|server| LiveHealth::of(&access.shown(server)))
                .collect(),
        )
    }
}
