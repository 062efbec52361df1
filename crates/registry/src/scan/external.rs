//! The external scanner: a configured command (`[scan] command`, e.g. a wrapper around
//! Cisco's `mcp-scanner`) run once per scan, as the Python registry runs its scanner.
//!
//! Contract:
//! - The gateway starts `command` (an argv array, no shell) with the server's tools as
//!   one JSON document on stdin:
//!   `{"server": {"path", "name", "description", "transport", "url"}, "tools": [<tool>…]}`,
//!   each tool as MCP's `tools/list` gives it (`name`, `title`, `description`,
//!   `inputSchema`, `outputSchema`, `annotations`); a password in `url` is redacted.
//! - It must exit 0 within the timeout and print one JSON document on stdout:
//!   `{"findings": [{"tool": "name" | null, "severity": "low" | "medium" | "high",
//!   "rule": "…", "message": "…"}]}` (`critical` counts as high, `info` as low, and
//!   `safe` / `none` findings are dropped; `rule` and `tool` may be left out).
//! - Anything else (cannot start, non-zero exit, timeout, output that is not that JSON or
//!   longer than [`MAX_OUTPUT`]) is one medium finding `scanner-failed` ("scanner failed:
//!   …") and a warning in the log; never an error of the scan.
//! - It runs in a process group of its own, killed whole when the run ends or times out:
//!   a wrapper script's children do not outlive it.

use std::process::Stdio;
use std::time::Duration;

use mcpgw_mcp::client::GroupHandle;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use super::capture::{Keep, capture};
use super::{Finding, Severity};
use crate::model::{Server, Tool};

/// Most findings taken from one run, and most characters of each text.
const MAX_FINDINGS: usize = 1_000;
/// Most characters kept of each text the scanner returns.
const MAX_TEXT: usize = 1_000;
/// Most bytes of stdout read as the report (1,000 findings fit many times over).
pub const MAX_OUTPUT: usize = 4 * 1024 * 1024;
/// Most bytes of stderr kept (its end, for the reason of a failure).
const MAX_STDERR: usize = 64 * 1024;

/// How the external scanner is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalScanner {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// How long one run may take before it is killed.
    pub timeout: Duration,
}

/// The server part of the scanner's input.
#[derive(Debug, Serialize)]
struct ServerInfo<'a> {
    path: &'a str,
    name: &'a str,
    description: &'a str,
    transport: &'static str,
    url: Option<String>,
}

/// The document on the scanner's stdin.
#[derive(Debug, Serialize)]
pub struct ScannerInput<'a> {
    /// The server.
    server: ServerInfo<'a>,
    /// Its tools.
    tools: &'a [Tool],
}

impl<'a> ScannerInput<'a> {
    /// The input for `server`'s `tools`.
    pub fn new(server: &'a Server, tools: &'a [Tool]) -> Self {
        ScannerInput {
            server: ServerInfo {
                path: &server.path,
                name: &server.name,
                description: &server.description,
                transport: server.transport.as_str(),
                url: server.url.as_deref().map(redact),
            },
            tools,
        }
    }
}

/// `url` with its password (if any) replaced.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(crate::REDACTED));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// One finding as the scanner writes it.
#[derive(Debug, Deserialize)]
struct Reported {
    #[serde(default)]
    tool: Option<String>,
    severity: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The scanner's output.
#[derive(Debug, Deserialize)]
struct Report {
    findings: Vec<Reported>,
}

/// `text` cut to [`MAX_TEXT`] characters.
fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

impl ExternalScanner {
    /// Runs the scanner over `server`'s `tools`; its findings, or one `scanner-failed`.
    pub async fn run(&self, server: &Server, tools: &[Tool]) -> Vec<Finding> {
        match self.try_run(server, tools).await {
            Ok(findings) => findings,
            Err(reason) => {
                tracing::warn!(path = %server.path, %reason, "the external tool scanner failed");
                vec![Finding {
                    rule: "scanner-failed".to_owned(),
                    severity: Severity::Medium,
                    tool: None,
                    field: None,
                    excerpt: None,
                    message: format!("scanner failed: {reason}"),
                }]
            }
        }
    }

    async fn try_run(&self, server: &Server, tools: &[Tool]) -> Result<Vec<Finding>, String> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| "no command is configured".to_owned())?;
        let input = serde_json::to_vec(&ScannerInput::new(server, tools))
            .map_err(|error| format!("cannot write its input: {error}"))?;
        // Third-party code: it gets what a program needs to run, not the gateway's
        // secrets (database URL, admin token, client secrets) from its environment.
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(mcpgw_mcp::client::inherited_env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| format!("cannot start {program}: {error}"))?;
        let group = GroupHandle::led_by(&child);
        let stdin = child.stdin.take();
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A scanner that exits without reading its input is its business.
                let _ = stdin.write_all(&input).await;
            }
        };
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let run = async {
            let ((), stdout, stderr, status) = tokio::join!(
                feed,
                capture(stdout, MAX_OUTPUT, Keep::Head),
                capture(stderr, MAX_STDERR, Keep::Tail),
                child.wait()
            );
            Ok::<_, std::io::Error>((stdout?, stderr?, status?))
        };
        let outcome = tokio::time::timeout(self.timeout, run).await;
        // Whatever it started in the background goes with it, finished or not.
        group.kill();
        let (stdout, stderr, status) = outcome
            .map_err(|_| format!("no answer within {}s (killed)", self.timeout.as_secs_f64()))?
            .map_err(|error| format!("cannot read its output: {error}"))?;
        if !status.success() {
            let stderr = String::from_utf8_lossy(&stderr.bytes);
            let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
            return Err(format!(
                "{} ({})",
                status,
                clip(last.unwrap_or("no message").trim())
            ));
        }
        if stdout.overflowed {
            return Err(format!(
                "its output is longer than {MAX_OUTPUT} bytes (not read)"
            ));
        }
        parse(&stdout.bytes)
    }
}

/// The findings of a scanner's output.
fn parse(stdout: &[u8]) -> Result<Vec<Finding>, String> {
    let report: Report = serde_json::from_slice(stdout)
        .map_err(|error| format!("its output is not {{\"findings\": [...]}} JSON ({error})"))?;
    let mut findings = Vec::new();
    for reported in report.findings.into_iter().take(MAX_FINDINGS) {
        let severity = match reported.severity.trim().to_ascii_lowercase().as_str() {
            "critical" | "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" | "info" | "informational" => Severity::Low,
            "safe" | "none" => continue,
            other => return Err(format!("unknown severity {:?}", clip(other))),
        };
        let rule = reported.rule.as_deref().unwrap_or("finding");
        findings.push(Finding {
            rule: format!("external:{}", clip(rule)),
            severity,
            tool: reported.tool.as_deref().map(clip),
            field: None,
            excerpt: None,
            message: clip(
                reported
                    .message
                    .as_deref()
                    .unwrap_or("reported by the scanner"),
            ),
        });
    }
    Ok(findings)
}

/// The JSON the scanner reads for `server`'s `tools` (for documentation and tests).
pub fn input_json(server: &Server, tools: &[Tool]) -> Value {
    serde_json::to_value(ScannerInput::new(server, tools)).unwrap_or(Value::Null)
}

#[cfg(test)]
#[path = "external_tests.rs"]
mod tests;
