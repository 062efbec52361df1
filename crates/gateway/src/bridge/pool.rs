//! [`BridgePool`]: one shared upstream connection per bridged server, started on first use
//! (or at once when the server is `eager`), restarted with backoff when it dies, replaced
//! when its definition changes, stopped when the server is removed or disabled and when the
//! gateway shuts down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use http::{HeaderMap, Uri};
use mcpgw_registry::Transport;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::BridgeError;
use super::channel::Channel;
use super::sse::{SseSession, SseUpstream};
use super::stdio::StdioProcess;
use crate::table::{StdioSpec, Target};
use crate::tool_changes::ToolChanges;
use crate::upstream::UpstreamClient;

/// A connection that failed sooner than this after starting counts as a crash loop.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// Longest wait between restarts of a crash-looping server.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a process gets to stop on `SIGTERM` before `SIGKILL`.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// Longest wait for a server's answer to the gateway's `initialize`, so that a server that
/// never answers holds its first clients for this long, not for the request timeout.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a bridged server is, as far as restarting it is concerned: a change means a new
/// connection.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    Stdio(StdioSpec),
    Sse { uri: Uri, headers: HeaderMap },
}

impl Spec {
    fn of(target: &Target) -> Option<Spec> {
        match target.transport {
            Transport::Stdio => target.stdio.clone().map(Spec::Stdio),
            Transport::Sse => target.uri.clone().map(|uri| Spec::Sse {
                uri,
                headers: target.headers.clone(),
            }),
            Transport::StreamableHttp => None,
        }
    }
}

/// The upstream end of a bridged server.
enum Backend {
    Process(StdioProcess),
    Sse(SseSession),
}

/// A started server and what it answered to the gateway's own `initialize`.
pub struct Running {
    backend: Backend,
    /// The `initialize` result, replayed to clients that initialize; `None` for servers
    /// that only speak the stateless protocol.
    pub initialize: Option<Value>,
}

impl Running {
    /// The connection's messages.
    pub fn channel(&self) -> &Channel {
        match &self.backend {
            Backend::Process(process) => process.channel(),
            Backend::Sse(session) => session.channel(),
        }
    }

    async fn stop(&self) {
        if let Backend::Process(process) = &self.backend {
            process.stop(STOP_GRACE).await;
        }
    }
}

#[derive(Default)]
struct SlotState {
    running: Option<Arc<Running>>,
    started_at: Option<Instant>,
    failures: u32,
    retry: Option<(Instant, String)>,
}

impl SlotState {
    /// Records a failure and when the next attempt may be made: at once after a
    /// connection that ran stably, with growing delays for a crash loop.
    fn failed(&mut self, reason: String) -> Duration {
        let quick = self.started_at.is_none_or(|at| at.elapsed() < STABLE_AFTER);
        self.failures = if quick { self.failures + 1 } else { 1 };
        let backoff = if quick {
            Duration::from_secs(1 << self.failures.min(5)).min(MAX_BACKOFF)
        } else {
            Duration::ZERO
        };
        self.retry = Some((Instant::now() + backoff, reason));
        self.running = None;
        self.started_at = None;
        backoff
    }
}

struct Slot {
    spec: Spec,
    /// The registry revision of the definition it runs; only a newer one replaces it.
    revision: i64,
    /// Kept running by a supervisor rather than started on first use.
    /// Set by [`BridgePool::reconcile`] only, so that a request holding an older
    /// definition cannot flip it; changing it never restarts the connection.
    eager: AtomicBool,
    /// Whether the supervisor of an eager slot has been started.
    supervised: AtomicBool,
    state: tokio::sync::Mutex<SlotState>,
}

/// Every bridged server of this gateway.
pub struct BridgePool {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    client: UpstreamClient,
    timeout: Duration,
    /// The runtime connections are started on: the gateway's main one, not the
    /// connection worker of whichever request came first, so that a connection lives and
    /// is driven independently of any one client connection's thread.
    runtime: tokio::runtime::Handle,
    /// Told when a server announces changed tools on its connection.
    tool_changes: Arc<ToolChanges>,
}

impl BridgePool {
    /// A pool that reaches SSE servers with `client`, waiting up to `timeout` for a
    /// connection (and at most [`HANDSHAKE_TIMEOUT`] for `initialize`).
    /// Must be called on the runtime that should run the connections' tasks.
    /// Servers' announcements of changed tools go to `tool_changes`.
    pub fn new(
        client: UpstreamClient,
        timeout: Duration,
        tool_changes: Arc<ToolChanges>,
    ) -> std::io::Result<Self> {
        Ok(BridgePool {
            slots: Mutex::new(HashMap::new()),
            client,
            timeout,
            runtime: tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?,
            tool_changes,
        })
    }

    /// The running connection of `target`, starting (or restarting) it if needed.
    pub async fn running(&self, target: &Target) -> Result<Arc<Running>, BridgeError> {
        let Some(spec) = Spec::of(target) else {
            return Err(BridgeError::Start {
                server: target.path.clone(),
                reason: "no command or URL".into(),
            });
        };
        let slot = self.slot(target, spec)?;
        let mut state = slot.state.lock().await;
        if let Some(running) = &state.running {
            if running.channel().is_alive() {
                return Ok(Arc::clone(running));
            }
            let backoff = state.failed("it exited".into());
            tracing::warn!(server = %target.path, ?backoff, "bridged server died; restarting");
        }
        if let Some((at, reason)) = &state.retry
            && Instant::now() < *at
        {
            return Err(BridgeError::BackingOff {
                server: target.path.clone(),
                reason: reason.clone(),
                seconds: (*at - Instant::now()).as_secs() + 1,
            });
        }
        let start = start(
            target.path.clone(),
            slot.spec.clone(),
            self.client.clone(),
            self.timeout.min(HANDSHAKE_TIMEOUT),
        );
        let started = self.runtime.spawn(start).await.unwrap_or_else(|_| {
            Err(BridgeError::Start {
                server: target.path.clone(),
                reason: "the gateway is shutting down".into(),
            })
        });
        match started {
            Ok(running) => {
                let running = Arc::new(running);
                state.running = Some(Arc::clone(&running));
                state.started_at = Some(Instant::now());
                state.retry = None;
                self.runtime.spawn(
                    self.tool_changes
                        .follow_bridge(&target.path, running.channel().notifications()),
                );
                tracing::info!(server = %target.path, "bridged server started");
                Ok(running)
            }
            Err(error) => {
                let backoff = state.failed(error.to_string());
                tracing::warn!(server = %target.path, %error, ?backoff, "bridged server failed to start");
                Err(error)
            }
        }
    }

    /// The slot for `target`'s definition. A newer definition replaces the slot (and so
    /// stops the old connection); an older one, held by a request that started before an
    /// edit, is refused rather than allowed to bring the old definition back.
    fn slot(&self, target: &Target, spec: Spec) -> Result<Arc<Slot>, BridgeError> {
        let new = |spec| {
            Arc::new(Slot {
                spec,
                revision: target.revision,
                eager: AtomicBool::new(target.eager),
                supervised: AtomicBool::new(false),
                state: Default::default(),
            })
        };
        let Ok(mut slots) = self.slots.lock() else {
            return Ok(new(spec));
        };
        match slots.get(&target.path) {
            Some(slot) if slot.spec == spec => Ok(Arc::clone(slot)),
            Some(slot) if slot.revision > target.revision => {
                Err(BridgeError::Redefined(target.path.clone()))
            }
            _ => {
                // New, or its definition changed: the old connection (if any) is dropped,
                // which stops a process's whole group or closes an SSE stream.
                let slot = new(spec);
                slots.insert(target.path.clone(), Arc::clone(&slot));
                Ok(slot)
            }
        }
    }

    /// Drops the connections of servers that are gone, disabled, or defined differently,
    /// and puts every enabled `eager` server under a supervisor that starts it now and
    /// again whenever it dies.
    pub fn reconcile(self: &Arc<Self>, targets: &HashMap<String, Arc<Target>>) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.retain(|path, slot| {
                let Some(target) = targets.get(path) else {
                    return false;
                };
                slot.eager.store(target.eager, Ordering::SeqCst);
                target.enabled && Spec::of(target).as_ref() == Some(&slot.spec)
            });
        }
        for target in targets
            .values()
            .filter(|target| target.enabled && target.eager)
        {
            let Some(spec) = Spec::of(target) else {
                continue;
            };
            let Ok(slot) = self.slot(target, spec) else {
                continue;
            };
            if !slot.supervised.swap(true, Ordering::SeqCst) {
                let pool = Arc::downgrade(self);
                tokio::spawn(supervise(pool, Arc::clone(target), Arc::downgrade(&slot)));
            }
        }
    }

    /// Whether `slot` is still the one serving `path` (not removed nor replaced).
    fn is_current(&self, path: &str, slot: &Weak<Slot>) -> bool {
        self.slots.lock().is_ok_and(|slots| {
            slots
                .get(path)
                .is_some_and(|current| std::ptr::eq(Arc::as_ptr(current), slot.as_ptr()))
        })
    }

    /// Stops every connection: `SIGTERM` to each process group, `SIGKILL` after a grace
    /// period.
    pub async fn stop_all(&self) {
        let slots: Vec<Arc<Slot>> = self
            .slots
            .lock()
            .map(|mut slots| slots.drain().map(|(_, slot)| slot).collect())
            .unwrap_or_default();
        for slot in slots {
            if let Some(running) = slot.state.lock().await.running.take() {
                running.stop().await;
            }
        }
    }
}

/// Opens the connection `spec` describes and makes the gateway's own handshake on it.
async fn start(
    server: String,
    spec: Spec,
    client: UpstreamClient,
    timeout: Duration,
) -> Result<Running, BridgeError> {
    let backend = match &spec {
        Spec::Stdio(spec) => Backend::Process(StdioProcess::start(&server, spec)?),
        Spec::Sse { uri, headers } => Backend::Sse(
            SseSession::open(SseUpstream {
                server: &server,
                uri,
                headers,
                client: &client,
                timeout,
            })
            .await?,
        ),
    };
    let mut running = Running {
        backend,
        initialize: None,
    };
    match initialize(running.channel(), timeout).await {
        Ok(result) => {
            running.initialize = result;
            Ok(running)
        }
        Err(reason) => {
            running.stop().await;
            Err(BridgeError::Handshake { server, reason })
        }
    }
}

/// Keeps an eager server running for as long as its slot is current and eager: starts it,
/// waits for its connection to close, and starts it again, respecting the restart backoff.
/// It holds the slot weakly, so that removing the slot from the pool still stops the
/// server. A server that is no longer eager keeps running as a lazy one.
async fn supervise(pool: Weak<BridgePool>, target: Arc<Target>, slot: Weak<Slot>) {
    loop {
        let Some(current) = pool.upgrade() else {
            return;
        };
        if !current.is_current(&target.path, &slot) || !still_eager(&slot) {
            return;
        }
        let started = current.running(&target).await;
        drop(current);
        match started {
            Ok(running) => {
                let mut closed = running.channel().notifications();
                drop(running);
                while !matches!(
                    closed.recv().await,
                    Err(tokio::sync::broadcast::error::RecvError::Closed)
                ) {}
            }
            Err(BridgeError::BackingOff { seconds, .. }) => {
                tokio::time::sleep(Duration::from_secs(seconds)).await;
            }
            Err(error) => {
                tracing::warn!(server = %target.path, %error, "eager server not started");
            }
        }
    }
}

/// Whether the supervisor of `slot` should go on. When the slot stopped being eager the
/// supervisor steps down, unless the slot became eager again meanwhile (then it stays, as
/// reconcile saw it supervised and started no other).
fn still_eager(slot: &Weak<Slot>) -> bool {
    let Some(slot) = slot.upgrade() else {
        return false;
    };
    if slot.eager.load(Ordering::SeqCst) {
        return true;
    }
    slot.supervised.store(false, Ordering::SeqCst);
    slot.eager.load(Ordering::SeqCst) && !slot.supervised.swap(true, Ordering::SeqCst)
}

/// The gateway's own handshake with a new connection, so that many clients can share it:
/// `Ok(None)` if the server refuses `initialize` (a stateless-only server), `Err` if it
/// does not answer in time or goes away instead.
async fn initialize(channel: &Channel, timeout: Duration) -> Result<Option<Value>, String> {
    let request = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": mcpgw_mcp::version::STATEFUL_LATEST,
        "capabilities": {},
        "clientInfo": {"name": "mcpgw", "version": env!("CARGO_PKG_VERSION")},
    }});
    let gone = "it exited during initialize".to_owned();
    let events = channel.request(request).await.map_err(|_| gone.clone())?;
    let reply = tokio::time::timeout(timeout, events.response())
        .await
        .map_err(|_| format!("no answer to initialize within {}s", timeout.as_secs()))?
        .ok_or_else(|| gone.clone())?;
    let Some(result) = reply.get("result") else {
        // An error reply: a refusal, unless the gateway made it up (not delivered).
        return if super::channel::is_undelivered(&reply) {
            Err(gone)
        } else {
            Ok(None)
        };
    };
    let _ = channel
        .notify(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    Ok(Some(result.clone()))
}
