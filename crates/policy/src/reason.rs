//! Decisions and the reasons behind them, worded for the audit trail and for people.

use std::fmt;

/// Which scope entry allowed (or refused) something, and by which of its patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The scope.
    pub scope: String,
    /// The entry's position in the scope, from 1 (none for `UI-Scopes` permissions).
    pub entry: Option<usize>,
    /// What matched: `methods: tools/list`, `tools: get_*`, `deny: *delete*`, ….
    pub rule: String,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry {
            Some(entry) => write!(f, "scope '{}' entry {entry} ({})", self.scope, self.rule),
            None => write!(f, "scope '{}' ({})", self.scope, self.rule),
        }
    }
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Admins may do everything.
    Admin,
    /// An entry allowed it.
    Granted(Grant),
    /// No scopes file is in force: only admins may do anything.
    NoPolicy,
    /// The caller holds no scope (no mapped group, no scope claim).
    NoScopes,
    /// None of the caller's scopes has an entry for the server.
    ServerNotGranted {
        /// The server.
        server: String,
    },
    /// A `deny` pattern matched; it wins over any allow.
    Denied(Grant),
    /// Entries exist for the server, but none lists the method.
    MethodNotGranted {
        /// The server.
        server: String,
        /// The method.
        method: String,
    },
    /// The method is allowed, but no entry lists the tool, prompt or resource.
    TargetNotGranted {
        /// The server.
        server: String,
        /// The method.
        method: String,
        /// The tool or prompt name, or resource URI.
        target: String,
    },
    /// `tools/call`, `prompts/get` or `resources/read` without a name or URI.
    MissingTarget {
        /// The method.
        method: String,
    },
    /// The name or URI has dot segments or encoded separators, which a server may resolve
    /// to something no pattern was meant to cover (`file:///docs/../etc/passwd`).
    AmbiguousTarget {
        /// The method.
        method: String,
        /// The name or URI as sent.
        target: String,
    },
    /// No `UI-Scopes` permission of the caller covers this registry action.
    UiNotGranted {
        /// The permission (`list_service`, …).
        permission: &'static str,
        /// The server, when the action is about one.
        server: Option<String>,
    },
    /// The registry permission is there, but none of the caller's scopes has an entry for
    /// the server (the Python registry requires both for non-admins).
    UiServerNotInScopes {
        /// The permission.
        permission: &'static str,
        /// The server.
        server: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Admin => f.write_str("admin"),
            Reason::Granted(grant) => write!(f, "allowed by {grant}"),
            Reason::NoPolicy => f.write_str("no scopes file is configured: only admins"),
            Reason::NoScopes => f.write_str(
                "the caller holds no scope (no group in group_mappings, no scope claim)",
            ),
            Reason::ServerNotGranted { server } => {
                write!(
                    f,
                    "no scope of the caller has an entry for server '{server}'"
                )
            }
            Reason::Denied(grant) => write!(f, "denied by {grant}"),
            Reason::MethodNotGranted { server, method } => {
                write!(f, "no entry for server '{server}' lists method '{method}'")
            }
            Reason::TargetNotGranted {
                server,
                method,
                target,
            } => write!(
                f,
                "no entry for server '{server}' allows {method} of '{target}'"
            ),
            Reason::MissingTarget { method } => {
                write!(f, "{method} names no tool, prompt or resource")
            }
            Reason::AmbiguousTarget { method, target } => write!(
                f,
                "{method} of '{target}' is refused: dot segments or encoded separators in a \
                 name or URI are never allowed (send its normal form)"
            ),
            Reason::UiNotGranted {
                permission,
                server: Some(server),
            } => write!(f, "no UI-Scopes {permission} permission covers '{server}'"),
            Reason::UiNotGranted {
                permission,
                server: None,
            } => write!(f, "no UI-Scopes {permission} permission"),
            Reason::UiServerNotInScopes { permission, server } => write!(
                f,
                "{permission} covers '{server}' but no scope of the caller has an entry for it"
            ),
        }
    }
}

/// Allow or deny, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether it may go ahead.
    pub allowed: bool,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    /// An allowing decision.
    pub fn allow(reason: Reason) -> Decision {
        Decision {
            allowed: true,
            reason,
        }
    }

    /// A refusing decision.
    pub fn deny(reason: Reason) -> Decision {
        Decision {
            allowed: false,
            reason,
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allow" } else { "deny" };
        write!(f, "{verdict}: {}", self.reason)
    }
}
