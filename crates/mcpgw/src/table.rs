//! Human-readable output for the CLI: servers, and aligned tables of any rows.

use serde_json::Value;

/// A JSON value as a table cell: text as is, nothing for null, anything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `healthy`, `unhealthy: <reason>`, `auth-required`, `unknown`, as the gateway words it.
fn health_line(server: &Value) -> String {
    text(&server["health"]["summary"])
}

fn target(server: &Value) -> String {
    if let Some(url) = server["url"].as_str() {
        return url.to_owned();
    }
    let mut parts = vec![text(&server["command"])];
    if let Some(args) = server["args"].as_array() {
        parts.extend(args.iter().map(text));
    }
    parts.join(" ")
}

/// Prints servers as an aligned table.
pub fn print_server_table(servers: &[Value]) {
    if servers.is_empty() {
        println!("no servers registered (add one with `mcpgw server add`)");
        return;
    }
    let header = ["PATH", "TRANSPORT", "ENABLED", "TOOLS", "HEALTH", "TARGET"].map(str::to_owned);
    let rows: Vec<[String; 6]> = servers
        .iter()
        .map(|server| {
            [
                text(&server["path"]),
                text(&server["transport"]),
                if server["enabled"].as_bool() == Some(true) {
                    "yes"
                } else {
                    "no"
                }
                .to_owned(),
                text(&server["num_tools"]),
                health_line(server),
                target(server),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|cell| cell.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

/// Prints one server as `key: value` lines followed by its tools.
/// The tool scan's summary (`mcpgw server findings` has the details).
fn scan_line(scan: &Value) -> String {
    if let Some(reason) = scan["blocked"].as_str() {
        return reason.to_owned();
    }
    match (scan["findings"].as_u64(), scan["worst"].as_str()) {
        (Some(count), Some(worst)) if count > 0 => format!(
            "{count} finding(s), worst {worst}{}",
            if scan["approved"] == Value::Bool(true) {
                " (approved)"
            } else {
                ""
            }
        ),
        (Some(_), _) => "no findings".to_owned(),
        _ => String::new(),
    }
}

pub fn print_server_details(server: &Value) {
    let health = &server["health"];
    let mut health_text = health_line(server);
    if let (Some(era), Some(version)) =
        (health["era"].as_str(), health["protocol_version"].as_str())
    {
        health_text.push_str(&format!(" ({era}, {version})"));
    }
    if let Some(checked) = health["last_checked"].as_str() {
        health_text.push_str(&format!(", checked {checked}"));
    }
    let tags: Vec<String> = server["tags"]
        .as_array()
        .map(|tags| tags.iter().map(text).collect())
        .unwrap_or_default();
    let lines = [
        ("path", text(&server["path"])),
        ("name", text(&server["name"])),
        ("description", text(&server["description"])),
        ("transport", text(&server["transport"])),
        ("target", target(server)),
        (
            "enabled",
            if server["enabled"].as_bool() == Some(true) {
                "yes"
            } else {
                "no"
            }
            .to_owned(),
        ),
        (
            "eager",
            if server["eager"].as_bool() == Some(true) {
                "yes".to_owned()
            } else {
                String::new()
            },
        ),
        ("health", health_text),
        ("scan", scan_line(&server["scan"])),
        ("tags", tags.join(", ")),
        ("license", text(&server["license"])),
        ("version", text(&server["version"])),
    ];
    for (key, value) in lines {
        if !value.is_empty() {
            println!("{:<12} {value}", format!("{key}:"));
        }
    }
    let tools = server["tools"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    println!("tools ({}):", tools.len());
    for tool in tools {
        let description = text(&tool["description"]);
        let first_line = description.lines().next().unwrap_or_default();
        println!("  {:<32} {first_line}", text(&tool["name"]));
    }
}

/// Prints `rows` under `header` as left-aligned columns two spaces apart.
pub fn print_rows(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|cell| (*cell).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}
