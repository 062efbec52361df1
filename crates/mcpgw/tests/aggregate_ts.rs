//! The aggregated endpoint `/mcp` driven by the official TypeScript SDK (npm
//! `@modelcontextprotocol/sdk`, installed by `scripts/test`), through
//! `tests/node/aggregate_client.mjs`: tools of an HTTP and a stdio upstream listed and
//! called, progress relayed.

mod common;

use std::time::Duration;

use common::{Launch, TOKEN, upstreams};
use serde_json::{Value, json};
use tokio::process::Command;

/// The node_modules directory holding the SDK, or `None` outside `scripts/test` (asserted
/// in CI, so the test cannot be skipped silently there).
fn node_modules() -> Option<String> {
    common::test_dependency(
        "MCPGW_TEST_NODE_MODULES",
        |dir| {
            std::path::Path::new(dir)
                .join("@modelcontextprotocol/sdk/package.json")
                .is_file()
        },
        "node_modules holding @modelcontextprotocol/sdk",
    )
}

/// Runs the client once: connect, list, call `tool` with `arguments`; returns its JSON.
async fn run_client(
    modules: &str,
    url: &str,
    tool: &str,
    arguments: Value,
    progress: bool,
) -> Value {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/node/aggregate_client.mjs"
    );
    let mut command = Command::new("node");
    command
        .arg(script)
        .args([url, TOKEN, tool, &arguments.to_string()])
        .env("MCPGW_TEST_NODE_MODULES", modules)
        .kill_on_drop(true);
    if progress {
        command.arg("--progress");
    }
    let output = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .expect("typescript client finished")
        .expect("node must be installed");
    assert!(
        output.status.success(),
        "typescript client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "typescript client printed no JSON ({error}): {} / {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_typescript_sdk_lists_and_calls_aggregated_tools() {
    let Some(modules) = node_modules() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let toolbox = upstreams::example("toolbox", false).await;
    gw.register_healthy(common::http_server("toolbox", &toolbox.url))
        .await;
    gw.register_healthy(upstreams::stdio_toolbox("box")).await;
    let url = format!("{}/mcp", gw.url);

    let echoed = run_client(
        &modules,
        &url,
        "toolbox__echo",
        json!({"message": "from typescript"}),
        false,
    )
    .await;
    assert_eq!(echoed["ok"], true, "{echoed}");
    assert_eq!(echoed["session"], true, "a stateful session: {echoed}");
    let tools: Vec<String> = serde_json::from_value(echoed["tools"].clone()).unwrap();
    for expected in ["toolbox__echo", "box__countdown", "intelligent_tool_finder"] {
        assert!(
            tools.iter().any(|tool| tool == expected),
            "{expected} in {tools:?}"
        );
    }
    assert_eq!(echoed["is_error"], false, "{echoed}");
    assert!(
        echoed["text"].as_str().unwrap().contains("from typescript"),
        "{echoed}"
    );

    let counted = run_client(
        &modules,
        &url,
        "box__countdown",
        json!({"steps": 3, "delay_ms": 20}),
        true,
    )
    .await;
    assert_eq!(counted["ok"], true, "{counted}");
    assert_eq!(counted["is_error"], false, "{counted}");
    assert_eq!(
        counted["progress"].as_array().unwrap().len(),
        3,
        "{counted}"
    );
}
