//! [`Catalog`]: the published versions one caller may see, with what the registry knows
//! of each server now, in the API's order (by name, then version string).

use std::collections::HashMap;
use std::sync::Arc;

use mcpgw_policy::ServerRef;
use mcpgw_registry::Server;
use mcpgw_registry::import::Origin;
use mcpgw_registry::versions::{ServerVersion, VersionStatus};

use super::params::ListParams;
use super::problem::Problem;
use crate::AppState;
use crate::access::Access;

/// One published version, as one caller sees it.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its registry name, `{namespace}/{path}`.
    pub name: String,
    /// The version.
    pub version: ServerVersion,
    /// True for the server's latest version (its highest `seq`).
    pub latest: bool,
    /// The server as registered now (tools cut to those the caller may call), unless it
    /// was removed.
    pub live: Option<Arc<Server>>,
    /// Where the server was imported from, if it was: published so that another mcpgw
    /// synchronising with this one does not import it back.
    pub imported_from: Option<Arc<Origin>>,
}

impl Listed {
    /// True when this entry is listed without asking for deleted ones.
    pub fn is_deleted(&self) -> bool {
        self.version.status == VersionStatus::Deleted
    }

    /// True when the entry matches the list's filters (not the cursor or limit).
    pub fn matches(&self, params: &ListParams) -> bool {
        if self.is_deleted() && !params.include_deleted {
            return false;
        }
        if let Some(since) = params.updated_since
            && self.version.updated_at <= since
        {
            return false;
        }
        match params.version.as_deref() {
            Some("latest") if !self.latest => return false,
            Some("latest") | None => {}
            Some(exact) if exact != self.version.version => return false,
            Some(_) => {}
        }
        match &params.search {
            Some(needle) => self
                .haystacks()
                .any(|text| text.to_lowercase().contains(needle)),
            None => true,
        }
    }

    /// What `search` looks in: the name, the title and the description.
    fn haystacks(&self) -> impl Iterator<Item = &str> {
        let text = |key: &str| self.version.metadata.get(key).and_then(|v| v.as_str());
        [Some(self.name.as_str()), text("title"), text("description")]
            .into_iter()
            .flatten()
    }
}

/// The versions a caller may see, ordered by (name, version).
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The entries.
    pub entries: Vec<Listed>,
}

impl Catalog {
    /// Every published version the caller may list: those of servers it may list, and,
    /// for removed servers, those the policy would let it list by path and title.
    pub async fn load(
        state: &AppState,
        access: &Access,
        namespace: &str,
    ) -> Result<Catalog, Problem> {
        let servers: HashMap<String, Arc<Server>> = state
            .registry
            .list()
            .await?
            .into_iter()
            .map(|server| (server.path.clone(), Arc::new(server)))
            .collect();
        let versions = state.registry.versions().await?;
        let origins: HashMap<String, Arc<Origin>> = state
            .importer
            .origins_by_path()
            .await?
            .into_iter()
            .map(|(path, origin)| (path, Arc::new(origin)))
            .collect();
        // The latest version of each server: its seq, and its title (a removed server is
        // named by what it last published).
        let mut latest: HashMap<&str, &ServerVersion> = HashMap::new();
        for version in &versions {
            let newest = latest.entry(version.path.as_str()).or_insert(version);
            if version.seq > newest.seq {
                *newest = version;
            }
        }
        let latest: HashMap<String, (i64, String)> = latest
            .into_iter()
            .map(|(path, version)| (path.to_owned(), (version.seq, title_of(version).to_owned())))
            .collect();
        let mut decided: HashMap<String, Visibility> = HashMap::new();
        let mut entries = Vec::with_capacity(versions.len());
        for version in versions {
            let (latest_seq, title) = latest
                .get(&version.path)
                .map_or((version.seq, version.path.as_str()), |(seq, title)| {
                    (*seq, title.as_str())
                });
            let visibility = decided.entry(version.path.clone()).or_insert_with(|| {
                Visibility::of(access, &version.path, title, servers.get(&version.path))
            });
            let live = match visibility {
                Visibility::Hidden => continue,
                Visibility::Live(server) => Some(Arc::clone(server)),
                Visibility::Removed => None,
            };
            entries.push(Listed {
                name: format!("{namespace}/{}", version.path),
                latest: version.seq == latest_seq,
                imported_from: origins.get(&version.path).cloned(),
                version,
                live,
            });
        }
        entries.sort_by(|a, b| (&a.name, &a.version.version).cmp(&(&b.name, &b.version.version)));
        Ok(Catalog { entries })
    }

    /// The entries of one server (by its registry name).
    pub fn of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Listed> + 'a {
        self.entries.iter().filter(move |entry| entry.name == name)
    }
}

/// What a caller may see of the server a version belongs to.
enum Visibility {
    /// Nothing: it may not list the server.
    Hidden,
    /// The server as registered now, as the caller may see it.
    Live(Arc<Server>),
    /// Its published versions: the server was removed.
    Removed,
}

impl Visibility {
    /// Decides for the server at `path`, named `title` by its latest version, registered
    /// now as `live` (if at all).
    fn of(access: &Access, path: &str, title: &str, live: Option<&Arc<Server>>) -> Visibility {
        match live {
            Some(server) if access.can_list(server) => {
                Visibility::Live(Arc::new(access.shown(Server::clone(server))))
            }
            Some(_) => Visibility::Hidden,
            None if access.may_list(ServerRef { path, name: title }) => Visibility::Removed,
            None => Visibility::Hidden,
        }
    }
}

/// What a version calls its server: its title, else its path.
pub fn title_of(version: &ServerVersion) -> &str {
    version
        .metadata
        .get("title")
        .and_then(|title| title.as_str())
        .unwrap_or(&version.path)
}
