//! What an import is asked ([`ImportRequest`]) and what it answers ([`ImportReport`]).

use serde::Serialize;

use super::Entry;

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
    /// removed here, servers removed here are not brought back, entries the source had
    /// itself imported are left alone, and an entry that cannot be imported is reported
    /// rather than failing the rest (the admin cannot fix a peer's entries).
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
    /// The entry cannot be imported (its problem is in `detail`); only planned imports
    /// and synchronisations report this, an import proper fails instead.
    Invalid,
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
