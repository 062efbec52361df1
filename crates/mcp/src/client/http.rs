//! Streamable HTTP client channel and the HTTP probe sequence.

use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use serde_json::Value;
use url::Url;

use super::body::read_prefix;
use super::handshake::{self, Discovery, RpcChannel};
use super::{ProbeError, ProbeOptions, ProbeReport, legacy_sse, response};
use crate::jsonrpc::{self, RpcError};
use crate::version::{self, Era};

/// How much of an error body is read: enough for a JSON-RPC error object, and no more,
/// whatever the server keeps sending.
const MAX_ERROR_BODY_BYTES: usize = 4 * 1024;
/// How much of an error body is kept for the health reason.
const MAX_DETAIL_CHARS: usize = 200;
/// How long ending a session may take; it runs in the background, after the probe.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Builds a header map from configured `(name, value)` pairs.
pub(crate) fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, ProbeError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| ProbeError::Config(format!("invalid header name {name:?}")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| ProbeError::Config(format!("invalid value for header {name}")))?;
        map.append(name, value);
    }
    Ok(map)
}

/// A POST of one JSON-RPC message to an MCP endpoint, with the headers every such POST
/// carries (configured headers, `Accept` of both answer forms, JSON content).
pub(crate) fn mcp_post(
    http: &reqwest::Client,
    url: &Url,
    headers: &HeaderMap,
    body: &Value,
) -> reqwest::RequestBuilder {
    http.post(url.clone())
        .headers(headers.clone())
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .json(body)
}

/// A response's content type, lower-cased (empty when absent or unreadable).
pub(crate) fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Turns a non-success HTTP response into the matching error.
pub(crate) async fn status_error(response: reqwest::Response) -> ProbeError {
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        return ProbeError::AuthRequired(format!("HTTP {status}"));
    }
    if response.status().is_redirection() {
        return redirect_error(&response);
    }
    let body = read_prefix(response, MAX_ERROR_BODY_BYTES).await;
    let body = String::from_utf8_lossy(&body);
    let rpc = serde_json::from_str::<Value>(&body).ok().and_then(|value| {
        match jsonrpc::classify(&value) {
            Some(jsonrpc::Incoming::Response {
                outcome: Err(error),
                ..
            }) => Some(error),
            _ => None,
        }
    });
    let detail = match &rpc {
        Some(error) => error.message.clone(),
        None => body.trim().chars().take(MAX_DETAIL_CHARS).collect(),
    };
    ProbeError::HttpStatus {
        status,
        detail,
        rpc,
    }
}

/// Redirects are not followed (the client is built with no redirect policy): following one
/// would send the registered secret headers to wherever the server points. The operator is
/// told where it points instead, to register that URL if it is right.
fn redirect_error(response: &reqwest::Response) -> ProbeError {
    let detail = match response.headers().get(LOCATION) {
        Some(location) => {
            let location = String::from_utf8_lossy(location.as_bytes());
            let target = response
                .url()
                .join(&location)
                .map(String::from)
                .unwrap_or_else(|_| location.into_owned());
            let target: String = target.chars().take(MAX_DETAIL_CHARS).collect();
            format!("redirected to {target}; register that URL")
        }
        None => "redirect without a Location header".to_owned(),
    };
    ProbeError::HttpStatus {
        status: response.status().as_u16(),
        detail,
        rpc: None,
    }
}

/// One logical client of a Streamable HTTP endpoint.
struct StreamableChannel<'a> {
    options: &'a ProbeOptions,
    url: &'a Url,
    headers: HeaderMap,
    next_id: u64,
    session_id: Option<HeaderValue>,
    protocol_version: Option<HeaderValue>,
    stateless: bool,
}

impl<'a> StreamableChannel<'a> {
    fn new(url: &'a Url, headers: HeaderMap, options: &'a ProbeOptions) -> Self {
        Self {
            options,
            url,
            headers,
            next_id: 1,
            session_id: None,
            protocol_version: None,
            stateless: false,
        }
    }

    async fn post(&mut self, body: &Value, method: &str) -> Result<reqwest::Response, ProbeError> {
        let mut request = mcp_post(&self.options.http, self.url, &self.headers, body);
        if let Some(session) = &self.session_id {
            request = request.header("mcp-session-id", session.clone());
        }
        if let Some(version) = &self.protocol_version {
            request = request.header("mcp-protocol-version", version.clone());
        }
        if self.stateless {
            request = request.header("mcp-method", method);
        }
        let response = request
            .send()
            .await
            .map_err(|error| ProbeError::from_transport(&error))?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        if let Some(session) = response.headers().get("mcp-session-id") {
            self.session_id = Some(session.clone());
        }
        Ok(response)
    }

    /// True once the server answered `initialize` (the version is known): a later 4xx is
    /// no sign of a legacy HTTP+SSE server.
    fn initialized(&self) -> bool {
        !self.stateless && self.protocol_version.is_some()
    }
}

impl Drop for StreamableChannel<'_> {
    /// Ends a stateful session politely on every path (success, failure, or the probe
    /// being cancelled at its deadline), so servers do not accumulate our sessions. The
    /// `DELETE` runs in the background, bounded by [`CLOSE_TIMEOUT`], so it never delays
    /// or fails the probe.
    fn drop(&mut self) {
        let Some(session) = self.session_id.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut request = self
            .options
            .http
            .delete(self.url.clone())
            .headers(self.headers.clone())
            .header("mcp-session-id", session)
            .timeout(CLOSE_TIMEOUT);
        if let Some(version) = &self.protocol_version {
            request = request.header("mcp-protocol-version", version.clone());
        }
        runtime.spawn(async move {
            let _ = request.send().await;
        });
    }
}

impl RpcChannel for StreamableChannel<'_> {
    async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, RpcError>, ProbeError> {
        let id = self.next_id;
        self.next_id += 1;
        let response = self
            .post(&jsonrpc::request(id, method, params), method)
            .await?;
        response::read_response(response, id, None, &mut |_| {}).await
    }

    async fn notify(&mut self, method: &str, params: Value) -> Result<(), ProbeError> {
        self.post(&jsonrpc::notification(method, params), method)
            .await?;
        Ok(())
    }

    fn negotiated(&mut self, protocol_version: &str) {
        if let Ok(version) = HeaderValue::from_str(protocol_version) {
            self.protocol_version = Some(version);
        }
    }
}

/// Probes a Streamable HTTP endpoint: stateless discovery, then `initialize`, then the
/// legacy HTTP+SSE transport on the same URL, as the spec's compatibility rules say.
pub(crate) async fn probe_streamable(
    url: &Url,
    headers: &[(String, String)],
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let header_map = header_map(headers)?;

    let mut modern = StreamableChannel::new(url, header_map.clone(), options);
    modern.stateless = true;
    modern.protocol_version = Some(HeaderValue::from_static(version::STATELESS_2026));
    let meta = handshake::stateless_meta(options);
    let reply = modern
        .call("server/discover", serde_json::json!({ "_meta": meta }))
        .await;
    match handshake::discovery_outcome(reply)? {
        Discovery::Modern(mut report) => {
            report.tools = handshake::list_tools(&mut modern, Some(meta)).await?;
            return Ok(report);
        }
        Discovery::Legacy(reason) => {
            tracing::debug!(%reason, "no stateless era; falling back to initialize");
        }
    }

    drop(modern);

    let mut stateful = StreamableChannel::new(url, header_map, options);
    let outcome = probe_stateful(&mut stateful, options).await;
    match outcome {
        Err(
            error @ ProbeError::HttpStatus {
                status: 400..=499, ..
            },
        ) if !stateful.initialized() => {
            drop(stateful);
            // A 4xx to a POST initialize is the spec's signal for an old HTTP+SSE server.
            legacy_sse::probe_legacy(url, headers, options)
                .await
                .map_err(|legacy_error| match legacy_error {
                    ProbeError::Protocol(_) | ProbeError::HttpStatus { .. } => error,
                    other => other,
                })
        }
        other => other,
    }
}

/// The `initialize` handshake and the tool listing of a stateful (2025-xx) server. The
/// session it may open is ended when `channel` is dropped, whatever happens here.
async fn probe_stateful(
    channel: &mut StreamableChannel<'_>,
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let mut report =
        handshake::initialize(channel, options, Era::Stateful, version::STATEFUL_LATEST).await?;
    report.tools = handshake::list_tools(channel, None).await?;
    Ok(report)
}
