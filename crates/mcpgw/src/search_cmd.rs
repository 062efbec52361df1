//! `mcpgw search`: asks `GET /api/search` and prints the best tools (or servers) with their
//! scores and why they were found (or the JSON with `--json`).

use reqwest::Method;
use serde_json::Value;

use crate::cli::SearchArgs;
use crate::client::ApiClient;
use crate::table::print_rows;

/// Runs one search as the caller whose token the CLI holds.
pub async fn run(args: SearchArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.remote)?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("q", &args.query);
    query.append_pair("k", &args.limit.to_string());
    query.append_pair("type", &args.kind);
    if let Some(tags) = &args.tags {
        query.append_pair("tags", tags);
    }
    let found = client
        .call(
            Method::GET,
            &format!("/api/search?{}", query.finish()),
            None,
        )
        .await?;
    if args.remote.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    let mode = found["search_mode"].as_str().unwrap_or("?");
    let cells = |value: &Value| match value {
        Value::String(text) => text.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    };
    let tools = found["tools"].as_array().cloned().unwrap_or_default();
    if !tools.is_empty() {
        let rows: Vec<Vec<String>> = tools
            .iter()
            .map(|tool| {
                [
                    "score",
                    "server_path",
                    "tool_name",
                    "matched",
                    "description",
                ]
                .iter()
                .map(|field| cells(&tool[*field]))
                .collect()
            })
            .collect();
        print_rows(
            &["SCORE", "SERVER", "TOOL", "MATCHED", "DESCRIPTION"],
            &rows,
        );
    }
    let servers = found["servers"].as_array().cloned().unwrap_or_default();
    if !servers.is_empty() {
        let rows: Vec<Vec<String>> = servers
            .iter()
            .map(|server| {
                ["score", "path", "matching_tools", "description"]
                    .iter()
                    .map(|field| cells(&server[*field]))
                    .collect()
            })
            .collect();
        print_rows(&["SCORE", "SERVER", "TOOLS", "DESCRIPTION"], &rows);
    }
    if tools.is_empty() && servers.is_empty() {
        println!("nothing found ({mode} search)");
    } else {
        println!("({mode} search)");
    }
    Ok(())
}
