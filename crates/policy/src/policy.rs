//! The compiled policy: scopes with their entries, group mappings, registry permissions.

use std::collections::{HashMap, HashSet};

use crate::error::PolicyError;
use crate::file::{RawEntry, ScopesFile};
use crate::pattern::Pattern;
use crate::ui::UiAction;

/// Largest policy file accepted: far above any real one, small enough that a mistaken
/// path (a log file, a disk image) is refused instead of parsed.
pub const MAX_POLICY_BYTES: usize = 16 * 1024 * 1024;

/// One `{server, methods, tools, deny}` entry, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Its scope.
    pub scope: String,
    /// Its position in the scope, from 1, for reasons people can find in the file.
    pub number: usize,
    /// The server it is about; an entry without one never matches (as in Python).
    pub server: Option<Pattern>,
    /// Methods it allows.
    pub methods: Vec<Pattern>,
    /// Tools, prompts and resource URIs it allows.
    pub tools: Vec<Pattern>,
    /// Methods and names it refuses, whatever else allows them.
    pub deny: Vec<Pattern>,
    /// Keys of the entry that mean nothing to the gateway (for `policy lint`).
    pub unknown_keys: Vec<String>,
}

impl Entry {
    /// Whether this entry is about `server` (already without surrounding slashes).
    pub fn covers(&self, server: &str) -> bool {
        self.server.as_ref().is_some_and(|p| p.matches(server))
    }
}

/// The access policy. Cheap to share behind an `Arc`; never changed once built.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// False for the built-in "no scopes file" policy: only admins may do anything.
    pub(crate) configured: bool,
    /// group → scopes, in file order.
    pub(crate) groups: HashMap<String, Vec<String>>,
    /// Groups in file order, for lint.
    pub(crate) group_order: Vec<String>,
    /// scope → its entries.
    pub(crate) scopes: HashMap<String, Vec<Entry>>,
    /// Scopes in file order, for lint.
    pub(crate) scope_order: Vec<String>,
    /// scope → registry action → server names.
    pub(crate) ui: HashMap<String, HashMap<UiAction, Vec<Pattern>>>,
    /// UI scopes in file order, for lint.
    pub(crate) ui_order: Vec<String>,
    /// `(scope, permission)` pairs under `UI-Scopes` the gateway does not know.
    pub(crate) unknown_permissions: Vec<(String, String)>,
}

/// Who is asking, as authentication established it.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// Admins may do everything, whatever the file says.
    pub admin: bool,
    /// The groups of the credential (IdP groups, a local user's groups).
    pub groups: &'a [String],
    /// The credential's `scope` claim, split on whitespace.
    pub scope_claim: &'a [String],
}

/// A caller's scopes, resolved once per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    /// An admin: every decision allows.
    pub admin: bool,
    /// Scope names in the order they are tried.
    pub names: Vec<String>,
}

impl Policy {
    /// The policy without a scopes file: only admins may do anything.
    pub fn admins_only() -> Policy {
        Policy::default()
    }

    /// Whether a scopes file is in force.
    pub fn is_configured(&self) -> bool {
        self.configured
    }

    /// Reads a `scopes.yml`. An error names the line and column and what is wrong.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::Invalid(format!(
                "the file is {} bytes; a scopes file may have at most {MAX_POLICY_BYTES}",
                text.len()
            )));
        }
        let file: ScopesFile = serde_saphyr::from_str(text).map_err(syntax_error)?;
        Ok(Policy::compile(file))
    }

    fn compile(file: ScopesFile) -> Policy {
        let mut policy = Policy {
            configured: true,
            ..Policy::default()
        };
        for (group, scopes) in file.group_mappings {
            policy.group_order.push(group.clone());
            policy.groups.insert(group, scopes.unwrap_or_default());
        }
        for (scope, permissions) in file.ui_scopes {
            let mut actions: HashMap<UiAction, Vec<Pattern>> = HashMap::new();
            for (permission, names) in permissions {
                match UiAction::from_permission(&permission) {
                    Some(action) => actions
                        .entry(action)
                        .or_default()
                        .extend(names.unwrap_or_default().iter().map(|n| Pattern::server(n))),
                    None => policy.unknown_permissions.push((scope.clone(), permission)),
                }
            }
            if !policy.ui.contains_key(&scope) {
                policy.ui_order.push(scope.clone());
            }
            policy.ui.entry(scope).or_default().extend(actions);
        }
        for (scope, entries) in file.scopes {
            let compiled: Vec<Entry> = entries
                .into_iter()
                .enumerate()
                .map(|(index, raw)| compile_entry(&scope, index + 1, raw))
                .collect();
            if !policy.scopes.contains_key(&scope) {
                policy.scope_order.push(scope.clone());
            }
            policy.scopes.entry(scope).or_default().extend(compiled);
        }
        policy
    }

    /// The scopes a caller holds. As in the Python gateway, a credential with groups gets
    /// the scopes its groups map to (in group order, without repeats; unknown groups add
    /// nothing) and its `scope` claim is not used; a credential without groups gets its
    /// `scope` claim.
    pub fn scopes_of(&self, caller: &Caller<'_>) -> Scopes {
        let names = if caller.groups.is_empty() {
            unique(caller.scope_claim.iter())
        } else {
            unique(
                caller
                    .groups
                    .iter()
                    .flat_map(|group| self.groups.get(group).into_iter().flatten()),
            )
        };
        Scopes {
            admin: caller.admin,
            names,
        }
    }

    /// The entries of the caller's scopes that are about `server`, in the order tried.
    pub(crate) fn entries_for<'p>(
        &'p self,
        scopes: &'p Scopes,
        server: &'p str,
    ) -> impl Iterator<Item = &'p Entry> + 'p {
        scopes
            .names
            .iter()
            .filter_map(|name| self.scopes.get(name))
            .flatten()
            .filter(move |entry| entry.covers(server))
    }
}

/// `scopes` in order without repeats. Repeats are found with a set: a group may map to
/// many thousands of scopes, and comparing each with all before it once took a minute on
/// every request of the group's members (found with the fuzz target).
fn unique<'s>(scopes: impl Iterator<Item = &'s String>) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    scopes
        .filter(|scope| seen.insert(scope.as_str()))
        .cloned()
        .collect()
}

fn compile_entry(scope: &str, number: usize, raw: RawEntry) -> Entry {
    let patterns = |names: Option<Vec<String>>| {
        names
            .unwrap_or_default()
            .iter()
            .map(|name| Pattern::new(name))
            .collect()
    };
    Entry {
        scope: scope.to_owned(),
        number,
        server: raw.server.as_deref().map(Pattern::server),
        methods: patterns(raw.methods),
        tools: patterns(raw.tools),
        deny: patterns(raw.deny),
        unknown_keys: raw.unknown.into_keys().collect(),
    }
}

/// The parser's error as line, column and its message without the source excerpt.
fn syntax_error(error: serde_saphyr::Error) -> PolicyError {
    let text = error.to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // The message repeats the place ("line 3 column 12: …"); keep only what is wrong.
    let message = match first.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") => rest,
        _ => first,
    };
    match error.location() {
        Some(location) => PolicyError::Syntax {
            line: location.line() as usize,
            column: location.column() as usize,
            message: message.to_owned(),
        },
        None => PolicyError::Invalid(message.to_owned()),
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
