//! Per-message authorisation on MCP routes: every message of a body is decided before
//! anything is forwarded, and one refusal stops the whole request.
//!
//! The caller learns which of its messages were refused, not why in the policy's terms:
//! scope names and entries stay in the audit trail and the log.

use mcpgw_mcp::inspect::{Inspected, Kind, Message};
use mcpgw_policy::{Decision, Policy, Request, Scopes, ServerRef, UiAction};

use crate::error::{GatewayError, Refusal};

/// One message's decision, for the audit trail.
#[derive(Debug, Clone)]
pub struct MessageDecision {
    /// The method (`(response)` for an answer to a server's request).
    pub method: String,
    /// The tool, prompt or resource it is about.
    pub target: Option<String>,
    /// Its JSON-RPC id as written.
    pub id: Option<String>,
    /// The decision.
    pub decision: Decision,
}

/// The answer to a caller who may not use `server` at all. A server the caller may not
/// even list looks like no server (404), so whether it exists is not revealed; one it may
/// list gets 403 `insufficient_scope`, which tells an MCP client to ask for more rights.
///
/// Registry permissions may name a server by its display name; the data plane knows only
/// the path, so a grant by display name alone errs on the side of the 404.
pub fn no_access(policy: &Policy, scopes: &Scopes, server: &str) -> GatewayError {
    let listed = policy.decide_ui(
        scopes,
        UiAction::List,
        Some(ServerRef {
            path: server,
            name: server,
        }),
    );
    if listed.allowed {
        GatewayError::Forbidden(format!("you may not use server '{server}'"))
    } else {
        GatewayError::UnknownServer(server.to_owned())
    }
}

/// Decides every message of `inspected`. The error lists each refused message.
pub fn check_messages(
    policy: &Policy,
    scopes: &Scopes,
    server: &str,
    inspected: &Inspected<'_>,
) -> (Vec<MessageDecision>, Result<(), GatewayError>) {
    let decisions: Vec<MessageDecision> = inspected
        .messages
        .iter()
        .map(|message| decide(policy, scopes, server, message))
        .collect();
    let refusals: Vec<Refusal> = decisions
        .iter()
        .filter(|decided| !decided.decision.allowed)
        .map(|decided| Refusal {
            id: decided.id.clone(),
            message: refusal_text(server, decided),
        })
        .collect();
    let outcome = if refusals.is_empty() {
        Ok(())
    } else {
        Err(GatewayError::Refused {
            batch: inspected.batch,
            refusals,
        })
    };
    (decisions, outcome)
}

fn decide(
    policy: &Policy,
    scopes: &Scopes,
    server: &str,
    message: &Message<'_>,
) -> MessageDecision {
    let id = message.id.map(|raw| raw.get().to_owned());
    let target = message.target.as_deref();
    let (method, decision) = match (message.kind, message.method.as_deref()) {
        (Kind::Request | Kind::Notification, Some(method)) => (
            method.to_owned(),
            policy.decide(
                scopes,
                &Request {
                    server,
                    method,
                    target,
                },
            ),
        ),
        // Answers to the server's own requests (sampling, elicitation, roots): anyone who
        // may use the server may answer it.
        _ => (
            "(response)".to_owned(),
            policy.decide_server_access(scopes, server),
        ),
    };
    MessageDecision {
        method,
        target: target.map(str::to_owned),
        id,
        decision,
    }
}

fn refusal_text(server: &str, decided: &MessageDecision) -> String {
    match &decided.target {
        Some(target) => format!(
            "access denied: {} of '{target}' on server '{server}' is not allowed for you",
            decided.method
        ),
        None => format!(
            "access denied: {} on server '{server}' is not allowed for you",
            decided.method
        ),
    }
}
