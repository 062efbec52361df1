//! The gateway as an OAuth client of the servers behind it (issue 11), the discovery and
//! token half: an upstream protected per the MCP authorization spec — a second mcpgw that
//! trusts a real OpenID provider (npm `oidc-provider`) — is found out from its 401
//! challenge through its RFC 9728 metadata and the provider's RFC 8414/OpenID metadata; a
//! client-credentials token is obtained for exactly that resource (RFC 8707), and the
//! upstream accepts it. Many callers at once share one token request.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use common::Launch;
use common::hostile::{self, Reply};
use common::oidc::{Provider, client, protected_upstream};
use mcpgw_auth::egress::EgressError;
use mcpgw_auth::egress::client_credentials::{ClientCredentials, TokenCache};
use mcpgw_auth::egress::discovery;
use serde_json::{Value, json};

/// The `aud` of a JWT, read without verifying (the upstream verifies).
fn audience_of(token: &str) -> Value {
    claims_of(token)["aud"].clone()
}

#[tokio::test]
async fn a_protected_upstream_is_discovered_and_accepts_the_token() {
    let Some(provider) =
        Provider::start(json!({"clients": [client("gateway-a", "unused", json!({}))]})).await
    else {
        return;
    };
    let (upstream_b, base, _dir, _clock) = protected_upstream(&provider).await;
    let resource = format!("{base}/clock/mcp");
    let http = common::client();

    // 1. Without a token, B says where its metadata is.
    let refused = http
        .post(&resource)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    let hint = discovery::resource_metadata_hint(challenge).expect("resource_metadata");
    assert_eq!(
        hint,
        discovery::resource_metadata_url(&resource)
            .unwrap()
            .as_str(),
        "the challenge names the well-known URL"
    );

    // 2. The metadata names B's resource and the provider; the provider's metadata its
    // token endpoint.
    let metadata = discovery::protected_resource(&http, &resource, Some(&hint))
        .await
        .unwrap();
    assert_eq!(metadata.resource, resource);
    assert_eq!(
        metadata.authorization_servers,
        vec![provider.issuer.clone()]
    );
    let server = discovery::authorization_server(&http, &metadata.authorization_servers[0])
        .await
        .unwrap();
    assert_eq!(server.issuer, provider.issuer);
    // Without the hint, the well-known URL gives the same.
    assert_eq!(
        discovery::protected_resource(&http, &resource, None)
            .await
            .unwrap(),
        metadata
    );

    // 3. A token for exactly that resource, which B accepts.
    let cache = TokenCache::new(
        server.token_endpoint.clone(),
        metadata.resource.clone(),
        ClientCredentials {
            client_id: "gateway-a".into(),
            client_secret: "gateway-a-secret".into(),
            scope: None,
        },
    );
    let token = cache.token(&http).await.unwrap();
    assert_eq!(audience_of(&token), json!(resource));
    let (status, me) = upstream_b.get_as("/api/auth/me", &token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["client_id"], "gateway-a", "{me}");
    assert_eq!(
        cache.token(&http).await.unwrap(),
        token,
        "kept, not requested again"
    );

    // Wrong credentials: the provider's refusal, named.
    let wrong = TokenCache::new(
        server.token_endpoint.clone(),
        resource.clone(),
        ClientCredentials {
            client_id: "gateway-a".into(),
            client_secret: "not-the-secret".into(),
            scope: None,
        },
    );
    match wrong.token(&http).await {
        Err(EgressError::Refused { error, .. }) => assert_eq!(error, "invalid_client"),
        other => panic!("{:?}", other.map(|_| "a token")),
    }
    // Metadata about another resource is refused (RFC 9728 §3.3): a server cannot point
    // the gateway's credentials at something else.
    let elsewhere = format!("{base}/other/mcp");
    assert!(matches!(
        discovery::protected_resource(&http, &elsewhere, Some(&hint)).await,
        Err(EgressError::Mismatch(_))
    ));
}

#[tokio::test]
async fn callers_at_once_share_one_token_request_and_expiry_renews_it() {
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&requests);
    // A token endpoint answering slowly-enough tokens that expire in 61 s (renewed after
    // 1 s: a minute before they expire).
    let endpoint = hostile::start(move |_| {
        let n = counted.fetch_add(1, Ordering::SeqCst);
        Reply::json(
            200,
            &json!({"access_token": format!("t{n}"), "token_type": "Bearer", "expires_in": 61}),
        )
    })
    .await;
    let cache = Arc::new(TokenCache::new(
        endpoint.url.clone(),
        "https://up.example/mcp".into(),
        ClientCredentials {
            client_id: "a".into(),
            client_secret: "s 1".into(),
            scope: None,
        },
    ));
    let http = common::client();
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let (cache, http) = (Arc::clone(&cache), http.clone());
            tokio::spawn(async move { cache.token(&http).await.unwrap() })
        })
        .collect();
    for caller in callers {
        assert_eq!(caller.await.unwrap(), "t0");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    let sent = &endpoint.requests()[0];
    let form = String::from_utf8_lossy(&sent.body).into_owned();
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(
        form.contains("resource=https%3A%2F%2Fup.example%2Fmcp"),
        "{form}"
    );
    // RFC 6749 §2.3.1: id and secret form-encoded, then Basic: "a:s+1".
    assert_eq!(sent.header("authorization"), Some("Basic YTpzKzE="));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        cache.token(&http).await.unwrap(),
        "t1",
        "renewed before it expires"
    );
    cache.forget().await;
    assert_eq!(
        cache.token(&http).await.unwrap(),
        "t2",
        "a refused token is not reused"
    );
}

/// One 2026-07-28 `tools/call` of `tool` on `path` of `gw` as its admin; (status, body).
async fn call(gw: &common::Gateway, path: &str, tool: &str) -> (u16, String) {
    let arguments = json!({"timezone_name": "UTC"});
    let response = common::stateless_call(
        gw,
        path,
        common::TOKEN,
        tool,
        arguments,
        common::stateless_meta(),
    )
    .await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn an_oauth_client_server_is_checked_and_called_with_its_own_tokens() {
    let Some(provider) =
        Provider::start(json!({"clients": [client("gateway-a", "unused", json!({}))]})).await
    else {
        return;
    };
    let (_upstream_b, base, dir, _clock) = protected_upstream(&provider).await;

    // A: the gateway under test, reaching B's clock with its own client credentials.
    let gw = Launch::new(&dir.path().join("a")).start().await;
    let mut guarded = common::http_server("guarded", &format!("{base}/clock/mcp"));
    guarded["egress"] = json!({"mode": "oauth-client", "client_id": "gateway-a",
                               "client_secret": "gateway-a-secret"});
    // The health check gets a token too: the server turns healthy with B's tools.
    gw.register_healthy(guarded).await;
    let shown = gw.api("GET", "/api/servers/guarded", None).await.body;
    assert_eq!(shown["num_tools"], 1, "{shown}");
    assert_eq!(shown["egress"]["mode"], "oauth-client");
    assert_eq!(shown["egress"]["client_secret"], "<redacted>");
    // Traffic: the per-server route and the aggregated endpoint.
    let (status, body) = call(&gw, "/guarded/mcp", "current_time_by_timezone").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("UTC") && !body.contains("\"error\""),
        "{body}"
    );
    let (status, body) = call(&gw, "/mcp", "guarded__current_time_by_timezone").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("UTC") && !body.contains("\"isError\":true"),
        "{body}"
    );

    // The same upstream without egress: it asks for credentials.
    let open = common::http_server("open", &format!("{base}/clock/mcp"));
    assert_eq!(gw.api("POST", "/api/servers", Some(open)).await.status, 201);
    gw.wait_for_server("open", std::time::Duration::from_secs(30), |server| {
        server["health"]["status"] == "auth-required"
    })
    .await;
    // Wrong credentials: unhealthy, saying why.
    let wrong = json!({"egress": {"mode": "oauth-client", "client_id": "gateway-a",
                                  "client_secret": "not-it"}});
    assert_eq!(
        gw.api("PATCH", "/api/servers/guarded", Some(wrong))
            .await
            .status,
        200
    );
    gw.wait_for_server("guarded", std::time::Duration::from_secs(30), |server| {
        server["health"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("invalid_client"))
    })
    .await;
    let (status, body) = call(&gw, "/guarded/mcp", "current_time_by_timezone").await;
    assert_eq!(status, 502, "{body}");
    assert!(body.contains("cannot obtain a token"), "{body}");
    // The secret is sealed in A's database.
    drop(gw);
    let files = common::files_in(&dir.path().join("a"));
    assert!(
        !common::files_contain(&files, "gateway-a-secret"),
        "the client secret is sealed at rest"
    );
}

#[tokio::test]
async fn a_passthrough_server_gets_each_callers_own_credential_or_nothing() {
    // A recording upstream answering any call.
    let upstream = hostile::start(|request| {
        Reply::json(
            200,
            &json!({"jsonrpc": "2.0", "id": request.json()["id"], "result": {
                "content": [{"type": "text", "text": "ok"}], "isError": false}}),
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let mut body = common::http_server("mine", &upstream.url);
    body["egress"] = json!({"mode": "passthrough"});
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    let post = |gateway: &'static str, own: Option<&'static str>| {
        let mut request = gw
            .request("POST", "/mine/mcp")
            .header(gateway, format!("Bearer {}", common::TOKEN))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "ping")
            .json(&json!({"jsonrpc": "2.0", "id": 3, "method": "ping",
                          "params": {"_meta": common::stateless_meta()}}));
        if let Some(own) = own {
            request = request.header("authorization", own);
        }
        request.send()
    };
    // The gateway's token in X-Authorization, the caller's own in Authorization: the
    // upstream gets the caller's, and never the gateway's.
    let sent = post("x-authorization", Some("Bearer users-own-upstream-token"))
        .await
        .unwrap();
    assert_eq!(sent.status(), 200, "{}", sent.text().await.unwrap());
    // (The registration's health check talks to the upstream too, without a user.)
    let pings = || {
        upstream
            .requests()
            .into_iter()
            .filter(|request| request.rpc_method().as_deref() == Some("ping"))
            .collect::<Vec<_>>()
    };
    let forwarded = pings();
    assert_eq!(forwarded.len(), 1);
    assert_eq!(
        forwarded[0].header("authorization"),
        Some("Bearer users-own-upstream-token")
    );
    assert_eq!(forwarded[0].header("x-authorization"), None);
    // Only the gateway's token: refused with what to do, and nothing forwarded.
    let refused = post("authorization", None).await.unwrap();
    assert_eq!(refused.status(), 403);
    let text = refused.text().await.unwrap();
    assert!(text.contains("takes your own credential"), "{text}");
    assert_eq!(pings().len(), 1, "nothing more reached the upstream");
    let shown = gw.api("GET", "/api/servers/mine", None).await.body;
    assert_eq!(shown["egress"], json!({"mode": "passthrough"}));
}

/// The claims of a JWT, read without verifying (the tests' upstreams trust the provider).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_insufficient_scope_answer_is_retried_with_a_stepped_up_token() {
    let Some(provider) =
        Provider::start(json!({"clients": [client("gateway-a", "unused", json!({}))]})).await
    else {
        return;
    };
    // An upstream that publishes its metadata and wants `mcp:write` for tools/call.
    let url = Arc::new(std::sync::Mutex::new(String::new()));
    let (known, issuer) = (Arc::clone(&url), provider.issuer.clone());
    let upstream = hostile::start(move |request| {
        let resource = known.lock().unwrap().clone();
        if request
            .path
            .starts_with("/.well-known/oauth-protected-resource")
        {
            return Reply::json(
                200,
                &json!({"resource": resource, "authorization_servers": [issuer]}),
            );
        }
        let body = request.json();
        let bearer = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or_default();
        let scopes = claims_of(bearer)["scope"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let result = match body["method"].as_str() {
            Some("server/discover") => json!({"supportedVersions": ["2026-07-28"],
                "capabilities": {"tools": {}}, "serverInfo": {"name": "scoped", "version": "1"}}),
            Some("tools/list") => json!({"tools": [{"name": "echo",
                "inputSchema": {"type": "object"}}], "ttlMs": 0, "cacheScope": "public"}),
            Some("tools/call") if !scopes.split(' ').any(|s| s == "mcp:write") => {
                return Reply::empty(403).with_header(
                    "www-authenticate",
                    "Bearer error=\"insufficient_scope\", scope=\"mcp:read mcp:write\"",
                );
            }
            Some("tools/call") => json!({"content": [{"type": "text", "text": "written"}],
                "isError": false, "resultType": "complete"}),
            _ => return Reply::empty(202),
        };
        Reply::json(
            200,
            &json!({"jsonrpc": "2.0", "id": body["id"], "result": result}),
        )
    })
    .await;
    *url.lock().unwrap() = upstream.url.clone();

    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path()).start().await;
    let mut guarded = common::http_server("scoped", &upstream.url);
    guarded["egress"] = json!({"mode": "oauth-client", "client_id": "gateway-a",
                               "client_secret": "gateway-a-secret", "scope": "mcp:read"});
    gw.register_healthy(guarded).await;
    let (status, body) = call(&gw, "/scoped/mcp", "echo").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("written"), "{body}");
    let calls: Vec<String> = upstream
        .requests()
        .into_iter()
        .filter(|request| request.rpc_method().as_deref() == Some("tools/call"))
        .map(|request| {
            request
                .header("authorization")
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(calls.len(), 2, "refused once, then retried once");
    let scope = |bearer: &str| claims_of(bearer.trim_start_matches("Bearer "))["scope"].clone();
    assert_eq!(scope(&calls[0]), "mcp:read");
    assert_eq!(scope(&calls[1]), "mcp:read mcp:write");
    // The stepped-up token is kept: the next call needs no second try.
    let (status, _) = call(&gw, "/scoped/mcp", "echo").await;
    assert_eq!(status, 200);
    let more = upstream
        .requests()
        .into_iter()
        .filter(|request| request.rpc_method().as_deref() == Some("tools/call"))
        .count();
    assert_eq!(more, 3);

    // The aggregated endpoint's direct path steps up the same way: a second definition
    // (its own token source, asking for mcp:read) called as `again__echo` on /mcp.
    let mut again = common::http_server("again", &upstream.url);
    again["egress"] = json!({"mode": "oauth-client", "client_id": "gateway-a",
                             "client_secret": "gateway-a-secret", "scope": "mcp:read"});
    gw.register_healthy(again).await;
    let before = upstream.requests().len();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let body = loop {
        // The aggregated catalogue learns the tool a moment after the check.
        let (status, body) = call(&gw, "/mcp", "again__echo").await;
        if status == 200 && body.contains("written") {
            break body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{status} {body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert!(!body.contains("\"isError\":true"), "{body}");
    let scopes: Vec<Value> = upstream.requests()[before..]
        .iter()
        .filter(|request| request.rpc_method().as_deref() == Some("tools/call"))
        .map(|request| {
            scope(
                request
                    .header("authorization")
                    .unwrap_or_default()
                    .trim_start_matches("Bearer "),
            )
        })
        .collect();
    assert_eq!(
        scopes.last().cloned(),
        Some(json!("mcp:read mcp:write")),
        "{scopes:?}"
    );
    assert!(
        scopes.contains(&json!("mcp:read")),
        "first refused with the narrower token: {scopes:?}"
    );
}

#[tokio::test]
async fn an_endless_or_foreign_metadata_document_is_refused_not_swallowed() {
    let endless = hostile::start(|_| Reply::endless_json()).await;
    let http = common::client();
    match discovery::protected_resource(&http, &endless.url, None).await {
        Err(EgressError::Fetch { message, .. }) => {
            assert!(message.contains("larger than"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // A token endpoint answering garbage: a clear error, no token.
    let garbage = hostile::start(|_| Reply::empty(500)).await;
    let cache = TokenCache::new(
        garbage.url.clone(),
        "https://up.example/mcp".into(),
        ClientCredentials {
            client_id: "a".into(),
            client_secret: "s".into(),
            scope: None,
        },
    );
    match cache.token(&http).await {
        Err(EgressError::Fetch { message, .. }) => {
            assert!(message.contains("HTTP 500"), "{message}")
        }
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a token from an error page"),
    }
}
