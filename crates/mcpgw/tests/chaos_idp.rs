//! Chaos at the identity provider: a real OpenID provider (npm `oidc-provider`), trusted
//! for bearer JWTs (`[[auth.issuers]]`) and for the web login (`[[auth.oidc_login]]`),
//! stops while the gateway runs and comes back on the same address with a new signing
//! key (it keeps none across a restart). Meanwhile tokens verified before keep working
//! (their keys are cached), a token naming a key nobody knows gets a clear 401 in bounded
//! time, the gateway's own tokens and the admin token are untouched, and the web login
//! says what is wrong; once the provider is back, its new tokens work without a restart.
//!
//! A provider that is down when the gateway starts is `oidc_auth.rs`.

mod common;

use base64::Engine;
use common::chaos::LIVENESS;
use common::oidc::{Provider, client};
use common::{Gateway, Launch, TOKEN};
use serde_json::{Value, json};

const AUDIENCE: &str = "http://127.0.0.1/mcpgw";

/// The provider's configuration: a client for bearer tokens and one for the web login.
fn provider_config(port: u16) -> Value {
    json!({"port": port, "clients": [
        client("app", AUDIENCE, json!({})),
        {"client_id": "mcpgw-web", "client_secret": "mcpgw-web-secret",
         "redirect_uris": ["http://127.0.0.1/auth/callback/idp"]},
    ]})
}

/// A gateway trusting `issuer` for bearer tokens and for the web login.
async fn gateway(dir: &std::path::Path, issuer: &str) -> Gateway {
    let config = format!(
        "[auth]\nkey_refresh_min_secs = 1\n\
         [[auth.issuers]]\nissuer = \"{issuer}\"\npreset = \"generic\"\n\
         audiences = [\"{AUDIENCE}\"]\n\
         [[auth.oidc_login]]\nname = \"idp\"\ndisplay_name = \"Test IdP\"\n\
         issuer = \"{issuer}\"\nclient_id = \"mcpgw-web\"\nclient_secret_env = \"IDP_SECRET\"\n"
    );
    let path = dir.join("mcpgw.toml");
    std::fs::write(&path, config).unwrap();
    Launch::quiet(&dir.join("data"))
        .args(&["--config", path.to_str().unwrap()])
        .env("IDP_SECRET", "mcpgw-web-secret")
        .start()
        .await
}

/// `GET /api/auth/me` with `token`, within [`LIVENESS`]: status and body.
async fn me(gw: &Gateway, token: &str) -> (u16, Value) {
    tokio::time::timeout(LIVENESS, gw.get_as("/api/auth/me", token))
        .await
        .expect("the gateway answered in time")
}

/// `token` with its header replaced by `header` (its signature no longer fits).
fn with_header(token: &str, header: Value) -> String {
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = token.split('.');
    let _ = parts.next();
    let claims = parts.next().unwrap();
    format!(
        "{}.{claims}.c2lnbmF0dXJl",
        engine.encode(header.to_string())
    )
}

/// Starts the web login; returns the status, where it leads (or the page it shows) and
/// the login cookie (`name=value`) a browser would keep for the callback.
async fn begin_login(gw: &Gateway) -> (u16, String, String) {
    let started =
        tokio::time::timeout(LIVENESS, gw.request("GET", "/auth/login/idp?next=/").send())
            .await
            .expect("the login answered in time")
            .unwrap();
    let status = started.status().as_u16();
    let location = started
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned());
    let cookie = started
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("mcpgw_login="))
        .map(|value| value.split(';').next().unwrap().to_owned())
        .unwrap_or_default();
    let page = started.text().await.unwrap();
    (status, location.unwrap_or(page), cookie)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_identity_provider_down_and_back() {
    let Some(provider) = Provider::start(provider_config(0)).await else {
        return;
    };
    let port: u16 = provider.issuer.rsplit(':').next().unwrap().parse().unwrap();
    let issuer = provider.issuer.clone();
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway(dir.path(), &issuer).await;
    let verified = provider.token("app", None).await;
    assert_eq!(me(&gw, &verified).await.0, 200);
    let minted = gw
        .api(
            "POST",
            "/api/tokens",
            Some(json!({"description": "own", "expires_in": 600})),
        )
        .await;
    assert_eq!(minted.status, 201, "{minted:?}");
    let own = minted.body["token"].as_str().unwrap().to_owned();
    // A user signs in at the provider; the provider stops before the gateway redeems the
    // code (the browser's redirect back to the gateway arrives after it went down).
    let (status, authorize, cookie) = begin_login(&gw).await;
    assert_eq!(status, 303, "{authorize}");
    assert!(authorize.starts_with(&issuer), "{authorize}");
    let callback = provider.sign_in(&authorize, "alice").await;
    let callback = callback
        .strip_prefix(&gw.url)
        .unwrap_or_else(|| panic!("back to the gateway: {callback}"))
        .to_owned();

    drop(provider);
    common::chaos::until_released(port).await;
    assert_eq!(me(&gw, &verified).await.0, 200, "keys are cached");
    assert_eq!(me(&gw, &own).await.0, 200, "the gateway's own tokens");
    assert_eq!(me(&gw, TOKEN).await.0, 200, "the admin token");
    // A key nobody knows: the gateway asks the provider (refused at once), then refuses.
    let unknown = with_header(&verified, json!({"alg": "RS256", "kid": "unknown-key"}));
    let (status, body) = me(&gw, &unknown).await;
    assert_eq!(status, 401, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("key"), "{body}");
    let finished = tokio::time::timeout(
        LIVENESS,
        gw.request("GET", &callback)
            .header("cookie", &cookie)
            .send(),
    )
    .await
    .expect("the callback answered in time")
    .unwrap();
    let status = finished.status().as_u16();
    let page = finished.text().await.unwrap();
    assert_eq!(status, 502, "{page}");
    assert!(
        page.contains("the sign-in provider cannot be reached right now"),
        "the login page says what is wrong: {page}"
    );
    assert!(
        page.contains("name=\"password\""),
        "and offers the local login"
    );

    let provider = Provider::start(provider_config(port)).await.unwrap();
    assert_eq!(provider.issuer, issuer);
    let fresh = provider.token("app", None).await;
    let deadline = tokio::time::Instant::now() + LIVENESS;
    loop {
        let (status, body) = me(&gw, &fresh).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 401, "{body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider's new key was never picked up: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (status, location, _) = begin_login(&gw).await;
    assert_eq!(status, 303, "{location}");
    assert!(location.starts_with(&issuer), "{location}");
    assert_eq!(me(&gw, &own).await.0, 200);
}
