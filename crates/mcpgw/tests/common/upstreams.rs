//! Real MCP servers for tests: the project's example servers as separate processes, and
//! the official `@modelcontextprotocol/server-everything` from npm (installed by
//! `scripts/test`), kept on loopback by a preload.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A server process that is killed when dropped.
pub struct Upstream {
    _child: Child,
    /// Its MCP endpoint (`/mcp`, or `/sse` for legacy servers).
    pub url: String,
}

/// Starts `mcpgw example-server NAME --listen 127.0.0.1:0`.
pub async fn example(name: &str, stateless: bool) -> Upstream {
    let mut command = Command::new(super::binary());
    command.args(["example-server", name, "--listen", "127.0.0.1:0"]);
    if stateless {
        command.arg("--stateless");
    }
    let (child, url) = super::spawn_announcing(command, "listening on ").await;
    Upstream { _child: child, url }
}

/// Path of server-everything's entry point, if the test script installed it. Under CI
/// its absence is an error, so end-to-end tests cannot be skipped silently there.
pub fn everything_entry() -> Option<String> {
    super::test_dependency(
        "MCPGW_TEST_EVERYTHING",
        |path| std::path::Path::new(path).is_file(),
        "server-everything's entry point",
    )
}

/// The preload that forces node servers onto 127.0.0.1.
pub fn loopback_preload() -> String {
    std::env::var("MCPGW_TEST_LOOPBACK_PRELOAD").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/loopback-only.cjs"
        )
        .to_owned()
    })
}

/// Starts server-everything in `mode` (`streamableHttp` or `sse`) on a free loopback port.
pub async fn everything(entry: &str, mode: &str) -> Upstream {
    let port = free_port().await;
    let child = Command::new("node")
        .args(["-r", &loopback_preload(), entry, mode])
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("node must be installed");
    let path = if mode == "sse" { "sse" } else { "mcp" };
    wait_for_port(port).await;
    Upstream {
        _child: child,
        url: format!("http://127.0.0.1:{port}/{path}"),
    }
}

async fn free_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn wait_for_port(port: u16) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on port {port} did not start");
}

/// Starts `mcpgw example-server NAME` (stateful) on `port` of 127.0.0.1, to be stopped and
/// started again at the same address.
pub async fn example_at(name: &str, port: u16) -> Upstream {
    let mut command = Command::new(super::binary());
    command.args([
        "example-server",
        name,
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let (child, url) = super::spawn_announcing(command, "listening on ").await;
    Upstream { _child: child, url }
}

/// A loopback port nothing listens on right now.
pub async fn unused_port() -> u16 {
    free_port().await
}

/// A registration body for the example toolbox over stdio, run by the gateway.
pub fn stdio_toolbox(path: &str) -> serde_json::Value {
    serde_json::json!({
        "path": path,
        "command": super::binary(),
        "args": ["example-server", "toolbox", "--stdio"],
    })
}
