//! Request-level limits, driven through the real binary: rate limits per principal (one
//! budget across MCP routes and the API) and per server (on its route and through `/mcp`),
//! the caps on requests in progress and on open event streams, and the cap on stdio
//! processes. Each refusal is clean (status, `Retry-After`, a message naming the limit)
//! and counted in `mcpgw_limit_rejections_total`.
//!
//! Rates are set so low (one request per 100 s) that no token can come back during a
//! test: the refusals do not depend on how fast the machine is.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::faults::{self, Fault};
use common::upstreams;
use common::{Launch, TOKEN};
use serde_json::{Value, json};

/// A gateway with `config`, and `/metrics` on a listener of its own (no budget needed
/// to read it).
async fn gateway_with(dir: &std::path::Path, config: &str) -> (common::Gateway, String) {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let gw = Launch::quiet(dir)
        .config(config)
        .env("MCPGW_METRICS_LISTEN", &format!("127.0.0.1:{port}"))
        .start()
        .await;
    (gw, format!("http://127.0.0.1:{port}/metrics"))
}

/// The value of `limit`'s rejection counter.
async fn rejections(metrics: &str, limit: &str) -> f64 {
    let text = common::client()
        .get(metrics)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    common::sample(
        &text,
        &format!("mcpgw_limit_rejections_total{{limit=\"{limit}\"}}"),
    )
}

fn tools_list() -> String {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": common::stateless_meta()}})
        .to_string()
}

async fn post_mcp(gw: &common::Gateway, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = gw
        .request("POST", path)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .body(tools_list());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn each_principal_has_one_budget_across_mcp_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, metrics) = gateway_with(
        dir.path(),
        "[auth]\nanonymous_group = \"public\"\n\n\
         [limits]\nprincipal_requests_per_second = 0.01\nprincipal_burst = 3\n",
    )
    .await;
    for _ in 0..2 {
        assert_eq!(gw.api("GET", "/api/servers", None).await.status, 200);
    }
    assert_ne!(post_mcp(&gw, "/mcp", Some(TOKEN)).await.status(), 429);
    // The budget is spent: the MCP endpoint refuses with JSON-RPC, the API with JSON.
    let refused = post_mcp(&gw, "/mcp", Some(TOKEN)).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=100).contains(&retry), "{retry}");
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit reached for you"),
        "{body}"
    );
    let api = gw.api("GET", "/api/servers", None).await;
    assert_eq!(api.status, 429);
    assert_eq!(api.body["error"]["code"], "rate_limited");
    assert!(api.headers.contains_key("retry-after"));
    // Another principal is not held back by the first one's budget.
    let anonymous = post_mcp(&gw, "/mcp", None).await;
    assert_ne!(anonymous.status(), 429);
    // Unauthenticated endpoints need no budget.
    assert_eq!(
        gw.request("GET", "/livez").send().await.unwrap().status(),
        200
    );
    assert!(rejections(&metrics, "rate_principal").await >= 2.0);
}

#[tokio::test]
async fn each_server_has_a_budget_on_its_route_and_through_the_aggregate() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = upstreams::example("toolbox", true).await;
    let other = upstreams::example("toolbox", true).await;
    let (gw, metrics) = gateway_with(
        dir.path(),
        "[limits]\nserver_requests_per_second = 0.01\nserver_burst = 2\n",
    )
    .await;
    gw.register_healthy(common::http_server("box", &upstream.url))
        .await;
    gw.register_healthy(common::http_server("other", &other.url))
        .await;
    // Registration probed the servers outside the data plane: the budget is whole.
    for _ in 0..2 {
        assert_eq!(post_mcp(&gw, "/box/mcp", Some(TOKEN)).await.status(), 200);
    }
    let refused = post_mcp(&gw, "/box/mcp", Some(TOKEN)).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["id"], Value::Null);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit reached for box"),
        "{body}"
    );
    // Another server's budget is its own.
    assert_eq!(post_mcp(&gw, "/other/mcp", Some(TOKEN)).await.status(), 200);
    // A call through the aggregated endpoint spends the same budget.
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {
        "name": "box__echo", "arguments": {"text": "hi"}, "_meta": common::stateless_meta()}});
    let answer = gw
        .request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "box__echo")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    let text = answer.text().await.unwrap();
    assert!(text.contains("rate limit reached for box"), "{text}");
    assert!(rejections(&metrics, "rate_server").await >= 2.0);
}

#[tokio::test]
async fn requests_past_the_concurrency_cap_get_503_until_one_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let silent = faults::start(Fault::Silent).await;
    let (gw, metrics) = gateway_with(
        dir.path(),
        "[limits]\nmax_concurrent_requests = 2\n\n[gateway]\nfirst_byte_timeout_secs = 4\n",
    )
    .await;
    let reply = gw
        .api(
            "POST",
            "/api/servers",
            Some(common::http_server("hang", &silent.url)),
        )
        .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    // Whatever the registration's probe holds is let go first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while silent.open.load(Ordering::SeqCst) > 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let hung = tokio::spawn({
        let gw_url = gw.url.clone();
        async move {
            let client = common::client();
            let send = |client: reqwest::Client| {
                let url = format!("{gw_url}/hang/mcp");
                async move {
                    client
                        .post(url)
                        .bearer_auth(TOKEN)
                        .header("content-type", "application/json")
                        .header("accept", "application/json, text/event-stream")
                        .header("mcp-protocol-version", "2026-07-28")
                        .header("mcp-method", "tools/list")
                        .body(tools_list())
                        .send()
                        .await
                        .map(|response| response.status().as_u16())
                }
            };
            tokio::join!(send(client.clone()), send(client))
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while silent.open.load(Ordering::SeqCst) < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the two requests never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let busy = gw
        .request("GET", "/api/servers")
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    let body: Value = busy.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("busy"),
        "{body}"
    );
    // Probes are answered however busy: a busy replica is not a dead one.
    for probe in ["/livez", "/readyz", "/health"] {
        let status = gw.request("GET", probe).send().await.unwrap().status();
        assert_eq!(status, 200, "{probe}");
    }
    // The hung requests end at the first-byte timeout; then there is room again.
    let (first, second) = hung.await.unwrap();
    assert_eq!((first.unwrap(), second.unwrap()), (504, 504));
    assert_eq!(gw.api("GET", "/api/servers", None).await.status, 200);
    assert!(rejections(&metrics, "concurrency").await >= 1.0);
}

#[tokio::test]
async fn event_streams_past_the_cap_get_503_and_a_closed_one_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, metrics) = gateway_with(dir.path(), "[limits]\nmax_streams = 2\n").await;
    let open_stream = || async {
        gw.request("GET", "/sse")
            .bearer_auth(TOKEN)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap()
    };
    let first = open_stream().await;
    assert_eq!(first.status(), 200);
    let second = open_stream().await;
    assert_eq!(second.status(), 200);
    let third = open_stream().await;
    assert_eq!(third.status(), 503);
    assert_eq!(third.headers()["retry-after"], "1");
    // Requests that open no stream are not affected.
    assert_eq!(gw.api("GET", "/api/servers", None).await.status, 200);
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let again = open_stream().await;
        if again.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed stream never made room"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rejections(&metrics, "streams").await >= 1.0);
}

#[tokio::test]
async fn stdio_servers_past_the_process_cap_fail_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, metrics) = gateway_with(dir.path(), "[limits]\nmax_stdio_processes = 1\n").await;
    for path in ["one", "two"] {
        let body = json!({"path": path, "command": common::binary(),
            "args": ["example-server", "toolbox", "--stdio"]});
        assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    }
    // Registration probes run one process each, briefly: wait until they are done.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    let start = |path: &'static str| {
        let init = init.clone();
        let gw = &gw;
        async move {
            gw.request("POST", &format!("/{path}/mcp"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(init)
                .send()
                .await
                .unwrap()
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let response = start("one").await;
        if response.status() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first stdio server never started"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The first server's process now holds the only place.
    let refused = start("two").await;
    let status = refused.status();
    let text = refused.text().await.unwrap();
    assert_ne!(status, 200, "{text}");
    assert!(text.contains("max_stdio_processes"), "{status} {text}");
    assert!(rejections(&metrics, "stdio_processes").await >= 1.0);
}

#[tokio::test]
async fn one_caller_cannot_hold_more_streams_than_its_quota() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, metrics) = gateway_with(dir.path(), "[limits]\nmax_streams_per_principal = 2\n").await;
    // A token the admin minted counts for the admin's account; another account's does not.
    let minted = common::access::token_for(&gw, &[]).await;
    let user = json!({"username": "bob", "password": "bob's long password", "groups": []});
    assert_eq!(gw.api("POST", "/api/users", Some(user)).await.status, 201);
    let (cookie, csrf) = common::sign_in(&gw, "bob", "bob's long password").await;
    let bobs = gw
        .request("POST", "/api/tokens")
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"description": "bob's agent"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bobs.status(), 201);
    let other = bobs.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let open = |path: &'static str, token: String| {
        let gw = &gw;
        async move {
            gw.request("GET", path)
                .bearer_auth(token)
                .header("accept", "text/event-stream")
                .send()
                .await
                .unwrap()
        }
    };
    let first = open("/sse", TOKEN.to_owned()).await;
    assert_eq!(first.status(), 200);
    let second = open("/sse", TOKEN.to_owned()).await;
    assert_eq!(second.status(), 200);
    // A third, on any MCP endpoint and with any token of the account, is refused before
    // it reaches anything.
    for (path, token) in [
        ("/sse", TOKEN),
        ("/mcp", TOKEN),
        ("/anything/mcp", TOKEN),
        ("/sse", minted.as_str()),
    ] {
        let refused = open(path, token.to_owned()).await;
        assert_eq!(refused.status(), 429, "{path}");
        let text = refused.text().await.unwrap();
        assert!(text.contains("max_streams_per_principal"), "{text}");
    }
    // Another caller is not affected; neither are this caller's requests without a stream.
    let others = open("/sse", other).await;
    let status = others.status();
    if status != 200 {
        panic!(
            "another account's stream: {status} {}",
            others.text().await.unwrap()
        );
    }
    assert_eq!(gw.api("GET", "/api/servers", None).await.status, 200);
    // A closed stream gives its place back.
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let again = open("/sse", TOKEN.to_owned()).await;
        if again.status() == 200 {
            break;
        }
        assert_eq!(again.status(), 429);
        assert!(
            tokio::time::Instant::now() < deadline,
            "a closed stream never gave its place back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rejections(&metrics, "streams_principal").await >= 4.0);
}
