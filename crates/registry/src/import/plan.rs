//! Planning an import: for every entry, what to do here (create, update, leave, remove,
//! report), decided from the entry, the origin recorded at the last import and the server
//! as it is now, before anything is written.
//!
//! Two rules keep an import from doing harm behind an admin's back:
//! - a server edited here since it was imported is never overwritten (a conflict), unless
//!   the import says `overwrite`;
//! - a server whose way of being reached changes at the source (another host, transport,
//!   command or arguments) is not updated on its own either: the secrets filled in here
//!   were meant for the old destination. With `overwrite` it is updated without them, and
//!   disabled until an admin has looked.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;

use super::report::{Action, ImportItem, ImportRequest, Selection};
use super::{Candidate, Entry, ImportError, Origin, candidate, local_path};
use crate::error::RegistryError;
use crate::input::ServerInput;
use crate::model::{Server, now};
use crate::versions::digest;

/// One planned change (boxed: a plan holds many, and a server is large).
pub enum Step {
    /// Register the candidate at the path.
    Create(Box<Candidate>, String),
    /// Bring the server to the candidate with this input; the origin is the one recorded
    /// before.
    Update(Box<(Candidate, ServerInput, Server, Origin)>),
    /// Remove the server of the origin (if still registered) and forget the origin.
    Remove(Box<Origin>, bool),
}

/// What an import will do.
pub struct Plan {
    /// One item per entry considered, by name.
    pub items: Vec<ImportItem>,
    /// The changes, in order.
    pub steps: Vec<Step>,
}

/// Digest of the parts of a server an import sets (not its secrets' values, nor whether it
/// is enabled: an admin filling in a token or enabling the server has not edited it), and
/// when it was registered (a server registered at the same path later is another server).
pub fn definition_digest(server: &Server) -> String {
    digest(&json!({
        "name": server.name,
        "description": server.description,
        "version": server.version,
        "transport": server.transport.as_str(),
        "url": server.url,
        "command": server.command,
        "args": server.args,
        "created": server.created_at.timestamp_millis(),
    }))
}

/// Plans `request` against the origins recorded for its source (by name) and the servers
/// registered now (by path).
pub fn plan(
    request: &ImportRequest,
    origins: &HashMap<String, Origin>,
    servers: &HashMap<String, Server>,
) -> Result<Plan, RegistryError> {
    let lenient = request.sync || request.dry_run;
    let mut taken: HashSet<String> = servers.keys().cloned().collect();
    let mut plan = Plan {
        items: Vec::new(),
        steps: Vec::new(),
    };
    let mut problems = Vec::new();
    let mut listed = HashSet::new();
    for entry in select(request)? {
        let name = entry_name(&entry);
        listed.insert(name.clone());
        let origin = origins.get(&name);
        if entry.status.as_deref() == Some("deleted") {
            plan.deletion(request, &name, origin, servers);
            continue;
        }
        if request.sync && origin.is_none() && entry.imported_from.is_some() {
            let why = "the source imported it itself; import it from where it came from";
            plan.items
                .push(item(&entry, Action::Skipped, Some(why.into())));
            continue;
        }
        let candidate = match candidate(&entry.server) {
            Ok(candidate) => candidate,
            Err(ImportError::Unsupported(found)) => {
                plan.items.push(item(&entry, Action::Skipped, Some(found)));
                continue;
            }
            Err(error) if lenient => {
                plan.items
                    .push(item(&entry, Action::Invalid, Some(error.to_string())));
                continue;
            }
            Err(error) => {
                problems.push(format!("{name}: {error}"));
                continue;
            }
        };
        plan.entry(request, candidate, &entry, origin, servers, &mut taken);
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
        for (name, origin) in origins {
            if !listed.contains(name) {
                plan.deletion(request, name, Some(origin), servers);
            }
        }
    }
    plan.items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(plan)
}

impl Plan {
    /// Plans one live entry: create, update, leave, or report a conflict.
    fn entry(
        &mut self,
        request: &ImportRequest,
        candidate: Candidate,
        entry: &Entry,
        origin: Option<&Origin>,
        servers: &HashMap<String, Server>,
        taken: &mut HashSet<String>,
    ) {
        let mut report = ImportItem {
            using: Some(candidate.source.clone()),
            missing: candidate.missing.clone(),
            ..item(entry, Action::Created, None)
        };
        let registered = origin.and_then(|origin| servers.get(&origin.path));
        let (Some(origin), Some(server)) = (origin, registered) else {
            // New here, or removed here since it was imported.
            if request.sync && origin.is_some() {
                report.action = Action::Skipped;
                report.path = origin.map(|origin| origin.path.clone());
                report.detail = Some(
                    "removed here since it was imported; import it by name to bring it back".into(),
                );
                self.items.push(report);
                return;
            }
            let wanted = origin.map_or_else(|| local_path(&candidate.name), |o| o.path.clone());
            let path = free_path(&wanted, taken);
            taken.insert(path.clone());
            report.path = Some(path.clone());
            self.items.push(report);
            self.steps.push(Step::Create(Box::new(candidate), path));
            return;
        };
        report.path = Some(server.path.clone());
        if digest(&entry.server) == digest(&origin.document) && !request.overwrite {
            report.action = Action::Unchanged;
            report.missing.clear();
            self.items.push(report);
            return;
        }
        if definition_digest(server) != origin.applied_digest && !request.overwrite {
            report.action = Action::Conflict;
            report.detail = Some(
                "edited here since it was imported; kept (import with overwrite to replace it)"
                    .into(),
            );
            self.items.push(report);
            return;
        }
        let moved = moves(&candidate, server);
        if moved && !request.overwrite {
            report.action = Action::Conflict;
            report.detail = Some(
                "the source changed how it is reached (host, transport, command or arguments); \
                 kept (import with overwrite to take it, disabled and without the secrets set here)"
                    .into(),
            );
            self.items.push(report);
            return;
        }
        report.action = Action::Updated;
        if moved {
            report.detail = Some("disabled: it is reached differently now; review it".into());
        }
        self.items.push(report);
        let input = update_input(&candidate, server, moved);
        let update = (candidate, input, server.clone(), origin.clone());
        self.steps.push(Step::Update(Box::new(update)));
    }

    /// Plans an entry deleted at the source (or gone from it): removed here when this is
    /// a synchronisation and the server was not edited here; otherwise reported.
    fn deletion(
        &mut self,
        request: &ImportRequest,
        name: &str,
        origin: Option<&Origin>,
        servers: &HashMap<String, Server>,
    ) {
        let mut report = ImportItem {
            name: name.to_owned(),
            version: origin.map(|o| o.version.clone()).unwrap_or_default(),
            path: None,
            action: Action::Skipped,
            using: None,
            missing: Vec::new(),
            detail: Some("deleted at the source".into()),
        };
        let Some(origin) = origin.filter(|_| request.sync) else {
            self.items.push(report);
            return;
        };
        report.path = Some(origin.path.clone());
        match servers.get(&origin.path) {
            Some(server)
                if definition_digest(server) != origin.applied_digest && !request.overwrite =>
            {
                report.action = Action::Conflict;
                report.detail = Some("deleted at the source but edited here; kept".into());
            }
            registered => {
                report.action = Action::Removed;
                self.steps
                    .push(Step::Remove(Box::new(origin.clone()), registered.is_some()));
            }
        }
        self.items.push(report);
    }
}

/// True when `candidate` is reached differently from `server`: another transport, URL
/// origin (scheme, host, port), command or arguments.
fn moves(candidate: &Candidate, server: &Server) -> bool {
    let Ok(target) = candidate.input.clone().into_new_server(now()) else {
        return true;
    };
    let origin = |url: Option<&str>| {
        url.and_then(|url| url::Url::parse(url).ok())
            .map(|url| url.origin().ascii_serialization())
    };
    target.transport != server.transport
        || origin(target.url.as_deref()) != origin(server.url.as_deref())
        || target.command != server.command
        || target.args != server.args
}

/// The entries to consider: the latest of each name (the one marked latest, else the last
/// one), restricted to the selection (every selected name must be there), by name.
fn select(request: &ImportRequest) -> Result<Vec<Entry>, RegistryError> {
    let mut latest: BTreeMap<String, Entry> = BTreeMap::new();
    for entry in &request.entries {
        let name = entry_name(entry);
        let keep = latest
            .get(&name)
            .is_none_or(|kept| kept.is_latest != Some(true));
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
pub fn entry_name(entry: &Entry) -> String {
    text_of(entry, "name").unwrap_or_else(|| "(unnamed)".to_owned())
}

/// A text field of an entry's server.json.
fn text_of(entry: &Entry, key: &str) -> Option<String> {
    entry
        .server
        .get(key)
        .and_then(|value| value.as_str())
        .map(str::to_owned)
}

/// The report of `entry` with `action`, before a path is known.
fn item(entry: &Entry, action: Action, detail: Option<String>) -> ImportItem {
    ImportItem {
        name: entry_name(entry),
        version: text_of(entry, "version").unwrap_or_default(),
        path: None,
        action,
        using: None,
        missing: Vec::new(),
        detail,
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
            // Paths are ASCII (validated), so a byte index is a character boundary.
            let keep = wanted.len().min(63 - suffix.len());
            format!("{}{suffix}", &wanted[..keep])
        })
        .find(|path| !taken.contains(path))
        .unwrap_or_else(|| wanted.to_owned())
}

/// The update that brings `existing` to `candidate`. Reached the same way, it keeps what an
/// admin set here (secret values, added headers and variables, enabled, tags, licence);
/// reached differently (`moved`), it takes only the source's values and disables the
/// server, so that no secret follows it to a new destination unseen.
fn update_input(candidate: &Candidate, existing: &Server, moved: bool) -> ServerInput {
    let input = &candidate.input;
    let merge = |from_source: &Option<BTreeMap<String, String>>,
                 here: &BTreeMap<String, String>| {
        let mut merged = from_source.clone().unwrap_or_default();
        if !moved {
            merged.extend(here.iter().map(|(key, value)| (key.clone(), value.clone())));
        }
        Some(merged)
    };
    ServerInput {
        path: None,
        enabled: moved.then_some(false),
        eager: None,
        tags: None,
        license: None,
        headers: merge(&input.headers, &existing.headers),
        env: merge(&input.env, &existing.env),
        ..input.clone()
    }
}
