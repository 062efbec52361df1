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
use mcpgw_auth::Principal;
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
    let cookie_value = cookie::find(&headers, cookie::SESSION_COOKIE).map(str::to_owned);
    let start = Follow::new(state, viewer.principal, cookie_value);
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

/// Follows the live health of the servers one caller may see: the first call returns
/// them at once, each later one when they changed. Shared by the UI's event stream and
/// the Python registry's WebSocket (`/ws/health_status`).
pub struct Follow {
    state: AppState,
    principal: Principal,
    /// The browser session to re-check before each update (`None` for a bearer token,
    /// which was checked when the connection opened and cannot be ended meanwhile).
    cookie_value: Option<String>,
    changes: tokio::sync::watch::Receiver<u64>,
    last: Option<Vec<LiveHealth>>,
    first: bool,
}

impl Follow {
    /// Follows what `principal` may see; ends with the browser session `cookie_value`.
    pub fn new(state: AppState, principal: Principal, cookie_value: Option<String>) -> Follow {
        Follow {
            changes: state.registry.subscribe(),
            state,
            principal,
            cookie_value,
            last: None,
            first: true,
        }
    }

    /// The servers' live health, now the first time, then when it changed; `None` when
    /// following must end (the session ended, the gateway is stopping).
    pub async fn next(&mut self) -> Option<Vec<LiveHealth>> {
        loop {
            if !self.first {
                // A closed channel (shutdown) ends the stream; a timeout re-reads.
                if let Ok(Err(_)) = tokio::time::timeout(POLL, self.changes.changed()).await {
                    return None;
                }
                if let Some(cookie_value) = &self.cookie_value {
                    let session = self
                        .state
                        .sessions
                        .find(cookie_value, mcpgw_auth::now())
                        .await;
                    if !matches!(session, Ok(Some(_))) {
                        return None;
                    }
                }
            }
            self.first = false;
            let Some(current) = self.snapshot().await else {
                continue;
            };
            if self.last.as_ref() != Some(&current) {
                self.last = Some(current.clone());
                return Some(current);
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
        let access = Access::of(&self.state, &self.principal);
        Some(
            access
                .listable(servers)
                .into_iter()
                .map(|server| LiveHealth::of(&access.shown(server)))
                .collect(),
        )
    }
}
