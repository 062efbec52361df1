//! `mcpgw policy lint`: what in a scopes file cannot work as its author meant.

use std::collections::HashSet;
use std::fmt;

use crate::pattern::Pattern;
use crate::policy::{Entry, Policy};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; may be intended.
    Info,
    /// Almost certainly a mistake: something that can never match or grant.
    Warning,
}

/// One thing `lint` noticed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// What, in words that name the place in the file.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}", self.message)
    }
}

impl Policy {
    /// Finds unreachable entries, groups mapped to nothing, scopes nobody holds and, when
    /// the registered servers are known, entries for servers that do not exist.
    pub fn lint(&self, known_servers: Option<&[String]>) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut note = |severity, message: String| findings.push(Finding { severity, message });
        for group in &self.group_order {
            let scopes = self
                .groups
                .get(group)
                .map(Vec::as_slice)
                .unwrap_or_default();
            if scopes.is_empty() {
                note(
                    Severity::Warning,
                    format!("group '{group}' is mapped to no scope"),
                );
            }
            for scope in scopes {
                if !self.scopes.contains_key(scope) && !self.ui.contains_key(scope) {
                    note(
                        Severity::Warning,
                        format!(
                            "group '{group}' maps to '{scope}', which this file does not define \
                             (neither a scope nor a UI-Scopes role)"
                        ),
                    );
                }
            }
        }
        // A set, not a search of every mapping for every scope: that was quadratic, ten
        // seconds at start for a 1.2 MB file.
        let mapped: HashSet<&str> = self.groups.values().flatten().map(String::as_str).collect();
        for scope in self.scope_order.iter().chain(&self.ui_order) {
            if !mapped.contains(scope.as_str()) {
                note(
                    Severity::Info,
                    format!(
                        "scope '{scope}' is in no group mapping: only credentials whose scope \
                         claim names it hold it"
                    ),
                );
            }
        }
        // A role with registry permissions but no entries of its own: its holders see only
        // the servers another of their scopes has an entry for (listing needs an entry),
        // which surprises people who write UI-only roles.
        for scope in &self.ui_order {
            if !self.scopes.contains_key(scope) {
                note(
                    Severity::Info,
                    format!(
                        "UI-Scopes '{scope}' has no server entries of its own: its holders see                          only servers another of their scopes has an entry for"
                    ),
                );
            }
        }
        for (scope, permission) in &self.unknown_permissions {
            note(
                Severity::Info,
                format!("UI-Scopes '{scope}' has '{permission}', which the gateway ignores"),
            );
        }
        for scope in &self.scope_order {
            let entries = self
                .scopes
                .get(scope)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for (index, entry) in entries.iter().enumerate() {
                lint_entry(entry, known_servers, &mut note);
                if let Some(earlier) = entries[..index].iter().find(|e| shadows(e, entry)) {
                    note(
                        Severity::Warning,
                        format!(
                            "scope '{scope}' entry {} is unreachable: entry {} before it already \
                             allows every method and tool on its server",
                            entry.number, earlier.number
                        ),
                    );
                }
            }
        }
        if let Some(known) = known_servers {
            for scope in &self.ui_order {
                for patterns in self.ui.get(scope).into_iter().flat_map(|ui| ui.values()) {
                    for pattern in patterns {
                        if !known.iter().any(|server| pattern.matches(server)) {
                            note(
                                Severity::Info,
                                format!(
                                    "UI-Scopes '{scope}' names '{pattern}', which is no \
                                     registered server's path (it may be a display name)"
                                ),
                            );
                        }
                    }
                }
            }
        }
        findings
    }
}

fn lint_entry(entry: &Entry, known: Option<&[String]>, note: &mut impl FnMut(Severity, String)) {
    let place = format!("scope '{}' entry {}", entry.scope, entry.number);
    if !entry.unknown_keys.is_empty() {
        note(
            Severity::Info,
            format!(
                "{place} has keys the gateway ignores: {}",
                entry.unknown_keys.join(", ")
            ),
        );
    }
    let Some(server) = &entry.server else {
        note(
            Severity::Warning,
            format!("{place} has no server: it never applies"),
        );
        return;
    };
    if entry.methods.is_empty() && entry.tools.is_empty() && entry.deny.is_empty() {
        note(
            Severity::Warning,
            format!("{place} ('{server}') grants nothing"),
        );
    }
    if entry.deny.contains(&Pattern::Any) && !(entry.methods.is_empty() && entry.tools.is_empty()) {
        note(
            Severity::Warning,
            format!("{place} ('{server}') denies '*': its methods and tools can never be used"),
        );
    }
    if entry.tools.is_empty()
        && entry
            .methods
            .iter()
            .any(|p| p.as_exact() == Some("tools/call"))
    {
        note(
            Severity::Warning,
            format!(
                "{place} ('{server}') lists tools/call but no tools: a call is allowed only \
                 for the tools an entry names"
            ),
        );
    }
    for method in ["prompts/get", "resources/read"] {
        let listed = entry.methods.iter().any(|p| p.matches(method));
        if listed && entry.tools.is_empty() {
            note(
                Severity::Warning,
                format!(
                    "{place} ('{server}') lists {method} but no tools: {method} also needs \
                     the name or URI under tools"
                ),
            );
        }
    }
    if let Some(known) = known
        && !known.iter().any(|name| server.matches(name))
    {
        note(
            Severity::Warning,
            format!("{place} is about '{server}', which matches no registered server"),
        );
    }
}

/// Whether `earlier` makes `later` (of the same scope) change no decision: it covers
/// `later`'s server and allows every method and tool, and `later` denies nothing (a deny
/// applies whichever entry allows, so an entry with one always matters).
fn shadows(earlier: &Entry, later: &Entry) -> bool {
    let covers_server = match (&earlier.server, &later.server) {
        (Some(Pattern::Any), Some(_)) => true,
        (Some(a), Some(b)) => a.as_exact().is_some() && a.as_exact() == b.as_exact(),
        _ => false,
    };
    covers_server
        && later.deny.is_empty()
        && earlier.methods.contains(&Pattern::Any)
        && earlier.tools.contains(&Pattern::Any)
}

#[cfg(test)]
#[path = "lint_tests.rs"]
mod tests;
