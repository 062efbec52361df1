//! Access decisions on MCP routes, into the audit trail: one record per message of a
//! request (allowed or refused), and one for a caller refused the whole server.
//!
//! On the request path: building a record moves the decision's strings and copies the
//! caller's; [`AuditLog::record`] never waits.

use mcpgw_auth::Principal;
use mcpgw_policy::Decision;
use mcpgw_telemetry::audit::{AuditLog, AuditRecord, AuditSource, now_millis};

use crate::authorize::MessageDecision;

/// The method recorded when a caller may not use the server at all, before any message
/// of the request is read.
pub const SERVER_ACCESS: &str = "(server access)";

/// Records every message's decision of one request to `server`.
pub fn record_messages(
    log: Option<&AuditLog>,
    principal: &Principal,
    server: &str,
    decisions: Vec<MessageDecision>,
) {
    let metrics = mcpgw_telemetry::metrics::metrics();
    for decided in &decisions {
        metrics.decision("mcp", decided.decision.allowed);
    }
    let Some(log) = log else { return };
    let at = now_millis();
    for decided in decisions {
        log.record(record(
            at,
            principal,
            server,
            decided.method,
            decided.target,
            decided.id,
            &decided.decision,
        ));
    }
}

/// Records that `principal` was refused `server` as a whole (the caller is told the server
/// does not exist).
pub fn record_server_refusal(
    log: Option<&AuditLog>,
    principal: &Principal,
    server: &str,
    decision: &Decision,
) {
    mcpgw_telemetry::metrics::metrics().decision("mcp", decision.allowed);
    if let Some(log) = log {
        let method = SERVER_ACCESS.to_owned();
        log.record(record(
            now_millis(),
            principal,
            server,
            method,
            None,
            None,
            decision,
        ));
    }
}

fn record(
    at: i64,
    principal: &Principal,
    server: &str,
    method: String,
    target: Option<String>,
    request_id: Option<String>,
    decision: &Decision,
) -> AuditRecord {
    AuditRecord {
        at,
        source: AuditSource::Mcp,
        principal: principal.subject.clone(),
        owner: principal.owner(),
        auth: principal.auth_method.kind().to_owned(),
        client_id: principal.client_id.clone(),
        server: server.to_owned(),
        method,
        target,
        allowed: decision.allowed,
        reason: decision.reason.to_string(),
        request_id,
    }
}
