//! A small client of the gateway's REST API, for the `server` subcommands.

use anyhow::{Context, anyhow, bail};
use mcpgw_auth::AdminToken;
use reqwest::Method;
use serde_json::Value;

use crate::cli::Remote;

/// How long to wait for the gateway to accept a connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long one call may take; a refresh waits for a health check, so this is generous.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Talks to one running gateway.
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl ApiClient {
    /// Connects with the token from `--token`/`MCPGW_TOKEN`, else the admin token file.
    pub fn new(remote: &Remote) -> anyhow::Result<Self> {
        let token = match &remote.token {
            Some(token) => token.clone(),
            None => AdminToken::read_file(&remote.data_dir)
                .map_err(|error| {
                    anyhow!("no token: set MCPGW_TOKEN or --token, or point --data-dir at the gateway's data ({error})")
                })?
                .secret()
                .to_owned(),
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(ApiClient {
            http,
            base: remote.url.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// Sends a request and returns the JSON body (or `Null` for 204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| {
            if error.is_connect() {
                anyhow!(
                    "cannot reach the gateway at {}: is `mcpgw serve` running?",
                    self.base
                )
            } else {
                anyhow!("request to {url} failed: {error}")
            }
        })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .context("reading the gateway's answer")?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            bail!("{message} (HTTP {})", status.as_u16());
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).context("the gateway answered with invalid JSON")
    }
}

/// Percent-encodes one URL path segment (a token id, a user name).
pub fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
