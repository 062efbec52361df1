//! Registry actions under `UI-Scopes`: who may list, register, check, toggle and modify
//! which servers.

use crate::pattern::{Pattern, trim_slashes};
use crate::policy::{Policy, Scopes};
use crate::reason::{Decision, Grant, Reason};

/// A registry action, named after its `UI-Scopes` permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UiAction {
    /// `list_service`: see a server anywhere (lists, details, tools, search).
    List,
    /// `register_service`: register new servers.
    Register,
    /// `health_check_service`: run a health check, refresh the tool list.
    HealthCheck,
    /// `toggle_service`: enable or disable a server.
    Toggle,
    /// `modify_service`: edit or delete a server.
    Modify,
}

impl UiAction {
    /// Every action, in the order of the file format's documentation.
    pub const ALL: [UiAction; 5] = [
        UiAction::List,
        UiAction::Register,
        UiAction::HealthCheck,
        UiAction::Toggle,
        UiAction::Modify,
    ];

    /// Its permission name in `UI-Scopes`.
    pub fn permission(self) -> &'static str {
        match self {
            UiAction::List => "list_service",
            UiAction::Register => "register_service",
            UiAction::HealthCheck => "health_check_service",
            UiAction::Toggle => "toggle_service",
            UiAction::Modify => "modify_service",
        }
    }

    /// The action a permission name stands for.
    pub fn from_permission(name: &str) -> Option<UiAction> {
        UiAction::ALL
            .into_iter()
            .find(|action| action.permission() == name)
    }
}

/// A registered server as the registry permissions name it: by path or by display name
/// (the Python registry used display names; paths are what people see in URLs).
#[derive(Debug, Clone, Copy)]
pub struct ServerRef<'a> {
    /// Its path (surrounding slashes are ignored).
    pub path: &'a str,
    /// Its display name.
    pub name: &'a str,
}

impl Policy {
    /// Decides on a registry action, about one server or (registering, listing in
    /// general) about none.
    ///
    /// As in the Python registry: a permission listing `all` covers every server;
    /// registering needs any `register_service` permission; for a non-admin, an action on
    /// a server also needs an entry for that server in one of their scopes.
    pub fn decide_ui(
        &self,
        scopes: &Scopes,
        action: UiAction,
        server: Option<ServerRef<'_>>,
    ) -> Decision {
        if scopes.admin {
            return Decision::allow(Reason::Admin);
        }
        if !self.configured {
            return Decision::deny(Reason::NoPolicy);
        }
        if scopes.names.is_empty() {
            return Decision::deny(Reason::NoScopes);
        }
        let permission = action.permission();
        let granted = |hits: &dyn Fn(&Pattern) -> bool| {
            scopes.names.iter().find_map(|scope| {
                let patterns = self.ui.get(scope)?.get(&action)?;
                let pattern = patterns.iter().find(|pattern| hits(pattern))?;
                Some(Grant {
                    scope: scope.clone(),
                    entry: None,
                    rule: format!("{permission}: {pattern}"),
                })
            })
        };
        let server = match server {
            Some(server) if action != UiAction::Register => server,
            _ => {
                return match granted(&|_| true) {
                    Some(grant) => Decision::allow(Reason::Granted(grant)),
                    None => Decision::deny(Reason::UiNotGranted {
                        permission,
                        server: None,
                    }),
                };
            }
        };
        let path = trim_slashes(server.path);
        let Some(grant) = granted(&|pattern| pattern.matches(path) || pattern.matches(server.name))
        else {
            return Decision::deny(Reason::UiNotGranted {
                permission,
                server: Some(path.to_owned()),
            });
        };
        if self.entries_for(scopes, path).next().is_none() {
            return Decision::deny(Reason::UiServerNotInScopes {
                permission,
                server: path.to_owned(),
            });
        }
        Decision::allow(Reason::Granted(grant))
    }
}

#[cfg(test)]
#[path = "ui_tests.rs"]
mod tests;
