//! An upstream that says its tools changed (`notifications/tools/list_changed`) is checked
//! again at once, so that the tool scan sees the new descriptions (a rug pull) when they
//! appear, not at the next periodic health check. The notification is noticed where it
//! passes through the gateway: on the event streams of HTTP upstreams (a server's
//! `GET` stream, an answer streamed as events, a legacy SSE stream), among the
//! notifications of bridged servers' shared connections (stdio processes, SSE servers on
//! streamable routes), and among the notifications the aggregated endpoint's upstream
//! sessions receive.
//!
//! Noticing costs one substring search per chunk of an event stream; JSON answers (the
//! common case) are not looked at. A false match (a tool result quoting the method
//! name) only costs one extra check.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use mcpgw_registry::RegistryService;
use serde_json::Value;
use tokio::sync::broadcast;

/// What an upstream sends when its tool list changed.
pub const TOOLS_CHANGED: &[u8] = b"notifications/tools/list_changed";

/// The shortest time between two checks one server's notifications cause: a server that
/// announces changes in a loop costs one check per interval.
const MIN_INTERVAL: Duration = Duration::from_secs(2);

/// Checks servers again when they announce tool changes.
pub struct ToolChanges {
    registry: RegistryService,
    /// When each server's last announced change was acted on.
    last: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for ToolChanges {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ToolChanges")
            .finish_non_exhaustive()
    }
}

impl ToolChanges {
    /// Checks through `registry` (which scans the new tools).
    pub fn new(registry: RegistryService) -> ToolChanges {
        ToolChanges {
            registry,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// `server` said its tools changed: check it now (in the background), unless a check
    /// for the same reason started less than [`MIN_INTERVAL`] ago.
    pub fn announced(&self, server: &str) {
        let now = Instant::now();
        {
            let mut last = match self.last.lock() {
                Ok(last) => last,
                Err(poisoned) => poisoned.into_inner(),
            };
            if last
                .get(server)
                .is_some_and(|at| now.duration_since(*at) < MIN_INTERVAL)
            {
                return;
            }
            last.insert(server.to_owned(), now);
        }
        let registry = self.registry.clone();
        let server = server.to_owned();
        tracing::info!(%server, "the server announced changed tools; checking it now");
        tokio::spawn(async move {
            if let Err(error) = registry.refresh(&server).await {
                tracing::warn!(%server, %error, "could not check the server after its tools changed");
            }
        });
    }

    /// Acts on the announcements among a bridged server's notifications until its
    /// connection closes (the future ends then). A notification missed because this fell
    /// behind is not guessed at: the periodic check still sees the list.
    pub(crate) fn follow_bridge(
        self: &Arc<Self>,
        server: &str,
        mut notifications: broadcast::Receiver<Value>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let changes = Arc::clone(self);
        let server = server.to_owned();
        async move {
            loop {
                match notifications.recv().await {
                    Ok(message) => {
                        let method = message.get("method").and_then(Value::as_str);
                        if method.is_some_and(|method| method.as_bytes() == TOOLS_CHANGED) {
                            changes.announced(&server);
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        }
    }

    /// An HTTP upstream's event-stream answer, watched for announcements of changed tools
    /// (a bridged server's are followed on its shared connection, see
    /// [`ToolChanges::follow_bridge`]; JSON answers cannot carry notifications).
    pub(crate) fn watch_response(
        self: &Arc<Self>,
        target: &crate::table::Target,
        response: http::Response<axum::body::Body>,
    ) -> http::Response<axum::body::Body> {
        let streams = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
        if target.transport == mcpgw_registry::Transport::Stdio || !streams {
            return response;
        }
        let (parts, body) = response.into_parts();
        let body = axum::body::Body::new(self.watch(&target.path, body));
        http::Response::from_parts(parts, body)
    }

    /// `body`, an event stream from `server`, with its announcements of tool changes acted
    /// on as they pass.
    pub fn watch<B>(self: &Arc<Self>, server: &str, body: B) -> Watched<B> {
        Watched {
            inner: body,
            changes: Arc::clone(self),
            server: server.into(),
            tail: Vec::new(),
        }
    }
}

/// An event stream whose announcements of tool changes are acted on.
pub struct Watched<B> {
    inner: B,
    changes: Arc<ToolChanges>,
    server: Box<str>,
    /// The end of the previous chunk, for an announcement cut between two chunks.
    tail: Vec<u8>,
}

/// Whether `chunk`, which follows a chunk that ended with `tail`, holds an announcement
/// (also one cut between the two); `tail` becomes the end of `chunk`.
fn announces(tail: &mut Vec<u8>, chunk: &[u8]) -> bool {
    let keep = TOOLS_CHANGED.len() - 1;
    let across = !tail.is_empty() && {
        tail.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        contains(tail, TOOLS_CHANGED)
    };
    let found = across || contains(chunk, TOOLS_CHANGED);
    tail.clear();
    tail.extend_from_slice(&chunk[chunk.len().saturating_sub(keep)..]);
    found
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

impl<B> Body for Watched<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            let data = data.clone();
            let this = &mut *self;
            if announces(&mut this.tail, &data) {
                this.changes.announced(&this.server);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_method_anywhere_and_nothing_else() {
        let event = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
        assert!(contains(event, TOOLS_CHANGED));
        assert!(!contains(
            b"data: {\"method\":\"notifications/progress\"}",
            TOOLS_CHANGED
        ));
        assert!(!contains(b"notifications/tools/list_change", TOOLS_CHANGED));
        assert!(contains(
            b"nnotifications/tools/list_changed",
            TOOLS_CHANGED
        ));
    }

    #[test]
    fn an_announcement_cut_between_chunks_is_found_once() {
        let event = b"data: {\"method\":\"notifications/tools/list_changed\"}\n\n";
        for cut in 0..event.len() {
            let mut tail = Vec::new();
            let first = announces(&mut tail, &event[..cut]);
            let second = announces(&mut tail, &event[cut..]);
            assert!(first || second, "cut at {cut}");
            assert!(
                !announces(&mut tail, b"data: {}\n\n"),
                "cut at {cut}: found again"
            );
        }
    }
}
