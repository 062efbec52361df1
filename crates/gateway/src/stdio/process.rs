//! One running stdio server shared by every client: request ids remapped so that clients
//! cannot collide, responses and progress routed back to the request they belong to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcpgw_mcp::client::{GroupHandle, spawn_server};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// Longest stdout line accepted from a server (one JSON-RPC message).
const MAX_LINE_BYTES: u64 = 32 * 1024 * 1024;
/// Messages buffered towards the server's stdin.
const WRITE_QUEUE: usize = 256;
/// Messages buffered towards one waiting request (progress, then its response).
const EVENT_QUEUE: usize = 64;
/// JSON-RPC code the gateway answers server-to-client requests with, for now.
const METHOD_NOT_FOUND: i64 = -32601;

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

    /// The response alone, ignoring progress; `None` if the process died first.
    pub async fn response(mut self) -> Option<Value> {
        (&mut self.response).await.ok()
    }
}

/// Removes an unanswered request when its [`Events`] are dropped, and asks the server to
/// cancel it, so that neither the gateway nor the server keeps working for nobody.
struct Cleanup {
    inflight: Arc<Inflight>,
    writer: mpsc::Sender<Vec<u8>>,
    upstream_id: u64,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let unanswered = self
            .inflight
            .pending
            .lock()
            .ok()
            .and_then(|mut pending| pending.remove(&self.upstream_id))
            .is_some();
        if unanswered {
            let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": self.upstream_id, "reason": "the client went away"}});
            if let Ok(mut line) = serde_json::to_vec(&cancel) {
                line.push(b'\n');
                let _ = self.writer.try_send(line);
            }
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

/// Shared between the process handle and its reader task.
#[derive(Default)]
struct Inflight {
    pending: Mutex<HashMap<u64, Pending>>,
}

/// A running server process.
pub struct StdioProcess {
    server: String,
    writer: mpsc::Sender<Vec<u8>>,
    inflight: Arc<Inflight>,
    next_id: AtomicU64,
    alive: Arc<AtomicBool>,
    group: GroupHandle,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for StdioProcess {
    fn drop(&mut self) {
        // Removal, replacement or gateway shutdown: the whole group goes, never orphans.
        self.group.kill();
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl StdioProcess {
    /// Starts the server `command` for the registered server `server`.
    pub fn start(
        server: &str,
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Self, String> {
        let process = spawn_server(command, args, env).map_err(|error| error.to_string())?;
        let (writer, mut queue) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        let inflight = Arc::new(Inflight::default());
        let alive = Arc::new(AtomicBool::new(true));
        let mut stdin = process.stdin;
        let write_task = tokio::spawn(async move {
            while let Some(line) = queue.recv().await {
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    return;
                }
            }
        });
        let read_task = tokio::spawn(read_loop(
            server.to_owned(),
            process.stdout,
            Arc::clone(&inflight),
            writer.clone(),
            Arc::clone(&alive),
        ));
        let log_task = tokio::spawn(log_stderr(server.to_owned(), process.stderr));
        let mut child = process.child;
        let reaper = tokio::spawn(async move {
            let _ = child.wait().await;
        });
        Ok(StdioProcess {
            server: server.to_owned(),
            writer,
            inflight,
            next_id: AtomicU64::new(1),
            alive,
            group: process.group,
            tasks: vec![write_task, read_task, log_task, reaper],
        })
    }

    /// False once the server closed its output (it exited or crashed).
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Sends a client request under a fresh upstream id; the receiver yields its progress
    /// notifications and finally its response, carrying the client's id again.
    pub async fn request(&self, mut message: Value) -> Result<Events, String> {
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
        if let Ok(mut pending) = self.inflight.pending.lock() {
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
                inflight: Arc::clone(&self.inflight),
                writer: self.writer.clone(),
                upstream_id,
            },
        };
        self.send(&message).await?;
        Ok(events)
    }

    /// Sends a notification as it is.
    pub async fn notify(&self, message: &Value) -> Result<(), String> {
        self.send(message).await
    }

    async fn send(&self, message: &Value) -> Result<(), String> {
        if !self.is_alive() {
            return Err(format!("the process of '{}' has exited", self.server));
        }
        let mut line = serde_json::to_vec(message).map_err(|error| error.to_string())?;
        line.push(b'\n');
        self.writer
            .send(line)
            .await
            .map_err(|_| format!("the process of '{}' has exited", self.server))
    }

    /// Asks the group to stop, then kills it after `grace`.
    pub async fn stop(&self, grace: Duration) {
        self.group.terminate();
        let deadline = tokio::time::Instant::now() + grace;
        while self.group.is_alive() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.group.kill();
    }
}

/// Reads the server's messages and routes each: responses to their request, progress to
/// the request that asked for it, server requests answered (not yet forwarded to clients).
async fn read_loop(
    server: String,
    stdout: tokio::process::ChildStdout,
    inflight: Arc<Inflight>,
    writer: mpsc::Sender<Vec<u8>>,
    alive: Arc<AtomicBool>,
) {
    let mut reader = BufReader::new(stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) if line.len() as u64 > MAX_LINE_BYTES => {
                tracing::warn!(%server, "stdio server wrote a line over the limit; stopping it");
                break;
            }
            Ok(_) => {}
        }
        let Ok(message) = serde_json::from_slice::<Value>(&line) else {
            tracing::debug!(%server, "ignoring a non-JSON line on stdout");
            continue;
        };
        route(&server, message, &inflight, &writer);
    }
    alive.store(false, Ordering::SeqCst);
    // Every request still waiting gets an answer: the process is gone.
    let waiting: Vec<Pending> = inflight
        .pending
        .lock()
        .map(|mut pending| pending.drain().map(|(_, entry)| entry).collect())
        .unwrap_or_default();
    for entry in waiting {
        let error = json!({"jsonrpc": "2.0", "id": entry.client_id,
            "error": {"code": -32000, "message": format!("the process of '{server}' exited before answering")}});
        let _ = entry.response.send(error);
    }
    tracing::warn!(%server, "stdio server exited");
}

fn route(server: &str, mut message: Value, inflight: &Inflight, writer: &mpsc::Sender<Vec<u8>>) {
    let has_method = message.get("method").is_some();
    match (message.get("id").and_then(Value::as_u64), has_method) {
        (Some(upstream_id), false) => {
            let entry = inflight
                .pending
                .lock()
                .ok()
                .and_then(|mut pending| pending.remove(&upstream_id));
            if let Some(entry) = entry {
                message["id"] = entry.client_id;
                let _ = entry.response.send(message);
            }
        }
        (_, true) if message.get("id").is_some() => {
            // A request from the server (sampling, elicitation, roots): clients cannot be
            // reached through the gateway for these yet, so say so instead of hanging it.
            let method = message["method"].as_str().unwrap_or_default().to_owned();
            let reply = json!({"jsonrpc": "2.0", "id": message["id"], "error": {"code": METHOD_NOT_FOUND,
                "message": format!("{method} is not available through the mcpgw gateway")}});
            if let Ok(mut line) = serde_json::to_vec(&reply) {
                line.push(b'\n');
                // Never wait here: the writer may be blocked by a server busy writing to
                // us, and waiting would deadlock the two.
                let _ = writer.try_send(line);
            }
        }
        (_, true) => {
            let owner = message
                .pointer("/params/progressToken")
                .and_then(Value::as_str)
                .and_then(|token| token.strip_prefix(PROGRESS_PREFIX))
                .and_then(|id| id.parse::<u64>().ok());
            let target = owner.and_then(|id| {
                let pending = inflight.pending.lock().ok()?;
                let entry = pending.get(&id)?;
                Some((entry.progress_token.clone(), entry.progress.clone()))
            });
            match target {
                Some((Some(token), progress)) => {
                    message["params"]["progressToken"] = token;
                    let _ = progress.try_send(message);
                }
                _ => tracing::debug!(%server, "notification with no waiting request dropped"),
            }
        }
        _ => tracing::debug!(%server, "unroutable message from stdio server dropped"),
    }
}

/// Sends the server's stderr to the log, line by line, bounded.
async fn log_stderr(server: String, stderr: tokio::process::ChildStderr) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(8 * 1024)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                tracing::info!(%server, stderr = text.trim_end(), "stdio server");
            }
        }
    }
}
