//! `mcpgw connect <server>`, `mcpgw connections` and `mcpgw disconnect <server>`: a user's
//! own accounts at the services servers call (the `oauth-user` egress mode). Connecting
//! happens in a browser signed in to the gateway (the provider's consent page needs one);
//! `connect` prints where, then waits until the gateway has the connection.

use std::time::Duration;

use anyhow::bail;
use clap::Args;
use reqwest::Method;
use serde_json::Value;

use crate::cli::Remote;
use crate::client::{ApiClient, path_segment};

/// `mcpgw connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Where to reach the gateway (as the user who connects).
    #[command(flatten)]
    pub remote: Remote,
    /// The server (its path).
    pub server: String,
    /// Print the URL and return, without waiting.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to wait for the connection, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
}

/// `mcpgw disconnect`.
#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Where to reach the gateway.
    #[command(flatten)]
    pub remote: Remote,
    /// The server (its path).
    pub server: String,
}

/// `mcpgw connections`.
#[derive(Debug, Args)]
pub struct ConnectionsArgs {
    /// Where to reach the gateway.
    #[command(flatten)]
    pub remote: Remote,
}

/// How often `connect` asks whether the connection is made.
const POLL: Duration = Duration::from_secs(1);

/// The caller's connection to `server` in a `GET /api/connections` answer, if made.
fn connection<'a>(listed: &'a Value, server: &str) -> Option<&'a Value> {
    listed["servers"]
        .as_array()?
        .iter()
        .find(|offer| offer["server"] == server)
        .map(|offer| &offer["connection"])
        .filter(|connection| !connection.is_null())
}

/// Prints where to connect, and waits until connected.
pub async fn connect(args: ConnectArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.remote)?;
    let server = args.server.trim_matches('/');
    let before = client.call(Method::GET, "/api/connections", None).await?;
    let previous = connection(&before, server).map(|made| made["refreshed_at"].clone());
    let offer = client
        .call(
            Method::POST,
            &format!("/api/connections/{}", path_segment(server)),
            None,
        )
        .await?;
    let url = offer["connect_url"].as_str().unwrap_or_default();
    let provider = offer["provider_name"].as_str().unwrap_or("the provider");
    if args.remote.json {
        println!("{}", serde_json::to_string_pretty(&offer)?);
    } else {
        eprintln!(
            "Open this URL in a browser signed in to the gateway as yourself, and allow access at {provider}:"
        );
        println!("{url}");
    }
    if args.no_wait {
        return Ok(());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    loop {
        tokio::time::sleep(POLL).await;
        let listed = client.call(Method::GET, "/api/connections", None).await?;
        if let Some(made) = connection(&listed, server)
            && previous.as_ref() != Some(&made["refreshed_at"])
        {
            eprintln!("Connected: requests to /{server} now carry your {provider} account.");
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "not connected after {} s; open the URL above, or run `mcpgw connect {server}` again",
                args.timeout
            );
        }
    }
}

/// Lists the servers that act with the caller's own accounts.
pub async fn list(args: ConnectionsArgs) -> anyhow::Result<()> {
    let listed = ApiClient::new(&args.remote)?
        .call(Method::GET, "/api/connections", None)
        .await?;
    if args.remote.json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(());
    }
    let offers = listed["servers"].as_array().cloned().unwrap_or_default();
    if offers.is_empty() {
        println!("No server you can use acts with your own account.");
    }
    for offer in offers {
        let state = if offer["connection"].is_null() {
            format!("not connected: mcpgw connect {}", text(&offer["server"]))
        } else {
            "connected".to_owned()
        };
        println!(
            "/{}\t{}\t{state}",
            text(&offer["server"]),
            text(&offer["provider_name"])
        );
    }
    Ok(())
}

/// Ends the caller's connection to a server (its tokens are revoked).
pub async fn disconnect(args: DisconnectArgs) -> anyhow::Result<()> {
    let server = args.server.trim_matches('/');
    ApiClient::new(&args.remote)?
        .call(
            Method::DELETE,
            &format!("/api/connections/{}", path_segment(server)),
            None,
        )
        .await?;
    eprintln!("Disconnected from /{server}; its tokens are revoked.");
    Ok(())
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}
