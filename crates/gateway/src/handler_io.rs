//! The gateway's input and output on the request path: the routing target of a server,
//! the client's body (bounded), and the upstream exchange (bounded in time), plus the
//! checks and error texts they share with the aggregated endpoint.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, header::CONTENT_LENGTH};
use http_body_util::{BodyExt, Limited};
use mcpgw_mcp::inspect;

use super::Gateway;
use crate::error::GatewayError;
use crate::forward::client_head;
use crate::idle::IdleBody;
use crate::table::Target;

impl Gateway {
    /// The routing target of `server`: an unknown or disabled server is refused.
    pub(crate) async fn target(&self, server: &str) -> Result<Arc<Target>, GatewayError> {
        let target = self
            .table
            .get(server)
            .await
            .map_err(|error| {
                tracing::error!(%error, "routing table unavailable");
                GatewayError::Registry
            })?
            .ok_or_else(|| GatewayError::UnknownServer(server.to_owned()))?;
        if !target.enabled {
            return Err(GatewayError::DisabledServer(server.to_owned()));
        }
        if target.awaiting_check {
            return Err(GatewayError::AwaitingCheck(server.to_owned()));
        }
        Ok(target)
    }

    /// Reads the whole request body, refusing more than the configured limit and a body
    /// that takes longer than the configured time to arrive.
    pub(crate) async fn read_body(
        &self,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Bytes, GatewayError> {
        let limit = self.config.max_body_bytes;
        let declared = headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(GatewayError::TooLarge(limit));
        }
        // A client trickling its body (slowloris after the head) is cut off.
        let timeout = self.config.body_read_timeout;
        let Ok(collected) =
            tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await
        else {
            mcpgw_telemetry::metrics::metrics().limit_rejected("body_read_timeout");
            return Err(GatewayError::SlowBody(timeout.as_secs()));
        };
        match collected {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                Err(GatewayError::TooLarge(limit))
            }
            Err(error) => Err(GatewayError::ClientBody(error.to_string())),
        }
    }

    /// Sends a prepared request upstream (on behalf of `caller`, for the egress modes
    /// that act so) and streams the response back, within the first-byte timeout and with
    /// the idle timeout on the body.
    pub(crate) async fn send(
        &self,
        target: &Target,
        mut request: Request<Body>,
        caller: Option<mcpgw_registry::EgressCaller<'_>>,
    ) -> Result<Response<Body>, GatewayError> {
        // The server's egress mode owns its `Authorization`.
        let authorization =
            crate::egress::authorization(self.upstream_auth(), target, caller).await?;
        let egress = authorization.is_some();
        crate::egress::apply(request.headers_mut(), authorization);
        let timeout = self.config.first_byte_timeout;
        let response = tokio::time::timeout(timeout, self.client.request(request))
            .await
            .map_err(|_| GatewayError::UpstreamTimeout {
                server: target.path.clone(),
                seconds: timeout.as_secs(),
            })?
            .map_err(|error| GatewayError::Upstream {
                server: target.path.clone(),
                reason: describe(&error),
            })?;
        let (mut parts, body) = response.into_parts();
        if egress && parts.status == http::StatusCode::UNAUTHORIZED {
            // Revoked or expired early: the next request obtains a new token. The
            // upstream's challenge is not the client's business (it would send the client
            // to sign in at the upstream itself).
            if let Some(auth) = self.upstream_auth() {
                auth.refused(crate::egress::target_of(target, caller)).await;
            }
            return Err(GatewayError::Upstream {
                server: target.path.clone(),
                reason: "it refused the credential the gateway obtained for it (HTTP 401); \
                         a new one is obtained for the next request"
                    .into(),
            });
        }
        client_head(&mut parts);
        let body = IdleBody::new(body, self.config.idle_timeout);
        Ok(Response::from_parts(parts, Body::new(body)))
    }
}

/// Refuses a request that sends `name` more than once: two values could mean two
/// different things to the gateway and to the server.
pub(crate) fn single_header(
    headers: &HeaderMap,
    name: &http::HeaderName,
) -> Result<(), GatewayError> {
    if headers.get_all(name).iter().nth(1).is_some() {
        let error = inspect::InspectError::HeaderMismatch(format!("{name} sent more than once"));
        return Err(error.into());
    }
    Ok(())
}

/// A readable reason for an upstream failure: the innermost cause.
pub(crate) fn describe(error: &hyper_util::client::legacy::Error) -> String {
    let mut current: &dyn std::error::Error = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    if text.contains("Connection refused") {
        "connection refused".to_owned()
    } else {
        text
    }
}
