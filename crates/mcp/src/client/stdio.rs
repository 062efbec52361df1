//! Client channel for servers run as a local process (stdio transport): starting the
//! process with a clean environment in its own process group, reading its output with
//! bounded memory, and stopping it together with everything it started.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::time::Instant;

use super::ProbeError;
use super::handshake::RpcChannel;
use super::process_group::{ProcessGroup, Signal};
use super::spawn::{ServerProcess, spawn_server};
use super::stderr_tail::StderrTail;
use crate::jsonrpc::{self, RpcError};

/// Longest stdout line accepted (a JSON-RPC message).
const MAX_LINE_BYTES: usize = 32 * 1024 * 1024;
/// How long a process gets to exit after its stdin closes, and again after `SIGTERM`.
const EXIT_GRACE: Duration = Duration::from_secs(1);
/// How often shutdown looks whether the process group is gone.
const GROUP_POLL: Duration = Duration::from_millis(20);
/// How much of a skipped stdout line is logged.
const MAX_LOGGED_CHARS: usize = 200;

/// A running server process and its pipes.
///
/// Dropping it (the probe can be cancelled by its deadline at any await point) kills the
/// whole process group; [`StdioChannel::shutdown`] is the polite way.
pub(crate) struct StdioChannel {
    child: Child,
    /// The group to stop; `None` once stopped.
    group: Option<ProcessGroup>,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// The stdout line being read, kept here so a read cancelled half-way loses nothing.
    line: Vec<u8>,
    stderr: StderrTail,
    next_id: u64,
    /// Its place under the cap on stdio processes (the child is killed when this is
    /// dropped).
    _slot: super::ProcessSlot,
}

impl StdioChannel {
    /// Starts `command` with the allowlisted part of the gateway's environment plus `env`,
    /// as the leader of a new process group.
    pub(crate) fn spawn(
        command: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Result<Self, ProbeError> {
        let ServerProcess {
            child,
            stdin,
            stdout,
            stderr,
            group,
            slot,
        } = spawn_server(command, args, env)?;
        let group = group.0;
        Ok(Self {
            child,
            group,
            stdin: Some(stdin),
            stdout: BufReader::new(stdout),
            line: Vec::new(),
            stderr: StderrTail::start(stderr),
            next_id: 1,
            _slot: slot,
        })
    }

    /// Sends a request and returns its id, without waiting for the response.
    pub(crate) async fn request(&mut self, method: &str, params: Value) -> Result<u64, ProbeError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&jsonrpc::request(id, method, params)).await?;
        Ok(id)
    }

    /// Waits for the response to any of the requests `ids`; returns which one and what it
    /// said. Everything else the server sends is skipped.
    pub(crate) async fn wait_for(
        &mut self,
        ids: &[u64],
    ) -> Result<(u64, Result<Value, RpcError>), ProbeError> {
        loop {
            let message = self.next_message().await?;
            for &id in ids {
                if let Some(outcome) = jsonrpc::find_response(&message, id) {
                    return Ok((id, outcome));
                }
            }
        }
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

    /// Reads the next JSON value from stdout.
    ///
    /// A line is read as bytes and never allowed past [`MAX_LINE_BYTES`] (one endless line
    /// cannot exhaust memory), and bytes that are not UTF-8 are just a line that is not
    /// JSON. Servers that log to stdout break the protocol; such lines are skipped rather
    /// than failing on a stray log line.
    async fn next_message(&mut self) -> Result<Value, ProbeError> {
        loop {
            let room = (MAX_LINE_BYTES + 1).saturating_sub(self.line.len()) as u64;
            let Ok(read) = (&mut self.stdout)
                .take(room)
                .read_until(b'\n', &mut self.line)
                .await
            else {
                return Err(self.exited().await);
            };
            let complete = self.line.last() == Some(&b'\n');
            if !complete && self.line.len() > MAX_LINE_BYTES {
                return Err(ProbeError::Protocol(format!(
                    "stdout line longer than {MAX_LINE_BYTES} bytes"
                )));
            }
            if read == 0 && self.line.is_empty() {
                return Err(self.exited().await);
            }
            // A complete line, or the unterminated last one before end of file.
            let line = std::mem::take(&mut self.line);
            match serde_json::from_slice::<Value>(line.trim_ascii()) {
                Ok(message) => return Ok(message),
                Err(_) => {
                    let shown: String = String::from_utf8_lossy(line.trim_ascii())
                        .chars()
                        .take(MAX_LOGGED_CHARS)
                        .collect();
                    tracing::debug!(line = shown, "ignoring non-JSON line on stdout");
                }
            }
        }
    }

    /// The error describing a process that stopped talking to us.
    async fn exited(&mut self) -> ProbeError {
        let status = match tokio::time::timeout(EXIT_GRACE, self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            _ => "closed its output".to_owned(),
        };
        // Let the reader drain what the process wrote before it died: that last line is
        // usually the explanation.
        self.stderr.settle(EXIT_GRACE).await;
        ProbeError::ProcessExited {
            status,
            stderr: self.stderr.last_line(),
        }
    }

    /// Stops the server: closes stdin (the stdio way to ask it to exit), then sends
    /// `SIGTERM` to its whole process group, and `SIGKILL` to what is left after a grace
    /// period. Takes at most about three grace periods.
    pub(crate) async fn shutdown(mut self) {
        self.stdin = None;
        let _ = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await;
        let Some(group) = self.group.take() else {
            let _ = self.child.kill().await;
            return;
        };
        // Even when the leader exited, helpers it started (`npx` → `node`, `sh -c` → …)
        // may still be running in its group.
        if !group.signal(Signal::Terminate) {
            return;
        }
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            // Reap the leader: its zombie would keep the group looking alive.
            let _ = self.child.try_wait();
            if !group.is_alive() {
                return;
            }
            tokio::time::sleep(GROUP_POLL).await;
        }
        group.signal(Signal::Kill);
        let _ = tokio::time::timeout(EXIT_GRACE, self.child.wait()).await;
    }
}

impl Drop for StdioChannel {
    /// Cancellation path: kill the whole group at once (the stderr reader stops with
    /// [`StderrTail`]). The group is signalled even if the leader was already reaped: its
    /// id cannot be reused while any member, such as an orphaned helper, is alive.
    fn drop(&mut self) {
        if let Some(group) = self.group.take() {
            group.signal(Signal::Kill);
        }
    }
}

impl RpcChannel for StdioChannel {
    async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, RpcError>, ProbeError> {
        let id = self.request(method, params).await?;
        let (_, outcome) = self.wait_for(&[id]).await?;
        Ok(outcome)
    }

    async fn notify(&mut self, method: &str, params: Value) -> Result<(), ProbeError> {
        self.send(&jsonrpc::notification(method, params)).await
    }
}
