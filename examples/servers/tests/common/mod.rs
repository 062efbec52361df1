//! Shared helpers for the integration tests: an in-process server on 127.0.0.1:0 and a
//! raw Streamable HTTP JSON-RPC client that parses both JSON and SSE response bodies.
#![allow(dead_code)]

use std::time::Duration;

use mcpgw_example_servers::{ExampleServer, serve_http};
use reqwest::{StatusCode, header::CONTENT_TYPE};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// Upper bound for anything a test waits on.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Installs rustls' ring crypto provider once: the workspace builds reqwest with
/// `rustls-no-provider`, so a client cannot be built without it (even for plain http).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err only means another provider was installed first, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A `serve_http` instance running in this process.
pub struct TestServer {
    pub url: String,
    shutdown: CancellationToken,
    handle: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(server: ExampleServer, stateful: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/mcp", listener.local_addr().expect("addr"));
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(serve_http(server, listener, stateful, shutdown.clone()));
        Self {
            url,
            shutdown,
            handle,
        }
    }

    /// Cancels the server and checks that `serve_http` returns `Ok` promptly.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(TIMEOUT, self.handle)
            .await
            .expect("serve_http did not stop")
            .expect("serve_http panicked")
            .expect("serve_http failed");
    }
}

/// One HTTP reply, with the JSON-RPC messages found in its body.
#[derive(Debug)]
pub struct RawResponse {
    pub status: StatusCode,
    pub content_type: String,
    pub session_id: Option<String>,
    pub messages: Vec<Value>,
    pub body: String,
}

impl RawResponse {
    /// The JSON-RPC response (result or error) with the given id.
    pub fn response(&self, id: i64) -> &Value {
        self.messages
            .iter()
            .find(|m| {
                m["id"] == json!(id) && (m.get("result").is_some() || m.get("error").is_some())
            })
            .unwrap_or_else(|| panic!("no response with id {id} in {:#?}", self.messages))
    }

    /// The `result` of the JSON-RPC response with the given id (panics on an error reply).
    pub fn result(&self, id: i64) -> &Value {
        let response = self.response(id);
        assert!(response.get("error").is_none(), "error reply: {response}");
        &response["result"]
    }
}

/// Parses a JSON or `text/event-stream` body into JSON-RPC messages (other media
/// types, e.g. plain-text HTTP errors, yield none; see [`RawResponse::body`]).
pub fn parse_body(content_type: &str, body: &str) -> Vec<Value> {
    if content_type.starts_with("text/event-stream") {
        let mut messages = Vec::new();
        for event in body.replace("\r\n", "\n").split("\n\n") {
            let data: Vec<&str> = event
                .lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            let data = data.join("\n");
            if !data.trim().is_empty() {
                messages.push(serde_json::from_str(&data).expect("SSE data is JSON"));
            }
        }
        messages
    } else if body.trim().is_empty() || !content_type.starts_with("application/json") {
        Vec::new()
    } else {
        match serde_json::from_str(body).expect("body is JSON") {
            Value::Array(batch) => batch,
            single => vec![single],
        }
    }
}

/// A minimal Streamable HTTP client speaking raw JSON-RPC.
pub struct RawClient {
    http: reqwest::Client,
    pub url: String,
    pub session_id: Option<String>,
    pub protocol_version: Option<String>,
}

impl RawClient {
    pub fn new(url: &str) -> Self {
        install_crypto_provider();
        Self {
            http: reqwest::Client::new(),
            url: url.to_owned(),
            session_id: None,
            protocol_version: None,
        }
    }

    /// POSTs one JSON-RPC message with the session/version headers negotiated so far.
    pub async fn post(&self, body: Value, extra_headers: &[(&str, &str)]) -> RawResponse {
        let mut request = self
            .http
            .post(&self.url)
            .header("Accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(session_id) = &self.session_id {
            request = request.header("Mcp-Session-Id", session_id);
        }
        if let Some(version) = &self.protocol_version {
            request = request.header("MCP-Protocol-Version", version);
        }
        for (name, value) in extra_headers {
            request = request.header(*name, *value);
        }
        let response = tokio::time::timeout(TIMEOUT, request.send())
            .await
            .expect("request timed out")
            .expect("request failed");
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let session_id = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = tokio::time::timeout(TIMEOUT, response.text())
            .await
            .expect("body timed out")
            .expect("body failed");
        RawResponse {
            status,
            messages: parse_body(&content_type, &text),
            body: text,
            content_type,
            session_id,
        }
    }

    /// Sends a request without params `_meta` extras.
    pub async fn request(&self, id: i64, method: &str, params: Value) -> RawResponse {
        self.post(
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
            &[],
        )
        .await
    }

    /// `initialize` + `notifications/initialized`; remembers session id and version.
    pub async fn initialize(&mut self, version: &str) -> RawResponse {
        let reply = self
            .request(
                0,
                "initialize",
                json!({
                    "protocolVersion": version,
                    "capabilities": {},
                    "clientInfo": {"name": "raw-test-client", "version": "0.0.0"}
                }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        let negotiated = reply.result(0)["protocolVersion"]
            .as_str()
            .expect("protocolVersion")
            .to_owned();
        self.session_id = reply.session_id.clone();
        self.protocol_version = Some(negotiated);
        let ack = self
            .post(
                json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                &[],
            )
            .await;
        assert_eq!(ack.status, StatusCode::ACCEPTED, "{ack:?}");
        reply
    }

    /// `tools/call` with an optional progress token.
    pub async fn call_tool(
        &self,
        id: i64,
        name: &str,
        arguments: Value,
        progress_token: Option<&str>,
    ) -> RawResponse {
        let mut params = json!({"name": name, "arguments": arguments});
        if let Some(token) = progress_token {
            params["_meta"] = json!({"progressToken": token});
        }
        self.request(id, "tools/call", params).await
    }
}

/// The concatenated text content of a `CallToolResult`.
pub fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .expect("content array")
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks that `messages` holds `steps` progress notifications for `token`, in order,
/// all before the response with id `id`.
pub fn assert_progress_then_result(messages: &[Value], token: &str, steps: u64, id: i64) {
    let progress: Vec<(usize, &Value)> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m["method"] == "notifications/progress")
        .collect();
    assert_eq!(progress.len() as u64, steps, "{messages:#?}");
    for (step, (_, notification)) in progress.iter().enumerate() {
        let params = &notification["params"];
        assert_eq!(params["progressToken"], token);
        assert_eq!(params["progress"].as_f64(), Some((step + 1) as f64));
        assert_eq!(params["total"].as_f64(), Some(steps as f64));
    }
    let response_index = messages
        .iter()
        .position(|m| m["id"] == json!(id) && m.get("result").is_some())
        .expect("final result present");
    assert!(
        progress.iter().all(|(i, _)| *i < response_index),
        "progress must precede the result: {messages:#?}"
    );
}
