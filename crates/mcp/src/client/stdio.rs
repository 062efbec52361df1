//! Client channel for servers run as a local process (stdio transport).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use super::handshake::{self, Discovery, RpcChannel};
use super::{ProbeError, ProbeOptions, ProbeReport};
use crate::jsonrpc::{self, RpcError};
use crate::version::{self, Era};

/// How much of the process's stderr is kept to explain a failure.
const STDERR_TAIL_BYTES: usize = 2048;
/// Longest stdout line accepted (a JSON-RPC message).
const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;
/// How long a legacy server may stay silent on `server/discover` before we fall back.
const DISCOVER_GRACE: Duration = Duration::from_secs(2);
/// How long a process gets to exit after its stdin closes before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// A running server process and its pipes.
struct StdioChannel {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    stderr_tail: Arc<Mutex<String>>,
    stderr_reader: JoinHandle<()>,
    next_id: u64,
}

impl StdioChannel {
    fn spawn(command: &str, args: &[String], env: &[(String, String)]) -> Result<Self, ProbeError> {
        let mut child = Command::new(command)
            .args(args)
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| ProbeError::Spawn(format!("{command}: {error}")))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ProbeError::Spawn(format!("{command}: pipes unavailable")));
        };
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        let tail = Arc::clone(&stderr_tail);
        let stderr_reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut tail) = tail.lock() {
                    tail.push_str(&line);
                    tail.push('\n');
                    if tail.len() > STDERR_TAIL_BYTES {
                        let mut cut = tail.len() - STDERR_TAIL_BYTES;
                        while !tail.is_char_boundary(cut) {
                            cut += 1;
                        }
                        tail.drain(..cut);
                    }
                }
            }
        });
        Ok(Self {
            child,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            stderr_tail,
            stderr_reader,
            next_id: 1,
        })
    }

    async fn send(&mut self, message: &Value) -> Result<(), ProbeError> {
        let mut line =
            serde_json::to_vec(message).map_err(|error| ProbeError::Protocol(error.to_string()))?;
        line.push(b'\n');
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(self.exited().await);
        };
        if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
            return Err(self.exited().await);
        }
        Ok(())
    }

    /// The error describing a process that stopped talking to us.
    async fn exited(&mut self) -> ProbeError {
        let status = match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            _ => "closed its output".to_owned(),
        };
        // Let the reader drain what the process wrote before it died: that last line is
        // usually the explanation.
        let _ = tokio::time::timeout(EXIT_GRACE, &mut self.stderr_reader).await;
        let stderr = self
            .stderr_tail
            .lock()
            .map(|tail| tail.trim().lines().last().unwrap_or("").to_owned())
            .unwrap_or_default();
        ProbeError::ProcessExited { status, stderr }
    }

    /// Closes stdin and gives the process a moment to exit before killing it.
    async fn shutdown(mut self) {
        self.stdin = None;
        if tokio::time::timeout(EXIT_GRACE, self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

impl RpcChannel for StdioChannel {
    async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, RpcError>, ProbeError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&jsonrpc::request(id, method, params)).await?;
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.stdout.read_line(&mut line).await;
            match read {
                Ok(0) | Err(_) => return Err(self.exited().await),
                Ok(_) if line.len() > MAX_LINE_BYTES => {
                    return Err(ProbeError::Protocol("stdout line too long".into()));
                }
                Ok(_) => {}
            }
            // Servers that log to stdout break the protocol; skip lines that are not JSON
            // rather than failing on a stray log line.
            let Ok(message) = serde_json::from_str::<Value>(line.trim()) else {
                tracing::debug!(line = line.trim(), "ignoring non-JSON line on stdout");
                continue;
            };
            if let Some(outcome) = jsonrpc::find_response(&message, id) {
                return Ok(outcome);
            }
        }
    }

    async fn notify(&mut self, method: &str, params: Value) -> Result<(), ProbeError> {
        self.send(&jsonrpc::notification(method, params)).await
    }
}

/// Probes a stdio server: start it, `server/discover` (falling back to `initialize` on a
/// non-modern error or silence), list tools, stop it.
pub(crate) async fn probe_stdio(
    command: &str,
    args: &[String],
    env: &[(String, String)],
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let mut channel = StdioChannel::spawn(command, args, env)?;
    let result = probe_channel(&mut channel, options).await;
    channel.shutdown().await;
    result
}

async fn probe_channel(
    channel: &mut StdioChannel,
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let grace = DISCOVER_GRACE.min(options.timeout / 3);
    let discovery = match tokio::time::timeout(grace, handshake::discover(channel, options)).await {
        Ok(outcome) => outcome?,
        Err(_) => Discovery::Legacy(ProbeError::Timeout(grace)),
    };
    match discovery {
        Discovery::Modern(mut report) => {
            let meta = handshake::stateless_meta(options);
            report.tools = handshake::list_tools(channel, Some(meta)).await?;
            return Ok(report);
        }
        Discovery::Legacy(reason) => {
            tracing::debug!(%reason, "no stateless era; falling back to initialize");
        }
    }
    let mut report =
        handshake::initialize(channel, options, Era::Stateful, version::STATEFUL_LATEST).await?;
    report.tools = handshake::list_tools(channel, None).await?;
    Ok(report)
}
