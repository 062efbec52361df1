//! Federation: peer registries (another mcpgw, or any `/v0.1` registry) added as sources
//! and re-synchronised on an interval (hourly by default, as the official registry asks
//! of aggregators). A synchronisation reads the source's latest entries, deleted ones
//! included, and applies them like an import that may also remove ([`ImportRequest::sync`]):
//! updates and deletions are applied, local edits are reported as conflicts and kept.

use std::time::Duration;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::importer::Importer;
use super::report::{Action, ImportReport, ImportRequest, Selection};
use super::{RegistryQuery, Source, fetch_registry};
use crate::error::RegistryError;
use crate::model::now;

/// The interval when none is given.
pub const DEFAULT_INTERVAL_SECS: u64 = 3_600;
/// The shortest interval: a peer is not polled harder than this, and a peer that is down
/// is not retried faster.
pub const MIN_INTERVAL_SECS: u64 = 10;
/// The longest wait between looks at which sources are due.
const MAX_TICK: Duration = Duration::from_secs(30);

impl Importer {
    /// Reads every latest entry `query` selects from a registry.
    pub async fn read_registry(
        &self,
        query: &RegistryQuery,
    ) -> Result<Vec<super::Entry>, RegistryError> {
        Ok(fetch_registry(self.client(), query).await?)
    }

    /// Adds a source (checked: name, URL, interval) and synchronises it once, so that a
    /// source that cannot be read is refused rather than failing quietly every hour. The
    /// source is stored first (its name is claimed), and forgotten again if that first
    /// synchronisation fails.
    pub async fn add_source(&self, source: Source) -> Result<ImportReport, RegistryError> {
        check_source(&source)?;
        if !self.origins().insert_source(&source).await? {
            return Err(RegistryError::Conflict(format!("source {}", source.name)));
        }
        let report = match self.sync_and_record(&source).await {
            Ok(report) => report,
            Err(error) => {
                if let Err(forget) = self.origins().delete_source(&source.name).await {
                    tracing::warn!(source = %source.name, error = %forget, "failed source kept");
                }
                return Err(error);
            }
        };
        self.wake().notify_one();
        Ok(report)
    }

    /// Every source, by name.
    pub async fn sources(&self) -> Result<Vec<Source>, RegistryError> {
        Ok(self.origins().list_sources().await?)
    }

    /// Removes a source (the servers imported from it stay, as local servers).
    pub async fn remove_source(&self, name: &str) -> Result<(), RegistryError> {
        if !self.origins().delete_source(name).await? {
            return Err(RegistryError::NotFound(format!("source {name}")));
        }
        Ok(())
    }

    /// Synchronises the source `name` now and records the outcome.
    pub async fn sync_named(&self, name: &str) -> Result<ImportReport, RegistryError> {
        let source = self
            .sources()
            .await?
            .into_iter()
            .find(|source| source.name == name)
            .ok_or_else(|| RegistryError::NotFound(format!("source {name}")))?;
        self.sync_and_record(&source).await
    }

    /// Synchronises `source` and records the report, or the error, as its last result.
    async fn sync_and_record(&self, source: &Source) -> Result<ImportReport, RegistryError> {
        let outcome = self.sync_source(source).await;
        let result = match &outcome {
            Ok(report) => json!(report),
            Err(error) => json!({ "error": error.to_string() }),
        };
        self.origins()
            .record_sync(&source.name, now(), &result)
            .await?;
        outcome
    }

    /// Reads `source` and applies what changed there.
    async fn sync_source(&self, source: &Source) -> Result<ImportReport, RegistryError> {
        let query = RegistryQuery {
            url: source.url.clone(),
            token: source.token.clone(),
            search: source.search.clone(),
            include_deleted: true,
        };
        let entries = self.read_registry(&query).await?;
        let report = self
            .import(ImportRequest {
                source: source.url.trim_end_matches('/').to_owned(),
                entries,
                selection: Selection::All,
                dry_run: false,
                overwrite: false,
                sync: true,
                complete: source.search.is_none(),
            })
            .await?;
        Ok(report)
    }

    /// Synchronises every source when it is due, until `shutdown`; the returned handle
    /// ends once a synchronisation in progress has finished. A failed sync is logged and
    /// recorded, and tried again at the next interval.
    pub fn spawn_federation(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let wait = match self.sync_due().await {
                    Ok(wait) => wait,
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the registry sources");
                        MAX_TICK
                    }
                };
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                    () = self.wake().notified() => {}
                }
                if shutdown.is_cancelled() {
                    return;
                }
            }
        })
    }

    /// Synchronises the sources that are due (and that this gateway claims: of several
    /// sharing the database, one does each round); returns how long until the next one.
    async fn sync_due(&self) -> Result<Duration, RegistryError> {
        let mut wait = MAX_TICK;
        for source in self.sources().await? {
            let interval = Duration::from_secs(source.interval_secs.max(MIN_INTERVAL_SECS));
            let since = source
                .last_sync_at
                .map(|at| (now() - at).to_std().unwrap_or_default());
            if since.is_some_and(|since| since < interval) {
                let left = interval.saturating_sub(since.unwrap_or_default());
                wait = wait.min(left);
                continue;
            }
            wait = wait.min(interval);
            if !self
                .origins()
                .claim_sync(&source.name, source.last_sync_at, now())
                .await?
            {
                continue;
            }
            match self.sync_and_record(&source).await {
                Ok(report) => tracing::info!(
                    source = %source.name,
                    created = report.count(Action::Created),
                    updated = report.count(Action::Updated),
                    removed = report.count(Action::Removed),
                    conflicts = report.count(Action::Conflict),
                    "registry source synchronised"
                ),
                Err(error) => {
                    tracing::warn!(source = %source.name, %error, "registry source not synchronised")
                }
            }
        }
        Ok(wait.max(Duration::from_millis(200)))
    }
}

/// Checks a source before it is stored.
fn check_source(source: &Source) -> Result<(), RegistryError> {
    let name_ok = !source.name.is_empty()
        && source.name.len() <= 63
        && source.name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"._-".contains(&byte)
        });
    if !name_ok {
        return Err(RegistryError::invalid(
            "name",
            "must be 1 to 63 lowercase letters, digits, '.', '_' or '-'",
        ));
    }
    let url = url::Url::parse(&source.url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or_else(|| {
            RegistryError::invalid("url", format!("'{}' is not an http(s) URL", source.url))
        })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RegistryError::invalid(
            "url",
            "credentials in the URL are refused; give the registry's token instead",
        ));
    }
    super::fetch::check_token_transport(&url, source.token.is_some())
        .map_err(|why| RegistryError::invalid("url", why))?;
    if !(MIN_INTERVAL_SECS..=30 * 86_400).contains(&source.interval_secs) {
        return Err(RegistryError::invalid(
            "interval_secs",
            format!("must be from {MIN_INTERVAL_SECS} seconds to 30 days"),
        ));
    }
    Ok(())
}
