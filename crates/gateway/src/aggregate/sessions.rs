//! [`UpstreamSessions`]: the aggregated endpoint's connections to Streamable HTTP
//! servers, one per caller and server, so that a stateful server sees each caller as its
//! own session (its per-session state is never shared between callers) and a stateless
//! one sees each caller's identity.
//!
//! A caller is everything the upstream is told about it ([`caller_key`]): two tokens of
//! one owner with different scopes get different sessions, so neither rides on the
//! other's identity. Anonymous callers are one caller.
//!
//! A session belongs to one definition of the server (its registration time and
//! revision): it is dropped when the server is edited, removed or re-registered under the
//! same path, forgotten after [`IDLE`] without use, and the least recently used is dropped
//! when [`MAX_SESSIONS`] are held. Dropping one ends it upstream (`DELETE`) in the
//! background.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpgw_auth::Principal;
use mcpgw_mcp::Era;
use mcpgw_mcp::client::{HttpSession, SessionOptions};
use mcpgw_registry::Server;

use super::catalog::Catalog;
use crate::error::GatewayError;

/// A session not used for this long is ended.
const IDLE: Duration = Duration::from_secs(600);
/// At most this many upstream sessions are held at once.
const MAX_SESSIONS: usize = 10_000;

/// Which session: the server's path and the caller's [`caller_key`].
type Key = (String, String);

/// One definition of a server: a re-registration under the same path starts again at
/// revision 0, so the registration time tells them apart.
type Definition = (chrono::DateTime<chrono::Utc>, i64);

fn definition(server: &Server) -> Definition {
    (server.created_at, server.revision)
}

/// Everything that identifies a caller to an upstream: who (owner and subject), how it
/// authenticated, as which OAuth client, with which groups and scopes.
pub(crate) fn caller_key(principal: &Principal) -> String {
    let mut groups = principal.groups.clone();
    groups.sort();
    let mut scopes = principal.scopes.clone();
    scopes.sort();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}",
        principal.owner(),
        principal.subject,
        principal.auth_method.kind(),
        principal.client_id.as_deref().unwrap_or(""),
        principal.is_admin,
        groups.join(" "),
        scopes.join(" ")
    )
}

struct Held {
    definition: Definition,
    session: Arc<HttpSession>,
    last_used: Instant,
}

/// Sessions by server and caller.
pub(crate) struct UpstreamSessions {
    held: Mutex<HashMap<Key, Held>>,
    http: reqwest::Client,
    timeout: Duration,
    forward_identity: bool,
    /// The SSRF guard: a server whose URL is a denied IP literal gets no session (`http`
    /// checks names as it resolves them).
    network: Arc<mcpgw_netguard::NetworkPolicy>,
}

impl UpstreamSessions {
    /// No sessions yet; new ones use `http` (which should be guarded by `network`), go
    /// only where `network` allows, and wait at most `timeout` for an answer.
    pub(crate) fn new(
        http: reqwest::Client,
        timeout: Duration,
        forward_identity: bool,
        network: Arc<mcpgw_netguard::NetworkPolicy>,
    ) -> Self {
        UpstreamSessions {
            held: Mutex::new(HashMap::new()),
            http,
            timeout,
            forward_identity,
            network,
        }
    }

    /// The session of `principal` with `server`, opened (lazily: nothing is sent before
    /// the first request) if there is none for the server's current definition.
    pub(crate) fn session(
        &self,
        server: &Server,
        principal: &Principal,
    ) -> Result<Arc<HttpSession>, GatewayError> {
        let key = (server.path.clone(), caller_key(principal));
        let now = Instant::now();
        let mut held = self.held.lock().map_err(|_| GatewayError::Registry)?;
        if let Some(entry) = held.get_mut(&key)
            && entry.definition == definition(server)
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
                definition: definition(server),
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

    /// Ends the sessions of servers no longer offered as they were when the session was
    /// opened (removed, disabled, down, redefined): nothing more may reach the old target.
    pub(crate) fn keep_only(&self, catalog: &Catalog) {
        let current: HashMap<&str, Definition> = catalog
            .servers()
            .iter()
            .map(|server| (server.path.as_str(), definition(server)))
            .collect();
        if let Ok(mut held) = self.held.lock() {
            held.retain(|(path, _), entry| current.get(path.as_str()) == Some(&entry.definition));
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
        // A session's headers are fixed when it opens; egress tokens expire.
        if server.egress != mcpgw_registry::Egress::None {
            return Err(unusable(
                "it takes credentials per request (its egress mode), which /mcp sends on \
                 the stateless protocol only"
                    .into(),
            ));
        }
        let url: url::Url = server
            .url
            .as_deref()
            .ok_or_else(|| unusable("no URL registered".into()))?
            .parse()
            .map_err(|error| unusable(format!("its URL is invalid: {error}")))?;
        self.network
            .check_url(&url)
            .map_err(|denied| unusable(denied.to_string()))?;
        let mut headers = crate::table::configured_headers(server);
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
