//! Runs the `mcpgw-example-server` binary: stdio mode and `--listen` mode.

mod common;

use std::process::Stdio;

use common::{RawClient, TIMEOUT, result_text};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

const BIN: &str = env!("CARGO_BIN_EXE_mcpgw-example-server");

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn mcpgw-example-server")
}

async fn next_line(lines: &mut Lines<BufReader<ChildStdout>>) -> Option<String> {
    tokio::time::timeout(TIMEOUT, lines.next_line())
        .await
        .expect("timed out reading stdout")
        .expect("read stdout")
}

/// JSON-RPC messages read from a child's stdout, which may answer out of order.
struct StdoutReader {
    lines: Lines<BufReader<ChildStdout>>,
    pending: Vec<Value>,
}

impl StdoutReader {
    fn new(stdout: ChildStdout) -> Self {
        Self {
            lines: BufReader::new(stdout).lines(),
            pending: Vec::new(),
        }
    }

    /// The response with `id`, reading more lines as needed; every line must be JSON.
    async fn response(&mut self, id: i64) -> Value {
        loop {
            if let Some(pos) = self.pending.iter().position(|m| m["id"] == json!(id)) {
                return self.pending.remove(pos);
            }
            let line = next_line(&mut self.lines)
                .await
                .expect("stdout closed early");
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("non-JSON line on stdout ({e}): {line}"));
            self.pending.push(message);
        }
    }
}

#[tokio::test]
async fn stdio_mode_speaks_only_json_rpc() {
    let mut child = spawn(&["currenttime", "--stdio"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = StdoutReader::new(child.stdout.take().expect("stdout"));
    let send = |message: Value| format!("{message}\n");

    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "stdio-test", "version": "0"}}});
    stdin.write_all(send(init).as_bytes()).await.expect("write");
    let reply = out.response(1).await;
    assert_eq!(reply["result"]["serverInfo"]["name"], "currenttime");
    assert_eq!(reply["result"]["protocolVersion"], "2025-11-25");

    let rest = [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "current_time_by_timezone", "arguments": {"tz_name": "Asia/Tokyo"}}}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {
            "name": "current_time_by_timezone", "arguments": {"tz_name": "Nowhere/Special"}}}),
    ];
    for message in rest {
        stdin
            .write_all(send(message).as_bytes())
            .await
            .expect("write");
    }
    stdin.flush().await.expect("flush");

    let list = out.response(2).await;
    let tools = list["result"]["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "current_time_by_timezone");
    assert_eq!(tools[0]["inputSchema"]["type"], "object");

    let tokyo = out.response(3).await;
    assert!(
        result_text(&tokyo["result"]).contains("Asia/Tokyo"),
        "{tokyo}"
    );
    let unknown = out.response(4).await;
    assert_eq!(unknown["result"]["isError"], true, "{unknown}");

    // Closing stdin ends the server cleanly, with nothing more on stdout.
    drop(stdin);
    assert_eq!(next_line(&mut out.lines).await, None);
    assert!(
        out.pending.is_empty(),
        "unexpected output: {:?}",
        out.pending
    );
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("server did not exit after stdin closed")
        .expect("wait");
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn stdio_mode_answers_2026_07_28_discover() {
    let mut child = spawn(&["toolbox"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = StdoutReader::new(child.stdout.take().expect("stdout"));
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "stdio-test", "version": "0"},
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
        "params": {"_meta": meta}});
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list",
        "params": {"_meta": meta}});
    stdin
        .write_all(format!("{discover}\n{list}\n").as_bytes())
        .await
        .expect("write");
    let reply = out.response(1).await;
    let versions = reply["result"]["supportedVersions"]
        .as_array()
        .expect("versions");
    assert!(versions.contains(&json!("2026-07-28")), "{reply}");
    let list = out.response(2).await;
    assert_eq!(
        list["result"]["tools"].as_array().map(Vec::len),
        Some(11),
        "{list}"
    );
    drop(stdin);
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("exit")
        .expect("wait");
    assert!(status.success(), "{status}");
}

#[cfg(unix)]
#[tokio::test]
async fn listen_mode_prints_url_and_stops_on_sigterm() {
    for extra in [None, Some("--stateless")] {
        let mut args = vec!["toolbox", "--listen", "127.0.0.1:0"];
        args.extend(extra);
        let mut child = spawn(&args);
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = next_line(&mut lines).await.expect("listening line");
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        assert!(
            url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
            "{url}"
        );

        let mut client = RawClient::new(url);
        let init = client.initialize("2025-11-25").await;
        assert_eq!(init.session_id.is_some(), extra.is_none(), "{init:?}");
        let echo = client
            .call_tool(1, "echo", json!({"message": "ping"}), None)
            .await;
        assert_eq!(result_text(echo.result(1)), "ping");

        let pid = child.id().expect("pid").to_string();
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(kill.success());
        let status = tokio::time::timeout(TIMEOUT, child.wait())
            .await
            .expect("server did not stop on SIGTERM")
            .expect("wait");
        assert!(status.success(), "{status}");
        assert_eq!(next_line(&mut lines).await, None, "only one line on stdout");
    }
}
