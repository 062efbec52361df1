//! [`IssuerKeys`]: one issuer's signing keys, found by OIDC discovery and cached.
//!
//! Keys are fetched on first use (a provider that is down when the gateway starts does not
//! stop it), refreshed when they are older than [`MAX_AGE`] and when a token names a key
//! id the cache does not know (the provider rotated its keys). Every fetch, successful or
//! not, is at least `min_refresh` apart, so a flood of tokens with made-up key ids cannot
//! make the gateway hammer the provider; concurrent requests share one fetch.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use tokio::time::Instant;

/// Keys older than this are fetched again, in the background while they keep serving
/// (providers rotate on a schedule of days).
const MAX_AGE: Duration = Duration::from_secs(15 * 60);
/// Keys older than this are not used at all: if the provider stays unreachable this long,
/// its tokens are refused rather than checked against keys it may have withdrawn.
const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// Largest discovery document or key set read.
const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Why no key could be found for a token.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The keys could not be fetched (yet).
    #[error("the issuer's keys are unavailable: {0}")]
    Unavailable(String),
    /// The keys were fetched, and none matches the token.
    #[error("no key of the issuer matches the token's key id")]
    UnknownKey,
}

/// The provider endpoints an OIDC sign-in needs, from the same discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Where the browser is sent to sign in.
    pub authorization: String,
    /// Where the code is exchanged.
    pub token: String,
    /// The client authentication methods the token endpoint supports, if it says.
    pub token_auth_methods: Option<Vec<String>>,
}

#[derive(Default)]
struct Cache {
    keys: Vec<(Jwk, DecodingKey)>,
    endpoints: Option<Endpoints>,
    fetched_at: Option<Instant>,
    attempted_at: Option<Instant>,
    last_error: Option<String>,
}

/// The signing keys of one issuer.
pub struct IssuerKeys {
    issuer: String,
    /// Bumped whenever a fetch replaces the key set: tokens verified under an older set
    /// are verified again.
    generation: std::sync::atomic::AtomicU64,
    http: reqwest::Client,
    min_refresh: Duration,
    cache: RwLock<Cache>,
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

impl IssuerKeys {
    /// Keys of `issuer`, fetched with `http`, at most once per `min_refresh`.
    pub fn new(issuer: &str, http: reqwest::Client, min_refresh: Duration) -> Self {
        IssuerKeys {
            issuer: issuer.to_owned(),
            generation: std::sync::atomic::AtomicU64::new(0),
            http,
            min_refresh,
            cache: RwLock::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// Which key set is in use: it changes whenever the keys are fetched again.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The key a token with this key id (and algorithm family) is verified with.
    ///
    /// Only a key id the cache does not know (or an empty cache) makes the request wait
    /// for the provider; old keys keep serving while a background task refreshes them.
    pub async fn key(self: &Arc<Self>, kid: Option<&str>) -> Result<(Jwk, DecodingKey), KeyError> {
        if let Some(found) = self.cached(kid, MAX_AGE) {
            return Ok(found);
        }
        if let Some(found) = self.cached(kid, MAX_STALE) {
            let keys = Arc::clone(self);
            tokio::spawn(async move {
                if let Ok(_single) = keys.fetching.try_lock()
                    && keys.may_fetch()
                {
                    keys.refresh().await;
                }
            });
            return Ok(found);
        }
        let _single = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if let Some(found) = self.cached(kid, MAX_AGE) {
            return Ok(found);
        }
        if self.may_fetch() {
            self.refresh().await;
        }
        if let Some(found) = self.cached(kid, MAX_STALE) {
            return Ok(found);
        }
        match self.read(|cache| (cache.fetched_at, cache.last_error.clone())) {
            (None, error) => Err(KeyError::Unavailable(
                error.unwrap_or_else(|| "not fetched yet".into()),
            )),
            (Some(_), _) => Err(KeyError::UnknownKey),
        }
    }

    /// The provider's sign-in endpoints, fetching discovery if it was not fetched yet.
    pub async fn endpoints(&self) -> Result<Endpoints, KeyError> {
        if let Some(endpoints) = self.read(|cache| cache.endpoints.clone()) {
            return Ok(endpoints);
        }
        let _single = self.fetching.lock().await;
        if self.read(|cache| cache.endpoints.is_none()) && self.may_fetch() {
            self.refresh().await;
        }
        self.read(|cache| match (&cache.endpoints, &cache.last_error) {
            (Some(endpoints), _) => Ok(endpoints.clone()),
            (None, Some(error)) => Err(KeyError::Unavailable(error.clone())),
            (None, None) if cache.fetched_at.is_some() => Err(KeyError::Unavailable(
                "the discovery document names no authorization_endpoint or token_endpoint".into(),
            )),
            (None, None) => Err(KeyError::Unavailable("not fetched yet".into())),
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Cache) -> T) -> T {
        match self.cache.read() {
            Ok(cache) => f(&cache),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Whether the rate limit allows a fetch now.
    fn may_fetch(&self) -> bool {
        self.read(|cache| cache.attempted_at)
            .is_none_or(|at| at.elapsed() >= self.min_refresh)
    }

    /// The cached key for `kid`, if the keys were fetched less than `max_age` ago.
    fn cached(&self, kid: Option<&str>, max_age: Duration) -> Option<(Jwk, DecodingKey)> {
        self.read(|cache| {
            if cache.fetched_at.is_none_or(|at| at.elapsed() >= max_age) {
                return None;
            }
            let mut candidates = cache.keys.iter().filter(|(jwk, _)| {
                match (kid, jwk.common.key_id.as_deref()) {
                    (Some(kid), Some(key_id)) => kid == key_id,
                    (Some(_), None) => false,
                    // A token without `kid` is accepted only if the issuer has one key.
                    (None, _) => cache.keys.len() == 1,
                }
            });
            candidates.next().cloned()
        })
    }

    /// Fetches discovery and the key set; on failure the old keys are kept.
    async fn refresh(&self) {
        let result = self.fetch().await;
        mcpgw_telemetry::metrics::metrics().jwks_refresh(&self.issuer, result.is_ok());
        let mut cache = match self.cache.write() {
            Ok(cache) => cache,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache.attempted_at = Some(Instant::now());
        match result {
            Ok((keys, endpoints)) => {
                tracing::info!(issuer = %self.issuer, keys = keys.len(), "issuer keys fetched");
                cache.keys = keys;
                cache.endpoints = endpoints;
                self.generation
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                cache.fetched_at = Some(Instant::now());
                cache.last_error = None;
            }
            Err(error) => {
                tracing::warn!(issuer = %self.issuer, %error, "cannot fetch the issuer's keys");
                cache.last_error = Some(error);
            }
        }
    }

    async fn fetch(&self) -> Result<(Vec<(Jwk, DecodingKey)>, Option<Endpoints>), String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.get_json(&url).await?;
        // OpenID Connect Discovery §4.3: the document must name the issuer it was asked
        // about, or a provider could vouch for another's tokens.
        if discovery.issuer != self.issuer {
            return Err(format!(
                "discovery names issuer '{}', not '{}'",
                discovery.issuer, self.issuer
            ));
        }
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        let keys: Vec<(Jwk, DecodingKey)> = set
            .keys
            .into_iter()
            .filter_map(|jwk| {
                let key = DecodingKey::from_jwk(&jwk).ok()?;
                Some((jwk, key))
            })
            .collect();
        if keys.is_empty() {
            return Err("the key set has no usable key".into());
        }
        let endpoints = match (discovery.authorization_endpoint, discovery.token_endpoint) {
            (Some(authorization), Some(token)) => Some(Endpoints {
                authorization,
                token,
                token_auth_methods: discovery.token_endpoint_auth_methods_supported,
            }),
            _ => None,
        };
        Ok((keys, endpoints))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|error| format!("{url}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        crate::http_json::read_json(response, url, MAX_DOCUMENT_BYTES).await
    }
}
