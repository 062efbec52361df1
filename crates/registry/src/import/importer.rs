//! [`Importer`]: turns registry entries into servers, remembering where each came from, so
//! that importing again updates rather than duplicates and never overwrites a local edit
//! unless asked to.
//!
//! An import is planned in full before anything is written: every entry is read, checked
//! and converted first, and one bad entry fails the whole import with every problem
//! listed. Only then are servers created, updated or (for a synchronised source) removed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;

use super::{Candidate, Entry, ImportError, Origin, OriginStore, candidate, local_path};
use crate::error::RegistryError;
use crate::input::ServerInput;
use crate::model::{Server, now};
use crate::service::RegistryService;
use crate::versions::digest;

/// Which entries of a source to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every entry.
    All,
    /// The entries with these names (each must exist).
    Names(Vec<String>),
}

/// One import.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// Where the entries came from: a registry's base URL, or `file`.
    pub source: String,
    /// The entries, as read.
    pub entries: Vec<Entry>,
    /// Which of them to import.
    pub selection: Selection,
    /// Plan only: report what would happen, change nothing.
    pub dry_run: bool,
    /// Replace local edits of imported servers.
    pub overwrite: bool,
    /// A synchronisation of a federated source: entries deleted at the source are
    /// removed here, and servers removed here are not brought back.
    pub sync: bool,
    /// The entries are everything the source has (no search narrowed them): in a
    /// synchronisation, an imported name missing from them was deleted there.
    pub complete: bool,
}

/// What an import did (or, planned, would do) with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new server was registered (disabled).
    Created,
    /// The imported server was updated to the source's version.
    Updated,
    /// Nothing changed at the source.
    Unchanged,
    /// The server was edited here since it was imported: left as it is.
    Conflict,
    /// Not imported (nothing mcpgw can run, deleted at the source, removed here).
    Skipped,
    /// Removed here, because it was deleted at the source.
    Removed,
}

/// The outcome for one entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportItem {
    /// The entry's name at the source.
    pub name: String,
    /// Its version there.
    pub version: String,
    /// The local server's path.
    pub path: Option<String>,
    /// What happened.
    pub action: Action,
    /// Which part of the entry is run (`remote streamable-http`, `package npm` …).
    pub using: Option<String>,
    /// Settings an admin must fill in before enabling it.
    pub missing: Vec<String>,
    /// Why, for conflicts and skipped entries.
    pub detail: Option<String>,
}

/// The outcome of an import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// Where the entries came from.
    pub source: String,
    /// True when nothing was changed.
    pub dry_run: bool,
    /// One item per entry considered, by name.
    pub items: Vec<ImportItem>,
}

impl ImportReport {
    /// How many items had `action`.
    pub fn count(&self, action: Action) -> usize {
        self.items
            .iter()
            .filter(|item| item.action == action)
            .count()
    }
}

/// Digest of the parts of a server an import sets (not its secrets' values, nor whether it
/// is enabled: an admin filling in a token or enabling the server has not edited it).
pub fn definition_digest(server: &Server) -> String {
    digest(&json!({
        "name": server.name,
        "description": server.description,
        "version": server.version,
        "transport": server.transport.as_str(),
        "url": server.url,
        "command": server.command,
        "args": server.args,
    }))
}

/// Imports entries into the registry.
#[derive(Clone)]
pub struct Importer {
    registry: RegistryService,
    origins: Arc<dyn OriginStore>,
    /// Reads peer registries.
    client: reqwest::Client,
    /// Wakes the federation loop when a source is added, so that its interval counts
    /// from then rather than from the loop's next look.
    wake: Arc<tokio::sync::Notify>,
}

/// One planned change (boxed: a plan holds many, and a server is large).
enum Step {
    /// Register the candidate at the path.
    Create(Box<Candidate>, String),
    /// Bring the server to the candidate; the origin is the one recorded before.
    Update(Box<(Candidate, Server, Origin)>),
    /// Remove the server of the origin (if still registered) and forget the origin.
    Remove(Box<Origin>, bool),
}

impl Importer {
    /// An importer into `registry`, recording origins in `origins`, reading registries
    /// with `client`.
    pub fn new(
        registry: RegistryService,
        origins: Arc<dyn OriginStore>,
        client: reqwest::Client,
    ) -> Self {
        Importer {
            registry,
            origins,
            client,
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The origins store (for sources).
    pub(super) fn origins(&self) -> &Arc<dyn OriginStore> {
        &self.origins
    }

    /// What wakes the federation loop.
    pub(super) fn wake(&self) -> &tokio::sync::Notify {
        &self.wake
    }

    /// The client that reads registries.
    pub(super) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Plans and (unless `dry_run`) applies an import.
    pub async fn import(&self, request: ImportRequest) -> Result<ImportReport, RegistryError> {
        let entries = select(&request)?;
        let origins: HashMap<String, Origin> = self
            .origins
            .list_origins()
            .await?
            .into_iter()
            .filter(|origin| origin.source == request.source)
            .map(|origin| (origin.name.clone(), origin))
            .collect();
        let servers: HashMap<String, Server> = self
            .registry
            .list()
            .await?
            .into_iter()
            .map(|server| (server.path.clone(), server))
            .collect();
        let mut taken: HashSet<String> = servers.keys().cloned().collect();
        let mut items = Vec::new();
        let mut steps = Vec::new();
        let mut problems = Vec::new();
        let mut listed = HashSet::new();
        for entry in entries {
            let name = entry_name(&entry);
            listed.insert(name.clone());
            let origin = origins.get(&name);
            if entry.status.as_deref() == Some("deleted") {
                plan_deletion(&request, &name, origin, &servers, &mut items, &mut steps);
                continue;
            }
            let candidate = match candidate(&entry.server) {
                Ok(candidate) => candidate,
                Err(ImportError::Unsupported(found)) => {
                    items.push(item(&name, &entry, None, Action::Skipped, Some(found)));
                    continue;
                }
                Err(error) => {
                    problems.push(format!("{name}: {error}"));
                    continue;
                }
            };
            let (action, detail, step) = plan_entry(
                &request,
                candidate.clone(),
                &entry,
                origin,
                &servers,
                &mut taken,
            );
            let path = step
                .as_ref()
                .map(Step::path)
                .or(origin.map(|o| o.path.clone()));
            items.push(ImportItem {
                path,
                using: Some(candidate.source.clone()),
                missing: candidate.missing.clone(),
                ..item(&name, &entry, None, action, detail)
            });
            steps.extend(step);
        }
        if !problems.is_empty() {
            return Err(RegistryError::invalid(
                "import",
                format!(
                    "nothing was imported; fix these entries: {}",
                    problems.join("; ")
                ),
            ));
        }
        if request.sync && request.complete && request.selection == Selection::All {
            // Gone from the source altogether: as good as deleted there.
            for (name, origin) in &origins {
                if !listed.contains(name) {
                    plan_deletion(
                        &request,
                        name,
                        Some(origin),
                        &servers,
                        &mut items,
                        &mut steps,
                    );
                }
            }
        }
        items.sort_by(|a, b| a.name.cmp(&b.name));
        if !request.dry_run {
            for step in steps {
                self.apply(&request, step).await?;
            }
        }
        Ok(ImportReport {
            source: request.source,
            dry_run: request.dry_run,
            items,
        })
    }

    /// Carries out one planned step.
    async fn apply(&self, request: &ImportRequest, step: Step) -> Result<(), RegistryError> {
        let at = now();
        match step {
            Step::Create(candidate, path) => {
                let candidate = *candidate;
                let mut input = candidate.input.clone();
                input.path = Some(path);
                let server = self.registry.register(input).await?;
                self.record(request, &candidate, &server, at, at).await
            }
            Step::Update(update) => {
                let (candidate, existing, origin) = *update;
                let server = self
                    .registry
                    .update(&existing.path, update_input(&candidate, &existing))
                    .await?;
                self.record(request, &candidate, &server, origin.imported_at, at)
                    .await
            }
            Step::Remove(origin, registered) => {
                if registered {
                    match self.registry.remove(&origin.path).await {
                        Ok(()) | Err(RegistryError::NotFound(_)) => {}
                        Err(error) => return Err(error),
                    }
                }
                self.origins.delete_origin(&origin.path).await?;
                Ok(())
            }
        }
    }

    /// Records where `server` came from, as the import left it.
    async fn record(
        &self,
        request: &ImportRequest,
        candidate: &Candidate,
        server: &Server,
        imported_at: chrono::DateTime<chrono::Utc>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), RegistryError> {
        let document = request
            .entries
            .iter()
            .find(|entry| entry_name(entry) == candidate.name)
            .map(|entry| entry.server.clone())
            .unwrap_or_default();
        self.origins
            .put_origin(&Origin {
                path: server.path.clone(),
                source: request.source.clone(),
                name: candidate.name.clone(),
                version: candidate.version.clone(),
                document,
                applied_digest: definition_digest(server),
                imported_at,
                updated_at: at,
            })
            .await?;
        Ok(())
    }
}

impl Step {
    fn path(&self) -> String {
        match self {
            Step::Create(_, path) => path.clone(),
            Step::Update(update) => update.1.path.clone(),
            Step::Remove(origin, _) => origin.path.clone(),
        }
    }
}

/// The entries to consider: the latest of each name, restricted to the selection (every
/// selected name must be there).
fn select(request: &ImportRequest) -> Result<Vec<Entry>, RegistryError> {
    let mut latest: HashMap<String, Entry> = HashMap::new();
    for entry in &request.entries {
        let name = entry_name(entry);
        let keep = match latest.get(&name) {
            Some(kept) => kept.is_latest != Some(true),
            None => true,
        };
        if keep {
            latest.insert(name, entry.clone());
        }
    }
    match &request.selection {
        Selection::All => Ok(latest.into_values().collect()),
        Selection::Names(names) => {
            let absent: Vec<&str> = names
                .iter()
                .filter(|name| !latest.contains_key(*name))
                .map(String::as_str)
                .collect();
            if !absent.is_empty() {
                return Err(RegistryError::invalid(
                    "names",
                    format!("not found at {}: {}", request.source, absent.join(", ")),
                ));
            }
            Ok(names
                .iter()
                .filter_map(|name| latest.remove(name))
                .collect())
        }
    }
}

/// An entry's name, as far as it has one (a nameless entry fails conversion anyway).
fn entry_name(entry: &Entry) -> String {
    entry
        .server
        .get("name")
        .and_then(|name| name.as_str())
        .unwrap_or("(unnamed)")
        .to_owned()
}

fn entry_version(entry: &Entry) -> String {
    entry
        .server
        .get("version")
        .and_then(|version| version.as_str())
        .unwrap_or_default()
        .to_owned()
}

fn item(
    name: &str,
    entry: &Entry,
    path: Option<String>,
    action: Action,
    detail: Option<String>,
) -> ImportItem {
    ImportItem {
        name: name.to_owned(),
        version: entry_version(entry),
        path,
        action,
        using: None,
        missing: Vec::new(),
        detail,
    }
}

/// Plans one live entry: create, update, leave, or report a conflict.
fn plan_entry(
    request: &ImportRequest,
    candidate: Candidate,
    entry: &Entry,
    origin: Option<&Origin>,
    servers: &HashMap<String, Server>,
    taken: &mut HashSet<String>,
) -> (Action, Option<String>, Option<Step>) {
    let Some(origin) = origin else {
        let path = free_path(&local_path(&candidate.name), taken);
        taken.insert(path.clone());
        return (
            Action::Created,
            None,
            Some(Step::Create(Box::new(candidate), path)),
        );
    };
    let Some(server) = servers.get(&origin.path) else {
        if request.sync {
            let why = "removed here since it was imported; import it by name to bring it back";
            return (Action::Skipped, Some(why.into()), None);
        }
        let path = free_path(&origin.path, taken);
        taken.insert(path.clone());
        return (
            Action::Created,
            None,
            Some(Step::Create(Box::new(candidate), path)),
        );
    };
    if definition_digest(server) != origin.applied_digest && !request.overwrite {
        let why = "edited here since it was imported; kept (import with overwrite to replace it)";
        return (Action::Conflict, Some(why.into()), None);
    }
    if digest(&entry.server) == digest(&origin.document) && !request.overwrite {
        return (Action::Unchanged, None, None);
    }
    let step = Step::Update(Box::new((candidate, server.clone(), origin.clone())));
    (Action::Updated, None, Some(step))
}

/// Plans an entry deleted at the source (or gone from it): removed here when this is a
/// synchronisation and the server was not edited here; otherwise reported.
fn plan_deletion(
    request: &ImportRequest,
    name: &str,
    origin: Option<&Origin>,
    servers: &HashMap<String, Server>,
    items: &mut Vec<ImportItem>,
    steps: &mut Vec<Step>,
) {
    let report = |path: Option<String>, action, detail: &str| ImportItem {
        name: name.to_owned(),
        version: origin.map(|o| o.version.clone()).unwrap_or_default(),
        path,
        action,
        using: None,
        missing: Vec::new(),
        detail: Some(detail.to_owned()),
    };
    let Some(origin) = origin.filter(|_| request.sync) else {
        items.push(report(None, Action::Skipped, "deleted at the source"));
        return;
    };
    let path = Some(origin.path.clone());
    match servers.get(&origin.path) {
        Some(server)
            if definition_digest(server) != origin.applied_digest && !request.overwrite =>
        {
            let why = "deleted at the source but edited here; kept";
            items.push(report(path, Action::Conflict, why));
        }
        registered => {
            items.push(report(path, Action::Removed, "deleted at the source"));
            steps.push(Step::Remove(Box::new(origin.clone()), registered.is_some()));
        }
    }
}

/// `wanted`, or `wanted-2`, `wanted-3` … whichever is free.
fn free_path(wanted: &str, taken: &HashSet<String>) -> String {
    if !taken.contains(wanted) {
        return wanted.to_owned();
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            let keep = wanted.len().min(63 - suffix.len());
            format!("{}{suffix}", &wanted[..keep])
        })
        .find(|path| !taken.contains(path))
        .unwrap_or_else(|| wanted.to_owned())
}

/// The update that brings `existing` to `candidate`: its definition, keeping what an admin
/// set here (secret values, added headers and variables, enabled, tags, licence).
fn update_input(candidate: &Candidate, existing: &Server) -> ServerInput {
    let merge = |from_source: &Option<std::collections::BTreeMap<String, String>>,
                 here: &std::collections::BTreeMap<String, String>| {
        let mut merged = from_source.clone().unwrap_or_default();
        merged.extend(here.iter().map(|(key, value)| (key.clone(), value.clone())));
        Some(merged)
    };
    let input = &candidate.input;
    ServerInput {
        path: None,
        enabled: None,
        eager: None,
        tags: None,
        license: None,
        headers: merge(&input.headers, &existing.headers),
        env: merge(&input.env, &existing.env),
        ..input.clone()
    }
}
