//! The `token-exchange` egress mode (issue 11): a caller's own token from a trusted
//! identity provider (npm `oidc-provider`, with an RFC 8693 grant) is exchanged at that
//! provider for a token for the upstream — a second mcpgw ("B") trusting the same
//! provider — which then sees the caller as the subject and the gateway as the actor.

mod common;

use common::Launch;
use common::oidc::{Provider, client, protected_upstream};
use serde_json::{Value, json};

/// `tools/call` of the clock on A's `/guarded/mcp` with `token` (a 2026-07-28 request);
/// the HTTP status and body.
async fn call(gw: &common::Gateway, token: &str) -> (u16, String) {
    let tool = "current_time_by_timezone";
    let arguments = json!({"timezone_name": "UTC"});
    let response = common::stateless_call(
        gw,
        "/guarded/mcp",
        token,
        tool,
        arguments,
        common::stateless_meta(),
    )
    .await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_callers_token_is_exchanged_on_their_behalf_for_the_upstream() {
    let mut agent = client("agent", "mcpgw-a", json!({"sub": "alice"}));
    agent["scope"] = json!("mcp:read");
    let mut gateway = client("gateway-a", "unused", json!({}));
    gateway["token_exchange"] = json!(true);
    let Some(provider) = Provider::start(json!({"clients": [agent, gateway]})).await else {
        return;
    };
    let (upstream_b, base, dir, _clock) = protected_upstream(&provider).await;
    // A trusts the provider for tokens addressed to it; holders of mcp:read may use
    // `guarded`, which reaches B's clock with exchanged tokens.
    let scopes = dir.path().join("a-scopes.yml");
    std::fs::write(
        &scopes,
        "mcp:read:\n- server: guarded\n  methods: ['*']\n  tools: ['*']\n",
    )
    .unwrap();
    let config = dir.path().join("a.toml");
    std::fs::write(
        &config,
        format!(
            "[policy]\nscopes_file = \"{}\"\n[[auth.issuers]]\nissuer = \"{}\"\n\
             preset = \"generic\"\naudiences = [\"mcpgw-a\"]\n",
            scopes.display(),
            provider.issuer
        ),
    )
    .unwrap();
    let gw = Launch::quiet(&dir.path().join("a"))
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await;
    let mut guarded = common::http_server("guarded", &format!("{base}/clock/mcp"));
    guarded["egress"] = json!({"mode": "token-exchange", "issuer": provider.issuer,
                               "client_id": "gateway-a", "client_secret": "gateway-a-secret"});
    let registered = gw.api("POST", "/api/servers", Some(guarded)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    assert_eq!(registered.body["egress"]["client_secret"], "<redacted>");
    gw.wait_for_server("guarded", std::time::Duration::from_secs(30), |server| {
        server["health"]["status"] == "auth-required"
    })
    .await;

    // Alice's agent calls with its own token from the provider: A exchanges it, once.
    let token = provider.token("agent", None).await;
    let (status, body) = call(&gw, &token).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("UTC") && !body.contains("\"error\""),
        "{body}"
    );
    assert_eq!(provider.exchanges().await, 1);
    let (status, body) = call(&gw, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(provider.exchanges().await, 1, "the exchanged token is kept");

    // B saw alice, through the gateway's client (its audit trail is written in batches).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let records: Vec<Value> = loop {
        let audit = upstream_b
            .api("GET", "/api/audit?server=clock&method=tools/call", None)
            .await;
        let records = audit.body["records"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !records.is_empty() {
            break records;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", audit.body);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    for record in &records {
        assert_eq!(record["principal"], "alice", "{record}");
        assert_eq!(record["client_id"], "gateway-a", "{record}");
        assert_eq!(record["decision"], "allow", "{record}");
    }

    // The gateway's own tokens carry no identity-provider token to exchange.
    let (status, body) = call(&gw, common::TOKEN).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("exchanges your identity provider's token"),
        "{body}"
    );
    assert_eq!(provider.exchanges().await, 1);

    // Nothing of it in clear in A's data directory.
    drop(gw);
    let files = common::files_in(&dir.path().join("a"));
    assert!(!common::files_contain(&files, "gateway-a-secret"));
}
