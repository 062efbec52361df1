//! The token vending service: tokens the gateway mints for agents, their public keys,
//! revocation, key rotation, persistence across restarts, the CLI and the Python
//! registry's route.

mod common;

use base64::Engine;
use common::oidc::{Provider, client};
use common::{Gateway, Launch, TOKEN};
use serde_json::{Value, json};

async fn start(dir: &std::path::Path, auth: &str) -> Gateway {
    let path = dir.join("mcpgw.toml");
    std::fs::write(
        &path,
        format!("[auth]\nmax_token_lifetime_secs = 3600\n{auth}\n"),
    )
    .unwrap();
    Launch::quiet(&dir.join("data"))
        .args(&["--config", path.to_str().unwrap()])
        .start()
        .await
}

/// `METHOD path` with `token`, returning status and JSON body.
async fn call(
    gw: &Gateway,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = gw.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn minted_tokens_work_are_verifiable_by_anyone_and_can_be_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;
    let (status, minted) = call(
        &gw,
        "POST",
        "/api/tokens",
        TOKEN,
        Some(json!({"description": "ci agent", "expires_in": 600, "admin": true})),
    )
    .await;
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().unwrap().to_owned();
    let id = minted["id"].as_str().unwrap().to_owned();
    assert_eq!(minted["description"], "ci agent");
    assert_eq!(
        minted["expires_at"].as_i64().unwrap() - minted["created_at"].as_i64().unwrap(),
        600
    );

    // It works as its minter (an admin, who asked for admin rights).
    let (status, me) = call(&gw, "GET", "/api/auth/me", &token, None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me["auth_method"],
        json!({"kind": "gateway_token", "token_id": id, "owner": "mcpgw:admin-token"})
    );
    assert_eq!(me["is_admin"], true);
    assert_eq!(call(&gw, "GET", "/api/servers", &token, None).await.0, 200);

    // Anyone can check it against the published keys (EdDSA).
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(
        common::get_json(&format!("{}/.well-known/jwks.json", gw.url)).await,
    )
    .unwrap();
    let jwk = jwks
        .find(&kid_of(&token))
        .expect("the signing key is published");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["mcpgw"]);
    let verified = jsonwebtoken::decode::<Value>(
        &token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .expect("a standard JWT library verifies it");
    assert_eq!(verified.claims["jti"], id);
    assert_eq!(verified.claims["sub"], "admin");

    // Listed without the token itself; revoked, it stops working at once.
    let (_, listing) = call(&gw, "GET", "/api/tokens", TOKEN, None).await;
    assert_eq!(listing["count"], 1);
    assert!(
        listing.to_string().find(&token).is_none(),
        "tokens are never stored or shown again"
    );
    let (status, revoked) = call(&gw, "DELETE", &format!("/api/tokens/{id}"), TOKEN, None).await;
    assert_eq!(status, 200);
    assert!(revoked["revoked_at"].is_i64());
    let (status, refused) = call(&gw, "GET", "/api/auth/me", &token, None).await;
    assert_eq!(status, 401);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );

    // Bad requests: beyond the configured lifetime, unknown fields, unknown token.
    let (status, _) = call(
        &gw,
        "POST",
        "/api/tokens",
        TOKEN,
        Some(json!({"expires_in": 7200})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, _) = call(
        &gw,
        "POST",
        "/api/tokens",
        TOKEN,
        Some(json!({"expire": 60})),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        call(&gw, "DELETE", "/api/tokens/nope", TOKEN, None).await.0,
        404
    );
}

#[tokio::test]
async fn keys_rotate_with_overlap_and_everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;
    let mint = |gw: &Gateway| {
        let gw = gw.url.clone();
        async move {
            let response = common::client()
                .post(format!("{gw}/api/tokens"))
                .bearer_auth(TOKEN)
                .json(&json!({"admin": true, "expires_in": 900}))
                .send()
                .await
                .unwrap();
            let minted: Value = response.json().await.unwrap();
            (
                minted["token"].as_str().unwrap().to_owned(),
                minted["id"].as_str().unwrap().to_owned(),
            )
        }
    };
    let (old, _) = mint(&gw).await;
    let (revoked, revoked_id) = mint(&gw).await;
    assert_eq!(
        call(
            &gw,
            "DELETE",
            &format!("/api/tokens/{revoked_id}"),
            TOKEN,
            None
        )
        .await
        .0,
        200
    );

    let (status, rotated) = call(&gw, "POST", "/api/tokens/keys/rotate", TOKEN, None).await;
    assert_eq!(status, 200);
    let (new, _) = mint(&gw).await;
    assert_eq!(kid_of(&new), rotated["kid"]);
    assert_ne!(kid_of(&new), kid_of(&old));
    assert_eq!(
        call(&gw, "GET", "/api/auth/me", &old, None).await.0,
        200,
        "the old key overlaps"
    );
    let jwks: Value = common::get_json(&format!("{}/.well-known/jwks.json", gw.url)).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

    // A restart keeps the keys and the revocations.
    assert!(gw.signal_and_wait("TERM").await.success());
    let gw = start(dir.path(), "").await;
    assert_eq!(call(&gw, "GET", "/api/auth/me", &old, None).await.0, 200);
    assert_eq!(call(&gw, "GET", "/api/auth/me", &new, None).await.0, 200);
    assert_eq!(
        call(&gw, "GET", "/api/auth/me", &revoked, None).await.0,
        401
    );
    // The keys live in the shared database (sealed), not in one replica's data dir.
    assert!(!dir.path().join("data/signing-keys.json").exists());
}

#[tokio::test]
async fn users_mint_at_most_their_own_rights() {
    let Some(provider) = Provider::start(json!({"clients": [client("agent-builder", "mcpgw-users",
        json!({"groups": ["team-a", "team-b"]}))]}))
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let issuer = format!(
        "[[auth.issuers]]\nissuer = \"{}\"\naudiences = [\"mcpgw-users\"]\npreset = \"keycloak\"\n",
        provider.issuer
    );
    let gw = start(dir.path(), &issuer).await;
    let user = provider.token("agent-builder", None).await;

    let (status, minted) = call(
        &gw,
        "POST",
        "/api/tokens",
        &user,
        Some(json!({"description": "reader", "scopes": ["mcp:read"], "groups": ["team-a"]})),
    )
    .await;
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().unwrap();
    let (_, me) = call(&gw, "GET", "/api/auth/me", token, None).await;
    assert_eq!(
        me["subject"], "agent-builder",
        "the token acts as its minter"
    );
    // Asked for the default hour, it still ends when the user's own 5-minute token does.
    let (_, user_me) = call(&gw, "GET", "/api/auth/me", &user, None).await;
    assert_eq!(minted["expires_at"], user_me["expires_at"]);
    // A minted token cannot mint its own successors.
    let (status, _) = call(&gw, "POST", "/api/tokens", token, Some(json!({}))).await;
    assert_eq!(status, 403);
    assert_eq!(me["scopes"], json!(["mcp:read"]));
    assert_eq!(me["groups"], json!(["team-a"]));
    assert_eq!(me["is_admin"], false);

    for escalation in [
        json!({"scopes": ["mcp:admin"]}),
        json!({"groups": ["team-z"]}),
        json!({"admin": true}),
        // No groups: the token's scope claim would decide its rights instead.
        json!({"groups": []}),
    ] {
        let (status, body) = call(&gw, "POST", "/api/tokens", &user, Some(escalation)).await;
        assert_eq!(status, 403, "{body}");
    }
    // Users see and revoke only their own tokens.
    let (_, admins) = call(&gw, "POST", "/api/tokens", TOKEN, Some(json!({}))).await;
    let (_, listing) = call(&gw, "GET", "/api/tokens", &user, None).await;
    assert_eq!(listing["count"], 1);
    let other = format!("/api/tokens/{}", admins["id"].as_str().unwrap());
    assert_eq!(call(&gw, "DELETE", &other, &user, None).await.0, 404);
    assert_eq!(
        call(&gw, "POST", "/api/tokens/keys/rotate", &user, None)
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn the_cli_and_the_python_route_mint_tokens_too() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path(), "").await;
    let (ok, stdout, stderr) = gw
        .cli(&[
            "token",
            "issue",
            "--description",
            "from the cli",
            "--expires-in",
            "120",
            "--admin",
        ])
        .await;
    assert!(ok, "{stderr}");
    let token = stdout.trim();
    assert_eq!(call(&gw, "GET", "/api/servers", token, None).await.0, 200);
    let id = call(&gw, "GET", "/api/auth/me", token, None).await.1["auth_method"]["token_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, listed, _) = gw.cli(&["token", "list"]).await;
    assert!(
        ok && listed.contains(&id) && listed.contains("from the cli"),
        "{listed}"
    );
    let (ok, _, stderr) = gw.cli(&["token", "revoke", &id]).await;
    assert!(ok, "{stderr}");
    assert_eq!(call(&gw, "GET", "/api/servers", token, None).await.0, 401);
    let (ok, _, stderr) = gw.cli(&["token", "issue", "--expires-in", "99999"]).await;
    assert!(!ok && stderr.contains("expires_in"), "{stderr}");

    let (status, generated) = call(
        &gw,
        "POST",
        "/api/tokens/generate",
        TOKEN,
        Some(json!({"description": "python", "expires_in_hours": 0.5})),
    )
    .await;
    assert_eq!(status, 200, "{generated}");
    assert_eq!(generated["success"], true);
    assert_eq!(generated["tokens"]["expires_in"], 1800);
    let access = generated["tokens"]["access_token"].as_str().unwrap();
    assert_eq!(call(&gw, "GET", "/api/auth/me", access, None).await.0, 200);
}
