//! `mcpgw client-config --for vscode|cursor|claude-code|cline|roo|json|python|typescript
//! [--server S] [--oauth]`: a ready-to-use client configuration from the gateway
//! (`POST /api/client-config`), with a freshly minted token in it or, with `--oauth`, none
//! (the client signs in itself through the gateway's protected-resource metadata). The
//! configuration alone goes to stdout, so that it can be redirected into its file; where
//! it goes and which token it carries go to stderr.

use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::Remote;
use crate::client::ApiClient;

/// `mcpgw client-config`.
#[derive(Debug, Args)]
pub struct ClientConfigArgs {
    /// Where to reach the gateway.
    #[command(flatten)]
    pub remote: Remote,
    /// The client to configure.
    #[arg(long = "for", value_parser = [
        "vscode", "cursor", "claude-code", "cline", "roo", "roo-code", "json", "python",
        "typescript",
    ])]
    pub client: String,
    /// One server (its path) instead of the aggregated `/mcp`.
    #[arg(long)]
    pub server: Option<String>,
    /// No token: the client signs in itself (MCP authorization discovery).
    #[arg(long)]
    pub oauth: bool,
    /// Lifetime of the minted token, in seconds.
    #[arg(long, conflicts_with = "oauth")]
    pub expires_in: Option<i64>,
    /// What the minted token is for.
    #[arg(long, conflicts_with = "oauth")]
    pub description: Option<String>,
    /// Mint the token with admin rights (admins only).
    #[arg(long, conflicts_with = "oauth")]
    pub admin: bool,
}

/// Asks the gateway for the configuration and prints it.
pub async fn run(args: ClientConfigArgs) -> anyhow::Result<()> {
    // `roo` is what people type; the gateway names the client `roo-code`.
    let client = if args.client == "roo" {
        "roo-code"
    } else {
        args.client.as_str()
    };
    let mut body = json!({
        "client": client,
        "auth": if args.oauth { "oauth" } else { "token" },
        "admin": args.admin,
    });
    if let Some(server) = &args.server {
        body["server"] = json!(server);
    }
    if let Some(seconds) = args.expires_in {
        body["expires_in"] = json!(seconds);
    }
    if let Some(description) = &args.description {
        body["description"] = json!(description);
    }
    let config = ApiClient::new(&args.remote)?
        .call(Method::POST, "/api/client-config", Some(&body))
        .await?;
    if args.remote.json {
        println!("{}", serde_json::to_string_pretty(&config)?);
        return Ok(());
    }
    eprintln!(
        "# {} — put this in {}",
        text(&config["title"]),
        text(&config["file"])
    );
    if !config["token_id"].is_null() {
        eprintln!(
            "# it carries a new token ({}), expiring at {}; revoke it with `mcpgw token revoke {}`",
            text(&config["token_id"]),
            text(&config["expires_at"]),
            text(&config["token_id"]),
        );
    }
    print!("{}", text(&config["text"]));
    Ok(())
}

/// A JSON value as plain text (strings without quotes).
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
