//! `mcpgw token issue|list|revoke`: the token vending service from the command line.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::TokenCommand;
use crate::client::{ApiClient, path_segment};

/// Runs one `token` subcommand and prints its result.
pub async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Issue {
            remote,
            description,
            expires_in,
            scopes,
            groups,
            admin,
        } => {
            let mut body = json!({ "description": description, "admin": admin });
            if let Some(seconds) = expires_in {
                body["expires_in"] = json!(seconds);
            }
            if !scopes.is_empty() {
                body["scopes"] = json!(scopes);
            }
            if !groups.is_empty() {
                body["groups"] = json!(groups);
            }
            let minted = ApiClient::new(&remote)?
                .call(Method::POST, "/api/tokens", Some(&body))
                .await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&minted)?);
            } else {
                // The token alone on stdout, so that `$(mcpgw token issue)` captures it;
                // what it is goes to stderr.
                eprintln!(
                    "token {} expires at {} (shown once; revoke with `mcpgw token revoke {}`)",
                    text(&minted["id"]),
                    text(&minted["expires_at"]),
                    text(&minted["id"]),
                );
                println!("{}", text(&minted["token"]));
            }
        }
        TokenCommand::List { remote } => {
            let listing = ApiClient::new(&remote)?
                .call(Method::GET, "/api/tokens", None)
                .await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&listing)?);
            } else {
                for token in listing["tokens"].as_array().into_iter().flatten() {
                    let state = if token["revoked_at"].is_null() {
                        ""
                    } else {
                        " revoked"
                    };
                    println!(
                        "{}  {}  expires {}{state}  {}",
                        text(&token["id"]),
                        text(&token["subject"]),
                        text(&token["expires_at"]),
                        text(&token["description"]),
                    );
                }
            }
        }
        TokenCommand::Revoke { remote, id } => {
            let path = format!("/api/tokens/{}", path_segment(&id));
            ApiClient::new(&remote)?
                .call(Method::DELETE, &path, None)
                .await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
