//! `mcpgw egress-probe <url>` (hidden): the gateway's upstream client on its own, as a
//! client under test for the MCP conformance suite's client-side authorization scenarios
//! (npm `@modelcontextprotocol/conformance client --command "mcpgw egress-probe"`).
//!
//! With `--grant client-credentials` (the default) it is exactly what a health check of an
//! `oauth-client` server does: the upstream's 401 challenge, its protected-resource
//! metadata, its authorization server's metadata, a client-credentials token for that
//! resource, then `initialize` and `tools/list` with it. With `--grant
//! authorization-code` it is the `oauth-user` mode's connect flow with an `mcp` provider
//! ([`crate::egress_probe_user`]). Credentials come from the flags, else from the
//! suite's `MCP_CONFORMANCE_CONTEXT`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use mcpgw_registry::{HealthState, Prober, ServerInput};
use serde_json::{Value, json};

/// `mcpgw egress-probe`.
#[derive(Debug, Args)]
pub struct EgressProbeArgs {
    /// The upstream MCP endpoint (the conformance suite appends it last).
    pub url: String,
    /// The gateway's client id at the upstream's authorization server.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Its secret.
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Scopes to ask for.
    #[arg(long)]
    pub scope: Option<String>,
    /// Seconds the whole probe may take.
    #[arg(long, default_value_t = 20)]
    pub timeout: u64,
    /// `client-credentials` (the `oauth-client` mode) or `authorization-code` (a user's
    /// connection, the `oauth-user` mode with an `mcp` provider).
    #[arg(long, default_value = "client-credentials", value_parser = ["client-credentials", "authorization-code"])]
    pub grant: String,
    /// `authorization-code`: the client metadata document URL to present as client id.
    #[arg(long)]
    pub client_metadata_url: Option<String>,
    /// `authorization-code`: a tool to call after listing (steps up on insufficient_scope).
    #[arg(long)]
    pub call_tool: Option<String>,
}

/// Probes the upstream as the gateway would; prints the verdict as JSON. Fails unless the
/// upstream answered with its tools.
pub async fn run(args: EgressProbeArgs) -> anyhow::Result<()> {
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let from_context = |key: &str| context[key].as_str().map(str::to_owned);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(args.timeout))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot set up the HTTP client")?;
    if args.grant == "authorization-code" {
        let probe = crate::egress_probe_user::UserProbe {
            url: args.url,
            client_id: args.client_id.or_else(|| from_context("client_id")),
            client_secret: args.client_secret.or_else(|| from_context("client_secret")),
            client_metadata_url: args.client_metadata_url,
            call_tool: args.call_tool,
        };
        let tools = tokio::time::timeout(
            Duration::from_secs(args.timeout),
            crate::egress_probe_user::run(probe, http),
        )
        .await
        .context("the probe took too long")??;
        println!("{}", json!({"status": "healthy", "tools": tools}));
        return Ok(());
    }
    let (Some(client_id), Some(client_secret)) = (
        args.client_id.or_else(|| from_context("client_id")),
        args.client_secret.or_else(|| from_context("client_secret")),
    ) else {
        bail!("give --client-id and --client-secret (or MCP_CONFORMANCE_CONTEXT)");
    };
    let input: ServerInput = serde_json::from_value(json!({
        "path": "probe",
        "url": args.url,
        "transport": "streamable-http",
        "egress": {"mode": "oauth-client", "client_id": client_id,
                   "client_secret": client_secret, "scope": args.scope},
    }))
    .context("invalid probe definition")?;
    let server = input
        .into_new_server(chrono::Utc::now())
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    let auth = Arc::new(mcpgw_gateway::egress::OAuthClients::new(http));
    let prober = Prober::new(Duration::from_secs(args.timeout))?.with_auth(auth);
    let outcome = tokio::time::timeout(Duration::from_secs(args.timeout), prober.check(&server))
        .await
        .context("the probe took too long")?;
    let tools: Vec<&str> = outcome
        .tools
        .iter()
        .flatten()
        .map(|tool| tool.name.as_str())
        .collect();
    println!(
        "{}",
        json!({"status": outcome.health.status, "reason": outcome.health.reason, "tools": tools})
    );
    if outcome.health.status != HealthState::Healthy {
        bail!("not healthy: {}", outcome.health.reason.unwrap_or_default());
    }
    Ok(())
}
