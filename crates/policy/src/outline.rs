//! The policy as people read it: groups and the scopes they map to, each scope's entries
//! and each scope's registry permissions, in file order. For the admin pages' read-only
//! view of `scopes.yml`; decisions never go through here.

use crate::policy::Policy;
use crate::ui::UiAction;

/// One `{server, methods, tools, deny}` entry, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryOutline {
    /// Its position in its scope, from 1 (as reasons name it).
    pub number: usize,
    /// The server pattern, or `(none)` for an entry that never matches.
    pub server: String,
    /// Allowed methods.
    pub methods: Vec<String>,
    /// Allowed tools, prompts and resources.
    pub tools: Vec<String>,
    /// Refused methods and names.
    pub deny: Vec<String>,
}

/// One scope: its MCP entries and its registry permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeOutline {
    /// The scope's name.
    pub name: String,
    /// Its entries on MCP routes.
    pub entries: Vec<EntryOutline>,
    /// Its `UI-Scopes` permissions: (permission, server patterns).
    pub permissions: Vec<(&'static str, Vec<String>)>,
}

/// The whole policy, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutline {
    /// Whether a scopes file is in force (else only admins may do anything).
    pub configured: bool,
    /// Groups and the scopes they map to.
    pub groups: Vec<(String, Vec<String>)>,
    /// Every scope named anywhere (entries first, then `UI-Scopes` only ones).
    pub scopes: Vec<ScopeOutline>,
}

impl Policy {
    /// The policy as people read it.
    pub fn outline(&self) -> PolicyOutline {
        let groups = self
            .group_order
            .iter()
            .map(|group| {
                let scopes = self.groups.get(group).cloned().unwrap_or_default();
                (group.clone(), scopes)
            })
            .collect();
        let mut names: Vec<&String> = self.scope_order.iter().collect();
        for name in &self.ui_order {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let text = |patterns: &[crate::Pattern]| patterns.iter().map(ToString::to_string).collect();
        let scopes = names
            .into_iter()
            .map(|name| ScopeOutline {
                name: name.clone(),
                entries: self
                    .scopes
                    .get(name)
                    .map(|entries| {
                        entries
                            .iter()
                            .map(|entry| EntryOutline {
                                number: entry.number,
                                server: entry
                                    .server
                                    .as_ref()
                                    .map_or_else(|| "(none)".to_owned(), ToString::to_string),
                                methods: text(&entry.methods),
                                tools: text(&entry.tools),
                                deny: text(&entry.deny),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                permissions: UiAction::ALL
                    .iter()
                    .filter_map(|action| {
                        let servers = self.ui.get(name)?.get(action)?;
                        Some((action.permission(), text(servers)))
                    })
                    .collect(),
            })
            .collect();
        PolicyOutline {
            configured: self.configured,
            groups,
            scopes,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::Policy;

    #[test]
    fn the_outline_follows_the_file() {
        let policy = Policy::parse(
            "group_mappings:\n  devs: [mcp-read, mcp-ops]\n\
             mcp-read:\n  - server: weather\n    methods: [tools/list, tools/call]\n    tools: [get_*]\n    deny: [delete_forecast]\n\
             UI-Scopes:\n  mcp-ops:\n    list_service: [all]\n    toggle_service: [weather]\n",
        )
        .unwrap();
        let outline = policy.outline();
        assert!(outline.configured);
        assert_eq!(
            outline.groups,
            vec![(
                "devs".to_owned(),
                vec!["mcp-read".to_owned(), "mcp-ops".to_owned()]
            )]
        );
        let names: Vec<&str> = outline.scopes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["mcp-read", "mcp-ops"]);
        let read = &outline.scopes[0];
        assert_eq!(read.entries[0].server, "weather");
        assert_eq!(read.entries[0].tools, ["get_*"]);
        assert_eq!(read.entries[0].deny, ["delete_forecast"]);
        let ops = &outline.scopes[1];
        assert_eq!(ops.permissions[0].0, "list_service");
        assert_eq!(
            ops.permissions[1],
            ("toggle_service", vec!["weather".to_owned()])
        );
        assert!(!Policy::admins_only().outline().configured);
    }
}
