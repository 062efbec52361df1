//! The tool lists clients are sent on a server's own route, handed to the registry's tool
//! scan ([`RegistryService::observe_tools`]): a server that answers the gateway's check
//! with a clean list and its clients with another is caught on the first list a client
//! gets. Only answers to a `tools/list` without a cursor (a whole list) are looked at,
//! and only while the scan is on.
//!
//! The answer is not held up: its bytes are copied as they pass (at most
//! [`MAX_OBSERVED_BYTES`]) and read once it is complete, in the background. What this may
//! cost is bounded: at most one answer per server per [`COPY_EVERY`] is copied, at most
//! [`PARSERS`] are read at once (others are skipped), and the same list from the same
//! server is handed over at most once per [`REPEAT`].

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use http_body::Frame;
use mcpgw_registry::{RegistryService, Tool};
use serde_json::Value;

/// Largest answer copied to be read (a list of thousands of tools fits).
pub const MAX_OBSERVED_BYTES: usize = 8 * 1024 * 1024;
/// How long the same list from the same server is not handed over again.
const REPEAT: Duration = Duration::from_secs(60);
/// At most one answer per server is copied in this time.
const COPY_EVERY: Duration = Duration::from_secs(2);
/// Answers read at once; one more arriving meanwhile is not read.
const PARSERS: usize = 2;
/// Lists remembered per server (users may each get their own).
const LISTS_KEPT: usize = 8;
/// Above this many servers remembered, servers not seen for [`REPEAT`] are dropped.
const PRUNE_ABOVE: usize = 4_096;

/// What was lately seen of one server's lists.
#[derive(Debug)]
struct Seen {
    /// When an answer was last copied.
    copied_at: Instant,
    /// Digests of the lists handed over lately, and when.
    lists: Vec<(u64, Instant)>,
}

/// Hands the tool lists clients receive to the tool scan.
pub struct ListObserver {
    registry: RegistryService,
    /// Per server, what was lately seen.
    seen: Mutex<HashMap<Box<str>, Seen>>,
    /// Places for reading an answer.
    parsers: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for ListObserver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ListObserver")
            .finish_non_exhaustive()
    }
}

/// Whether `body`, a client's request, asks for a whole tool list: one `tools/list`
/// request without a cursor (a later page is not the list).
pub fn asks_whole_tool_list(body: &[u8]) -> bool {
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    message.get("method").and_then(Value::as_str) == Some("tools/list")
        && message.contains_key("id")
        && message
            .get("params")
            .and_then(|params| params.get("cursor"))
            .is_none_or(Value::is_null)
}

impl ListObserver {
    /// Hands lists to `registry` (whose scan decides what they mean).
    pub fn new(registry: RegistryService) -> ListObserver {
        ListObserver {
            registry,
            seen: Mutex::new(HashMap::new()),
            parsers: Arc::new(tokio::sync::Semaphore::new(PARSERS)),
        }
    }

    /// Whether the answer to a whole `tools/list` of `server` is to be copied now: the
    /// registry scans tools, and no answer of `server` was copied in the last
    /// [`COPY_EVERY`] (noted as copied when it is).
    pub fn due(&self, server: &str) -> bool {
        if !self.registry.scans_tools() {
            return false;
        }
        let now = Instant::now();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = seen.get_mut(server) {
            if now.duration_since(entry.copied_at) < COPY_EVERY {
                return false;
            }
            entry.copied_at = now;
            return true;
        }
        if seen.len() > PRUNE_ABOVE {
            seen.retain(|_, entry| now.duration_since(entry.copied_at) < REPEAT);
        }
        seen.insert(
            server.into(),
            Seen {
                copied_at: now,
                lists: Vec::new(),
            },
        );
        true
    }

    /// `response`, `server`'s answer to a whole `tools/list`, with its body copied as it
    /// passes and read once complete.
    pub(crate) fn watch(
        self: &Arc<Self>,
        server: &str,
        response: Response<Body>,
    ) -> Response<Body> {
        if !response.status().is_success() {
            return response;
        }
        let observer = Arc::clone(self);
        let server: Box<str> = server.into();
        response.map(|inner| {
            Body::new(Copied {
                inner,
                copy: Vec::new(),
                overflowed: false,
                done: Some(Box::new(move |bytes| observer.received(server, bytes))),
            })
        })
    }

    /// A whole answer was passed on: hands its tool list over, in the background (read
    /// on a blocking thread: a long list must not hold up the answers being served).
    fn received(self: Arc<Self>, server: Box<str>, bytes: Vec<u8>) {
        let Ok(parser) = Arc::clone(&self.parsers).try_acquire_owned() else {
            tracing::debug!(%server, "a tools/list answer was not read: others are being read");
            return;
        };
        tokio::spawn(async move {
            let _parser = parser;
            let observer = Arc::clone(&self);
            let name = server.clone();
            let read = tokio::task::spawn_blocking(move || observer.new_list(&name, &bytes));
            let Ok(Some(tools)) = read.await else {
                return;
            };
            if let Err(error) = self.registry.observe_tools(&server, &tools).await {
                tracing::warn!(%server, %error, "could not scan the tool list a client was sent");
            }
        });
    }

    /// The tools in `bytes`, unless it holds no list or the same one `server` sent
    /// lately.
    fn new_list(&self, server: &str, bytes: &[u8]) -> Option<Vec<Tool>> {
        let Some(listed) = tool_list_in(bytes) else {
            tracing::debug!(%server, "a tools/list answer held no readable tool list");
            return None;
        };
        let mut hasher = DefaultHasher::new();
        for tool in &listed {
            tool.to_string().hash(&mut hasher);
        }
        if !self.first_in_a_while(server, hasher.finish()) {
            return None;
        }
        Some(listed.into_iter().map(Tool::from_wire).collect())
    }

    /// Whether `digest` is not a list `server` was seen sending less than [`REPEAT`] ago
    /// (and notes it).
    fn first_in_a_while(&self, server: &str, digest: u64) -> bool {
        let now = Instant::now();
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = seen.entry(server.into()).or_insert_with(|| Seen {
            copied_at: now,
            lists: Vec::new(),
        });
        entry
            .lists
            .retain(|(_, at)| now.duration_since(*at) < REPEAT);
        if entry.lists.iter().any(|(seen, _)| *seen == digest) {
            return false;
        }
        if entry.lists.len() >= LISTS_KEPT {
            entry.lists.remove(0);
        }
        entry.lists.push((digest, now));
        true
    }
}

/// The `tools` array of the first JSON-RPC result in `bytes` (a JSON answer, or an event
/// stream's `data`), if any.
fn tool_list_in(bytes: &[u8]) -> Option<Vec<Value>> {
    let tools_of = |message: Value| match message {
        Value::Object(mut object) => match object.remove("result") {
            Some(Value::Object(mut result)) => match result.remove("tools") {
                Some(Value::Array(tools)) => Some(tools),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    };
    if let Ok(message) = serde_json::from_slice::<Value>(bytes) {
        return tools_of(message);
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.replace("\r\n", "\n");
    text.split("\n\n").find_map(|event| {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect();
        serde_json::from_str::<Value>(&data.join("\n"))
            .ok()
            .and_then(tools_of)
    })
}

/// What is called with the whole answer once it was passed on.
type Done = Box<dyn FnOnce(Vec<u8>) + Send>;

/// A body copied (up to [`MAX_OBSERVED_BYTES`]) as it passes.
struct Copied {
    inner: Body,
    copy: Vec<u8>,
    overflowed: bool,
    /// Taken at the end; an answer cut short (an error, a client gone) is not read.
    done: Option<Done>,
}

impl Copied {
    /// The whole answer went by: hands the copy over (once; not when it was too long).
    fn finish(&mut self) {
        if let Some(done) = self.done.take()
            && !self.overflowed
        {
            done(std::mem::take(&mut self.copy));
        }
    }
}

impl http_body::Body for Copied {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = Pin::into_inner(self);
        let polled = Pin::new(&mut this.inner).poll_frame(context);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && !this.overflowed
                {
                    if this.copy.len() + data.len() > MAX_OBSERVED_BYTES {
                        this.overflowed = true;
                        this.copy = Vec::new();
                    } else {
                        this.copy.extend_from_slice(data);
                    }
                }
                // A body of known length is not polled again after its last frame.
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(None) => this.finish(),
            Poll::Ready(Some(Err(_))) => this.done = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_list_requests_are_told_from_pages_and_other_methods() {
        let ask = |body: &str| asks_whole_tool_list(body.as_bytes());
        assert!(ask(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#));
        assert!(ask(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":null}}"#
        ));
        assert!(!ask(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"2"}}"#
        ));
        assert!(!ask(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#));
        assert!(!ask(r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#));
        assert!(!ask("not json"));
    }

    #[test]
    fn lists_are_read_from_json_and_from_event_streams() {
        let json = br#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"}]}}"#;
        assert_eq!(tool_list_in(json).unwrap()[0]["name"], "a");
        let stream = "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\n\
                      event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\r\ndata: \"result\":{\"tools\":[{\"name\":\"b\"}]}}\r\n\r\n";
        assert_eq!(tool_list_in(stream.as_bytes()).unwrap()[0]["name"], "b");
        assert!(tool_list_in(br#"{"jsonrpc":"2.0","id":1,"error":{}}"#).is_none());
        assert!(tool_list_in(b"\x1f\x8b garbage").is_none());
    }
}
