//! The direct path: a 2026-07-28 `tools/call` for a tool whose server also speaks
//! 2026-07-28 needs no MCP server in the middle. It is authorised and recorded like any
//! other call, then forwarded as the server's own route would forward it, with the tool's
//! own name in the body and in `Mcp-Name`, and the server's answer (JSON, or an event
//! stream carrying progress) streamed back untouched: the request id and progress token
//! are the client's own, and a stateless exchange has nothing else to translate.
//!
//! Everything else (sessions, older servers, stdio and SSE servers, built-in tools,
//! refused calls) takes the rmcp path. The direct path is worth having because it is the
//! common case of newest clients and servers, and rmcp's per-request server costs more
//! than the whole upstream round trip (see `bench/RESULTS.md`).

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, request::Parts};
use mcpgw_auth::Principal;
use mcpgw_mcp::inspect::{Inspected, Kind};
use mcpgw_mcp::version::STATELESS_2026;
use mcpgw_policy::Request as PolicyRequest;
use mcpgw_registry::Transport;
use serde_json::Value;
use tracing::Instrument;

use super::Aggregator;
use crate::error::GatewayError;
use crate::forward::{MCP_METHOD, MCP_NAME, MCP_PROTOCOL_VERSION};

impl Aggregator {
    /// Forwards the request directly when it qualifies; `None` sends it down the rmcp path.
    pub(crate) async fn try_direct(
        &self,
        parts: &Parts,
        body: &Bytes,
        inspected: &Inspected<'_>,
        principal: &Arc<Principal>,
    ) -> Option<Result<Response<Body>, GatewayError>> {
        let [message] = inspected.messages.as_slice() else {
            return None;
        };
        let stateless = parts
            .headers
            .get(&MCP_PROTOCOL_VERSION)
            .is_some_and(|version| version.as_bytes() == STATELESS_2026.as_bytes())
            && message.protocol_version.as_deref() == Some(STATELESS_2026);
        if inspected.batch
            || message.kind != Kind::Request
            || message.method.as_deref() != Some("tools/call")
            || !stateless
        {
            return None;
        }
        let catalog = self.catalog.fresh().await;
        let exposed = catalog.find(message.target.as_deref()?)?;
        let server = &exposed.server;
        if server.transport != Transport::StreamableHttp
            || server.health.era.as_deref() != Some("stateless")
        {
            return None;
        }
        let caller = self.caller(Arc::clone(principal));
        let decision = crate::trace::span(|| tracing::info_span!("policy")).in_scope(|| {
            caller.policy.decide(
                &caller.scopes,
                &PolicyRequest {
                    server: &server.path,
                    method: "tools/call",
                    target: Some(&exposed.tool.name),
                },
            )
        });
        // A refusal is answered (and recorded) by the rmcp path, like every other.
        if !decision.allowed {
            return None;
        }
        let target = self.gateway.target(&server.path).await.ok()?;
        if target.revision != server.revision {
            return None;
        }
        if let Err(wait) = self.gateway.rate_limits().admit_server(&server.path) {
            return Some(Err(GatewayError::rate_limited(&server.path, wait)));
        }
        let tool = HeaderValue::from_str(&exposed.tool.name).ok()?;
        let mut value: Value = serde_json::from_slice(body).ok()?;
        value["params"]["name"] = Value::from(exposed.tool.name.as_str());
        let upstream = crate::trace::upstream_span(&server.path);
        upstream.in_scope(|| crate::trace::add_to_params(&mut value["params"]));
        let rewritten = serde_json::to_vec(&value).ok()?;
        let id = message.id.map(|id| id.get().to_owned());
        self.record(&caller, &server.path, &exposed.tool.name, id, &decision);

        let rewritten = Bytes::from(rewritten);
        let mut request = Request::new(Body::from(rewritten.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = target.uri.clone()?;
        let credential = crate::egress::CallerCredential::of(&target, principal, &parts.headers);
        let on_behalf = credential
            .as_ref()
            .map(crate::egress::CallerCredential::as_caller);
        let headers = request.headers_mut();
        for (name, value) in &target.headers {
            headers.insert(name.clone(), value.clone());
        }
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        headers.insert(
            MCP_PROTOCOL_VERSION,
            HeaderValue::from_static(STATELESS_2026),
        );
        headers.insert(MCP_METHOD, HeaderValue::from_static("tools/call"));
        headers.insert(MCP_NAME, tool);
        if self.gateway.config().forward_identity {
            crate::forward::add_identity(headers, principal);
        }
        upstream.in_scope(|| crate::trace::inject(headers));
        let started = std::time::Instant::now();
        // Kept to send again after a step-up (an `oauth-client` upstream answering
        // `insufficient_scope`), as the per-server route does.
        let resend = matches!(target.egress, mcpgw_registry::Egress::OauthClient { .. })
            .then(|| request.headers().clone());
        let mut sent = self
            .gateway
            .send(&target, request, on_behalf)
            .instrument(upstream.clone())
            .await;
        let scope = match &sent {
            Ok(response) => crate::egress::step_up_scope(&target, response),
            Err(_) => None,
        };
        if let (Some(headers), Some(scope)) = (resend, scope)
            && crate::egress::stepped_up(self.gateway.upstream_auth(), &target, &scope).await
        {
            let mut retry = Request::new(Body::from(rewritten));
            *retry.method_mut() = Method::POST;
            *retry.uri_mut() = target.uri.clone()?;
            *retry.headers_mut() = headers;
            sent = self
                .gateway
                .send(&target, retry, on_behalf)
                .instrument(upstream)
                .await;
        }
        let success = sent
            .as_ref()
            .is_ok_and(|response| response.status().is_success());
        crate::observe::aggregated_call(
            &server.path,
            &exposed.tool.name,
            success,
            (message.client_info().as_ref(), &principal.subject),
            started.elapsed(),
        );
        Some(sent)
    }
}
