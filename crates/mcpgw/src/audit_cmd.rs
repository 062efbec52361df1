//! `mcpgw audit`: reads `GET /api/audit`, following its cursor until `--limit` records,
//! and prints them as a table (or JSON with `--json`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::AuditArgs;
use crate::client::ApiClient;
use crate::table::print_rows;

/// Most records the API returns per page.
const PAGE_MAX: u32 = 1000;

/// Fetches and prints the matching records, newest first.
pub async fn run(args: AuditArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.remote)?;
    let filters: Vec<(&str, &str)> = [
        ("source", &args.source),
        ("principal", &args.principal),
        ("server", &args.server),
        ("method", &args.method),
        ("tool", &args.tool),
        ("decision", &args.decision),
        ("since", &args.since),
        ("until", &args.until),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name, value.as_deref()?)))
    .collect();
    let mut records: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    while records.len() < args.limit as usize {
        let wanted = (args.limit as usize - records.len()).min(PAGE_MAX as usize);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&filters);
        query.append_pair("limit", &wanted.to_string());
        if let Some(cursor) = &cursor {
            query.append_pair("cursor", cursor);
        }
        let page = client
            .call(Method::GET, &format!("/api/audit?{}", query.finish()), None)
            .await?;
        records.extend(page["records"].as_array().into_iter().flatten().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    if args.remote.json {
        let listing = json!({ "count": records.len(), "records": records });
        println!("{}", serde_json::to_string_pretty(&listing)?);
        return Ok(());
    }
    if records.is_empty() {
        println!("no audit records match");
        return Ok(());
    }
    let header = [
        "TIME",
        "PRINCIPAL",
        "SERVER",
        "METHOD",
        "TOOL",
        "DECISION",
        "ID",
        "REASON",
    ];
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|record| {
            [
                "time",
                "principal",
                "server",
                "method",
                "tool",
                "decision",
                "request_id",
                "reason",
            ]
            .iter()
            .map(|field| text(&record[*field]))
            .collect()
        })
        .collect();
    print_rows(&header, &rows);
    Ok(())
}

/// A field as a table cell (`-` for none).
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}
