//! [`UpstreamSessions`]: the aggregated endpoint's connections to Streamable HTTP
//! servers, one per caller and server, so that a stateful server sees each caller as its
//! own session (its per-session state is never shared between callers) and a stateless
//! one sees each caller's identity.
//!
//! A session is replaced when the server's definition changes (its revision), forgotten
//! after [`IDLE`] without use, and the least recently used is dropped when
//! [`MAX_SESSIONS`] are held. Dropping one ends it upstream (`DELETE`) in the background.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::HeaderMap;
use mcpgw_auth::Principal;
use mcpgw_mcp::Era;
use mcpgw_mcp::client::{HttpSession, SessionOptions};
use mcpgw_registry::Server;

use crate::error::GatewayError;

/// A session not used for this long is ended.
const IDLE: Duration = Duration::from_secs(600);
/// At most this many upstream sessions are held at once.
const MAX_SESSIONS: usize = 10_000;

/// Which session: the server's path and the caller's [`Principal::owner`].
type Key = (String, String);

struct Held {
    revision: i64,
    session: Arc<HttpSession>,
    last_used: Instant,
}

/// Sessions by server and caller.
pub(crate) struct UpstreamSessions {
    held: Mutex<HashMap<Key, Held>>,
    http: reqwest::Client,
    timeout: Duration,
    forward_identity: bool,
}

impl UpstreamSessions {
    /// No sessions yet; new ones use `http` and wait at most `timeout` for an answer.
    pub(crate) fn new(http: reqwest::Client, timeout: Duration, forward_identity: bool) -> Self {
        UpstreamSessions {
            held: Mutex::new(HashMap::new()),
            http,
            timeout,
            forward_identity,
        }
    }

    /// The session of `principal` with `server`, opened (lazily: nothing is sent before
    /// the first request) if there is none for the server's current definition.
    pub(crate) fn session(
        &self,
        server: &Server,
        principal: &Principal,
    ) -> Result<Arc<HttpSession>, GatewayError> {
        let key = (server.path.clone(), principal.owner());
        let now = Instant::now();
        let mut held = self.held.lock().map_err(|_| GatewayError::Registry)?;
        if let Some(entry) = held.get_mut(&key)
            && entry.revision == server.revision
        {
            entry.last_used = now;
            return Ok(Arc::clone(&entry.session));
        }
        if held.len() >= MAX_SESSIONS {
            held.retain(|_, entry| now.duration_since(entry.last_used) < IDLE);
        }
        if held.len() >= MAX_SESSIONS
            && let Some(oldest) = held
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(key, _)| key.clone())
        {
            held.remove(&oldest);
        }
        let session = Arc::new(HttpSession::new(self.options(server, principal)?));
        held.insert(
            key,
            Held {
                revision: server.revision,
                session: Arc::clone(&session),
                last_used: now,
            },
        );
        Ok(session)
    }

    /// Ends sessions idle for longer than [`IDLE`] (called periodically).
    pub(crate) fn sweep(&self) {
        let now = Instant::now();
        if let Ok(mut held) = self.held.lock() {
            held.retain(|_, entry| now.duration_since(entry.last_used) < IDLE);
        }
    }

    fn options(
        &self,
        server: &Server,
        principal: &Principal,
    ) -> Result<SessionOptions, GatewayError> {
        let unusable = |reason: String| GatewayError::Upstream {
            server: server.path.clone(),
            reason,
        };
        let url = server
            .url
            .as_deref()
            .ok_or_else(|| unusable("no URL registered".into()))?
            .parse()
            .map_err(|error| unusable(format!("its URL is invalid: {error}")))?;
        let mut headers = HeaderMap::new();
        for (name, value) in &server.headers {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        if self.forward_identity {
            crate::forward::add_identity(&mut headers, principal);
        }
        Ok(SessionOptions {
            http: self.http.clone(),
            url,
            headers,
            era: server.health.era.as_deref().and_then(Era::parse),
            client_name: "mcpgw".into(),
            client_version: env!("CARGO_PKG_VERSION").into(),
            timeout: self.timeout,
        })
    }
}
