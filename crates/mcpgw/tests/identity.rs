//! Who the gateway says is calling: anonymous access when configured (and only for requests
//! without credentials), and the identity headers upstreams are told, which a client can
//! never forge.

mod common;

use common::hostile::{self, Reply};
use common::{Gateway, Launch, TOKEN};
use serde_json::{Value, json};

async fn gateway(dir: &std::path::Path, auth: &str) -> Gateway {
    let path = dir.join("mcpgw.toml");
    std::fs::write(&path, format!("[auth]\n{auth}\n")).unwrap();
    Launch::quiet(&dir.join("data"))
        .args(&["--config", path.to_str().unwrap()])
        .start()
        .await
}

#[tokio::test]
async fn anonymous_callers_get_the_configured_group_and_bad_tokens_are_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), "anonymous_group = \"public\"").await;
    let me = gw.request("GET", "/api/auth/me").send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["subject"], "anonymous");
    assert_eq!(me["groups"], json!(["public"]));
    assert_eq!(me["auth_method"], json!({"kind": "anonymous"}));
    assert_eq!(me["is_admin"], false);

    let wrong = gw
        .request("GET", "/api/auth/me")
        .bearer_auth("not-a-valid-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        wrong.status(),
        401,
        "invalid credentials are never anonymous"
    );
    let listing = gw.request("GET", "/api/servers").send().await.unwrap();
    assert_eq!(listing.status(), 403, "anonymous is someone, not an admin");

    // Without the setting, no credentials is 401.
    let dir = tempfile::tempdir().unwrap();
    let closed = gateway(dir.path(), "").await;
    let me = closed.request("GET", "/api/auth/me").send().await.unwrap();
    assert_eq!(me.status(), 401);
}

/// Registers `upstream` as `echo`, calls it with a forged `X-User`, returns what it saw.
async fn seen_by_upstream(gw: &Gateway, upstream: &hostile::Hostile) -> hostile::Request {
    let body = common::http_server("echo", &upstream.url);
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    let response = gw
        .request("POST", "/echo/mcp")
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .header("x-user", "root")
        .header("x-auth-method", "jwt")
        .body(r#"{"jsonrpc":"2.0","id":4242,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    upstream
        .requests()
        .into_iter()
        .rev()
        .find(is_our_call)
        .expect("the upstream got the call")
}

/// Whether `request` is one of the test's calls (id 4242), not one of the gateway's own
/// health checks, which reach the upstream at times of their own.
fn is_our_call(request: &hostile::Request) -> bool {
    request.json()["id"] == 4242
}

/// An upstream that answers every call with an empty tool list, recording what it got.
async fn empty_tool_server() -> hostile::Hostile {
    hostile::start(|_| {
        Reply::json(
            200,
            &json!({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}),
        )
    })
    .await
}

#[tokio::test]
async fn upstreams_learn_the_caller_only_from_the_gateway() {
    let upstream = empty_tool_server().await;

    let dir = tempfile::tempdir().unwrap();
    let telling = gateway(dir.path(), "forward_identity = true").await;
    let request = seen_by_upstream(&telling, &upstream).await;
    assert_eq!(request.header("x-user"), Some("admin"));
    assert_eq!(request.header("x-auth-method"), Some("admin-token"));
    assert_eq!(request.header("x-client-id"), None);
    assert_eq!(
        request
            .headers
            .iter()
            .filter(|(name, _)| name == "x-user")
            .count(),
        1,
        "the client's forged X-User is gone, not merely outnumbered"
    );

    let dir = tempfile::tempdir().unwrap();
    let silent = gateway(dir.path(), "").await;
    let request = seen_by_upstream(&silent, &upstream).await;
    assert_eq!(
        request.header("x-user"),
        None,
        "forged identity never reaches the upstream"
    );
    assert_eq!(request.header("x-auth-method"), None);
}

#[tokio::test]
async fn the_gateway_credential_never_reaches_an_upstream_even_under_the_dual_token_rule() {
    let upstream = empty_tool_server().await;
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), "").await;
    let body = common::http_server("echo", &upstream.url);
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    let send = |authorization: String| {
        gw.request("POST", "/echo/mcp")
            .header("x-authorization", format!("Bearer {TOKEN}"))
            .header("authorization", authorization)
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":4242,"method":"tools/list"}"#)
            .send()
    };
    // The last call as the upstream saw it (the registration's health check also calls it,
    // at a time of its own).
    let last_authorization = || {
        upstream
            .requests()
            .into_iter()
            .rev()
            .find(is_our_call)
            .and_then(|request| request.header("authorization").map(str::to_owned))
    };
    // The upstream's own credential crosses, as the dual-token rule says.
    assert_eq!(
        send("Bearer upstream-secret".into())
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        last_authorization().as_deref(),
        Some("Bearer upstream-secret")
    );
    // The gateway's admin token in both headers: it stays at the gateway.
    assert_eq!(send(format!("Bearer {TOKEN}")).await.unwrap().status(), 200);
    assert_eq!(last_authorization(), None);
    // So does a gateway-minted token.
    let minted = gw
        .api("POST", "/api/tokens", Some(json!({"expires_in": 60})))
        .await;
    let token = minted.body["token"].as_str().unwrap().to_owned();
    assert_eq!(send(format!("Bearer {token}")).await.unwrap().status(), 200);
    assert_eq!(last_authorization(), None);
}
