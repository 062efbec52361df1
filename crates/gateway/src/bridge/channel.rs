//! [`Channel`]: one upstream message connection (a stdio process, a legacy SSE session)
//! shared by every client: request ids and progress tokens remapped so that clients cannot
//! collide, responses and progress routed back to the request they belong to, the
//! server's own notifications broadcast to whoever listens.
//!
//! The channel knows nothing about the transport: it queues serialised messages for a
//! writer task and is fed by a reader task through its [`Inbound`] half.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::BridgeError;

/// Messages buffered towards the server.
pub const WRITE_QUEUE: usize = 256;
/// Messages buffered towards one waiting request (progress, then its response).
const EVENT_QUEUE: usize = 64;
/// Server notifications buffered per listener; a listener that falls further behind
/// misses some rather than holding the server back.
const NOTIFICATION_QUEUE: usize = 256;
/// JSON-RPC code the gateway answers server-to-client requests with.
const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC code of a request the upstream never answered.
const UPSTREAM_GONE: i64 = crate::error::GATEWAY_ERROR;
/// Longest wait for room in the write queue: a server that stops reading its input must
/// not hold its clients forever.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// Marks the errors the channel makes up itself (`error.data.mcpgw`), so that nobody
/// mistakes them for the server's answer.
const UNDELIVERED: &str = "undelivered";

/// Whether `response` is an error the channel made up because the server could not
/// answer (it closed, or the message could not be delivered), not the server's own.
pub fn is_undelivered(response: &Value) -> bool {
    response
        .pointer("/error/data/mcpgw")
        .and_then(Value::as_str)
        == Some(UNDELIVERED)
}
/// Prefix of the progress tokens the gateway substitutes for the clients' own.
const PROGRESS_PREFIX: &str = "mcpgw-";

/// What one waiting client request receives: its progress notifications, then its
/// response. Dropping it (the client went away, or gave up) forgets the request and tells
/// the server to cancel it.
pub struct Events {
    progress: mpsc::Receiver<Value>,
    response: oneshot::Receiver<Value>,
    finished: bool,
    _cleanup: Cleanup,
}

impl Events {
    /// The next progress notification, then the response, then `None`.
    pub async fn next(&mut self) -> Option<Value> {
        if self.finished {
            return None;
        }
        tokio::select! {
            biased;
            Some(progress) = self.progress.recv() => Some(progress),
            response = &mut self.response => {
                self.finished = true;
                response.ok()
            }
        }
    }

    /// The response alone, ignoring progress; `None` if the channel closed first.
    pub async fn response(mut self) -> Option<Value> {
        (&mut self.response).await.ok()
    }
}

/// Removes an unanswered request when its [`Events`] are dropped, and asks the server to
/// cancel it, so that neither the gateway nor the server keeps working for nobody.
struct Cleanup {
    shared: Arc<Shared>,
    upstream_id: u64,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if self.shared.take(self.upstream_id).is_some() {
            let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": self.upstream_id, "reason": "the client went away"}});
            self.shared.send_now(&cancel);
        }
    }
}

/// A request in flight, by the id the gateway gave it upstream.
struct Pending {
    /// The id the client used, restored on the response.
    client_id: Value,
    /// `_meta.progressToken` of the request, to route its progress notifications.
    progress_token: Option<Value>,
    /// Progress, sent without waiting: a client that does not read loses its own progress
    /// rather than stalling the server for every other client.
    progress: mpsc::Sender<Value>,
    response: oneshot::Sender<Value>,
}

/// State shared by the channel, its inbound half and the cleanup of each request.
struct Shared {
    server: String,
    pending: Mutex<HashMap<u64, Pending>>,
    outbound: mpsc::Sender<Vec<u8>>,
    alive: AtomicBool,
    /// Taken when the connection closes, which ends every listener's stream.
    notifications: Mutex<Option<broadcast::Sender<Value>>>,
}

impl Shared {
    fn take(&self, upstream_id: u64) -> Option<Pending> {
        self.pending.lock().ok()?.remove(&upstream_id)
    }

    /// Queues a message without waiting: used where waiting could deadlock (the reader
    /// answering the server while the writer is blocked on it) or is impossible (drop).
    fn send_now(&self, message: &Value) {
        if let Ok(bytes) = serde_json::to_vec(message) {
            let _ = self.outbound.try_send(bytes);
        }
    }

    /// Answers a request that will never get its response.
    fn fail(&self, upstream_id: u64, reason: &str) {
        if let Some(entry) = self.take(upstream_id) {
            let error = json!({"jsonrpc": "2.0", "id": entry.client_id,
                "error": {"code": UPSTREAM_GONE, "message": reason, "data": {"mcpgw": UNDELIVERED}}});
            let _ = entry.response.send(error);
        }
    }
}

/// The client side of one shared upstream connection.
pub struct Channel {
    shared: Arc<Shared>,
    next_id: AtomicU64,
}

impl Channel {
    /// A channel to `server` whose messages go to `outbound`; feed what the server says to
    /// the returned [`Inbound`].
    pub fn new(server: &str, outbound: mpsc::Sender<Vec<u8>>) -> (Channel, Inbound) {
        let (notifications, _) = broadcast::channel(NOTIFICATION_QUEUE);
        let shared = Arc::new(Shared {
            server: server.to_owned(),
            pending: Mutex::new(HashMap::new()),
            outbound,
            alive: AtomicBool::new(true),
            notifications: Mutex::new(Some(notifications)),
        });
        let inbound = Inbound {
            shared: Arc::clone(&shared),
        };
        let channel = Channel {
            shared,
            next_id: AtomicU64::new(1),
        };
        (channel, inbound)
    }

    /// False once the server's side closed (the process exited, the stream ended).
    pub fn is_alive(&self) -> bool {
        self.shared.alive.load(Ordering::SeqCst)
    }

    /// The server's notifications that belong to no request (list changes, log messages,
    /// resource updates), from now on, until the connection closes.
    pub fn notifications(&self) -> broadcast::Receiver<Value> {
        let sender = self
            .shared
            .notifications
            .lock()
            .ok()
            .and_then(|s| s.clone());
        match sender {
            Some(sender) => sender.subscribe(),
            // Closed already: a receiver whose sender is gone reports the end at once.
            None => broadcast::channel(1).1,
        }
    }

    /// Sends a client request under a fresh upstream id; the receiver yields its progress
    /// notifications and finally its response, carrying the client's id again.
    pub async fn request(&self, mut message: Value) -> Result<Events, BridgeError> {
        let upstream_id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let client_id = message.get("id").cloned().unwrap_or(Value::Null);
        // Progress tokens are the client's too, so they are remapped like ids: two clients
        // using the same token must not receive each other's progress.
        let progress_token = message
            .pointer_mut("/params/_meta/progressToken")
            .map(|token| {
                std::mem::replace(token, json!(format!("{PROGRESS_PREFIX}{upstream_id}")))
            });
        message["id"] = json!(upstream_id);
        let (progress, progress_receiver) = mpsc::channel(EVENT_QUEUE);
        let (response, response_receiver) = oneshot::channel();
        if let Ok(mut pending) = self.shared.pending.lock() {
            pending.insert(
                upstream_id,
                Pending {
                    client_id,
                    progress_token,
                    progress,
                    response,
                },
            );
        }
        let events = Events {
            progress: progress_receiver,
            response: response_receiver,
            finished: false,
            _cleanup: Cleanup {
                shared: Arc::clone(&self.shared),
                upstream_id,
            },
        };
        self.send(&message).await?;
        Ok(events)
    }

    /// Sends a client notification as it is, except cancellations: they name the
    /// client's request id, which upstream is another client's. A client cancels by going
    /// away instead (dropping its [`Events`] cancels upstream under the right id).
    pub async fn notify(&self, message: &Value) -> Result<(), BridgeError> {
        if message.get("method").and_then(Value::as_str) == Some("notifications/cancelled") {
            return Ok(());
        }
        self.send(message).await
    }

    async fn send(&self, message: &Value) -> Result<(), BridgeError> {
        let server = &self.shared.server;
        let gone = || BridgeError::Closed(server.clone());
        if !self.is_alive() {
            return Err(gone());
        }
        let bytes = serde_json::to_vec(message).map_err(|_| gone())?;
        match self.shared.outbound.send_timeout(bytes, SEND_TIMEOUT).await {
            Ok(()) => Ok(()),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(BridgeError::Stalled {
                server: server.clone(),
                seconds: SEND_TIMEOUT.as_secs(),
            }),
            Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(gone()),
        }
    }
}

/// The server side of a [`Channel`], owned by the task that reads the server. Dropping it
/// closes the channel: every request still waiting is answered with an error.
pub struct Inbound {
    shared: Arc<Shared>,
}

impl Inbound {
    /// Routes one message from the server: a response to its request, progress to the
    /// request that asked for it, a server request answered, other notifications to every
    /// listener.
    pub fn deliver(&self, mut message: Value) {
        let shared = &self.shared;
        let has_method = message.get("method").is_some();
        match (message.get("id").and_then(Value::as_u64), has_method) {
            (Some(upstream_id), false) => {
                if let Some(entry) = shared.take(upstream_id) {
                    message["id"] = entry.client_id;
                    let _ = entry.response.send(message);
                }
            }
            (_, true) if message.get("id").is_some() => {
                // A request from the server (sampling, elicitation, roots): one shared
                // connection has no single client to ask, so say so instead of hanging it.
                let method = message["method"].as_str().unwrap_or_default().to_owned();
                shared.send_now(&json!({"jsonrpc": "2.0", "id": message["id"],
                    "error": {"code": METHOD_NOT_FOUND,
                        "message": format!("{method} is not available through the mcpgw gateway")}}));
            }
            (_, true) => self.notification(message),
            _ => tracing::debug!(server = %shared.server, "unroutable message dropped"),
        }
    }

    fn notification(&self, mut message: Value) {
        let shared = &self.shared;
        let Some(token) = message.pointer("/params/progressToken") else {
            if let Some(sender) = shared.notifications.lock().ok().and_then(|s| s.clone()) {
                let _ = sender.send(message);
            }
            return;
        };
        let owner = token
            .as_str()
            .and_then(|token| token.strip_prefix(PROGRESS_PREFIX))
            .and_then(|id| id.parse::<u64>().ok());
        let target = owner.and_then(|id| {
            let pending = shared.pending.lock().ok()?;
            let entry = pending.get(&id)?;
            Some((entry.progress_token.clone(), entry.progress.clone()))
        });
        match target {
            Some((Some(token), progress)) => {
                message["params"]["progressToken"] = token;
                let _ = progress.try_send(message);
            }
            _ => {
                tracing::debug!(server = %shared.server, "progress for no waiting request dropped")
            }
        }
    }

    /// A second handle on the same channel, for a writer that must fail requests.
    pub fn failer(&self) -> Failer {
        Failer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Inbound {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.alive.store(false, Ordering::SeqCst);
        let waiting: Vec<u64> = shared
            .pending
            .lock()
            .map(|pending| pending.keys().copied().collect())
            .unwrap_or_default();
        let reason = format!("'{}' closed before answering", shared.server);
        for upstream_id in waiting {
            shared.fail(upstream_id, &reason);
        }
        // Last, so that a client stream that ends with the notifications has its answers.
        if let Ok(mut notifications) = shared.notifications.lock() {
            notifications.take();
        }
    }
}

/// Lets the writer of a channel answer requests it could not deliver.
pub struct Failer {
    shared: Arc<Shared>,
}

impl Failer {
    /// Declares the connection unusable: the pool replaces it on the next request.
    pub fn close(&self) {
        self.shared.alive.store(false, Ordering::SeqCst);
    }

    /// Fails the request in `message` (serialised as queued), if it is one.
    pub fn fail_message(&self, message: &[u8], reason: &str) {
        // Only the gateway's own requests carry a method and an id of ours; an answer to
        // a server request carries the server's id, which must not be confused with ours.
        let id = serde_json::from_slice::<Value>(message)
            .ok()
            .filter(|message| message.get("method").is_some())
            .and_then(|message| message.get("id").and_then(Value::as_u64));
        if let Some(upstream_id) = id {
            self.shared.fail(upstream_id, reason);
        }
    }
}
