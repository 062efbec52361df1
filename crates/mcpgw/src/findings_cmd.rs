//! Printing a server's tool-scan report (`mcpgw server findings|approve|rescan`).

use serde_json::Value;

use crate::cli::Remote;

/// Prints `report` (the API's scan report) as JSON or as lines for people, after `verb`
/// and the path when `verb` is not empty.
pub fn print(remote: &Remote, report: &Value, verb: &str) -> anyhow::Result<()> {
    if remote.json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let path = text(&report["path"]);
    if !verb.is_empty() {
        println!("{verb} {path}");
    }
    if report["scan_enabled"] == Value::Bool(false) {
        println!("the tool scan is turned off on this gateway ([scan] enabled = false)");
    }
    match report["scanned_at"].as_str() {
        Some(at) => println!("scanned:  {at}"),
        None => println!("scanned:  never"),
    }
    if let Some(enabled) = report["enabled"].as_bool() {
        println!("enabled:  {enabled}");
    }
    if let Some(digest) = report["tools_digest"].as_str() {
        println!("tools digest: {digest}");
    }
    if let Some(reason) = report["blocked"].as_str() {
        println!("blocked:  {reason}");
    }
    if report["approval"].is_object() {
        let approval = &report["approval"];
        println!(
            "approved: by {} at {}{}",
            text(&approval["approved_by"]),
            text(&approval["approved_at"]),
            if approval["current"] == Value::Bool(true) {
                ""
            } else {
                " (the tools changed since)"
            }
        );
    }
    let findings = report["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if findings.is_empty() {
        println!("no findings");
        return Ok(());
    }
    println!("{} finding(s):", findings.len());
    for finding in findings {
        let tool = finding["tool"].as_str().unwrap_or("-");
        let field = finding["field"]
            .as_str()
            .map(|field| format!(" [{field}]"))
            .unwrap_or_default();
        println!(
            "  {:<6} {:<24} {tool}{field}: {}",
            text(&finding["severity"]),
            text(&finding["rule"]),
            text(&finding["message"])
        );
        if let Some(excerpt) = finding["excerpt"].as_str() {
            println!("         {excerpt}");
        }
    }
    Ok(())
}
