//! Streamable HTTP client channel and the HTTP probe sequence.

use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use super::handshake::{self, Discovery, RpcChannel};
use super::{ProbeError, ProbeOptions, ProbeReport, legacy_sse};
use crate::jsonrpc::{self, RpcError};
use crate::sse::SseDecoder;
use crate::version::{self, Era};

/// Largest JSON body accepted from a server during a probe.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How much of an error body is kept for the health reason.
const MAX_DETAIL_CHARS: usize = 200;

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

/// Turns a non-success HTTP response into the matching error.
pub(crate) async fn status_error(response: reqwest::Response) -> ProbeError {
    let status = response.status().as_u16();
    if status == 401 || status == 403 {
        return ProbeError::AuthRequired(format!("HTTP {status}"));
    }
    let body = response.text().await.unwrap_or_default();
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
        let mut request = self
            .options
            .http
            .post(self.url.clone())
            .headers(self.headers.clone())
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .json(body);
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

    /// Ends a stateful session politely; failures are irrelevant to the probe.
    async fn close(&self) {
        if let Some(session) = &self.session_id {
            let _ = self
                .options
                .http
                .delete(self.url.clone())
                .headers(self.headers.clone())
                .header("mcp-session-id", session.clone())
                .send()
                .await;
        }
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
        read_response(response, id).await
    }

    async fn notify(&mut self, method: &str, params: Value) -> Result<(), ProbeError> {
        self.post(&jsonrpc::notification(method, params), method)
            .await?;
        Ok(())
    }
}

/// Reads the response with `id` from a JSON or SSE body.
async fn read_response(
    response: reqwest::Response,
    id: u64,
) -> Result<Result<Value, RpcError>, ProbeError> {
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("text/event-stream") {
        return read_sse_response(response, id).await;
    }
    if !content_type.starts_with("application/json") {
        return Err(ProbeError::Protocol(format!(
            "unexpected content type {content_type:?}"
        )));
    }
    if response.content_length().unwrap_or(0) > MAX_BODY_BYTES as u64 {
        return Err(ProbeError::Protocol("response body too large".into()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|error| ProbeError::from_transport(&error))?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|error| ProbeError::Protocol(format!("invalid JSON in response: {error}")))?;
    jsonrpc::find_response(&body, id)
        .ok_or_else(|| ProbeError::Protocol(format!("no response with id {id} in body")))
}

async fn read_sse_response(
    response: reqwest::Response,
    id: u64,
) -> Result<Result<Value, RpcError>, ProbeError> {
    let mut decoder = SseDecoder::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| ProbeError::from_transport(&error))?;
        let events = decoder
            .feed(&chunk)
            .map_err(|error| ProbeError::Protocol(error.to_string()))?;
        // Events without data (stream priming, keep-alives) carry no message.
        for event in events.into_iter().filter(is_message) {
            let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                return Err(ProbeError::Protocol("invalid JSON in SSE event".into()));
            };
            if let Some(outcome) = jsonrpc::find_response(&message, id) {
                return Ok(outcome);
            }
        }
    }
    Err(ProbeError::Protocol(format!(
        "SSE stream ended before the response to request {id}"
    )))
}

/// True for an SSE event that carries a JSON-RPC message.
pub(crate) fn is_message(event: &crate::sse::SseEvent) -> bool {
    event.kind() == "message" && !event.data.trim().is_empty()
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
    let discovery = match modern
        .call("server/discover", serde_json::json!({ "_meta": meta }))
        .await
    {
        Ok(reply) => handshake::read_discovery(reply)?,
        Err(error) if error.is_final() => return Err(error),
        Err(error) => Discovery::Legacy(error),
    };
    match discovery {
        Discovery::Modern(mut report) => {
            report.tools = handshake::list_tools(&mut modern, Some(meta)).await?;
            return Ok(report);
        }
        Discovery::Legacy(reason) => {
            tracing::debug!(%reason, "no stateless era; falling back to initialize");
        }
    }

    let mut stateful = StreamableChannel::new(url, header_map, options);
    let initialized = handshake::initialize(
        &mut stateful,
        options,
        Era::Stateful,
        version::STATEFUL_LATEST,
    )
    .await;
    let mut report = match initialized {
        Ok(report) => report,
        Err(
            error @ ProbeError::HttpStatus {
                status: 400..=499, ..
            },
        ) => {
            // A 4xx to a POST initialize is the spec's signal for an old HTTP+SSE server.
            return legacy_sse::probe_legacy(url, headers, options)
                .await
                .map_err(|legacy_error| match legacy_error {
                    ProbeError::Protocol(_) | ProbeError::HttpStatus { .. } => error,
                    other => other,
                });
        }
        Err(error) => return Err(error),
    };
    if let Ok(version) = HeaderValue::from_str(&report.protocol_version) {
        stateful.protocol_version = Some(version);
    }
    let tools = handshake::list_tools(&mut stateful, None).await;
    stateful.close().await;
    report.tools = tools?;
    Ok(report)
}
