//! `mcpgw server add|list|show|update|enable|disable|refresh|remove|findings|approve|rescan`.

use anyhow::bail;
use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::cli::{Remote, ServerCommand, ServerFields};
use crate::client::ApiClient;
use crate::table::{print_server_details, print_server_table};

/// Runs one `server` subcommand and prints its result.
pub async fn run(command: ServerCommand) -> anyhow::Result<()> {
    match command {
        ServerCommand::Add {
            remote,
            fields,
            path,
            args,
        } => {
            let mut body = fields_json(fields, args)?;
            body.insert("path".into(), json!(path));
            let server = call(
                &remote,
                Method::POST,
                "/api/servers",
                Some(&Value::Object(body)),
            )
            .await?;
            show_one(&remote, &server, "registered")
        }
        ServerCommand::List { remote } => {
            let listing = call(&remote, Method::GET, "/api/servers", None).await?;
            if remote.json {
                return print_json(&listing);
            }
            print_server_table(
                listing["servers"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            );
            Ok(())
        }
        ServerCommand::Show { remote, path } => {
            let server = call(&remote, Method::GET, &server_url(&path), None).await?;
            show_one(&remote, &server, "")
        }
        ServerCommand::Update {
            remote,
            fields,
            path,
            args,
        } => {
            let body = fields_json(fields, args)?;
            if body.is_empty() {
                bail!(
                    "nothing to update: give at least one field (see `mcpgw server update --help`)"
                );
            }
            let url = server_url(&path);
            let server = call(&remote, Method::PATCH, &url, Some(&Value::Object(body))).await?;
            show_one(&remote, &server, "updated")
        }
        ServerCommand::Enable { remote, path } => toggle(&remote, &path, true).await,
        ServerCommand::Disable { remote, path } => toggle(&remote, &path, false).await,
        ServerCommand::Refresh { remote, path } => {
            let url = format!("{}/refresh", server_url(&path));
            let server = call(&remote, Method::POST, &url, None).await?;
            show_one(&remote, &server, "refreshed")
        }
        ServerCommand::Findings { remote, path } => {
            let report = call(&remote, Method::GET, &scan_url(&path, "findings"), None).await?;
            crate::findings_cmd::print(&remote, &report, "")
        }
        ServerCommand::Approve {
            remote,
            path,
            tools_digest,
        } => {
            let url = scan_url(&path, "approve");
            let body = tools_digest.map(|digest| json!({ "tools_digest": digest }));
            let report = call(&remote, Method::POST, &url, body.as_ref()).await?;
            crate::findings_cmd::print(&remote, &report, "approved")
        }
        ServerCommand::Rescan { remote, path } => {
            let url = scan_url(&path, "rescan");
            let report = call(&remote, Method::POST, &url, None).await?;
            crate::findings_cmd::print(&remote, &report, "rescanned")
        }
        ServerCommand::Remove { remote, path } => {
            call(&remote, Method::DELETE, &server_url(&path), None).await?;
            if remote.json {
                return print_json(&json!({ "removed": path }));
            }
            println!("removed {path}");
            Ok(())
        }
    }
}

async fn call(
    remote: &Remote,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    ApiClient::new(remote)?.call(method, path, body).await
}

async fn toggle(remote: &Remote, path: &str, enabled: bool) -> anyhow::Result<()> {
    let url = format!("{}/toggle", server_url(path));
    let server = call(
        remote,
        Method::POST,
        &url,
        Some(&json!({ "enabled": enabled })),
    )
    .await?;
    show_one(
        remote,
        &server,
        if enabled { "enabled" } else { "disabled" },
    )
}

/// The API path of a server, its name percent-encoded so that `../health` or `a/b` stay
/// one segment and name no other route.
fn server_url(path: &str) -> String {
    let segment: String =
        url::form_urlencoded::byte_serialize(path.trim_matches('/').as_bytes()).collect();
    format!("/api/servers/{}", segment.replace('+', "%20"))
}

/// The API path of one of a server's scan routes (`findings`, `approve`, `rescan`).
fn scan_url(path: &str, route: &str) -> String {
    format!("{}/{route}", server_url(path))
}

fn show_one(remote: &Remote, server: &Value, verb: &str) -> anyhow::Result<()> {
    if remote.json {
        return print_json(server);
    }
    if !verb.is_empty() {
        println!("{verb} {}", server["path"].as_str().unwrap_or_default());
    }
    print_server_details(server);
    Ok(())
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The JSON fields the user gave on the command line (absent flags are left out, so an
/// update changes only what was asked).
fn fields_json(fields: ServerFields, args: Vec<String>) -> anyhow::Result<Map<String, Value>> {
    let mut body = Map::new();
    let mut put = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            body.insert(key.into(), json!(value));
        }
    };
    put("name", fields.name);
    put("description", fields.description);
    put("transport", fields.transport);
    put("url", fields.upstream);
    put("command", fields.command);
    put("license", fields.license);
    put("version", fields.version);
    if !args.is_empty() {
        body.insert("args".into(), json!(args));
    }
    if !fields.env.is_empty() {
        body.insert("env".into(), pairs("--env", &fields.env)?);
    }
    if !fields.headers.is_empty() {
        body.insert("headers".into(), pairs("--header", &fields.headers)?);
    }
    if !fields.tags.is_empty() {
        body.insert("tags".into(), json!(fields.tags));
    }
    if fields.disabled {
        body.insert("enabled".into(), json!(false));
    }
    if let Some(eager) = fields.eager {
        body.insert("eager".into(), json!(eager));
    }
    Ok(body)
}

fn pairs(flag: &str, items: &[String]) -> anyhow::Result<Value> {
    let mut map = Map::new();
    for item in items {
        let Some((key, value)) = item.split_once('=') else {
            bail!("{flag} expects KEY=VALUE, got '{item}'");
        };
        map.insert(key.trim().to_owned(), json!(value));
    }
    Ok(Value::Object(map))
}
