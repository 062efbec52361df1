//! Rug pulls: a server approved by an admin that later changes what its tools say. The
//! approval keeps a digest of every part of every tool a model reads (title, description,
//! schemas, annotations); a tool added since, or a part whose digest changed, is high.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Finding, Severity};
use crate::model::Tool;

/// The digests of one tool's parts, by part (`title`, `description`, `inputSchema`,
/// `outputSchema`, `annotations`); absent parts are absent.
pub type ToolDigest = BTreeMap<String, String>;

/// An admin's approval of a server's tools as they were.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// The server.
    pub path: String,
    /// Who approved (the admin's subject).
    pub approved_by: String,
    /// When.
    pub approved_at: DateTime<Utc>,
    /// The approved tools' digests, by tool name.
    pub digests: BTreeMap<String, ToolDigest>,
}

impl Approval {
    /// Whether `tools` are what was approved: no tool added, no part changed (tools
    /// removed since do not matter).
    pub fn covers(&self, tools: &[Tool]) -> bool {
        scan(tools, Some(self))
            .iter()
            .all(|finding| finding.severity < Severity::High)
    }
}

/// A digest of `value` that does not depend on the order of its object keys (the same
/// canonical form as published metadata's).
fn digest_of(value: &Value) -> String {
    crate::versions::digest(value)
}

/// The digests of one tool's parts.
pub(crate) fn tool_digest(tool: &Tool) -> ToolDigest {
    let mut parts = BTreeMap::new();
    let text = |text: &Option<String>| text.as_ref().map(|text| Value::String(text.clone()));
    for (part, value) in [
        ("title", text(&tool.title)),
        ("description", text(&tool.description)),
        ("inputSchema", Some(tool.input_schema.clone())),
        ("outputSchema", tool.output_schema.clone()),
        ("annotations", tool.annotations.clone()),
    ] {
        if let Some(value) = value {
            parts.insert(part.to_owned(), digest_of(&value));
        }
    }
    parts
}

/// The digests of every tool, by name.
pub fn tool_digests(tools: &[Tool]) -> BTreeMap<String, ToolDigest> {
    tools
        .iter()
        .map(|tool| (tool.name.clone(), tool_digest(tool)))
        .collect()
}

/// One digest of a whole tool list (names and every part), to tell whether a list was
/// already scanned.
pub fn tools_digest(tools: &[Tool]) -> String {
    let all = tool_digests(tools);
    let value = serde_json::to_value(&all).unwrap_or(Value::Null);
    digest_of(&value)
}

/// The rug-pull findings of `tools` against `approval` (none without one).
pub(crate) fn scan(tools: &[Tool], approval: Option<&Approval>) -> Vec<Finding> {
    let Some(approval) = approval else {
        return Vec::new();
    };
    let since = format!(
        "since {} approved the server at {}",
        approval.approved_by,
        approval.approved_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let mut findings = Vec::new();
    for tool in tools {
        let Some(approved) = approval.digests.get(&tool.name) else {
            findings.push(Finding::new(
                "rug-pull",
                Severity::High,
                &tool.name,
                "name",
                None,
                format!("tool added {since}"),
            ));
            continue;
        };
        let now = tool_digest(tool);
        let mut changed: Vec<&str> = now
            .keys()
            .chain(approved.keys())
            .filter(|part| now.get(*part) != approved.get(*part))
            .map(String::as_str)
            .collect();
        changed.sort_unstable();
        changed.dedup();
        if let Some(first) = changed.first() {
            findings.push(Finding::new(
                "rug-pull",
                Severity::High,
                &tool.name,
                first,
                None,
                format!("{} changed {since}", changed.join(", ")),
            ));
        }
    }
    for name in approval.digests.keys() {
        if !tools.iter().any(|tool| &tool.name == name) {
            findings.push(Finding::new(
                "tool-removed",
                Severity::Low,
                name,
                "name",
                None,
                format!("tool removed {since}"),
            ));
        }
    }
    findings
}

#[cfg(test)]
#[path = "rug_pull_tests.rs"]
mod tests;
