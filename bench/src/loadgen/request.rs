//! The one request the load generator sends: a stateless (2026-07-28) `tools/call` of the
//! example toolbox's `echo` tool with a small payload, prepared once and cloned per send.

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST};
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use serde_json::json;

/// The protocol revision the request speaks.
pub const PROTOCOL_VERSION: &str = "2026-07-28";
/// The JSON-RPC id of every request (each is answered on its own exchange).
pub const REQUEST_ID: u64 = 1;
/// The tool called unless told otherwise (`toolbox__echo` on the aggregated endpoint).
pub const TOOL: &str = "echo";

/// A prepared `tools/call echo` request for one target.
#[derive(Debug, Clone)]
pub struct EchoCall {
    /// Where to connect (`host:port`).
    authority: String,
    /// The request target in origin form (path and query).
    path_and_query: Uri,
    /// The `Host` header.
    host: HeaderValue,
    /// `Bearer <token>`, when the target needs one.
    authorization: Option<HeaderValue>,
    /// The tool's name, also sent as `Mcp-Name`.
    tool: HeaderValue,
    /// The serialised JSON-RPC request.
    body: Bytes,
    /// What `echo` must send back.
    message: String,
}

impl EchoCall {
    /// Prepares the call to `url` (an `http://` URL) asking the echo tool `tool` to return
    /// `message`.
    pub fn new(url: &Uri, token: Option<&str>, tool: &str, message: &str) -> anyhow::Result<Self> {
        if url.scheme_str() != Some("http") {
            bail!("only http:// targets are supported, not {url}");
        }
        let authority = url.authority().context("the URL needs a host")?;
        let port = authority.port_u16().unwrap_or(80);
        let path = url.path_and_query().map_or("/", |pq| pq.as_str());
        let authorization = token
            .map(|token| HeaderValue::try_from(format!("Bearer {token}")))
            .transpose()
            .context("the token is not a valid header value")?;
        Ok(EchoCall {
            authority: format!("{}:{port}", authority.host()),
            path_and_query: path.parse().context("the URL's path")?,
            host: HeaderValue::from_str(authority.as_str()).context("the URL's host")?,
            authorization,
            tool: HeaderValue::from_str(tool)
                .context("the tool name is not a valid header value")?,
            body: Bytes::from(body(tool, message).to_string()),
            message: message.to_owned(),
        })
    }

    /// Where to open connections (`host:port`).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The text the tool must return.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A fresh request (cheap: the body is shared).
    pub fn request(&self) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri(self.path_and_query.clone())
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .header("mcp-method", "tools/call")
            .header("mcp-name", self.tool.clone());
        if let Some(authorization) = &self.authorization {
            builder = builder.header(AUTHORIZATION, authorization.clone());
        }
        builder
            .body(Full::new(self.body.clone()))
            .context("building the request")
    }
}

/// The JSON-RPC request body.
fn body(tool: &str, message: &str) -> serde_json::Value {
    json!({
        "jsonrpc": "2.0",
        "id": REQUEST_ID,
        "method": "tools/call",
        "params": {
            "name": tool,
            "arguments": {"message": message},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": PROTOCOL_VERSION,
                "io.modelcontextprotocol/clientCapabilities": {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_carries_the_mcp_headers_and_body() {
        let url: Uri = "http://127.0.0.1:9/toolbox/mcp".parse().unwrap();
        let call = EchoCall::new(&url, Some("secret"), TOOL, "hi").unwrap();
        assert_eq!(call.authority(), "127.0.0.1:9");
        let request = call.request().unwrap();
        assert_eq!(request.uri(), "/toolbox/mcp");
        assert_eq!(request.headers()[HOST], "127.0.0.1:9");
        assert_eq!(request.headers()[AUTHORIZATION], "Bearer secret");
        assert_eq!(request.headers()["mcp-name"], "echo");
        let sent: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
        assert_eq!(sent["params"]["arguments"]["message"], "hi");
        assert_eq!(
            sent["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            PROTOCOL_VERSION
        );
    }

    #[test]
    fn https_is_refused() {
        let url: Uri = "https://127.0.0.1/mcp".parse().unwrap();
        assert!(EchoCall::new(&url, None, TOOL, "hi").is_err());
    }
}
