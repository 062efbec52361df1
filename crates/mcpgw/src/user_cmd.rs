//! `mcpgw user add|list|remove|passwd`: local users from the command line.

use anyhow::{Context, bail};
use reqwest::Method;
use serde_json::json;

use crate::cli::UserCommand;
use crate::client::{ApiClient, path_segment};

/// Runs one `user` subcommand and prints its result.
pub async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            remote,
            username,
            groups,
            admin,
        } => {
            let password = read_password()?;
            let body = json!({ "username": username, "password": password, "groups": groups, "admin": admin });
            ApiClient::new(&remote)?
                .call(Method::POST, "/api/users", Some(&body))
                .await?;
            println!("created user {username}");
        }
        UserCommand::List { remote } => {
            let listing = ApiClient::new(&remote)?
                .call(Method::GET, "/api/users", None)
                .await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&listing)?);
            } else {
                for user in listing["users"].as_array().into_iter().flatten() {
                    let groups: Vec<&str> = user["groups"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|group| group.as_str())
                        .collect();
                    let admin = if user["admin"] == json!(true) {
                        "  admin"
                    } else {
                        ""
                    };
                    println!(
                        "{}{admin}  groups: {}",
                        user["username"].as_str().unwrap_or_default(),
                        groups.join(",")
                    );
                }
            }
        }
        UserCommand::Remove { remote, username } => {
            ApiClient::new(&remote)?
                .call(
                    Method::DELETE,
                    &format!("/api/users/{}", path_segment(&username)),
                    None,
                )
                .await?;
            println!("removed user {username}");
        }
        UserCommand::Passwd { remote, username } => {
            let password = read_password()?;
            let path = format!("/api/users/{}/password", path_segment(&username));
            ApiClient::new(&remote)?
                .call(Method::PUT, &path, Some(&json!({ "password": password })))
                .await?;
            println!("password of {username} changed; their sessions were ended");
        }
    }
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!(
            "give the password on standard input, e.g. `printf '%s\\n' \"$PASSWORD\" | mcpgw user add NAME`"
        );
    }
    Ok(password)
}
