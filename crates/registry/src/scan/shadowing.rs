//! Shadowing: a tool that poses as another server's tool (the same name, or one that
//! only looks the same), or whose description tells the model how to use another
//! server's tool ("when using send_email, always BCC …"), so that one server's text
//! steers what the model does with another's tools.
//!
//! Equal names across servers are common (two instances of one server, generic names like
//! `search`), so they are medium; a name equal only after folding look-alike letters of
//! other scripts is an impersonation, and high. Descriptions are read for the names of
//! other servers' tools that the server does not itself have, and only distinctive names
//! (`send_email`, `get-env`, `readFile`), so that everyday words do not count.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::fields::{Kind, text_fields};
use super::normalize::{excerpt, fold, skeleton};
use super::{Finding, Severity};
use crate::model::{Server, Tool};

/// Words that turn a mention of another tool into an instruction about it.
static STEERING: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:when|whenever|before|after|instead|rather|always|never|must|do not|don't|only|ignore)\b",
    )
    .ok()
});

/// Most servers a finding names.
const MAX_NAMED: usize = 3;

/// The shadowing findings of `tools` (of the server at `path`) against `others`.
pub(crate) fn scan(path: &str, tools: &[Tool], others: &[Server]) -> Vec<Finding> {
    let others: Vec<&Server> = others.iter().filter(|other| other.path != path).collect();
    let own: BTreeSet<String> = tools.iter().map(|tool| skeleton(&tool.name)).collect();
    let mut findings = Vec::new();
    for tool in tools {
        findings.extend(name_finding(tool, &others));
        findings.extend(mention_findings(tool, &own, &others));
    }
    findings
}

/// A finding if `tool`'s name equals (or looks like) a tool name of another server.
fn name_finding(tool: &Tool, others: &[&Server]) -> Option<Finding> {
    let mine = skeleton(&tool.name);
    let mut same = Vec::new();
    let mut lookalike = None;
    for server in others {
        for theirs in &server.tools {
            if skeleton(&theirs.name) != mine {
                continue;
            }
            let disguised =
                theirs.name != tool.name && (!tool.name.is_ascii() || !theirs.name.is_ascii());
            if disguised && lookalike.is_none() {
                lookalike = Some((server.path.as_str(), theirs.name.as_str()));
            }
            if !same.contains(&server.path.as_str()) {
                same.push(server.path.as_str());
            }
        }
    }
    if let Some((server, theirs)) = lookalike {
        return Some(Finding::new(
            "lookalike-name",
            Severity::High,
            &tool.name,
            "name",
            Some(excerpt(&tool.name, 0..tool.name.len())),
            format!(
                "the name looks like tool '{theirs}' of server '{server}' but is spelled with other characters"
            ),
        ));
    }
    if same.is_empty() {
        return None;
    }
    let named: Vec<&str> = same.iter().take(MAX_NAMED).copied().collect();
    let more = same.len().saturating_sub(MAX_NAMED);
    Some(Finding::new(
        "shadowed-name",
        Severity::Medium,
        &tool.name,
        "name",
        None,
        format!(
            "another server has a tool of this name: {}{}",
            named.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ),
    ))
}

/// Whether a tool name is distinctive enough that its mention in prose means the tool:
/// it has a separator or an inner capital, and five characters or more.
fn distinctive(name: &str) -> bool {
    let inner_capital = name.chars().skip(1).any(char::is_uppercase);
    name.chars().count() >= 5 && (name.contains(['_', '-', '.']) || inner_capital)
}

/// Findings for the prose of `tool` that names other servers' tools (not its own).
fn mention_findings(tool: &Tool, own: &BTreeSet<String>, others: &[&Server]) -> Vec<Finding> {
    let names: Vec<(&str, &str, String)> = others
        .iter()
        .flat_map(|server| {
            server
                .tools
                .iter()
                .map(move |theirs| (server.path.as_str(), theirs.name.as_str()))
        })
        .filter(|(_, name)| distinctive(name) && !own.contains(&skeleton(name)))
        .map(|(server, name)| (server, name, fold(name)))
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    let mut findings = Vec::new();
    for field in text_fields(tool) {
        if field.kind != Kind::Prose {
            continue;
        }
        let text = fold(field.text);
        let Some((server, name, at)) = names
            .iter()
            .find_map(|(server, name, folded)| Some((server, name, mention(&text, folded)?)))
        else {
            continue;
        };
        let steering = STEERING.as_ref().is_some_and(|regex| regex.is_match(&text));
        let (rule, severity, message) = if steering {
            (
                "cross-tool-instruction",
                Severity::High,
                format!("instructs the model how to use tool '{name}' of server '{server}'"),
            )
        } else {
            (
                "mentions-other-tool",
                Severity::Medium,
                format!("mentions tool '{name}' of server '{server}'"),
            )
        };
        findings.push(Finding::new(
            rule,
            severity,
            &tool.name,
            &field.path,
            Some(excerpt(&text, at..at + name.len())),
            message,
        ));
    }
    findings
}

/// Where `name` occurs in `text` as a whole word (not inside a longer name).
fn mention(text: &str, name: &str) -> Option<usize> {
    let part_of_name = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-');
    text.match_indices(name).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        !before.is_some_and(part_of_name) && !after.is_some_and(part_of_name)
    })
}

#[cfg(test)]
#[path = "shadowing_tests.rs"]
mod tests;
