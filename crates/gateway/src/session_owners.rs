//! Which caller each Streamable HTTP session belongs to, so that a session id another
//! caller learns (from a log, a shared proxy, a screenshot) cannot be used to send in its
//! session, read its stream, or end it.
//!
//! The gateway learns a session when a server's answer assigns an `Mcp-Session-Id` to a
//! request that carried none, and forgets it when the session is ended with DELETE. A
//! session it does not know (one opened before a restart, or at another replica) is let
//! through: the server still checks the id itself, and binding it would lock its owner out
//! after every restart. The map is bounded; the oldest sessions are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Sessions remembered at most; beyond that the oldest are forgotten.
const MAX_SESSIONS: usize = 100_000;

/// Session id → owner key ([`mcpgw_auth::Principal::owner`]).
#[derive(Debug, Default)]
pub struct SessionOwners {
    inner: Mutex<Owners>,
}

#[derive(Debug, Default)]
struct Owners {
    by_session: HashMap<String, String>,
    /// Session ids, oldest first (a forgotten id may linger here until it is evicted).
    order: VecDeque<String>,
}

impl SessionOwners {
    /// Whether `owner` may use `session`: it opened it, or the gateway does not know it.
    pub fn may_use(&self, session: &str, owner: &str) -> bool {
        match self.inner.lock() {
            Ok(owners) => owners
                .by_session
                .get(session)
                .is_none_or(|known| known == owner),
            // A poisoned map knows nothing it can vouch for.
            Err(_) => false,
        }
    }

    /// Records that `session` was opened by `owner`.
    pub fn bind(&self, session: &str, owner: &str) {
        let Ok(mut owners) = self.inner.lock() else {
            return;
        };
        while owners.by_session.len() >= MAX_SESSIONS || owners.order.len() >= 2 * MAX_SESSIONS {
            match owners.order.pop_front() {
                Some(oldest) => {
                    owners.by_session.remove(&oldest);
                }
                None => break,
            }
        }
        if owners
            .by_session
            .insert(session.to_owned(), owner.to_owned())
            .is_none()
        {
            owners.order.push_back(session.to_owned());
        }
    }

    /// Forgets `session` (it was ended).
    pub fn forget(&self, session: &str) {
        if let Ok(mut owners) = self.inner.lock() {
            owners.by_session.remove(session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_its_openers_and_unknown_ones_pass() {
        let owners = SessionOwners::default();
        assert!(owners.may_use("s1", "alice"), "unknown: let through");
        owners.bind("s1", "alice");
        assert!(owners.may_use("s1", "alice"));
        assert!(!owners.may_use("s1", "bob"));
        owners.forget("s1");
        assert!(owners.may_use("s1", "bob"), "ended: unknown again");
    }

    #[test]
    fn the_oldest_sessions_are_forgotten_first() {
        let owners = SessionOwners::default();
        for i in 0..MAX_SESSIONS + 10 {
            owners.bind(&format!("s{i}"), "alice");
        }
        let held = owners.inner.lock().unwrap().by_session.len();
        assert_eq!(held, MAX_SESSIONS);
        assert!(owners.may_use("s0", "bob"), "evicted");
        assert!(!owners.may_use(&format!("s{}", MAX_SESSIONS + 9), "bob"));
    }
}
