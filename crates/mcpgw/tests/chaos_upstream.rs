//! Chaos on the data plane: an upstream that is killed (SIGKILL), stalls, or answers
//! garbage in the middle of a streamed tool call (one progress event already sent), on the
//! server's own route `/{server}/mcp` and on the aggregated `/mcp`. In every case the
//! caller's stream ends (never hangs) without a result, the other servers keep answering
//! meanwhile, the gateway stays up, and once a working server is back on the same port the
//! next call succeeds with no admin action.
//!
//! What the gateway promises, by route:
//! - `/{server}/mcp` forwards the server's stream as it comes (it checks requests, and tool
//!   lists only). A stream the server breaks off (killed, truncated) or lets stall past
//!   `idle_timeout_secs` is cut off for the client too: the body ends with an error, never
//!   with a clean end that could pass for a complete answer. Garbage in complete events
//!   passes on as it came, and the stream ends when the server ends it.
//! - `/mcp` reads the server's answer itself: the client gets the progress relayed, then a
//!   JSON-RPC error for its request that names the server and what went wrong.
//!
//! `data_plane.rs` has the simpler cases (a kill on the server route without a restart, a
//! stream that stalls before its first event); `health.rs` the checker against such servers.

mod common;

use common::chaos::{ChaosServer, Ended, Reading, events, serves_clock, until_released};
use common::upstreams::{self, Upstream};
use common::{Gateway, Launch, TOKEN, http_server};
use serde_json::{Value, json};

/// The data-plane timeouts of these tests (seconds): first byte and silence in a stream.
const TIMEOUT_SECS: u32 = 3;

/// How the upstream fails once its first progress event is out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// The example toolbox, SIGKILLed mid-countdown.
    Kill,
    /// `chaos_server.py` in this mode.
    Chaos(&'static str),
}

/// The upstream process on the test's port.
enum Running {
    Toolbox(Upstream),
    Chaos(ChaosServer),
}

impl Running {
    fn url(&self) -> &str {
        match self {
            Running::Toolbox(upstream) => &upstream.url,
            Running::Chaos(server) => &server.url,
        }
    }
}

/// Starts the server that will fail in `fault`'s way on `port`.
async fn faulty(fault: Fault, port: u16) -> Running {
    until_released(port).await;
    match fault {
        Fault::Kill => Running::Toolbox(upstreams::example_at("toolbox", port).await),
        Fault::Chaos(mode) => Running::Chaos(ChaosServer::start(mode, port).await),
    }
}

/// Kills whatever runs on `port` and starts the working example toolbox there instead.
async fn working(old: Option<Running>, port: u16) -> Running {
    drop(old);
    until_released(port).await;
    Running::Toolbox(upstreams::example_at("toolbox", port).await)
}

/// A gateway with short data-plane timeouts and health checks every second, serving the
/// example clock (stateless) as `clock`.
async fn gateway() -> (tempfile::TempDir, Gateway, Upstream) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcpgw.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\nfirst_byte_timeout_secs = {TIMEOUT_SECS}\n\
             idle_timeout_secs = {TIMEOUT_SECS}\n"
        ),
    )
    .unwrap();
    let gw = Launch::new(&dir.path().join("data"))
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    let clock = upstreams::example("currenttime", true).await;
    gw.register_healthy(http_server("clock", &clock.url)).await;
    (dir, gw, clock)
}

/// A `countdown` call on the server route (2026-07-28, with a progress token).
async fn route_call(gw: &Gateway, id: u32, steps: u32, delay_ms: u32) -> reqwest::Response {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": "countdown", "arguments": {"steps": steps, "delay_ms": delay_ms},
        "_meta": {"progressToken": "p", "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                  "io.modelcontextprotocol/clientCapabilities": {}}}});
    gw.request("POST", "/chaos/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "countdown")
        .json(&call)
        .send()
        .await
        .unwrap()
}

/// Sends `body` in the aggregated 2025-11-25 session `session`.
async fn in_session(gw: &Gateway, session: &str, body: &Value) -> reqwest::Response {
    gw.request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", session)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// An aggregated session, initialised.
async fn aggregate_session(gw: &Gateway) -> String {
    let session = gw.open_aggregate_session().await;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(in_session(gw, &session, &initialized).await.status(), 202);
    session
}

/// A `chaos__countdown` call on the aggregated endpoint.
async fn aggregate_call(
    gw: &Gateway,
    session: &str,
    id: u32,
    steps: u32,
    delay_ms: u32,
) -> reqwest::Response {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
        "name": "chaos__countdown", "arguments": {"steps": steps, "delay_ms": delay_ms},
        "_meta": {"progressToken": "p"}}});
    in_session(gw, session, &call).await
}

/// The answer with `id` among a body's messages (JSON or an event stream).
fn answer(text: &str, id: u32) -> Option<Value> {
    let single = serde_json::from_str::<Value>(text).ok().into_iter();
    single
        .chain(events(text))
        .find(|message| message["id"] == id)
}

/// What the server route's client saw of `fault`.
fn check_route_ending(fault: Fault, ended: &Ended) {
    assert!(
        answer(&ended.text, 1).is_none(),
        "no answer came from the failing server: {ended:?}"
    );
    match fault {
        Fault::Kill | Fault::Chaos("hang") | Fault::Chaos("truncated") => assert!(
            ended.broke,
            "a broken-off stream is cut off for the client, not ended as if complete: {ended:?}"
        ),
        Fault::Chaos("garbage-text") => {
            assert!(ended.text.contains("this is not JSON"), "{ended:?}");
            assert!(!ended.broke, "{ended:?}");
        }
        Fault::Chaos(_) => {
            assert!(ended.text.contains(" binary "), "{ended:?}");
            assert!(!ended.broke, "{ended:?}");
        }
    }
}

/// A countdown through the server route completes: the stream ends cleanly with a result.
async fn route_completes(gw: &Gateway, id: u32) {
    let response = route_call(gw, id, 2, 10).await;
    assert_eq!(response.status(), 200);
    let ended = Reading::of(response).end().await;
    assert!(!ended.broke, "{ended:?}");
    let answered = answer(&ended.text, id).unwrap_or_else(|| panic!("no answer: {ended:?}"));
    assert!(answered["result"]["content"].is_array(), "{answered}");
}

/// A countdown through `/mcp` completes, once the gateway has seen the server back (its
/// health checks run every second): until then each call gets a JSON-RPC error at once.
async fn aggregate_completes(gw: &Gateway, session: &str, id: u32) {
    let deadline = tokio::time::Instant::now() + common::chaos::LIVENESS;
    loop {
        let response = aggregate_call(gw, session, id, 2, 10).await;
        assert_eq!(response.status(), 200);
        let ended = Reading::of(response).end().await;
        let answered = answer(&ended.text, id).unwrap_or_else(|| panic!("no answer: {ended:?}"));
        if answered["result"]["content"].is_array() {
            return;
        }
        assert!(
            answered["error"]["message"].is_string(),
            "a clear error meanwhile: {answered}"
        );
        assert!(
            tokio::time::Instant::now() < deadline,
            "/mcp never reached the restarted server: {answered}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Waits until the session is offered `chaos__countdown` (the catalog follows the health
/// checks a moment later).
async fn until_offered(gw: &Gateway, session: &str) {
    let deadline = tokio::time::Instant::now() + common::chaos::LIVENESS;
    let list = json!({"jsonrpc": "2.0", "id": 99, "method": "tools/list"});
    loop {
        let listed = in_session(gw, session, &list).await.text().await.unwrap();
        if listed.contains("\"chaos__countdown\"") {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "chaos__countdown never offered: {listed}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The whole scenario for one fault: server route, recovery, aggregated endpoint, recovery.
async fn upstream_fails_mid_stream(fault: Fault) {
    let (_dir, gw, _clock) = gateway().await;
    let port = upstreams::unused_port().await;
    let mut running = Some(faulty(fault, port).await);
    let url = running.as_ref().unwrap().url().to_owned();
    gw.register_healthy(http_server("chaos", &url)).await;

    // The server's own route.
    let response = route_call(&gw, 1, 50, 200).await;
    assert_eq!(response.status(), 200);
    let mut reading = Reading::of(response);
    reading.until("notifications/progress").await;
    if fault == Fault::Kill {
        drop(running.take());
    }
    // While the broken call is still open (a stalled one stays so for seconds).
    serves_clock(&gw).await;
    let ended = reading.end().await;
    check_route_ending(fault, &ended);
    serves_clock(&gw).await;
    let back = working(running.take(), port).await;
    route_completes(&gw, 2).await;

    // The aggregated endpoint, through a client's session that outlives the fault.
    let session = aggregate_session(&gw).await;
    aggregate_completes(&gw, &session, 3).await;
    let mut running = match fault {
        Fault::Kill => Some(back),
        Fault::Chaos(_) => {
            drop(back);
            let again = faulty(fault, port).await;
            // The health check has seen the faulty server's tool list (countdown only).
            gw.wait_for_server("chaos", common::chaos::LIVENESS, |server| {
                server["health"]["status"] == "healthy"
                    && server["tools"]
                        .as_array()
                        .is_some_and(|tools| tools.len() == 1)
            })
            .await;
            until_offered(&gw, &session).await;
            Some(again)
        }
    };
    let response = aggregate_call(&gw, &session, 4, 50, 200).await;
    assert_eq!(response.status(), 200);
    let mut reading = Reading::of(response);
    reading.until("notifications/progress").await;
    if fault == Fault::Kill {
        drop(running.take());
    }
    serves_clock(&gw).await;
    let ended = reading.end().await;
    let failed = answer(&ended.text, 4).unwrap_or_else(|| panic!("an answer: {ended:?}"));
    assert!(failed.get("result").is_none(), "{failed}");
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("'chaos'"),
        "the error names the server: {failed}"
    );
    assert!(!ended.broke, "the client's stream ends properly: {ended:?}");
    serves_clock(&gw).await;
    let _back = working(running.take(), port).await;
    aggregate_completes(&gw, &session, 5).await;
    route_completes(&gw, 6).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_killed_mid_stream_is_reached_again_once_restarted() {
    upstream_fails_mid_stream(Fault::Kill).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_stalls_mid_stream_is_cut_off_by_the_idle_timeout() {
    upstream_fails_mid_stream(Fault::Chaos("hang")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_sends_non_json_mid_stream() {
    upstream_fails_mid_stream(Fault::Chaos("garbage-text")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_sends_binary_mid_stream() {
    upstream_fails_mid_stream(Fault::Chaos("garbage-binary")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_drops_the_connection_inside_an_event() {
    upstream_fails_mid_stream(Fault::Chaos("truncated")).await;
}
