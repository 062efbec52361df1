//! What the request path does with Streamable HTTP sessions after the server answered:
//! binds a session the server opened to its caller (here and in the shared directory,
//! before the answer leaves, so that the client's next request finds it at any replica),
//! forgets one that was ended, and times the steps of the MCP flow.

use axum::body::Body;
use http::{Method, Response};
use mcpgw_mcp::inspect::ClientInfo;

use super::Gateway;
use crate::forward::MCP_SESSION_ID;
use crate::observe::Observed;

/// What the session bookkeeping needs from an answer (taken before any wait, so that the
/// answer's body is not held across it).
pub(crate) struct Answered {
    /// The answer was a success.
    pub(crate) success: bool,
    /// The session id it assigned, if any.
    pub(crate) opened: Option<String>,
}

impl Answered {
    pub(crate) fn of(response: &Response<Body>) -> Answered {
        Answered {
            success: response.status().is_success(),
            opened: response
                .headers()
                .get(MCP_SESSION_ID)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        }
    }
}

impl Gateway {
    /// A request in `session` of `server` succeeded: the flow's steps are timed, and the
    /// directory hears (now and then) that the session is in use.
    pub(crate) fn session_used(&self, server: &str, session: &str, seen: &Observed) {
        self.session_owners.keep_alive(server, session);
        for method in seen.methods() {
            for (step, took) in self.session_owners.step(server, session, method) {
                mcpgw_telemetry::metrics::metrics().protocol_latency(step, server, took);
            }
        }
    }

    /// Binds a session the server just opened to its caller; forgets one that was ended.
    pub(crate) async fn follow_session(
        &self,
        server: &str,
        sent: Option<&str>,
        method: &Method,
        answered: Answered,
        (principal, client): (&mcpgw_auth::Principal, Option<ClientInfo>),
    ) {
        if !answered.success {
            return;
        }
        match (sent, answered.opened) {
            (Some(session), _) if *method == Method::DELETE => {
                self.session_owners.end(server, session).await
            }
            (None, Some(opened)) => {
                self.session_owners
                    .open(server, &opened, &principal.owner(), client, None)
                    .await
            }
            _ => {}
        }
    }
}
