//! Forwarding Streamable HTTP (`/{server}/mcp`) to an upstream Streamable HTTP server.

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, Response};

use crate::error::GatewayError;
use crate::forward::Caller;
use crate::handler::Gateway;
use crate::table::Target;

/// Forwards one request (POST with its already inspected body, GET for the server's
/// stream, DELETE to end a session) and streams the answer back.
pub async fn forward(
    gateway: &Gateway,
    target: &Target,
    parts: http::request::Parts,
    body: Option<Bytes>,
    caller: &Caller<'_>,
) -> Result<Response<Body>, GatewayError> {
    if ![Method::POST, Method::GET, Method::DELETE].contains(&parts.method) {
        return Err(GatewayError::NotHere(format!(
            "{} is not an MCP method on /{}/mcp (use POST, GET or DELETE)",
            parts.method, target.path
        )));
    }
    let Some(base) = &target.uri else {
        return Err(GatewayError::Upstream {
            server: target.path.clone(),
            reason: "no upstream URL".into(),
        });
    };
    // The client's query string is not forwarded: Streamable HTTP has none, and it could
    // override parameters of the configured URL (a tenant, a key).
    let uri = base.clone();
    // Read before the head is rewritten: the caller's own token, for token exchange.
    let credential = crate::egress::CallerCredential::of(target, caller.principal, &parts.headers);
    let on_behalf = credential
        .as_ref()
        .map(crate::egress::CallerCredential::as_caller);
    let mut parts = parts;
    crate::forward::upstream_head(&mut parts, uri, &target.headers, caller);
    // With a gateway token, an `insufficient_scope` answer is retried once with a token
    // for the scopes asked for (the MCP spec's step-up): keep what is needed to resend.
    let resend = matches!(target.egress, mcpgw_registry::Egress::OauthClient { .. }).then(|| {
        (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
            body.clone(),
        )
    });
    let mut request = Request::from_parts(parts, body.map(Body::from).unwrap_or_else(Body::empty));
    // In the caller's `upstream` span: the server's parent.
    crate::trace::inject(request.headers_mut());
    let sent = std::time::Instant::now();
    let mut response = gateway.send(target, request, on_behalf).await?;
    let scope = crate::egress::step_up_scope(target, &response);
    if let (Some((method, uri, headers, body)), Some(scope)) = (resend, scope)
        && crate::egress::stepped_up(gateway.upstream_auth(), target, &scope).await
    {
        let mut retry = Request::new(body.map(Body::from).unwrap_or_else(Body::empty));
        *retry.method_mut() = method;
        *retry.uri_mut() = uri;
        *retry.headers_mut() = headers;
        crate::trace::inject(retry.headers_mut());
        response = gateway.send(target, retry, on_behalf).await?;
    }
    crate::observe::upstream_answered(sent.elapsed());
    // Copied before it is filtered: the scan looks at the whole list the server sent.
    let response = if caller.observes_list {
        gateway.list_observer().watch(&target.path, response)
    } else {
        response
    };
    match caller.tools {
        Some(filter) => crate::list_filter::filter_response(response, filter, &target.path).await,
        None => Ok(response),
    }
}
