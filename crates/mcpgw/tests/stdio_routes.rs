//! stdio servers behind `/{server}/mcp` and `/{server}/sse`: started on first use (or with
//! the gateway when eager), shared safely by concurrent clients, restarted after a crash,
//! stopped on removal and on shutdown.

mod common;

use std::time::Duration;

use common::hostile::processes_with;
use common::{Launch, TOKEN};
use serde_json::{Value, json};

/// Registers a stdio toolbox run through `sh`, whose command line carries `marker` so
/// that the test can find (and kill) exactly its processes.
async fn register_marked_toolbox(gw: &common::Gateway, path: &str, marker: &str) {
    let body = json!({
        "path": path,
        "command": "sh",
        "args": ["-c", "\"$0\" example-server toolbox --stdio", common::binary(), marker],
    });
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
}

async fn call(gw: &common::Gateway, path: &str, body: &Value) -> reqwest::Response {
    gw.request("POST", &format!("/{path}/mcp"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} never happened");
}

/// Kills the whole process group each of `leaders` leads, at once, as when a server crashes
/// or is OOM-killed.
fn kill_groups(leaders: &[u32]) {
    for pid in leaders {
        let _ = std::process::Command::new("kill")
            .args(["-9", "--", &format!("-{pid}")])
            .status();
    }
}

fn marker(test: &str) -> String {
    format!("mcpgw-stdio-test-{test}-{}", std::process::id())
}

#[tokio::test]
async fn clients_share_one_process_without_mixing_ids_or_progress() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let marker = marker("share");
    register_marked_toolbox(&gw, "box", &marker).await;

    let init = json!({"jsonrpc": "2.0", "id": "i", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let response = call(&gw, "box", &init).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("mcp-session-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "i");
    assert_eq!(body["result"]["serverInfo"]["name"], "toolbox");

    // Many clients at once, all using id 1 and the same progress token.
    let calls = (0..8).map(|i| {
        let gw = &gw;
        async move {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                "name": "countdown", "arguments": {"steps": 2, "delay_ms": 50 + i * 10},
                "_meta": {"progressToken": "same"}}});
            let response = call(gw, "box", &body).await;
            assert_eq!(response.headers()["content-type"], "text/event-stream");
            response.text().await.unwrap()
        }
    });
    for stream in futures::future::join_all(calls).await {
        let events: Vec<Value> = stream
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .map(|data| serde_json::from_str(data).unwrap())
            .collect();
        let progress: Vec<&Value> = events
            .iter()
            .filter(|e| e["method"] == "notifications/progress")
            .collect();
        assert_eq!(
            progress.len(),
            2,
            "each client gets its own progress, no more: {events:?}"
        );
        assert!(
            progress
                .iter()
                .all(|p| p["params"]["progressToken"] == "same")
        );
        let last = events.last().unwrap();
        assert_eq!(last["id"], 1);
        assert!(
            last["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("2 steps")
        );
    }
    assert_eq!(
        processes_with(&marker).len(),
        1,
        "one shared process for all clients (its launching sh carries the marker)"
    );

    let batch = json!([
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "a"}}},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "b"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"}
    ]);
    let answers: Vec<Value> = call(&gw, "box", &batch).await.json().await.unwrap();
    let texts: Vec<&str> = answers
        .iter()
        .map(|a| a["result"]["content"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["a", "b"]);

    // Removing the server stops its process group.
    assert_eq!(gw.api("DELETE", "/api/servers/box", None).await.status, 204);
    wait_until("the removed server's processes to stop", || {
        processes_with(&marker).is_empty()
    })
    .await;
}

#[tokio::test]
async fn a_crashed_process_is_restarted_and_shutdown_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let marker = marker("crash");
    register_marked_toolbox(&gw, "box", &marker).await;
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(call(&gw, "box", &list).await.status(), 200);
    let before = processes_with(&marker);
    assert!(!before.is_empty());

    // The whole process group dies at once, as when the server crashes or is OOM-killed
    // (the marked `sh` leads the group the gateway created).
    kill_groups(&before);
    wait_until("the crash to be complete", || {
        processes_with(&marker).is_empty()
    })
    .await;

    // The next calls fail cleanly (502) until the backoff allows a restart, then succeed.
    let mut restarted = false;
    for _ in 0..100 {
        let response = call(&gw, "box", &list).await;
        if response.status() == 200 {
            restarted = true;
            break;
        }
        // 502 for the call that found it dead, 503 (Retry-After) while it backs off.
        assert!(
            [502, 503].contains(&response.status().as_u16()),
            "{}",
            response.status()
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains("'box'"),
            "{body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(restarted, "the server came back");
    let after = processes_with(&marker);
    assert!(!after.is_empty() && after.iter().all(|pid| !before.contains(pid)));

    let status = gw.signal_and_wait("TERM").await;
    assert!(status.success());
    wait_until("shutdown to stop every stdio process", || {
        processes_with(&marker).is_empty()
    })
    .await;
}

#[tokio::test]
async fn official_python_sdk_reaches_a_stdio_server_on_both_routes() {
    let Some(entry) = common::upstreams::everything_entry() else {
        return;
    };
    let Some(python) = common::python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let body = json!({"path": "everything", "command": "node", "args": [entry, "stdio"]});
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/mcp_client.py");
    for (transport, route) in [("http", "mcp"), ("sse", "sse")] {
        let url = format!("{}/everything/{route}", gw.url);
        let output = tokio::process::Command::new(&python)
            .args([script, transport, &url, TOKEN])
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(seen["server_name"], "mcp-servers/everything", "{url}");
        assert_eq!(
            seen["sum_text"],
            json!(["The sum of 2 and 3 is 5."]),
            "{url}"
        );
        assert_eq!(seen["progress_count"], 4, "{url}: {seen}");
        assert_eq!(seen["first_progress_before_result"], true, "{url}");
        assert_eq!(seen["progress_spread_over_run"], true, "{url}");
    }
}

/// Reads SSE `data:` payloads from a streaming response until `wanted` says stop.
async fn read_events(
    response: &mut reqwest::Response,
    mut wanted: impl FnMut(&Value) -> bool,
) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("the awaited event came in time")
            .unwrap()
            .expect("the stream stayed open");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for data in event.lines().filter_map(|line| line.strip_prefix("data: ")) {
                let value = serde_json::from_str(data).unwrap_or(Value::String(data.into()));
                let done = wanted(&value);
                seen.push(value);
                if done {
                    return seen;
                }
            }
        }
    }
}

#[tokio::test]
async fn server_notifications_reach_get_streams_and_legacy_clients() {
    let Some(entry) = common::upstreams::everything_entry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let body = json!({"path": "ev", "command": "node", "args": [entry, "stdio"]});
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);

    // A Streamable HTTP client's GET stream and a legacy SSE client's stream, both open.
    let mut notes = gw
        .request("GET", "/ev/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(notes.status(), 200);
    assert_eq!(notes.headers()["content-type"], "text/event-stream");
    let mut legacy = gw
        .request("GET", "/ev/sse")
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    let first = read_events(&mut legacy, |_| true).await;
    let endpoint = first[0].as_str().unwrap().to_owned();
    assert!(endpoint.starts_with("/ev/messages?session="), "{endpoint}");

    // The legacy client initialises and calls a tool; answers arrive on its stream.
    let post = |body: Value| {
        gw.request("POST", &endpoint)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let init = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    assert_eq!(post(init).await.unwrap().status(), 202);
    let answers = read_events(&mut legacy, |event| event["id"] == "init").await;
    let initialized = &answers.last().unwrap()["result"];
    assert_eq!(initialized["serverInfo"]["name"], "mcp-servers/everything");
    assert_eq!(
        initialized["protocolVersion"], "2024-11-05",
        "an older client is answered in its own revision, which the gateway translates"
    );
    let toggle = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "toggle-simulated-logging", "arguments": {}}});
    assert_eq!(post(toggle).await.unwrap().status(), 202);
    let answers = read_events(&mut legacy, |event| event["id"] == 9).await;
    assert!(
        answers.last().unwrap()["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Started simulated"),
        "{answers:?}"
    );

    // The server's log message (sent at once when logging starts) reaches both streams.
    let is_log = |event: &Value| event["method"] == "notifications/message";
    read_events(&mut notes, is_log).await;
    read_events(&mut legacy, is_log).await;

    // A stale or foreign session id is refused; the live one is not reusable elsewhere.
    let stale = gw
        .post_rpc(
            &endpoint.replace("/ev/", "/other/"),
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        )
        .await;
    assert_eq!(stale.status(), 404);
    drop(legacy);
    let mut closed = 0;
    for _ in 0..100 {
        closed = post(json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}))
            .await
            .unwrap()
            .status()
            .as_u16();
        if closed == 404 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(closed, 404, "a closed legacy stream's session is forgotten");
}

#[tokio::test]
async fn eager_servers_start_with_the_gateway_and_are_kept_running() {
    let dir = tempfile::tempdir().unwrap();
    let launch = || Launch::quiet(dir.path()).start();
    let gw = launch().await;
    let marker = marker("eager");
    let body = json!({
        "path": "box",
        "command": "sh",
        "args": ["-c", "\"$0\" example-server toolbox --stdio", common::binary(), &marker],
        "eager": true,
    });
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    let shown = gw.api("GET", "/api/servers/box", None).await;
    assert_eq!(shown.body["eager"], true, "{:?}", shown.body);
    wait_until("the eager server to start without any request", || {
        !processes_with(&marker).is_empty()
    })
    .await;

    // It dies; nobody calls it; it comes back by itself.
    let before = processes_with(&marker);
    kill_groups(&before);
    wait_until("the eager server to be restarted", || {
        let now = processes_with(&marker);
        !now.is_empty() && now.iter().all(|pid| !before.contains(pid))
    })
    .await;

    // A restarted gateway starts it again, before any request.
    assert!(gw.signal_and_wait("TERM").await.success());
    wait_until("shutdown to stop it", || processes_with(&marker).is_empty()).await;
    let gw = launch().await;
    wait_until("the eager server to start with the gateway", || {
        !processes_with(&marker).is_empty()
    })
    .await;

    // Only stdio servers can be eager.
    let http = json!({"path": "web", "url": "http://127.0.0.1:9/mcp", "eager": true});
    let refused = gw.api("POST", "/api/servers", Some(http)).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert!(
        refused.body.to_string().contains("eager"),
        "{:?}",
        refused.body
    );

    // No longer eager: it keeps running (as a lazy server would after its first use);
    // removed: it is stopped.
    // (A call first: the process list is only settled once the server answers.)
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(call(&gw, "box", &list).await.status(), 200);
    let running = processes_with(&marker);
    let lazy = json!({"eager": false});
    assert_eq!(
        gw.api("PATCH", "/api/servers/box", Some(lazy)).await.status,
        200
    );
    assert_eq!(call(&gw, "box", &list).await.status(), 200);
    assert_eq!(processes_with(&marker), running, "not restarted for a flag");
    assert_eq!(gw.api("DELETE", "/api/servers/box", None).await.status, 204);
    wait_until("a removed server to be stopped", || {
        processes_with(&marker).is_empty()
    })
    .await;
    assert!(gw.signal_and_wait("TERM").await.success());
}

#[tokio::test]
async fn a_client_that_stops_reading_does_not_stall_the_others() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let marker = marker("slow");
    register_marked_toolbox(&gw, "box", &marker).await;
    let warm = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(call(&gw, "box", &warm).await.status(), 200);

    // A client asks for a flood of progress and never reads a byte of it.
    let flood = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "countdown", "arguments": {"steps": 1000, "delay_ms": 1}, "_meta": {"progressToken": "f"}}})
    .to_string();
    let address = gw.url.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /box/mcp HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{flood}",
        flood.len()
    );
    stalled.write_all(request.as_bytes()).await.unwrap();

    // Everyone else is still served while the flood runs.
    for i in 0..5 {
        let echo = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"message": format!("m{i}")}}});
        let response = call(&gw, "box", &echo).await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["result"]["content"][0]["text"], format!("m{i}"));
    }
    drop(stalled);
}

#[tokio::test]
async fn a_restricted_listener_gets_no_log_lines_caused_by_other_clients() {
    let Some(entry) = common::upstreams::everything_entry() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (gw, _scopes) = common::access::start(dir.path(), common::access::POLICY).await;
    // The analysts' `toolbox*` entry covers this server, with two of its tools.
    let body = json!({"path": "toolbox-everything", "command": "node", "args": [entry, "stdio"]});
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    let analyst = common::access::token_for(&gw, &["analysts"]).await;

    let open = |token: String| {
        let request = gw
            .request("GET", "/toolbox-everything/sse")
            .bearer_auth(token);
        async move {
            let mut stream = request.send().await.unwrap();
            assert_eq!(stream.status(), 200);
            let first = read_events(&mut stream, |_| true).await;
            (stream, first[0].as_str().unwrap().to_owned())
        }
    };
    let (mut admin_stream, admin_endpoint) = open(TOKEN.to_owned()).await;
    let (mut analyst_stream, analyst_endpoint) = open(analyst.clone()).await;
    let post = |endpoint: &str, token: &str, body: Value| {
        gw.request("POST", endpoint)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };

    // The admin starts the server's logging: its log line reaches the admin's stream.
    let toggle = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "toggle-simulated-logging", "arguments": {}}});
    assert_eq!(
        post(&admin_endpoint, TOKEN, toggle).await.unwrap().status(),
        202
    );
    let is_log = |event: &Value| event["method"] == "notifications/message";
    read_events(&mut admin_stream, is_log).await;

    // The analyst's stream, read up to the answer of a ping sent after that line went
    // out, holds no log line.
    let ping = json!({"jsonrpc": "2.0", "id": "marker", "method": "ping"});
    assert_eq!(
        post(&analyst_endpoint, &analyst, ping)
            .await
            .unwrap()
            .status(),
        202
    );
    let seen = read_events(&mut analyst_stream, |event| event["id"] == "marker").await;
    assert!(!seen.iter().any(is_log), "{seen:?}");
}
