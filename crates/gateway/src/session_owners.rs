//! Which caller each Streamable HTTP session belongs to, so that a session id another
//! caller learns (from a log, a shared proxy, a screenshot) cannot be used to send in its
//! session, read its stream, or end it.
//!
//! The gateway learns a session when a server's answer assigns an `Mcp-Session-Id` to a
//! request that carried none, and forgets it when the session is ended with DELETE. A
//! session it does not know (one opened before a restart, or at another replica) is let
//! through: the server still checks the id itself, and binding it would lock its owner out
//! after every restart. Ids are unique only per server, so the server is part of the key.
//! The map is bounded; the oldest sessions are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use mcpgw_mcp::inspect::ClientInfo;

/// Sessions remembered at most; beyond that the oldest are forgotten.
const MAX_SESSIONS: usize = 100_000;
/// Longest session id remembered (ids come from servers; the spec's are short).
const MAX_ID_BYTES: usize = 256;

/// Server → session id → owner key ([`mcpgw_auth::Principal::owner`]); nested so that a
/// request's lookup borrows its strings instead of building a key.
#[derive(Debug, Default)]
pub struct SessionOwners {
    inner: Mutex<Owners>,
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
    /// Whether `owner` may use `session` of `server`: it opened it, or the gateway does
    /// not know it.
    pub fn may_use(&self, server: &str, session: &str, owner: &str) -> bool {
        match self.inner.lock() {
            Ok(owners) => owners
                .owner(server, session)
                .is_none_or(|known| known == owner),
            // A poisoned map knows nothing it can vouch for.
            Err(_) => false,
        }
    }

    /// Whether `owner` is known to have opened `session` of `server`: for sessions the
    /// gateway itself serves, where an id it does not know is no session at all (and a
    /// binding pushed out of the bounded map must not open the session to anyone).
    pub fn is_owner(&self, server: &str, session: &str, owner: &str) -> bool {
        self.inner.lock().is_ok_and(|owners| {
            owners
                .owner(server, session)
                .is_some_and(|known| known == owner)
        })
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
mod tests {
    use super::*;

    #[test]
    fn a_session_is_its_openers_and_unknown_ones_pass() {
        let owners = SessionOwners::default();
        assert!(owners.may_use("x", "s1", "alice"), "unknown: let through");
        owners.bind("x", "s1", "alice", None);
        assert!(owners.may_use("x", "s1", "alice"));
        assert!(!owners.may_use("x", "s1", "bob"));
        // The same id at another server is another session; a second bind moves nothing.
        assert!(owners.may_use("y", "s1", "bob"));
        owners.bind("x", "s1", "bob", None);
        assert!(!owners.may_use("x", "s1", "bob"));
        assert!(
            owners.step("x", "s1", "tools/call").len() == 1,
            "called before listing"
        );
        assert!(
            owners.step("x", "s1", "tools/call").is_empty(),
            "once per session"
        );
        assert!(
            owners.step("y", "s9", "tools/list").is_empty(),
            "unknown session"
        );
        owners.forget("x", "s1");
        assert!(owners.may_use("x", "s1", "bob"), "ended: unknown again");
        owners.bind("x", &"z".repeat(MAX_ID_BYTES + 1), "alice", None);
        assert_eq!(owners.inner.lock().unwrap().len, 0);
    }

    #[test]
    fn the_oldest_sessions_are_forgotten_first() {
        let owners = SessionOwners::default();
        for i in 0..MAX_SESSIONS + 10 {
            owners.bind("x", &format!("s{i}"), "alice", None);
        }
        let held = owners.inner.lock().unwrap().len;
        assert_eq!(held, MAX_SESSIONS);
        assert!(owners.may_use("x", "s0", "bob"), "evicted");
        assert!(!owners.may_use("x", &format!("s{}", MAX_SESSIONS + 9), "bob"));
    }
}
