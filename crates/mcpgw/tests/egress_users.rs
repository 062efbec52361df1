//! The `oauth-user` egress mode (issue 11): each user connects their own account at the
//! service a server calls, and the gateway sends that user's token with that user's
//! requests only. The service is a real OpenID provider (npm `oidc-provider`) protecting a
//! second mcpgw ("B") per the MCP authorization spec; the gateway under test ("A") has
//! the provider configured under `[[egress.providers]]`.
//!
//! Driven as a user and their clients would: a call before connecting is answered with
//! the connect URL (as 2025-11-25's URL elicitation error, as a 2026-07-28
//! `InputRequiredResult`, or as the gateway's error for a 2026-07-28 client without URL
//! input); the browser goes through the connect page, the provider's login and consent
//! (automated) and back; calls then carry the user's token (and only that user's); the
//! token is renewed in the background before it expires; the user disconnects (tokens
//! revoked at the provider) and connects again with `mcpgw connect`.

mod common;

use std::time::Duration;

use common::oidc::{Provider, protected_upstream};
use common::{Gateway, Launch};
use serde_json::{Value, json};

/// The first admin's password on A.
const ADMIN_PASSWORD: &str = "egress users admin password";
/// Another admin of A, who has not connected.
const CAROL_PASSWORD: &str = "carol's own password 1";

/// `value` percent-encoded for a query string.
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A gateway token minted by the user of `session` (so it acts as that user), with admin
/// rights (without a scopes file only admins may use servers).
async fn token_of(gw: &Gateway, session: &str) -> String {
    let response = gw
        .request("POST", "/api/tokens")
        .header("cookie", session)
        .json(&json!({"description": "egress test", "expires_in": 3600, "admin": true}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// `tools/call` of the clock on A's `/guarded/mcp` with `token`, as a 2026-07-28 client
/// with `capabilities`; the JSON-RPC answer.
async fn call(gw: &Gateway, token: &str, capabilities: Value) -> Value {
    call_on(gw, "/guarded/mcp", token, capabilities).await
}

/// [`call`] on `path`.
async fn call_on(gw: &Gateway, path: &str, token: &str, capabilities: Value) -> Value {
    let mut meta = common::stateless_meta();
    meta["io.modelcontextprotocol/clientCapabilities"] = capabilities;
    let tool = "current_time_by_timezone";
    let arguments = json!({"timezone_name": "UTC"});
    let response = common::stateless_call(gw, path, token, tool, arguments, meta).await;
    // 400 only for a client lacking a capability (MissingRequiredClientCapability).
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(
        status == 200 || (status == 400 && text.contains("-32021")),
        "{status} {text}"
    );
    // A JSON answer, or one SSE event carrying it.
    let json = text
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .unwrap_or(&text);
    serde_json::from_str(json).unwrap_or_else(|_| panic!("not JSON-RPC: {text}"))
}

/// Opens A's connect page for `server` in the browser of `session`, and continues with
/// its form (the session's CSRF token from the page): the response sends the browser to
/// the provider.
async fn start_connecting(gw: &Gateway, session: &str, server: &str) -> reqwest::Response {
    let page = gw
        .request("GET", &format!("/oauth/connect/{server}"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Continue to"), "{page}");
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token on the page")
        .to_owned();
    gw.request("POST", &format!("/oauth/connect/{server}"))
        .header("cookie", session)
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .unwrap()
}

/// `initialize` on A's `/guarded/mcp` as a 2025-11-25 client; the JSON-RPC answer.
async fn initialize(gw: &Gateway, token: &str) -> Value {
    let response = gw
        .request("POST", "/guarded/mcp")
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {"url": {}}},
            "clientInfo": {"name": "test", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Goes through the connect flow in a browser signed in with `session`: A's connect page,
/// the provider's login (as `login`) and consent, and back to A's callback. Returns the
/// callback's response.
async fn connect_in_browser(
    gw: &Gateway,
    provider: &Provider,
    session: &str,
    login: &str,
) -> reqwest::Response {
    connect_server_in_browser(gw, provider, session, login, "guarded").await
}

/// [`connect_in_browser`] for `server`.
async fn connect_server_in_browser(
    gw: &Gateway,
    provider: &Provider,
    session: &str,
    login: &str,
    server: &str,
) -> reqwest::Response {
    let (callback, cookie) =
        authorize_server_at_provider(gw, provider, session, login, server).await;
    gw.request("GET", callback.trim_start_matches(&gw.url))
        .header("cookie", format!("{session}; {cookie}"))
        .send()
        .await
        .unwrap()
}

/// The first half of [`connect_in_browser`]: the callback URL the provider sends the
/// browser to, and the connect cookie A set.
async fn authorize_at_provider(
    gw: &Gateway,
    provider: &Provider,
    session: &str,
    login: &str,
) -> (String, String) {
    authorize_server_at_provider(gw, provider, session, login, "guarded").await
}

/// [`authorize_at_provider`] for `server`.
async fn authorize_server_at_provider(
    gw: &Gateway,
    provider: &Provider,
    session: &str,
    login: &str,
    server: &str,
) -> (String, String) {
    let started = start_connecting(gw, session, server).await;
    assert_eq!(started.status(), 303);
    let authorize = started.headers()["location"].to_str().unwrap().to_owned();
    let cookie = started
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|header| header.starts_with("mcpgw_connect_"))
        .expect("a connect cookie");
    assert!(
        cookie.contains("Path=/oauth/callback") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let callback = provider.sign_in(&authorize, login).await;
    (callback, cookie.split(';').next().unwrap().to_owned())
}

/// The user's connection to `guarded` as `GET /api/connections` shows it (null if none).
async fn connection(gw: &Gateway, token: &str) -> Value {
    let (status, listed) = gw.get_as("/api/connections", token).await;
    assert_eq!(status, 200, "{listed}");
    let offer = listed["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|offer| offer["server"] == "guarded")
        .cloned()
        .unwrap_or_else(|| panic!("guarded is offered: {listed}"));
    offer["connection"].clone()
}

#[tokio::test]
async fn each_user_connects_their_own_account_which_is_renewed_and_revoked() {
    let Some(provider) = Provider::start(json!({
        "ttl": 10,
        "clients": [{"client_id": "gateway-a-users", "client_secret": "users-secret",
                     "redirect_uris": ["http://127.0.0.1/oauth/callback"],
                     "refresh": true, "scope": "mcp:read"}],
        "accounts": {"alice": {"name": "Alice"}}
    }))
    .await
    else {
        return;
    };
    let (_upstream_b, base, dir, _clock) = protected_upstream(&provider).await;
    let issuer = &provider.issuer;
    // Tokens live 10 s; with an hour's buffer they are renewed after half their lifetime
    // (not at once: a buffer longer than the lifetime does not renew them every round).
    let config = dir.path().join("a.toml");
    std::fs::write(
        &config,
        format!(
            "[egress]\nrefresh_interval_secs = 1\n\
             [[egress.providers]]\nname = \"idp\"\ndisplay_name = \"Test IdP\"\n\
             authorization_url = \"{issuer}/auth\"\ntoken_url = \"{issuer}/token\"\n\
             revocation_url = \"{issuer}/token/revocation\"\nissuer = \"{issuer}\"\n\
             client_id = \"gateway-a-users\"\nclient_secret = \"users-secret\"\n\
             scopes = [\"mcp:read\"]\n\
             [[egress.providers]]\nname = \"remote\"\npreset = \"mcp\"\n\
             client_id = \"gateway-a-users\"\nclient_secret = \"users-secret\"\n\
             issuer = \"{issuer}\"\n"
        ),
    )
    .unwrap();
    let gw = Launch::quiet(&dir.path().join("a"))
        .args(&["--config", config.to_str().unwrap()])
        .env("MCPGW_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .start()
        .await;
    let mut guarded = common::http_server("guarded", &format!("{base}/clock/mcp"));
    guarded["egress"] = json!({"mode": "oauth-user", "provider": "idp"});
    let registered = gw.api("POST", "/api/servers", Some(guarded)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    assert_eq!(registered.body["egress"]["provider"], "idp");
    // A provider that is not configured is refused at registration, naming those that are.
    let mut unknown = common::http_server("elsewhere", &format!("{base}/clock/mcp"));
    unknown["egress"] = json!({"mode": "oauth-user", "provider": "nope"});
    let refused = gw.api("POST", "/api/servers", Some(unknown)).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert!(
        refused.body.to_string().contains("configured: idp"),
        "{:?}",
        refused.body
    );
    // Checked without any user's token, it reads as asking for credentials.
    gw.wait_for_server("guarded", Duration::from_secs(30), |server| {
        server["health"]["status"] == "auth-required"
    })
    .await;
    let carol = json!({"username": "carol", "password": CAROL_PASSWORD, "admin": true});
    assert_eq!(gw.api("POST", "/api/users", Some(carol)).await.status, 201);
    let (admin_session, _) = common::sign_in(&gw, "admin", ADMIN_PASSWORD).await;
    let admin = token_of(&gw, &admin_session).await;
    let (carol_session, _) = common::sign_in(&gw, "carol", CAROL_PASSWORD).await;
    let carol = token_of(&gw, &carol_session).await;
    let connect_url = format!("{}/oauth/connect/guarded", gw.url);

    // 1. Before connecting, every kind of client is told where to connect.
    let answer = initialize(&gw, &admin).await;
    assert_eq!(answer["error"]["code"], -32042, "{answer}");
    let elicitation = &answer["error"]["data"]["elicitations"][0];
    assert_eq!(elicitation["mode"], "url");
    assert_eq!(elicitation["url"], connect_url.as_str());
    assert!(
        elicitation["elicitationId"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let answer = call(&gw, &admin, json!({"elicitation": {"url": {}}})).await;
    assert_eq!(answer["result"]["resultType"], "input_required", "{answer}");
    let request = &answer["result"]["inputRequests"]["connect-guarded"];
    assert_eq!(request["method"], "elicitation/create");
    assert_eq!(request["params"]["mode"], "url");
    assert_eq!(request["params"]["url"], connect_url.as_str());
    let answer = call(&gw, &admin, json!({})).await;
    assert_eq!(answer["error"]["code"], -32021, "{answer}");
    assert_eq!(
        answer["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {"url": {}}}),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&connect_url),
        "{answer}"
    );
    // A request that cannot carry input at all: the gateway's own code, with the URL.
    let listed = gw
        .request("POST", "/guarded/mcp")
        .bearer_auth(&admin)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/list")
        .json(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list",
                      "params": {"_meta": common::stateless_meta()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["error"]["code"], -31042, "{listed}");
    assert_eq!(listed["error"]["data"]["url"], connect_url.as_str());
    assert!(connection(&gw, &admin).await.is_null());

    // 2. The connect page needs a signed-in browser.
    let anonymous = gw
        .request("GET", "/oauth/connect/guarded")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(
        anonymous.headers()["location"],
        "/login?next=%2Foauth%2Fconnect%2Fguarded"
    );

    // A page of another site cannot start a flow with the user's session.
    let forged = gw
        .request("POST", "/oauth/connect/guarded")
        .header("cookie", &admin_session)
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf_token", "guess")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("location").is_none());

    // 3. A flow started by one user cannot be finished in another user's session.
    let (callback, cookie) = authorize_at_provider(&gw, &provider, &admin_session, "alice").await;
    let stolen = gw
        .request("GET", callback.trim_start_matches(&gw.url))
        .header("cookie", format!("{carol_session}; {cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 400);
    assert!(connection(&gw, &carol).await.is_null());
    assert!(connection(&gw, &admin).await.is_null());

    // A callback naming another issuer (a mix-up, RFC 9207) and a refusal at the
    // provider connect nothing, and say why.
    let (callback, cookie) = authorize_at_provider(&gw, &provider, &admin_session, "alice").await;
    let mixed_up = callback.replace(
        &format!("iss={}", encode(issuer)),
        &format!("iss={}", encode("http://127.0.0.1:9/evil")),
    );
    assert_ne!(mixed_up, callback, "the provider sends iss: {callback}");
    let refused = gw
        .request("GET", mixed_up.trim_start_matches(&gw.url))
        .header("cookie", format!("{admin_session}; {cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("names issuer"));
    let started = start_connecting(&gw, &admin_session, "guarded").await;
    let authorize = reqwest::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<String, String> =
        authorize.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["resource"], format!("{base}/clock/mcp"));
    assert_eq!(query["scope"], "mcp:read");
    assert_eq!(query["redirect_uri"], format!("{}/oauth/callback", gw.url));
    let cookie = started.headers()["set-cookie"].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap();
    let denied = gw
        .request(
            "GET",
            &format!(
                "/oauth/callback?error=access_denied&state={}&iss={}",
                query["state"],
                encode(issuer)
            ),
        )
        .header("cookie", format!("{admin_session}; {cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    assert!(denied.text().await.unwrap().contains("access_denied"));
    assert!(connection(&gw, &admin).await.is_null());

    // 4. Connecting: the browser comes back to the connections page. Two flows started
    // in two tabs both finish (each has its own cookie), the later-started first.
    let (first, first_cookie) =
        authorize_at_provider(&gw, &provider, &admin_session, "alice").await;
    let (second, second_cookie) =
        authorize_at_provider(&gw, &provider, &admin_session, "alice").await;
    assert_ne!(first_cookie, second_cookie);
    let finish = |callback: String| {
        gw.request("GET", callback.trim_start_matches(&gw.url))
            .header(
                "cookie",
                format!("{admin_session}; {first_cookie}; {second_cookie}"),
            )
            .send()
    };
    let done = finish(second).await.unwrap();
    assert_eq!(done.status(), 303);
    let done = finish(first).await.unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"],
        "/ui/connections?connected=guarded"
    );
    let page = gw
        .request("GET", "/ui/connections?connected=guarded")
        .header("cookie", &admin_session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Connected: calls to /guarded"), "{page}");
    assert!(page.contains("Disconnect"), "{page}");
    let connected = connection(&gw, &admin).await;
    assert_eq!(connected["provider"], "idp", "{connected}");
    assert_eq!(connected["refreshable"], true, "{connected}");
    assert!(connected.get("access_token").is_none());

    // 5. Calls carry the user's token (B accepts it), and only that user's.
    let answer = call(&gw, &admin, json!({})).await;
    assert!(
        answer["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|text| text.contains("UTC")),
        "{answer}"
    );
    let answer = call(&gw, &carol, json!({})).await;
    assert_eq!(
        answer["error"]["code"], -32021,
        "carol has not connected: {answer}"
    );

    // 6. Renewed in the background before it expires, without any call.
    let first = connected["refreshed_at"].as_i64().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = connection(&gw, &admin).await;
        if now["refreshed_at"].as_i64().unwrap() > first {
            assert!(
                now["expires_at"].as_i64().unwrap() > connected["expires_at"].as_i64().unwrap()
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token was never renewed: {now}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The cached token is used until the next read; after that the renewed one works.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let answer = call(&gw, &admin, json!({})).await;
    assert!(answer["result"]["content"].is_array(), "{answer}");

    // 7. Disconnecting revokes the tokens at the provider; calls ask to connect again.
    let revoked_before = provider.revocations().await;
    let response = gw
        .request("DELETE", "/api/connections/guarded")
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert!(provider.revocations().await >= revoked_before + 2);
    assert!(connection(&gw, &admin).await.is_null());
    let answer = call(&gw, &admin, json!({})).await;
    assert_eq!(answer["error"]["code"], -32021, "{answer}");

    // 8. `mcpgw connect` prints the URL and waits until the browser is done.
    let mut cli = tokio::process::Command::new(common::binary())
        .args(["connect", "guarded", "--url", &gw.url, "--token", &admin])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = tokio::io::BufReader::new(cli.stdout.take().unwrap());
    let mut printed = String::new();
    tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut printed)
        .await
        .unwrap();
    assert_eq!(printed.trim(), connect_url);
    let done = connect_in_browser(&gw, &provider, &admin_session, "alice").await;
    assert_eq!(done.status(), 303);
    let finished = tokio::time::timeout(Duration::from_secs(30), cli.wait_with_output())
        .await
        .expect("mcpgw connect returns once connected")
        .unwrap();
    let said = String::from_utf8_lossy(&finished.stderr);
    assert!(finished.status.success(), "{said}");
    assert!(said.contains("Connected"), "{said}");
    let answer = call(&gw, &admin, json!({})).await;
    assert!(answer["result"]["content"].is_array(), "{answer}");
    let (ok, listed, _) = gw.cli(&["connections", "--token", &admin]).await;
    assert!(
        ok && listed.contains("/guarded\tTest IdP\tconnected"),
        "{listed}"
    );

    // 9. An `mcp` provider finds everything out from the server itself (B's challenge,
    // its metadata, the provider's): nothing but the client is configured.
    let mut remote = common::http_server("remote", &format!("{base}/clock/mcp"));
    remote["egress"] = json!({"mode": "oauth-user", "provider": "remote"});
    assert_eq!(
        gw.api("POST", "/api/servers", Some(remote)).await.status,
        201
    );
    gw.wait_for_server("remote", Duration::from_secs(30), |server| {
        server["health"]["status"] == "auth-required"
    })
    .await;
    let started = start_connecting(&gw, &admin_session, "remote").await;
    assert_eq!(started.status(), 303);
    let authorize = reqwest::Url::parse(started.headers()["location"].to_str().unwrap()).unwrap();
    assert!(
        authorize.as_str().starts_with(&format!("{issuer}/auth?")),
        "{authorize}"
    );
    let query: std::collections::HashMap<String, String> =
        authorize.query_pairs().into_owned().collect();
    assert_eq!(query["resource"], format!("{base}/clock/mcp"));
    assert_eq!(query["client_id"], "gateway-a-users");
    let done = connect_server_in_browser(&gw, &provider, &admin_session, "alice", "remote").await;
    assert_eq!(done.status(), 303);
    let answer = call_on(&gw, "/remote/mcp", &admin, json!({})).await;
    assert!(
        answer["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|text| text.contains("UTC")),
        "{answer}"
    );

    // 10. A server repointed elsewhere never gets the tokens obtained for its old URL:
    // the connection is dropped and the user asked to connect again.
    let elsewhere = common::hostile::start(|request| {
        common::hostile::Reply::json(
            200,
            &json!({"jsonrpc": "2.0", "id": request.json()["id"], "result": {}}),
        )
    })
    .await;
    let repointed = gw
        .api(
            "PATCH",
            "/api/servers/remote",
            Some(json!({"url": elsewhere.url})),
        )
        .await;
    assert_eq!(repointed.status, 200, "{:?}", repointed.body);
    let answer = call_on(&gw, "/remote/mcp", &admin, json!({})).await;
    assert_eq!(answer["error"]["code"], -32021, "{answer}");
    assert!(
        elsewhere
            .requests()
            .iter()
            .all(|request| request.header("authorization").is_none()),
        "a token reached the new URL"
    );

    // 11. The tokens are sealed at rest: no JWT anywhere in A's data directory.
    drop(gw);
    let files = common::files_in(&dir.path().join("a"));
    assert!(
        !common::files_contain(&files, "eyJhbGciOi"),
        "a user's token is stored in clear"
    );
}
