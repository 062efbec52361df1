//! Stdio probes against small scripted servers (python3 and sh).

use std::time::Duration;

use super::*;
use crate::client::{Endpoint, ProbeOptions, http_client, probe};

/// A python3 prelude: helpers to answer requests and a `serve()` loop for a dual-era
/// server that names its tool after the era of the `tools/list` request.
const PYTHON_SERVER: &str = r#"
import json, sys, time

def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()

def answer(request, result):
    send({"jsonrpc": "2.0", "id": request["id"], "result": result})

def fail(request, code):
    send({"jsonrpc": "2.0", "id": request["id"], "error": {"code": code, "message": "no"}})

DISCOVERED = {"supportedVersions": ["2026-07-28"], "capabilities": {},
              "serverInfo": {"name": "script", "version": "1"}}
INITIALIZED = {"protocolVersion": "2025-11-25", "capabilities": {},
               "serverInfo": {"name": "script", "version": "1"}}

def read():
    line = sys.stdin.readline()
    return json.loads(line) if line else None

def serve(modern=True):
    while True:
        request = read()
        if request is None:
            return
        method = request.get("method")
        if method == "server/discover":
            if modern:
                answer(request, DISCOVERED)
            else:
                fail(request, -32601)
        elif method == "initialize":
            answer(request, INITIALIZED)
        elif method == "tools/list":
            era = "modern" if "_meta" in request.get("params", {}) else "legacy"
            answer(request, {"tools": [{"name": era, "inputSchema": {"type": "object"}}]})
"#;

fn options(timeout: Duration) -> ProbeOptions {
    ProbeOptions {
        http: http_client(timeout).unwrap(),
        timeout,
        client_name: "test".into(),
        client_version: "0".into(),
    }
}

fn python(script: &str) -> Endpoint {
    Endpoint::Stdio {
        command: "python3".into(),
        args: vec!["-c".into(), format!("{PYTHON_SERVER}\n{script}")],
        env: Vec::new(),
    }
}

fn sh(script: &str) -> Endpoint {
    Endpoint::Stdio {
        command: "sh".into(),
        args: vec!["-c".into(), script.into()],
        env: Vec::new(),
    }
}

fn tool_names(report: &ProbeReport) -> Vec<&str> {
    report
        .tools
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect()
}

/// Pids of running processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(marker) {
            found.push(pid);
        }
    }
    found
}

/// Polls until `done` holds, for at most `limit`.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// A server that starts a background helper and never answers, and the marker (a `sleep`
/// argument no other process has) to look for in `/proc`. The marker is assembled by the
/// shell, so only the two `sleep` processes carry it, not the shell itself.
fn sleepers(tag: u32) -> (Endpoint, String) {
    let suffix = format!("{}{tag}", std::process::id());
    let endpoint = Endpoint::Stdio {
        command: "sh".into(),
        args: vec![
            "-c".into(),
            "sleep 600.$0 & sleep 600.$0".into(),
            suffix.clone(),
        ],
        env: Vec::new(),
    };
    (endpoint, format!("600.{suffix}"))
}

/// Kills what a failed test left behind.
fn kill_all(pids: &[i32]) {
    for pid in pids {
        // SAFETY: plain kill of a leftover test process.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
}

#[tokio::test]
async fn modern_and_legacy_servers_are_told_apart() {
    let modern = probe(&python("serve()"), &options(Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(modern.era, Era::Stateless);
    assert_eq!(tool_names(&modern), ["modern"]);

    let legacy = probe(
        &python("serve(modern=False)"),
        &options(Duration::from_secs(20)),
    )
    .await
    .unwrap();
    assert_eq!(legacy.era, Era::Stateful);
    assert_eq!(legacy.protocol_version, "2025-11-25");
    assert_eq!(tool_names(&legacy), ["legacy"]);
}

#[tokio::test]
async fn a_discover_reply_arriving_after_the_grace_period_still_wins() {
    // The server answers server/discover only once it has also received initialize, as a
    // slow starter would: by then the client has given up waiting and sent initialize.
    let script = r#"
discover = read()
initialize = read()
assert initialize["method"] == "initialize", initialize
answer(discover, DISCOVERED)
answer(initialize, INITIALIZED)
serve()
"#;
    let report = probe(&python(script), &options(Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(report.era, Era::Stateless);
    assert_eq!(report.protocol_version, version::STATELESS_2026);
    assert_eq!(tool_names(&report), ["modern"], "tools listed with _meta");
    assert_eq!(report.server_info.unwrap()["name"], "script");
}

#[tokio::test]
async fn a_server_silent_on_discover_falls_back_to_initialize() {
    let script = r#"
read()
serve()
"#;
    let report = probe(&python(script), &options(Duration::from_secs(3)))
        .await
        .unwrap();
    assert_eq!(report.era, Era::Stateful);
    assert_eq!(tool_names(&report), ["legacy"]);
}

#[tokio::test]
async fn stopping_a_slow_exiter_happens_after_the_deadline() {
    // Answers at once, then ignores the end of its input: only SIGTERM stops it, after a
    // grace period longer than this probe's whole deadline.
    let script = r#"
serve()
time.sleep(30)
"#;
    let report = probe(&python(script), &options(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(tool_names(&report), ["modern"]);
}

#[tokio::test]
async fn invalid_utf8_on_stdout_is_skipped_not_taken_for_an_exit() {
    let script = r#"
sys.stdout.buffer.write(b"\xff\xfe not a message\n")
sys.stdout.buffer.flush()
serve()
"#;
    let report = probe(&python(script), &options(Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(tool_names(&report), ["modern"]);
}

#[tokio::test]
async fn an_endless_stdout_line_is_refused_without_buffering_it_all() {
    // 64 MiB without a newline, then silence: only a bounded read fails before the deadline.
    let endpoint = sh("head -c 67108864 /dev/zero | tr '\\0' x; sleep 30");
    let error = probe(&endpoint, &options(Duration::from_secs(25)))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        ProbeError::Protocol("stdout line longer than 33554432 bytes".into())
    );
}

#[tokio::test]
async fn the_environment_is_an_allowlist_plus_the_configured_variables() {
    // Cargo sets CARGO_MANIFEST_DIR for test runs: a variable of ours the server must not see.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let endpoint = Endpoint::Stdio {
        command: "sh".into(),
        args: vec![
            "-c".into(),
            r#"echo "leak=$CARGO_MANIFEST_DIR mine=$MINE path=${PATH:+set}" >&2; exit 3"#.into(),
        ],
        env: vec![("MINE".into(), "configured".into())],
    };
    let error = probe(&endpoint, &options(Duration::from_secs(20)))
        .await
        .unwrap_err();
    let ProbeError::ProcessExited { status, stderr } = error else {
        panic!("expected an exit, got {error:?}");
    };
    assert!(status.contains('3'), "{status}");
    assert_eq!(stderr, "leak= mine=configured path=set");
}

#[tokio::test]
async fn a_cancelled_probe_kills_the_whole_process_group() {
    let (endpoint, marker) = sleepers(1);
    let probing = tokio::spawn(async move {
        let _ = probe(&endpoint, &options(Duration::from_secs(60))).await;
    });
    assert!(
        eventually(Duration::from_secs(20), || processes_with(&marker).len()
            >= 2)
        .await,
        "the server's processes did not start"
    );
    // What the overall timeout of a caller does: drop the probe at an await point.
    probing.abort();
    let _ = probing.await;
    let gone = eventually(Duration::from_secs(10), || {
        processes_with(&marker).is_empty()
    })
    .await;
    let survivors = processes_with(&marker);
    kill_all(&survivors);
    assert!(gone, "orphans survived the probe: {survivors:?}");
}

#[tokio::test]
async fn shutdown_stops_what_the_server_started() {
    // Never answers; the deadline ends the probe, then shutdown stops the group.
    let (endpoint, marker) = sleepers(2);
    let error = probe(&endpoint, &options(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(error, ProbeError::Timeout(Duration::from_secs(1)));
    let gone = eventually(Duration::from_secs(10), || {
        processes_with(&marker).is_empty()
    })
    .await;
    let survivors = processes_with(&marker);
    kill_all(&survivors);
    assert!(gone, "orphans survived the probe: {survivors:?}");
}
