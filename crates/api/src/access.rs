//! Who may do what on the registry API: every registry route asks here, and nowhere else,
//! whether its caller may act, and each answer is recorded in the audit trail
//! ([`Access::authorize`]). Filtering a list decides once per server; those decisions are
//! not recorded one by one (the list request itself is).
//!
//! The rules (issue 5, `UI-Scopes` of `scopes.yml`):
//! - A server the caller may not list (`list_service`) does not exist for it: it is left
//!   out of every list, and naming it gets the very 404 an unknown path gets.
//! - A server it may list but not act on gets 403 `forbidden`, naming the permission that
//!   is missing and nothing of the policy's internals (scope names, entries).
//! - Admins may do everything; without a scopes file only admins may do anything.

use std::sync::Arc;

use axum::http::StatusCode;
use mcpgw_auth::Principal;
use mcpgw_policy::{Decision, Policy, Reason, Scopes, ServerRef, ToolFilter, UiAction};
use mcpgw_registry::{RegistryError, Server};
use mcpgw_telemetry::audit::{AuditLog, AuditRecord, AuditSource, now_millis};

use crate::{ApiError, AppState};

/// A caller's standing under the policy in force, resolved once per request: every
/// decision of one request is taken against the same policy, even if it is reloaded
/// meanwhile.
#[derive(Debug, Clone)]
pub struct Access {
    policy: Arc<Policy>,
    scopes: Scopes,
    subject: String,
    auditor: Option<Auditor>,
}

/// What the audit trail needs to know of the caller, and where its records go.
#[derive(Debug, Clone)]
struct Auditor {
    log: AuditLog,
    owner: String,
    auth: &'static str,
    client_id: Option<String>,
}

impl Access {
    /// `principal`'s standing under the policy in force now.
    pub fn of(state: &AppState, principal: &Principal) -> Access {
        Access {
            auditor: Some(Auditor {
                log: state.audit.clone(),
                owner: principal.owner(),
                auth: principal.auth_method.kind(),
                client_id: principal.client_id.clone(),
            }),
            ..Access::under(state.policy.load(), principal)
        }
    }

    /// `principal`'s standing under `policy`.
    pub fn under(policy: Arc<Policy>, principal: &Principal) -> Access {
        let scopes = policy.scopes_of(&principal.policy_caller());
        Access {
            policy,
            scopes,
            subject: principal.subject.clone(),
            auditor: None,
        }
    }

    /// The caller's scope names, in the order they are tried (for `/api/auth/me`).
    pub fn scope_names(&self) -> &[String] {
        &self.scopes.names
    }

    /// Decides `action`, about `server` or (listing in general, registering) about none.
    ///
    /// About a server, listing is decided first: a server the caller may not list gets
    /// the 404 of an unknown path, whatever the action, so that neither 403 nor 404 tells
    /// it the server exists. A listable server the caller may not act on gets 403. The
    /// allowing [`Decision`] is returned so that callers can record it.
    pub fn authorize(
        &self,
        action: UiAction,
        server: Option<ServerRef<'_>>,
    ) -> Result<Decision, ApiError> {
        if let Some(server) = server {
            let listing = self.decide(UiAction::List, Some(server));
            if !listing.allowed {
                self.record(action, Some(server), &listing);
                return Err(hidden(server.path));
            }
            if action == UiAction::List {
                self.record(action, Some(server), &listing);
                return Ok(listing);
            }
        }
        let decision = self.decide(action, server);
        self.record(action, server, &decision);
        if decision.allowed {
            Ok(decision)
        } else {
            Err(self.forbidden(action, server, &decision))
        }
    }

    /// Whether the caller may take `action` (on `server`, which it must also be able to
    /// see), without recording anything: for deciding what a page offers, so that what a
    /// user cannot do is absent rather than failing when tried.
    pub fn allows(&self, action: UiAction, server: Option<ServerRef<'_>>) -> bool {
        if let Some(server) = server
            && !self.may_list(server)
        {
            return false;
        }
        self.decide(action, server).allowed
    }

    /// Whether the caller may see `server` at all (lists leave out those it may not).
    pub fn can_list(&self, server: &Server) -> bool {
        self.may_list(server_ref(server))
    }

    /// Whether the caller may see the server `server` names (one that may no longer be
    /// registered: the published versions of a removed server).
    pub fn may_list(&self, server: ServerRef<'_>) -> bool {
        self.decide(UiAction::List, Some(server)).allowed
    }

    /// Which of `path`'s tools the caller may call (as on the MCP routes).
    pub fn tool_filter(&self, path: &str) -> ToolFilter {
        self.policy.tool_filter(self.scopes.clone(), path)
    }

    /// Whether the caller may see usage figures about `name` on `server`: a JSON-RPC
    /// method (`tools/list`) or a tool it may call; never a tool it may not call, whose
    /// very name the registry keeps from it.
    pub fn may_see_usage(&self, server: &str, name: &str) -> bool {
        let method = name.contains('/') && !name.contains(':');
        method || self.tool_filter(server).allows(name)
    }

    /// `server` as the caller may see it: only the tools it may call, as on the MCP
    /// routes, so the registry never tells a caller the names of tools it cannot use.
    pub fn shown(&self, mut server: Server) -> Server {
        let filter = self.tool_filter(&server.path);
        if !filter.allows_everything() {
            server.tools.retain(|tool| filter.allows(&tool.name));
        }
        server
    }

    /// The servers of `servers` the caller may see, in their order.
    pub fn listable(&self, servers: Vec<Server>) -> Vec<Server> {
        servers
            .into_iter()
            .filter(|server| self.can_list(server))
            .collect()
    }

    /// The one place every registry decision is taken.
    fn decide(&self, action: UiAction, server: Option<ServerRef<'_>>) -> Decision {
        self.policy.decide_ui(&self.scopes, action, server)
    }

    /// Puts the answer to one registry request in the audit trail (never waits). The
    /// method is the permission asked for; a request about no server has server `*`.
    fn record(&self, action: UiAction, server: Option<ServerRef<'_>>, decision: &Decision) {
        mcpgw_telemetry::metrics::metrics().decision("api", decision.allowed);
        let Some(auditor) = &self.auditor else {
            return;
        };
        auditor.log.record(AuditRecord {
            at: now_millis(),
            source: AuditSource::Api,
            principal: self.subject.clone(),
            owner: auditor.owner.clone(),
            auth: auditor.auth.to_owned(),
            client_id: auditor.client_id.clone(),
            server: server.map_or_else(|| "*".to_owned(), |server| server.path.to_owned()),
            method: action.permission().to_owned(),
            target: None,
            allowed: decision.allowed,
            reason: decision.reason.to_string(),
            request_id: None,
        });
    }

    /// The 403 for a refused action: which permission is missing, and, when no scopes
    /// file is in force, that only admins may act (the one thing a caller cannot fix by
    /// asking for a permission).
    fn forbidden(
        &self,
        action: UiAction,
        server: Option<ServerRef<'_>>,
        decision: &Decision,
    ) -> ApiError {
        let what = match (action, server) {
            (UiAction::List, None) => "list servers".to_owned(),
            (UiAction::Register, _) => "register servers".to_owned(),
            (UiAction::List, Some(server)) => format!("see server '{}'", server.path),
            (UiAction::HealthCheck, Some(server)) => {
                format!("check server '{}'", server.path)
            }
            (UiAction::Toggle, Some(server)) => {
                format!("enable or disable server '{}'", server.path)
            }
            (UiAction::Modify, Some(server)) => {
                format!("change or remove server '{}'", server.path)
            }
            (UiAction::HealthCheck | UiAction::Toggle | UiAction::Modify, None) => {
                "act on servers".to_owned()
            }
        };
        let mut message = format!(
            "{} may not {what}: the {} permission is missing",
            self.subject,
            action.permission()
        );
        if decision.reason == Reason::NoPolicy {
            message.push_str(" (no scopes file is configured: only admins may)");
        }
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
}

/// The server at `path` as the caller may see it ([`Access::shown`]), if it may see it
/// and take `action` on it: an unknown path and a server the caller may not list are the
/// same 404; a listable server the action is not granted on is a 403. The caller's
/// [`Access`] comes along, to show what the action returns.
pub async fn authorized_server(
    state: &AppState,
    principal: &Principal,
    path: &str,
    action: UiAction,
) -> Result<(Server, Access), ApiError> {
    let server = state.registry.get(path).await?;
    let access = Access::of(state, principal);
    access.authorize(action, Some(server_ref(&server)))?;
    Ok((access.shown(server), access))
}

/// A registered server as the policy names it.
pub fn server_ref(server: &Server) -> ServerRef<'_> {
    ServerRef {
        path: &server.path,
        name: &server.name,
    }
}

/// The answer about a server the caller may not see: exactly the registry's own 404 for
/// an unknown path (the registry looks servers up by their normalised path, which is the
/// stored one, so the two bodies are identical).
pub(crate) fn hidden(path: &str) -> ApiError {
    ApiError::from(RegistryError::NotFound(path.to_owned()))
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
