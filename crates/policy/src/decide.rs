//! The decision on one MCP message: `(caller's scopes, server, method, target) → allow | deny`.
//!
//! The Python gateway's rules, with mcpgw's additions marked:
//! 1. admins may do everything; without a scopes file nobody else may do anything (mcpgw:
//!    Python allowed everything when the file was missing or empty);
//! 2. only entries of the caller's scopes whose `server` matches are considered, in scope
//!    order; unknown scopes are ignored;
//! 3. (mcpgw) a `deny` pattern of such an entry matching the method or the target refuses;
//! 4. (mcpgw) protocol housekeeping ([`HOUSEKEEPING`]) is allowed to anyone with an entry for
//!    the server;
//! 5. `tools/call` is allowed when an entry lists the tool under `tools`; `prompts/get` and
//!    `resources/read` (mcpgw) need their method under `methods` and their name or URI
//!    under `tools`, in the same entry;
//! 6. any other method is allowed when an entry lists it under `methods`, or (Python's
//!    backward compatibility) lists it by its exact name under `tools`.

use std::sync::Arc;

use crate::pattern::trim_slashes;
use crate::policy::{Entry, Policy, Scopes};
use crate::reason::{Decision, Grant, Reason};

/// Methods anyone who may use a server at all may send: without them no client can
/// connect, and they reveal nothing the server's entries do not already allow.
pub const HOUSEKEEPING: &[&str] = &[
    "initialize",
    "notifications/initialized",
    "ping",
    "server/discover",
    "notifications/cancelled",
    "subscriptions/listen",
];

/// Methods about one named thing, whose name (or URI) must be allowed too.
pub const TARGETED: &[&str] = &["tools/call", "prompts/get", "resources/read"];

/// One message to decide on.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The server's path (surrounding slashes are ignored).
    pub server: &'a str,
    /// The JSON-RPC method.
    pub method: &'a str,
    /// The tool or prompt name, or resource URI, of a [`TARGETED`] method.
    pub target: Option<&'a str>,
}

impl Policy {
    /// Decides on one message.
    pub fn decide(&self, scopes: &Scopes, request: &Request<'_>) -> Decision {
        let server = trim_slashes(request.server);
        let entries = match self.covering(scopes, server) {
            Ok(entries) => entries,
            Err(decision) => return decision,
        };
        let (method, target) = (request.method, request.target);
        if let Some(refusal) = denial(&entries, |pattern| {
            pattern.matches(method) || target.is_some_and(|t| pattern.matches(t))
        }) {
            return refusal;
        }
        if HOUSEKEEPING.contains(&method) {
            return Decision::allow(Reason::Granted(server_grant(entries[0])));
        }
        // A spelling of a targeted method that is not exactly it (`Tools/call`, a trailing
        // space) is held to the same rules, so a wildcard `methods` grant cannot skip the
        // check of its target at a server that reads method names loosely.
        if TARGETED
            .iter()
            .any(|targeted| targeted.eq_ignore_ascii_case(method.trim()))
        {
            let Some(target) = target else {
                return Decision::deny(Reason::MissingTarget {
                    method: method.to_owned(),
                });
            };
            if is_ambiguous_target(target) {
                return Decision::deny(Reason::AmbiguousTarget {
                    method: method.to_owned(),
                    target: target.to_owned(),
                });
            }
            let mut method_listed = false;
            for entry in &entries {
                let listed =
                    method == "tools/call" || entry.methods.iter().any(|p| p.matches(method));
                if !listed {
                    continue;
                }
                method_listed = true;
                if let Some(pattern) = entry.tools.iter().find(|p| p.matches(target)) {
                    return Decision::allow(Reason::Granted(grant(entry, "tools", pattern)));
                }
            }
            let (server, method) = (server.to_owned(), method.to_owned());
            return Decision::deny(if method_listed {
                Reason::TargetNotGranted {
                    server,
                    method,
                    target: target.to_owned(),
                }
            } else {
                Reason::MethodNotGranted { server, method }
            });
        }
        for entry in &entries {
            if let Some(pattern) = entry.methods.iter().find(|p| p.matches(method)) {
                return Decision::allow(Reason::Granted(grant(entry, "methods", pattern)));
            }
            if let Some(pattern) = entry.tools.iter().find(|p| p.as_exact() == Some(method)) {
                return Decision::allow(Reason::Granted(grant(entry, "tools", pattern)));
            }
        }
        Decision::deny(Reason::MethodNotGranted {
            server: server.to_owned(),
            method: method.to_owned(),
        })
    }

    /// Whether the caller may use `server` at all: open its event stream, answer its
    /// requests, end a session. Needs an entry for the server and no `deny: ['*']`.
    pub fn decide_server_access(&self, scopes: &Scopes, server: &str) -> Decision {
        let entries = match self.covering(scopes, trim_slashes(server)) {
            Ok(entries) => entries,
            Err(decision) => return decision,
        };
        if let Some(refusal) = denial(&entries, |pattern| *pattern == crate::Pattern::Any) {
            return refusal;
        }
        Decision::allow(Reason::Granted(server_grant(entries[0])))
    }

    /// The entries of the caller's scopes for `server`, or the decision when there are
    /// none to look at (admin, no policy, no scopes, no entry).
    fn covering<'p>(
        &'p self,
        scopes: &'p Scopes,
        server: &'p str,
    ) -> Result<Vec<&'p Entry>, Decision> {
        if scopes.admin {
            return Err(Decision::allow(Reason::Admin));
        }
        if !self.configured {
            return Err(Decision::deny(Reason::NoPolicy));
        }
        if scopes.names.is_empty() {
            return Err(Decision::deny(Reason::NoScopes));
        }
        let entries: Vec<&Entry> = self.entries_for(scopes, server).collect();
        if entries.is_empty() {
            return Err(Decision::deny(Reason::ServerNotGranted {
                server: server.to_owned(),
            }));
        }
        Ok(entries)
    }

    /// Which tools of `server` the caller may call, for filtering `tools/list` results.
    pub fn tool_filter(self: &Arc<Self>, scopes: Scopes, server: &str) -> ToolFilter {
        let server = trim_slashes(server).to_owned();
        let everything = scopes.admin
            || self.covering(&scopes, &server).is_ok_and(|entries| {
                entries.iter().all(|entry| entry.deny.is_empty())
                    && entries
                        .iter()
                        .any(|entry| entry.tools.contains(&crate::Pattern::Any))
            });
        ToolFilter {
            policy: Arc::clone(self),
            scopes,
            server,
            everything,
        }
    }
}

/// Whether a name or URI could mean something else to the server than to a pattern:
/// `.`/`..` path segments, backslashes, or percent-encoded dots, separators or NUL. Globs
/// match across `/`, so `file:///docs/*` would otherwise allow `file:///docs/../etc`.
pub fn is_ambiguous_target(target: &str) -> bool {
    let lower = target.to_ascii_lowercase();
    target.contains('\\')
        || ["%2e", "%2f", "%5c", "%00"]
            .iter()
            .any(|encoded| lower.contains(encoded))
        || target
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// The first `deny` pattern of `entries` that `hits`, as a refusal.
fn denial(entries: &[&Entry], hits: impl Fn(&crate::Pattern) -> bool) -> Option<Decision> {
    entries.iter().find_map(|entry| {
        entry
            .deny
            .iter()
            .find(|pattern| hits(pattern))
            .map(|pattern| Decision::deny(Reason::Denied(grant(entry, "deny", pattern))))
    })
}

fn grant(entry: &Entry, list: &str, pattern: &crate::Pattern) -> Grant {
    Grant {
        scope: entry.scope.clone(),
        entry: Some(entry.number),
        rule: format!("{list}: {pattern}"),
    }
}

fn server_grant(entry: &Entry) -> Grant {
    let server = entry
        .server
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    Grant {
        scope: entry.scope.clone(),
        entry: Some(entry.number),
        rule: format!("server: {server}"),
    }
}

/// The tools of one server a caller may call, decided with the policy in force when the
/// filter was made (an open stream keeps the filter of the request that opened it).
#[derive(Debug, Clone)]
pub struct ToolFilter {
    policy: Arc<Policy>,
    scopes: Scopes,
    server: String,
    everything: bool,
}

impl ToolFilter {
    /// Whether the caller may call `tool`.
    pub fn allows(&self, tool: &str) -> bool {
        (self.everything && !is_ambiguous_target(tool))
            || self
                .policy
                .decide(
                    &self.scopes,
                    &Request {
                        server: &self.server,
                        method: "tools/call",
                        target: Some(tool),
                    },
                )
                .allowed
    }

    /// True when every tool is allowed, so lists need not be looked at.
    pub fn allows_everything(&self) -> bool {
        self.everything
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
