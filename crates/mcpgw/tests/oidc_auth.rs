//! Bearer JWTs from real OpenID providers (npm `oidc-provider`): Keycloak-, Cognito- and
//! Entra-shaped tokens mapped by their presets, every rejection, key rotation at the
//! provider, a provider that is down when the gateway starts, and junk key ids that must
//! not make the gateway hammer the provider.

mod common;

use std::time::Duration;

use base64::Engine;
use common::oidc::{Provider, client};
use common::{Gateway, Launch, TOKEN};
use serde_json::{Value, json};

const AUDIENCE: &str = "http://127.0.0.1/mcpgw";

/// Scopes of the discovery test before the grant: `box` may be connected to, no more.
const ACCESS_V1: &str = "
mcp:read:
- server: box
  methods: [initialize, ping]
";

/// After the grant: its tools may be listed, and `echo` called.
const ACCESS_V2: &str = "
mcp:read:
- server: box
  methods: [initialize, ping, tools/list, tools/call]
  tools: [echo]
";

/// A gateway trusting `issuers` (TOML fragments, one `[[auth.issuers]]` table each).
async fn gateway(dir: &std::path::Path, issuers: &[String], auth: &str) -> Gateway {
    gateway_with_top(dir, "", issuers, auth).await
}

/// The same, with top-level settings `top` (such as `public_url`).
async fn gateway_with_top(
    dir: &std::path::Path,
    top: &str,
    issuers: &[String],
    auth: &str,
) -> Gateway {
    let mut config = format!("{top}\n[auth]\nkey_refresh_min_secs = 1\n{auth}\n");
    for issuer in issuers {
        config.push_str("[[auth.issuers]]\n");
        config.push_str(issuer);
        config.push('\n');
    }
    let path = dir.join("mcpgw.toml");
    std::fs::write(&path, config).unwrap();
    Launch::quiet(&dir.join("data"))
        .args(&["--config", path.to_str().unwrap()])
        .start()
        .await
}

fn issuer(url: &str, preset: &str, audiences: &[&str]) -> String {
    format!("issuer = \"{url}\"\npreset = \"{preset}\"\naudiences = {audiences:?}\n")
}

/// `GET /api/auth/me` with `token` in `header`.
async fn me(gw: &Gateway, header: &str, token: &str) -> (u16, Value) {
    let response = gw
        .request("GET", "/api/auth/me")
        .header(header, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The error message of a 401, asserting it is one.
async fn rejected(gw: &Gateway, token: &str) -> String {
    let (status, body) = me(gw, "authorization", token).await;
    assert_eq!(status, 401, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn keycloak_cognito_and_entra_tokens_map_to_principals() {
    let Some(keycloak) = Provider::start(json!({"clients": [client("kc-app", AUDIENCE, json!({
        "azp": "kc-app", "preferred_username": "svc-kc",
        "groups": ["/mcp-users"], "realm_access": {"roles": ["mcp-admins", "offline_access"]}}))]}))
    .await
    else {
        return;
    };
    let cognito = Provider::start(json!({"alg": "ES256", "clients": [
        client("cog-app", "ignored", json!({
            "token_use": "access", "username": "svc-cog", "cognito:groups": ["readers"]})),
        client("cog-id", "ignored", json!({"token_use": "id"})),
        client("cog-other", "ignored", json!({"token_use": "access"})),
    ]}))
    .await
    .unwrap();
    let entra = Provider::start(
        json!({"alg": "PS256", "clients": [client("entra-app", AUDIENCE, json!({
        "azp": "entra-app", "tid": "tenant-1", "groups": ["g-1"], "roles": ["Tools.Call"]}))]}),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Each provider's groups map to scopes through the same group_mappings.
    let scopes = dir.path().join("scopes.yml");
    std::fs::write(
        &scopes,
        "group_mappings:\n  /mcp-users: [users]\n  mcp-admins: [operators]\n  readers: [readers]\n  \
         g-1: [entra-users]\n  Tools.Call: [callers]\n\
         users: []\noperators: []\nreaders: []\nentra-users: []\ncallers: []\n",
    )
    .unwrap();
    let gw = gateway(
        dir.path(),
        &[
            issuer(&keycloak.issuer, "keycloak", &[AUDIENCE]),
            // Cognito access tokens are checked by client id, not aud.
            issuer(&cognito.issuer, "cognito", &["cog-app", "cog-id"]),
            issuer(&entra.issuer, "entra", &[AUDIENCE]),
        ],
        &format!("[policy]\nscopes_file = \"{}\"", scopes.display()),
    )
    .await;

    let (status, kc) = me(&gw, "authorization", &keycloak.token("kc-app", None).await).await;
    assert_eq!(status, 200, "{kc}");
    assert_eq!(kc["client_id"], "kc-app");
    assert_eq!(kc["username"], "svc-kc");
    assert_eq!(
        kc["groups"],
        json!(["/mcp-users", "mcp-admins", "offline_access"])
    );
    assert_eq!(kc["scopes"], json!(["mcp:read", "mcp:write"]));
    // With groups, the scope claim is not used (as in the Python gateway).
    assert_eq!(kc["policy_scopes"], json!(["users", "operators"]));
    assert_eq!(kc["is_admin"], false);
    assert_eq!(
        kc["auth_method"],
        json!({"kind": "jwt", "issuer": keycloak.issuer})
    );
    assert!(kc["expires_at"].as_i64().unwrap() > 0);

    // The dual-token header carries the gateway's credential just as well.
    let (status, cog) = me(
        &gw,
        "x-authorization",
        &cognito.token("cog-app", None).await,
    )
    .await;
    assert_eq!(status, 200, "{cog}");
    assert_eq!(cog["client_id"], "cog-app");
    assert_eq!(cog["username"], "svc-cog");
    assert_eq!(cog["groups"], json!(["readers"]));
    assert_eq!(cog["policy_scopes"], json!(["readers"]));
    // Cognito: an ID token is not an access token, and another app client is another
    // audience.
    let id_token = cognito.token("cog-id", None).await;
    assert!(rejected(&gw, &id_token).await.contains("token_use"));
    let other_app = cognito.token("cog-other", None).await;
    assert!(rejected(&gw, &other_app).await.contains("another audience"));

    let (status, en) = me(&gw, "authorization", &entra.token("entra-app", None).await).await;
    assert_eq!(status, 200, "{en}");
    assert_eq!(en["client_id"], "entra-app");
    assert_eq!(en["groups"], json!(["Tools.Call", "g-1"]));
    assert_eq!(en["policy_scopes"], json!(["callers", "entra-users"]));

    // Authenticated, but granted nothing: the registry says 403 and an MCP route 404 (a
    // server the caller may not list is not revealed), never 401.
    let token = keycloak.token("kc-app", None).await;
    let listing = gw
        .request("GET", "/api/servers")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 403);
    common::register_unreachable_box(&gw).await;
    let call = gw
        .request("POST", "/box/mcp")
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 404);
}

/// A token with `header` and `claims`, signed with nothing the gateway trusts.
fn forged(header: Value, claims: &Value, signature: &str) -> String {
    let part =
        |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    format!("{}.{}.{signature}", part(&header), part(claims))
}

/// The claims of a real token (not verified: for building forgeries from it).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn every_kind_of_bad_token_is_refused_with_its_reason() {
    let future = chrono_now() + 3600;
    let Some(provider) = Provider::start(json!({"ttl": 2, "clients": [
        client("app", AUDIENCE, json!({})),
        client("early", AUDIENCE, json!({"nbf": future})),
        client("kc-id", AUDIENCE, json!({"typ": "ID"})),
    ]}))
    .await
    else {
        return;
    };
    let stranger = Provider::start(json!({"clients": [client("app", AUDIENCE, json!({}))]}))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &[issuer(&provider.issuer, "keycloak", &[AUDIENCE])],
        "leeway_secs = 0",
    )
    .await;
    let good = provider.token("app", None).await;
    assert_eq!(me(&gw, "authorization", &good).await.0, 200);

    let other_audience = provider
        .token("app", Some("http://127.0.0.1/elsewhere"))
        .await;
    assert!(
        rejected(&gw, &other_audience)
            .await
            .contains("another audience")
    );
    let untrusted = stranger.token("app", None).await;
    assert!(
        rejected(&gw, &untrusted)
            .await
            .contains("issuer is not trusted")
    );
    // Keycloak marks its ID tokens `typ: ID`: they prove a sign-in, they grant nothing.
    let id_token = provider.token("kc-id", None).await;
    assert!(rejected(&gw, &id_token).await.contains("ID token"));
    let early = provider.token("early", None).await;
    assert!(rejected(&gw, &early).await.contains("not valid yet"));

    // A valid token with one signature byte changed.
    let (signed, signature) = good.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{signed}.{flipped}{}", &signature[1..]);
    assert!(rejected(&gw, &tampered).await.contains("signature"));
    // The same claims with other contents are not covered by the signature either.
    let mut raised = claims_of(&good);
    raised["groups"] = json!(["admins"]);
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(good.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(
        rejected(&gw, &forged(header.clone(), &raised, signature))
            .await
            .contains("signature")
    );

    // alg none, HMAC with the provider's public key as the "secret", and an odd typ.
    let claims = claims_of(&good);
    let none = forged(json!({"alg": "none", "typ": "JWT"}), &claims, "");
    assert!(rejected(&gw, &none).await.contains("not a valid JWT"));
    let jwks: Value = common::get_json(&format!("{}/jwks", provider.issuer)).await;
    let public = jwks["keys"][0]["n"].as_str().unwrap().as_bytes().to_vec();
    let hmac = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: header["kid"].as_str().map(str::to_owned),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public),
    )
    .unwrap();
    assert!(
        rejected(&gw, &hmac)
            .await
            .contains("algorithm is not accepted")
    );
    let mut odd = header.clone();
    odd["typ"] = json!("dpop+jwt");
    assert!(
        rejected(&gw, &forged(odd, &claims, signature))
            .await
            .contains("typ")
    );

    // Expired: the provider's tokens live 2 s and the gateway allows no leeway here.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(rejected(&gw, &good).await.contains("expired"));
    // Junk that is not a JWT at all, and the admin token still works.
    assert!(
        rejected(&gw, "eyJhbGciOi.junk.junk")
            .await
            .contains("not a valid JWT")
    );
    assert_eq!(me(&gw, "authorization", TOKEN).await.0, 200);
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn rotated_keys_are_picked_up_and_junk_key_ids_do_not_hammer_the_provider() {
    let Some(provider) =
        Provider::start(json!({"clients": [client("app", AUDIENCE, json!({}))]})).await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &[issuer(&provider.issuer, "generic", &[AUDIENCE])],
        "",
    )
    .await;
    let old = provider.token("app", None).await;
    assert_eq!(me(&gw, "authorization", &old).await.0, 200);

    provider.rotate().await;
    let new = provider.token("app", None).await;
    // The gateway fetches keys at most once a second here (`key_refresh_min_secs = 1`).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        me(&gw, "authorization", &new).await.0,
        200,
        "new key, no restart"
    );
    assert!(rejected(&gw, &old).await.contains("no key of the issuer"));

    // A flood of tokens naming unknown keys costs the provider at most a fetch or two.
    let before = provider.jwks_hits().await;
    let claims = claims_of(&new);
    for index in 0..30 {
        let junk = forged(
            json!({"alg": "RS256", "typ": "at+jwt", "kid": format!("junk-{index}")}),
            &claims,
            "c2lnbmF0dXJl",
        );
        assert!(rejected(&gw, &junk).await.contains("no key of the issuer"));
    }
    let fetched = provider.jwks_hits().await - before;
    assert!(fetched <= 2, "{fetched} key-set fetches for 30 junk tokens");
}

#[tokio::test]
async fn a_provider_that_is_down_at_start_is_used_once_it_is_up() {
    if !common::oidc::available() {
        return;
    }
    // A port nobody listens on yet, for the provider to come up on later.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let issuer_url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(
        dir.path(),
        &[issuer(&issuer_url, "keycloak", &[AUDIENCE])],
        "",
    )
    .await;
    // The gateway started; a JWT for the missing issuer cannot be verified yet.
    let claims = json!({"iss": issuer_url, "aud": AUDIENCE, "exp": chrono_now() + 60});
    let early = forged(json!({"alg": "RS256", "kid": "k"}), &claims, "c2ln");
    let message = rejected(&gw, &early).await;
    assert!(message.contains("keys are unavailable"), "{message}");
    assert_eq!(
        me(&gw, "authorization", TOKEN).await.0,
        200,
        "admins still get in"
    );

    let provider = Provider::start(json!({"port": port,
        "clients": [client("app", AUDIENCE, json!({}))]}))
    .await
    .unwrap();
    assert_eq!(provider.issuer, issuer_url);
    let token = provider.token("app", None).await;
    let mut status = 0;
    for _ in 0..50 {
        status = me(&gw, "authorization", &token).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "verified once the provider is reachable");
}

#[tokio::test]
async fn a_refused_mcp_client_finds_the_metadata_and_the_issuer_like_an_sdk_does() {
    let Some(provider) =
        Provider::start(json!({"clients": [client("agent", AUDIENCE, json!({}))]})).await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The agent's token carries `scope: mcp:read mcp:write` and no groups, so its scopes
    // are those. At first they let it connect to `box` but not list its tools.
    let scopes = dir.path().join("scopes.yml");
    std::fs::write(&scopes, ACCESS_V1).unwrap();
    // Behind its public URL; its audiences are the resource URLs of all its MCP servers.
    let public = "http://mcp.test";
    let gw = gateway_with_top(
        dir.path(),
        &format!(
            "public_url = \"{public}\"\n[policy]\nscopes_file = \"{}\"",
            scopes.display()
        ),
        &[issuer(&provider.issuer, "generic", &["http://mcp.test/*"])],
        "",
    )
    .await;
    let upstream = common::upstreams::example("toolbox", true).await;
    let body = common::http_server("box", &upstream.url);
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": common::stateless_meta()}})
    .to_string();
    let post = |token: Option<String>| {
        let mut request = gw
            .request("POST", "/box/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .body(list.clone());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };

    // 1. No credentials: 401 naming the resource metadata (MCP authorization, RFC 9728).
    let refused = post(None).await.unwrap();
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let metadata_url = format!("{public}/.well-known/oauth-protected-resource/box/mcp");
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{metadata_url}\"")
    );

    // 2. The metadata names the resource and the authorization server (fetched from the
    // gateway itself: the public URL is a name for it).
    let metadata: Value = common::get_json(&metadata_url.replace(public, &gw.url)).await;
    assert_eq!(metadata["resource"], format!("{public}/box/mcp"));
    assert_eq!(metadata["authorization_servers"], json!([provider.issuer]));
    let whole: Value =
        common::get_json(&format!("{}/.well-known/oauth-protected-resource", gw.url)).await;
    assert_eq!(whole["resource"], public);
    let odd = common::client()
        .get(format!(
            "{}/.well-known/oauth-protected-resource/a/b/c",
            gw.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(odd.status(), 404);

    // 3. The authorization server's own discovery leads to its token endpoint.
    let issuer_url = metadata["authorization_servers"][0].as_str().unwrap();
    let openid: Value =
        common::get_json(&format!("{issuer_url}/.well-known/openid-configuration")).await;
    assert!(
        openid["token_endpoint"]
            .as_str()
            .unwrap()
            .starts_with(issuer_url)
    );
    let resource = metadata["resource"].as_str().unwrap();
    let token = provider.token("agent", Some(resource)).await;
    assert_eq!(claims_of(&token)["aud"], resource);

    // 4. With the token the client is authenticated: while its scopes do not grant the
    // method, it is told its scope is insufficient (403), not to log in again (401).
    let authenticated = post(Some(token.clone())).await.unwrap();
    assert_eq!(authenticated.status(), 403);
    let challenge = authenticated.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains(&metadata_url), "{challenge}");
    let refusal: Value = authenticated.json().await.unwrap();
    assert_eq!(refusal["id"], 1, "{refusal}");
    assert!(
        refusal["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tools/list")
    );

    // 5. The admin grants it (the file is reloaded without a restart): the same token now
    // succeeds, and sees only the tools it may call.
    std::fs::write(&scopes, ACCESS_V2).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let response = post(Some(token.clone())).await.unwrap();
        if response.status() == 200 {
            break common::rpc_messages(response).await.remove(0);
        }
        let last = (response.status(), response.text().await.unwrap());
        assert!(
            std::time::Instant::now() < deadline,
            "the new policy never applied: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let names: Vec<&str> = answer["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["echo"], "{answer}");

    // 6. A bad token: 401 with error="invalid_token" and why.
    let bad = post(Some("eyJhbGciOiJSUzI1NiJ9.e30.c2ln".into()))
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let challenge = bad.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
}
