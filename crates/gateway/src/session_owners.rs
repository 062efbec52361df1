//! Which caller each Streamable HTTP session belongs to, so that a session id another
//! caller learns (from a log, a shared proxy, a screenshot) cannot be used to send in its
//! session, read its stream, or end it.
//!
//! The gateway learns a session when a server's answer assigns an `Mcp-Session-Id` to a
//! request that carried none, and forgets it when the session is ended with DELETE. With a
//! [`SessionDirectory`] (the shared database) every session is recorded there too, so that
//! another replica, or this one after a restart, finds its owner: a session id nobody
//! recorded is refused (404: the client starts a new session, as the spec says). Without
//! one, an unknown session is let through where the server checks the id itself. Ids are
//! unique only per server, so the server is part of the key. The map is bounded; the
//! oldest sessions are forgotten first (and found again in the directory if used).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpgw_mcp::inspect::ClientInfo;

use crate::error::GatewayError;
use crate::session_directory::SessionDirectory;

/// Sessions remembered at most; beyond that the oldest are forgotten.
const MAX_SESSIONS: usize = 100_000;
/// Longest session id remembered (ids come from servers; the spec's are short).
const MAX_ID_BYTES: usize = 256;
/// How often a session in use is marked as such in the directory (which forgets sessions
/// unused for a day).
const TOUCH_EVERY: Duration = Duration::from_secs(3600);
/// Longest wait for the directory on a request's path (it answers in about a millisecond
/// when the database is well): a database that is away costs a new session or a session
/// new to this replica this long at most.
const DIRECTORY_TIMEOUT: Duration = Duration::from_secs(2);

/// Server → session id → owner key ([`mcpgw_auth::Principal::owner`]); nested so that a
/// request's lookup borrows its strings instead of building a key.
#[derive(Default)]
pub struct SessionOwners {
    inner: Mutex<Owners>,
    directory: Option<Arc<dyn SessionDirectory>>,
}

impl std::fmt::Debug for SessionOwners {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SessionOwners")
            .field("shared", &self.directory.is_some())
            .finish()
    }
}

#[derive(Debug, Default)]
struct Owners {
    by_server: HashMap<String, HashMap<String, Binding>>,
    /// Sessions bound.
    len: usize,
    /// (server, session), oldest first (a forgotten one may linger until it is evicted).
    order: VecDeque<(String, String)>,
}

/// Who opened a session, and the client it said it was (for metrics).
#[derive(Debug)]
struct Binding {
    owner: String,
    client: Option<ClientInfo>,
    /// When it was opened, and when its first tool list was answered (for the protocol
    /// latency), and whether a tool was called yet.
    opened: Instant,
    listed: Option<Instant>,
    called: bool,
    /// When the directory last heard it was in use.
    touched: Instant,
}

/// A step of the MCP flow in a session: `initialize_to_tools_list`,
/// `tools_list_to_tools_call`, `full_protocol_flow` (initialize to the first call), as the
/// Python gateway names them, with how long it took.
pub type FlowStep = (&'static str, std::time::Duration);

impl Owners {
    fn owner(&self, server: &str, session: &str) -> Option<&String> {
        self.binding(server, session).map(|binding| &binding.owner)
    }

    fn binding(&self, server: &str, session: &str) -> Option<&Binding> {
        self.by_server.get(server)?.get(session)
    }

    fn remove(&mut self, server: &str, session: &str) {
        if let Some(sessions) = self.by_server.get_mut(server)
            && sessions.remove(session).is_some()
        {
            self.len -= 1;
            if sessions.is_empty() {
                self.by_server.remove(server);
            }
        }
    }
}

impl SessionOwners {
    /// The same map, backed by `directory` (shared by every replica).
    pub fn with_directory(mut self, directory: Arc<dyn SessionDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// The directory behind this map, if any.
    pub(crate) fn directory(&self) -> Option<&Arc<dyn SessionDirectory>> {
        self.directory.as_ref()
    }

    /// Whether `owner` may use `session` of `server`. A session known here is its
    /// opener's; one this replica has not seen is looked up in the directory (and then
    /// remembered here); without a directory it passes if `unknown_passes`.
    pub async fn allows(
        &self,
        server: &str,
        session: &str,
        owner: &str,
        unknown_passes: bool,
    ) -> Result<bool, GatewayError> {
        match self.known_owner(server, session) {
            Ok(Some(known)) => return Ok(known == owner),
            Ok(None) => {}
            // A poisoned map knows nothing it can vouch for.
            Err(()) => return Ok(false),
        }
        let Some(directory) = &self.directory else {
            return Ok(unknown_passes);
        };
        if session.len() > MAX_ID_BYTES {
            return Ok(false);
        }
        let found = tokio::time::timeout(DIRECTORY_TIMEOUT, directory.find(server, session))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {DIRECTORY_TIMEOUT:?}")))
            .map_err(|error| {
                tracing::warn!(%error, "a session could not be looked up");
                GatewayError::SessionsUnavailable
            })?;
        let Some(found) = found else {
            return Ok(false);
        };
        self.bind(server, session, &found.owner, None);
        // Picked up here: used, so kept for another day.
        let (directory, server, session) =
            (Arc::clone(directory), server.to_owned(), session.to_owned());
        tokio::spawn(async move {
            if let Err(error) = directory.touch(&server, &session).await {
                tracing::debug!(%error, "session not marked as in use");
            }
        });
        Ok(found.owner == owner)
    }

    /// The owner this replica knows for `session` of `server`; `Err` if the map is
    /// poisoned.
    fn known_owner(&self, server: &str, session: &str) -> Result<Option<String>, ()> {
        let owners = self.inner.lock().map_err(|_| ())?;
        Ok(owners.owner(server, session).cloned())
    }

    /// Records that `owner` opened `session` of `server` (from `client`; restorable from
    /// `state`), here and in the directory. A directory that cannot record it is logged:
    /// the session still works on this replica.
    pub async fn open(
        &self,
        server: &str,
        session: &str,
        owner: &str,
        client: Option<ClientInfo>,
        state: Option<&str>,
    ) {
        if session.len() > MAX_ID_BYTES {
            return;
        }
        self.bind(server, session, owner, client);
        if let Some(directory) = &self.directory
            && let Err(error) = tokio::time::timeout(
                DIRECTORY_TIMEOUT,
                directory.remember(server, session, owner, state),
            )
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {DIRECTORY_TIMEOUT:?}")))
        {
            tracing::warn!(%server, %error, "a session was not recorded: other replicas will not know it");
        }
    }

    /// Forgets `session` of `server` (it was ended), here and in the directory.
    pub async fn end(&self, server: &str, session: &str) {
        self.forget(server, session);
        if let Some(directory) = &self.directory
            && let Err(error) = directory.forget(server, session).await
        {
            tracing::warn!(%server, %error, "an ended session was not forgotten in the database");
        }
    }

    /// Tells the directory, at most every [`TOUCH_EVERY`], that `session` is in use.
    pub fn keep_alive(&self, server: &str, session: &str) {
        let Some(directory) = &self.directory else {
            return;
        };
        let due = self.inner.lock().is_ok_and(|mut owners| {
            let Some(binding) = owners
                .by_server
                .get_mut(server)
                .and_then(|sessions| sessions.get_mut(session))
            else {
                return false;
            };
            let due = binding.touched.elapsed() >= TOUCH_EVERY;
            if due {
                binding.touched = Instant::now();
            }
            due
        });
        if due {
            let (directory, server, session) =
                (Arc::clone(directory), server.to_owned(), session.to_owned());
            tokio::spawn(async move {
                if let Err(error) = directory.touch(&server, &session).await {
                    tracing::debug!(%error, "session not marked as in use");
                }
            });
        }
    }

    /// The client that opened `session` of `server`, as its `initialize` named it.
    pub fn client(&self, server: &str, session: &str) -> Option<ClientInfo> {
        let owners = self.inner.lock().ok()?;
        owners.binding(server, session)?.client.clone()
    }

    /// Records that `session` of `server` was opened by `owner`, from `client`. A session
    /// already bound keeps its owner (a server that hands out an id twice cannot move a
    /// session to another caller); an overlong id is not remembered.
    pub fn bind(&self, server: &str, session: &str, owner: &str, client: Option<ClientInfo>) {
        if session.len() > MAX_ID_BYTES {
            return;
        }
        let Ok(mut owners) = self.inner.lock() else {
            return;
        };
        if owners.owner(server, session).is_some() {
            return;
        }
        while owners.len >= MAX_SESSIONS || owners.order.len() >= 2 * MAX_SESSIONS {
            match owners.order.pop_front() {
                Some((old_server, old_session)) => owners.remove(&old_server, &old_session),
                None => break,
            }
        }
        owners
            .by_server
            .entry(server.to_owned())
            .or_default()
            .insert(
                session.to_owned(),
                Binding {
                    owner: owner.to_owned(),
                    client,
                    opened: Instant::now(),
                    listed: None,
                    called: false,
                    touched: Instant::now(),
                },
            );
        owners.len += 1;
        owners
            .order
            .push_back((server.to_owned(), session.to_owned()));
    }

    /// Notes that `method` was answered in `session` of `server`; returns the steps of the
    /// MCP flow it completed (each is reported once per session).
    pub fn step(&self, server: &str, session: &str, method: &str) -> Vec<FlowStep> {
        let Ok(mut owners) = self.inner.lock() else {
            return Vec::new();
        };
        let Some(binding) = owners
            .by_server
            .get_mut(server)
            .and_then(|sessions| sessions.get_mut(session))
        else {
            return Vec::new();
        };
        let now = Instant::now();
        let mut steps = Vec::new();
        match method {
            "tools/list" if binding.listed.is_none() => {
                binding.listed = Some(now);
                steps.push(("initialize_to_tools_list", now - binding.opened));
            }
            "tools/call" if !binding.called => {
                binding.called = true;
                if let Some(listed) = binding.listed {
                    steps.push(("tools_list_to_tools_call", now - listed));
                }
                steps.push(("full_protocol_flow", now - binding.opened));
            }
            _ => {}
        }
        steps
    }

    /// Forgets `session` of `server` (it was ended).
    pub fn forget(&self, server: &str, session: &str) {
        if let Ok(mut owners) = self.inner.lock() {
            owners.remove(server, session);
        }
    }
}

#[cfg(test)]
#[path = "session_owners_tests.rs"]
mod tests;
