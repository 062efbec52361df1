//! `mcpgw stats`: asks `GET /api/metrics/summary` and prints usage per server, then per
//! tool (or the JSON with `--json`).

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::Value;

use crate::cli::StatsArgs;
use crate::client::ApiClient;
use crate::table::print_rows;

/// `90m`, `24h`, `7d`, or an RFC 3339 time, as an RFC 3339 time.
fn since(text: &str) -> anyhow::Result<String> {
    if chrono::DateTime::parse_from_rfc3339(text).is_ok() {
        return Ok(text.to_owned());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let count: i64 = number
        .parse()
        .with_context(|| format!("--since {text}: give a time (RFC 3339) or 90m, 24h, 7d"))?;
    let ago = match unit {
        "m" => Duration::minutes(count),
        "h" => Duration::hours(count),
        "d" => Duration::days(count),
        _ => bail!("--since {text}: the unit is m, h or d"),
    };
    Ok((Utc::now() - ago).to_rfc3339())
}

/// Prints the summary.
pub async fn run(args: StatsArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.remote)?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("since", &since(&args.since)?);
    if let Some(server) = &args.server {
        query.append_pair("server", server);
    }
    let summary = client
        .call(
            Method::GET,
            &format!("/api/metrics/summary?{}", query.finish()),
            None,
        )
        .await?;
    if args.remote.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "from {} to {}",
        summary["since"].as_str().unwrap_or("?"),
        summary["until"].as_str().unwrap_or("?")
    );
    for (kind, header) in [("servers", "server"), ("tools", "tool")] {
        let rows: Vec<Vec<String>> = summary[kind]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|line| row(line, kind == "tools"))
            .collect();
        if rows.is_empty() {
            println!("no calls in this window");
            return Ok(());
        }
        let mut columns = vec![header];
        if kind == "tools" {
            columns = vec!["server", "tool"];
        }
        columns.extend(["calls", "errors %", "p50 ms", "p95 ms", "clients"]);
        print_rows(&columns, &rows);
        println!();
    }
    Ok(())
}

/// One summary line as table cells.
fn row(line: &Value, with_tool: bool) -> Vec<String> {
    let number = |field: &str| line[field].as_f64().unwrap_or(0.0);
    let mut cells = vec![line["server"].as_str().unwrap_or("?").to_owned()];
    if with_tool {
        cells.push(line["tool"].as_str().unwrap_or("?").to_owned());
    }
    cells.extend([
        format!("{}", number("calls")),
        format!("{:.1}", number("error_rate") * 100.0),
        format!("{:.1}", number("p50_ms")),
        format!("{:.1}", number("p95_ms")),
        format!("{}", number("unique_clients")),
    ]);
    cells
}
