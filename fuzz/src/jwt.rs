//! The gateway's authentication, set up once in memory for `jwt_header`: an admin token,
//! the gateway's own token service (keys and records in memory) with one live and one
//! revoked token minted, and an OIDC issuer on a loopback port nothing listens on.
//!
//! Inputs name those credentials with placeholders, so that the fuzzer mutates real
//! tokens and real token shapes rather than guessing base64:
//! - `{admin}`: the admin token; `{minted}`, `{revoked}`: the two gateway tokens;
//! - `{minted.h}`, `{minted.p}`, `{minted.s}`: the live token's header, payload and
//!   signature parts;
//! - `{b64}…{/b64}`: the text in between, base64url-encoded without padding (to write a
//!   JWT header or payload as plain JSON).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use mcpgw_auth::jwt::issuer::{IssuerConfig, Preset};
use mcpgw_auth::jwt::{JwtSettings, JwtVerifier};
use mcpgw_auth::vending::keys::{KeyStore, SigningKeys, StoredKey};
use mcpgw_auth::vending::{MintRequest, TokenRecord, TokenService, TokenStore};
use mcpgw_auth::{AdminToken, Authenticator, Principal};

/// The admin token's secret.
pub const ADMIN: &str = "fuzz-admin-token-0123456789abcdef";
/// The `iss` of the gateway's own tokens.
pub const GATEWAY_ISSUER: &str = "https://gateway.example";
/// The trusted OIDC issuer: port 9 (discard) on loopback, where nothing answers, so key
/// discovery fails at once and is not tried again during a run.
pub const OIDC_ISSUER: &str = "http://127.0.0.1:9";

/// Everything a run authenticates against.
pub struct Setup {
    /// Drives the async parts on this thread.
    pub runtime: tokio::runtime::Runtime,
    /// Admin token, gateway tokens and the OIDC issuer.
    pub authenticator: Authenticator,
    /// A live gateway token.
    pub minted: String,
    /// A revoked gateway token.
    pub revoked: String,
}

/// The setup, made on first use.
pub fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (authenticator, minted, revoked) = runtime.block_on(build());
        Setup {
            runtime,
            authenticator,
            minted,
            revoked,
        }
    })
}

async fn build() -> (Authenticator, String, String) {
    let now = mcpgw_auth::now();
    let keys = SigningKeys::load(
        Arc::new(Keys::default()),
        std::path::Path::new("/nonexistent/mcpgw-fuzz"),
        3600,
        now,
    )
    .await
    .expect("signing keys");
    let tokens = Arc::new(TokenService::new(
        keys,
        GATEWAY_ISSUER.to_owned(),
        24 * 3600,
        Arc::new(Records::default()),
    ));
    let admin = Principal::admin();
    let request = || MintRequest {
        description: "fuzz".into(),
        expires_in: Some(24 * 3600),
        scopes: Some(vec!["read".into()]),
        groups: Some(vec!["g1".into()]),
        admin: false,
    };
    let minted = tokens.mint(&admin, request(), now).await.expect("a token");
    let revoked = tokens.mint(&admin, request(), now).await.expect("a token");
    tokens
        .revoke(&admin, &revoked.record.id, now)
        .await
        .expect("revoked");
    let verifier = JwtVerifier::new(
        vec![IssuerConfig {
            issuer: OIDC_ISSUER.to_owned(),
            audiences: vec!["mcpgw".into()],
            preset: Preset::Generic,
            groups_claims: vec!["groups".into()],
            client_id_claim: None,
            username_claim: None,
            tenants: Vec::new(),
        }],
        &JwtSettings {
            leeway: Duration::from_secs(60),
            min_key_refresh: Duration::from_secs(24 * 3600),
            fetch_timeout: Duration::from_secs(2),
        },
    )
    .expect("a verifier");
    let authenticator = Authenticator::new(AdminToken::from_secret(ADMIN.into()).expect("admin"))
        .with_tokens(tokens)
        .with_jwt(verifier);
    (authenticator, minted.token, revoked.token)
}

/// `input` with its placeholders replaced (see the module documentation).
pub fn expand(input: &str, setup: &Setup) -> String {
    let mut parts = setup.minted.split('.');
    let mut part = || parts.next().unwrap_or_default().to_owned();
    let (header, payload, signature) = (part(), part(), part());
    let text = input
        .replace("{admin}", ADMIN)
        .replace("{minted}", &setup.minted)
        .replace("{revoked}", &setup.revoked)
        .replace("{minted.h}", &header)
        .replace("{minted.p}", &payload)
        .replace("{minted.s}", &signature);
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some((before, after)) = rest.split_once("{b64}") {
        out.push_str(before);
        let (plain, tail) = after.split_once("{/b64}").unwrap_or((after, ""));
        out.push_str(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Token records in memory.
#[derive(Default)]
struct Records(Mutex<Vec<TokenRecord>>);

#[async_trait]
impl TokenStore for Records {
    async fn insert_token(&self, record: &TokenRecord) -> Result<(), String> {
        self.lock()?.push(record.clone());
        Ok(())
    }
    async fn list_tokens(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, String> {
        let all = self.lock()?.clone();
        Ok(all
            .into_iter()
            .filter(|record| owner.is_none_or(|owner| record.owner == owner))
            .collect())
    }
    async fn get_token(&self, id: &str) -> Result<Option<TokenRecord>, String> {
        Ok(self.lock()?.iter().find(|record| record.id == id).cloned())
    }
    async fn revoke_token(&self, id: &str, at: i64) -> Result<(), String> {
        for record in self.lock()?.iter_mut().filter(|record| record.id == id) {
            record.revoked_at.get_or_insert(at);
        }
        Ok(())
    }
    async fn revoked_tokens(&self, now: i64) -> Result<Vec<String>, String> {
        let all = self.lock()?.clone();
        Ok(all
            .into_iter()
            .filter(|record| record.revoked_at.is_some() && record.expires_at > now)
            .map(|record| record.id)
            .collect())
    }
}

impl Records {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<TokenRecord>>, String> {
        self.0.lock().map_err(|_| "poisoned".to_owned())
    }
}

/// Signing keys in memory.
#[derive(Default)]
struct Keys(Mutex<Vec<StoredKey>>);

#[async_trait]
impl KeyStore for Keys {
    async fn signing_keys(&self) -> Result<Vec<StoredKey>, String> {
        Ok(self.0.lock().map_err(|_| "poisoned")?.clone())
    }
    async fn add_signing_key(&self, key: &StoredKey) -> Result<(), String> {
        let mut keys = self.0.lock().map_err(|_| "poisoned")?;
        if !keys.iter().any(|known| known.kid == key.kid) {
            keys.push(key.clone());
        }
        Ok(())
    }
    async fn rotate_signing_key(&self, key: &StoredKey, at: i64, _: i64) -> Result<(), String> {
        let mut keys = self.0.lock().map_err(|_| "poisoned")?;
        for other in keys.iter_mut() {
            other.retired_at.get_or_insert(at);
        }
        keys.push(key.clone());
        Ok(())
    }
}
