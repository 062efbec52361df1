//! A stdio server process as a [`Channel`]: messages are lines on its stdin and stdout,
//! its stderr goes to the log, and dropping it kills its whole process group.

use std::time::Duration;

use mcpgw_mcp::client::{GroupHandle, spawn_server};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::BridgeError;
use super::channel::{Channel, Inbound, WRITE_QUEUE};
use crate::table::StdioSpec;

/// Longest stdout line accepted from a server (one JSON-RPC message).
const MAX_LINE_BYTES: u64 = 32 * 1024 * 1024;
/// Longest stderr line logged as one entry.
const MAX_LOG_LINE_BYTES: u64 = 8 * 1024;

/// A running server process.
pub struct StdioProcess {
    channel: Channel,
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
    /// Starts the server `spec` for the registered server `server`.
    pub fn start(server: &str, spec: &StdioSpec) -> Result<Self, BridgeError> {
        let process = spawn_server(&spec.command, &spec.args, &spec.env).map_err(|error| {
            if matches!(error, mcpgw_mcp::client::ProbeError::TooManyProcesses(_)) {
                mcpgw_telemetry::metrics::metrics().limit_rejected("stdio_processes");
            }
            BridgeError::Start {
                server: server.to_owned(),
                reason: error.to_string(),
            }
        })?;
        let (outbound, mut queue) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        let (channel, inbound) = Channel::new(server, outbound);
        let mut stdin = process.stdin;
        let write_task = tokio::spawn(async move {
            while let Some(mut line) = queue.recv().await {
                line.push(b'\n');
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    return;
                }
            }
        });
        let read_task = tokio::spawn(read_loop(server.to_owned(), process.stdout, inbound));
        let log_task = tokio::spawn(log_stderr(server.to_owned(), process.stderr));
        let mut child = process.child;
        // Counted as running, and under the cap, until it exits, whoever stops it.
        let running = mcpgw_telemetry::metrics::metrics().stdio_started(server);
        let slot = process.slot;
        let reaper = tokio::spawn(async move {
            let _ = child.wait().await;
            drop(running);
            drop(slot);
        });
        Ok(StdioProcess {
            channel,
            group: process.group,
            tasks: vec![write_task, read_task, log_task, reaper],
        })
    }

    /// The process's messages.
    pub fn channel(&self) -> &Channel {
        &self.channel
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

/// Reads the server's stdout line by line into the channel until it closes.
async fn read_loop(server: String, stdout: tokio::process::ChildStdout, inbound: Inbound) {
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
        match serde_json::from_slice::<Value>(&line) {
            Ok(message) => inbound.deliver(message),
            Err(_) => tracing::debug!(%server, "ignoring a non-JSON line on stdout"),
        }
    }
    tracing::warn!(%server, "stdio server exited");
    // Dropping `inbound` answers every request still waiting.
}

/// Sends the server's stderr to the log, line by line, bounded.
async fn log_stderr(server: String, stderr: tokio::process::ChildStderr) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader)
            .take(MAX_LOG_LINE_BYTES)
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
