//! `mcpgw egress-probe --grant authorization-code`: the `oauth-user` mode's connect flow
//! against one MCP server with an `mcp` provider (endpoints, scopes and resource found
//! out from the server; the client identified by the configured id, else by its Client ID
//! Metadata Document), run without a browser for the conformance suite, whose mock
//! authorization server answers the authorization request with the code at once.
//!
//! The flow and the tokens are the gateway's own ([`UserConnections`], with a throwaway
//! SQLite database); what is left to this file is what a browser and an MCP client would
//! do: follow the authorization URL to the callback, then `initialize`, `tools/list` and,
//! if asked, one `tools/call`, stepping up (a new authorization with the scopes named) when
//! the server answers `insufficient_scope`, at most three authorizations in all.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use mcpgw_auth::egress::discovery::{self, challenge_parameter};
use mcpgw_auth::egress::user::providers::ProviderConfig;
use mcpgw_auth::egress::user::{Access, ConnectTarget, UserConnections};
use mcpgw_auth::login::Callback;
use serde_json::{Value, json};

/// The one user the probe connects as.
const OWNER: &str = "egress-probe";
/// The provider's name in the probe's configuration.
const PROVIDER: &str = "probe";
/// Most authorizations one probe makes (the first, and step-ups).
const MAX_AUTHORIZATIONS: usize = 3;

/// What the probe was asked to do.
pub struct UserProbe {
    /// The MCP endpoint.
    pub url: String,
    /// A pre-registered client, if any (else the metadata document).
    pub client_id: Option<String>,
    /// Its secret.
    pub client_secret: Option<String>,
    /// The metadata document URL to present, if not the probe's own.
    pub client_metadata_url: Option<String>,
    /// A tool to call after listing.
    pub call_tool: Option<String>,
}

/// Runs the probe; returns the tools listed.
pub async fn run(probe: UserProbe, http: reqwest::Client) -> anyhow::Result<Vec<String>> {
    let dir = std::env::temp_dir().join(format!("mcpgw-egress-probe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("cannot create the probe's directory")?;
    let result = probe_in(&dir, probe, http).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn probe_in(
    dir: &std::path::Path,
    probe: UserProbe,
    http: reqwest::Client,
) -> anyhow::Result<Vec<String>> {
    let store = mcpgw_store::connect(&format!("sqlite://{}", dir.join("probe.db").display()))
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    // A secret is pinned to one authorization server: the one the server names now
    // (trust on first use, which is what a probe can do).
    let issuer = match &probe.client_secret {
        Some(_) => Some(issuer_of(&http, &probe.url).await?),
        None => None,
    };
    let provider: ProviderConfig = serde_json::from_value(json!({
        "name": PROVIDER, "preset": "mcp", "client_id": probe.client_id,
        "client_secret": probe.client_secret, "client_metadata_url": probe.client_metadata_url,
        "issuer": issuer,
    }))?;
    let users = UserConnections::new(
        vec![provider],
        Arc::new(store),
        "http://127.0.0.1:9",
        Duration::from_secs(60),
    )?;
    let mut scope: Option<String> = None;
    for _ in 0..MAX_AUTHORIZATIONS {
        authorize(&users, &http, &probe.url, scope.as_deref()).await?;
        let target = ConnectTarget {
            server: PROVIDER,
            url: &probe.url,
            provider: PROVIDER,
            scope: None,
        };
        let token = match users.access(OWNER, target, mcpgw_auth::now()).await? {
            Access::Granted { authorization, .. } => authorization,
            Access::NotConnected { .. } => bail!("the connection was not stored"),
        };
        match session(&http, &probe.url, &token, probe.call_tool.as_deref()).await? {
            Outcome::Done(tools) => return Ok(tools),
            Outcome::StepUp(more) => scope = Some(more),
        }
    }
    bail!("still insufficient_scope after {MAX_AUTHORIZATIONS} authorizations")
}

/// The issuer of the authorization server the MCP server at `url` names.
async fn issuer_of(http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let hint = discovery::challenge(http, url)
        .await
        .and_then(|challenge| challenge.resource_metadata);
    let resource = discovery::protected_resource(http, url, hint.as_deref()).await?;
    let issuer = resource
        .authorization_servers
        .first()
        .context("the server names no authorization server")?;
    Ok(discovery::authorization_server(http, issuer).await?.issuer)
}

/// One authorization: the flow's URL followed to the callback, which is then finished.
async fn authorize(
    users: &UserConnections,
    http: &reqwest::Client,
    url: &str,
    scope: Option<&str>,
) -> anyhow::Result<()> {
    let target = ConnectTarget {
        server: PROVIDER,
        url,
        provider: PROVIDER,
        scope,
    };
    let started = users
        .start(OWNER, target, "/".into(), mcpgw_auth::now())
        .await?;
    let answer = http.get(&started.location).send().await?;
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .context("the authorization server did not redirect back")?;
    let back = reqwest::Url::parse(location).context("the redirect is not a URL")?;
    let mut callback = Callback::default();
    for (key, value) in back.query_pairs() {
        let value = Some(value.into_owned());
        match key.as_ref() {
            "code" => callback.code = value,
            "state" => callback.state = value,
            "iss" => callback.iss = value,
            "error" => callback.error = value,
            "error_description" => callback.error_description = value,
            _ => {}
        }
    }
    users
        .finish(callback, Some(&started.state), OWNER, mcpgw_auth::now())
        .await?;
    Ok(())
}

/// How a session with a token ended.
enum Outcome {
    /// The tools listed (and the tool called, if asked).
    Done(Vec<String>),
    /// The server asked for these scopes.
    StepUp(String),
}

/// `initialize`, `notifications/initialized`, `tools/list` and an optional `tools/call`
/// with `authorization`.
async fn session(
    http: &reqwest::Client,
    url: &str,
    authorization: &str,
    call_tool: Option<&str>,
) -> anyhow::Result<Outcome> {
    let mut session_id: Option<String> = None;
    let mut send = async |id: Option<u64>, method: &str, params: Value| {
        let mut message = json!({"jsonrpc": "2.0", "method": method, "params": params});
        if let Some(id) = id {
            message["id"] = json!(id);
        }
        let mut request = http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .header("mcp-protocol-version", "2025-11-25")
            .json(&message);
        if let Some(session) = &session_id {
            request = request.header("mcp-session-id", session);
        }
        let response = request.send().await?;
        if let Some(session) = response.headers().get("mcp-session-id") {
            session_id = Some(session.to_str()?.to_owned());
        }
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let status = response.status();
        let text = response.text().await?;
        anyhow::Ok((status, challenge, text))
    };
    let params = json!({"protocolVersion": "2025-11-25", "capabilities": {},
                        "clientInfo": {"name": "mcpgw-egress-probe", "version": env!("CARGO_PKG_VERSION")}});
    let mut steps: Vec<(Option<u64>, &str, Value)> = vec![
        (Some(1), "initialize", params),
        (None, "notifications/initialized", json!({})),
        (Some(2), "tools/list", json!({})),
    ];
    if let Some(tool) = call_tool {
        steps.push((
            Some(3),
            "tools/call",
            json!({"name": tool, "arguments": {}}),
        ));
    }
    let mut tools = Vec::new();
    for (id, method, params) in steps {
        let (status, challenge, text) = send(id, method, params).await?;
        if status == reqwest::StatusCode::FORBIDDEN
            && let Some(challenge) = &challenge
            && challenge_parameter(challenge, "error").as_deref() == Some("insufficient_scope")
        {
            let scope = challenge_parameter(challenge, "scope").unwrap_or_default();
            return Ok(Outcome::StepUp(scope));
        }
        if !status.is_success() {
            bail!("{method}: HTTP {status}: {text}");
        }
        if method == "tools/list" {
            let body = text
                .lines()
                .find_map(|line| line.strip_prefix("data: "))
                .unwrap_or(&text);
            let listed: Value = serde_json::from_str(body).unwrap_or_default();
            tools = listed["result"]["tools"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|tool| tool["name"].as_str().map(str::to_owned))
                .collect();
        }
    }
    Ok(Outcome::Done(tools))
}
