//! [`RegistryService`]: every registry operation, validated and persisted.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};
use tokio_util::task::TaskTracker;

use crate::error::RegistryError;
use crate::input::ServerInput;
use crate::model::{HealthEvent, HealthSummary, Server, Tool, now};
use crate::probe::{CheckOutcome, Prober};
use crate::store::Store;
use crate::validation;
use crate::versions::{Publisher, ServerVersion, VersionStatus, VersionStore};

/// How often an update is re-applied when another writer changed the server meanwhile.
const UPDATE_ATTEMPTS: usize = 5;

/// Health changes kept per server for its history.
pub const HEALTH_HISTORY: usize = 100;

/// The registry's operations. Cheap to clone; clones share the store, the prober, the
/// limit on concurrent checks and the background tasks.
#[derive(Clone)]
pub struct RegistryService {
    store: Arc<dyn Store>,
    /// Publishes a version when what a server publishes changes.
    publisher: Publisher,
    prober: Prober,
    /// Bumped after every change to a server's definition, so that in-memory views
    /// (the gateway's routing table) know when to reload.
    changes: Arc<watch::Sender<u64>>,
    /// Bounds probes in flight, from rounds, refreshes and registrations together.
    checks: Arc<Semaphore>,
    /// Checks started in the background, awaited at shutdown.
    tasks: TaskTracker,
    /// The names of the configured egress providers (`oauth-user` servers must name one).
    egress_providers: Arc<Vec<String>>,
    /// Told after every change made here, so that other replicas sharing the database
    /// hear of it (see [`RegistryService::reload`] for their side).
    announce: Option<ChangeHook>,
    /// The tool-poisoning scan, when enabled (see [`crate::scan`]).
    scan: Option<crate::scan::ToolScan>,
}

/// Called after a change made by this process (see [`RegistryService::with_change_hook`]).
pub type ChangeHook = Arc<dyn Fn() + Send + Sync>;

impl RegistryService {
    /// A service over `store` (servers) and `versions` (their published versions) that
    /// checks servers with `prober`, at most `max_concurrent_checks` at a time.
    pub fn new(
        store: Arc<dyn Store>,
        versions: Arc<dyn VersionStore>,
        prober: Prober,
        max_concurrent_checks: usize,
    ) -> Self {
        RegistryService {
            store,
            publisher: Publisher::new(versions),
            prober,
            changes: Arc::new(watch::channel(0).0),
            checks: Arc::new(Semaphore::new(max_concurrent_checks.max(1))),
            tasks: TaskTracker::new(),
            egress_providers: Arc::default(),
            announce: None,
            scan: None,
        }
    }

    /// The same service, scanning every new tool list with `scan` (and disabling what
    /// it must).
    pub fn with_tool_scan(mut self, scan: crate::scan::ToolScan) -> Self {
        self.scan = Some(scan);
        self
    }

    /// The tool scan, for its operations ([`crate::scan`]).
    pub(crate) fn scanning(&self) -> Option<&crate::scan::ToolScan> {
        self.scan.as_ref()
    }

    /// Whether tools are scanned (a server is then only used once its first check and
    /// scan are done).
    pub fn scans_tools(&self) -> bool {
        self.scan
            .as_ref()
            .is_some_and(crate::scan::ToolScan::enabled)
    }

    /// The same service, calling `hook` after each change it makes (definitions, health,
    /// tools), after the change is stored: how other replicas learn of it.
    pub fn with_change_hook(mut self, hook: ChangeHook) -> Self {
        self.announce = Some(hook);
        self
    }

    /// Tells every in-memory view to read the registry again: another replica changed it
    /// (or a periodic resync, in case such news was lost). Nothing is announced.
    pub fn reload(&self) {
        self.changes.send_modify(|generation| *generation += 1);
    }

    /// The same service, knowing the configured egress providers by `names`: a server
    /// whose `oauth-user` egress names another is refused.
    pub fn with_egress_providers(mut self, names: Vec<String>) -> Self {
        self.egress_providers = Arc::new(names);
        self
    }

    /// Refuses a definition whose `oauth-user` egress names no configured provider.
    fn check_egress(&self, server: &Server) -> Result<(), RegistryError> {
        match &server.egress {
            crate::egress::Egress::OauthUser { provider, .. }
                if !self.egress_providers.contains(provider) =>
            {
                let known = if self.egress_providers.is_empty() {
                    "none is configured ([[egress.providers]])".to_owned()
                } else {
                    format!("configured: {}", self.egress_providers.join(", "))
                };
                Err(RegistryError::invalid(
                    "egress",
                    format!("no egress provider '{provider}' ({known})"),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Refuses `server` if its URL may not be connected to (the SSRF guard; see
    /// [`Prober::refuse_denied_url`]).
    pub(crate) async fn refuse_denied_url(&self, server: &Server) -> Result<(), RegistryError> {
        self.prober.refuse_denied_url(server).await
    }

    /// A receiver that sees a new value after every definition change (register, update,
    /// enable/disable, remove).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// How many definition changes this process has seen: equal values mean nothing
    /// changed in between.
    pub fn generation(&self) -> u64 {
        *self.changes.borrow()
    }

    fn changed(&self) {
        self.reload();
        if let Some(announce) = &self.announce {
            announce();
        }
    }

    /// Stops accepting background checks and waits for those in flight.
    pub async fn shutdown(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// `sqlite` or `postgres`.
    pub fn store_kind(&self) -> &'static str {
        self.store.kind()
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), RegistryError> {
        Ok(self.store.ping().await?)
    }

    /// Every server, ordered by path.
    pub async fn list(&self) -> Result<Vec<Server>, RegistryError> {
        Ok(self.store.list_servers().await?)
    }

    /// Counts of servers by health state (one aggregate query, no server rows).
    pub async fn health_summary(&self) -> Result<HealthSummary, RegistryError> {
        let mut summary = HealthSummary::default();
        for (enabled, state, count) in self.store.count_by_health().await? {
            summary.add(enabled, state, count);
        }
        Ok(summary)
    }

    /// One server; `path` may carry the Python registry's slashes (`/weather`).
    pub async fn get(&self, path: &str) -> Result<Server, RegistryError> {
        let path = validation::normalize_path(path);
        self.store
            .get_server(&path)
            .await?
            .ok_or(RegistryError::NotFound(path))
    }

    /// Registers a new server and, if enabled, checks it: before answering when tools are
    /// scanned, in the background otherwise.
    pub async fn register(&self, input: ServerInput) -> Result<Server, RegistryError> {
        let server = input.into_new_server(now())?;
        self.check_egress(&server)?;
        self.prober.refuse_denied_url(&server).await?;
        if !self.store.insert_server(&server).await? {
            return Err(RegistryError::Conflict(server.path));
        }
        tracing::info!(path = %server.path, transport = server.transport.as_str(), "server registered");
        self.changed();
        self.publish(&server).await;
        if server.enabled && self.scans_tools() {
            // Checked (and its tools scanned) before the registration is answered: a
            // poisoned server is disabled before anyone can call it.
            if let Err(error) = self.check(&server).await {
                tracing::warn!(path = %server.path, %error, "could not record the first check");
            }
        } else if server.enabled {
            self.check_in_background(&server);
        }
        Ok(server)
    }

    /// Applies a partial update. Concurrent updates never overwrite each other: each is
    /// applied to the revision it read, and re-applied on a newer one if needed. A changed
    /// endpoint (or a server just enabled) is re-checked in the background.
    pub async fn update(&self, path: &str, input: ServerInput) -> Result<Server, RegistryError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let existing = self.get(path).await?;
            let updated = input.clone().apply_to(&existing, now())?;
            if updated.enabled && !existing.enabled {
                self.refuse_if_blocked(&existing.path).await?;
            }
            if updated.egress != existing.egress {
                self.check_egress(&updated)?;
            }
            if updated.url != existing.url {
                self.prober.refuse_denied_url(&updated).await?;
            }
            if !self.store.update_definition(&updated).await? {
                continue;
            }
            tracing::info!(path = %updated.path, "server updated");
            self.changed();
            let stored = self.get(&updated.path).await?;
            self.publish(&stored).await;
            if stored.enabled && (endpoint_changed(&existing, &stored) || !existing.enabled) {
                self.check_in_background(&stored);
            }
            return Ok(stored);
        }
        Err(RegistryError::Conflict(format!(
            "{path} (changed by others {UPDATE_ATTEMPTS} times while updating; try again)"
        )))
    }

    /// Enables or disables a server.
    pub async fn set_enabled(&self, path: &str, enabled: bool) -> Result<Server, RegistryError> {
        let input = ServerInput {
            enabled: Some(enabled),
            ..ServerInput::default()
        };
        self.update(path, input).await
    }

    /// Removes a server.
    pub async fn remove(&self, path: &str) -> Result<(), RegistryError> {
        let path = validation::normalize_path(path);
        if !self.store.delete_server(&path).await? {
            return Err(RegistryError::NotFound(path));
        }
        tracing::info!(%path, "server removed");
        self.changed();
        if let Err(error) = self.publisher.withdraw(&path).await {
            // The server is gone; its versions are withdrawn at the next start.
            tracing::warn!(%path, %error, "versions of a removed server not yet withdrawn");
        }
        Ok(())
    }

    /// Publishes a version of `server` if what it publishes changed. A failure does not
    /// undo the change it follows (that is stored): it is logged, and the versions are
    /// brought in step at the next start ([`RegistryService::sync_versions`]).
    async fn publish(&self, server: &Server) {
        if let Err(error) = self.publisher.publish(server).await {
            tracing::warn!(path = %server.path, %error, "version not yet published");
        }
    }

    /// Brings the published versions in step with the servers (at start): publishes what
    /// was never published and withdraws the versions of removed servers.
    pub async fn sync_versions(&self) -> Result<(usize, u64), RegistryError> {
        Ok(self.publisher.sync(self.store.as_ref()).await?)
    }

    /// Every published version of every server, ordered by path, then publication.
    pub async fn versions(&self) -> Result<Vec<ServerVersion>, RegistryError> {
        Ok(self.publisher.all().await?)
    }

    /// The published versions of `path`, in publication order.
    pub async fn versions_of(&self, path: &str) -> Result<Vec<ServerVersion>, RegistryError> {
        Ok(self.publisher.of(&validation::normalize_path(path)).await?)
    }

    /// "Test connection": validates `input` as a registration (or, with `existing`, as an
    /// update of that server) and checks the result, storing nothing. The check takes a
    /// slot among the concurrent checks like any other.
    pub async fn try_connection(
        &self,
        input: ServerInput,
        existing: Option<&str>,
    ) -> Result<CheckOutcome, RegistryError> {
        let server = match existing {
            Some(path) => input.apply_to(&self.get(path).await?, now())?,
            None => input.into_new_server(now())?,
        };
        self.check_egress(&server)?;
        self.prober.refuse_denied_url(&server).await?;
        let _permit = self.checks.acquire().await;
        Ok(self.prober.check(&server).await)
    }

    /// Sets the status of one version of `path` (or, `version` = `None`, of all its
    /// versions) and returns the versions of `path` afterwards. A server that was removed
    /// cannot have its versions brought back to life: only registering it again does.
    pub async fn set_version_status(
        &self,
        path: &str,
        version: Option<&str>,
        status: VersionStatus,
        message: Option<&str>,
    ) -> Result<(u64, Vec<ServerVersion>), RegistryError> {
        if status != VersionStatus::Deleted && self.store.get_server(path).await?.is_none() {
            return Err(RegistryError::Removed(path.to_owned()));
        }
        let changed = self
            .publisher
            .set_status(path, version, status, message, now())
            .await?;
        Ok((changed, self.publisher.of(path).await?))
    }

    /// Checks a server now and stores its health and (if changed) its tools.
    pub async fn refresh(&self, path: &str) -> Result<Server, RegistryError> {
        let server = self.get(path).await?;
        self.check(&server).await?;
        self.get(&server.path).await
    }

    /// Probes one server and records the outcome, unless its definition changed while
    /// the probe ran. Used by refresh, registration and the health checker.
    pub async fn check(&self, server: &Server) -> Result<(), RegistryError> {
        let Ok(permit) = self.checks.acquire().await else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let outcome = self.prober.check(server).await;
        // The limit is on probes; storing and scanning the result (which may run the
        // external scanner) does not hold a slot.
        drop(permit);
        mcpgw_telemetry::metrics::metrics().health_check(
            &server.path,
            outcome.health.status == crate::model::HealthState::Healthy,
            started.elapsed(),
        );
        let changed_tools: Option<&[Tool]> = match &outcome.tools {
            Some(tools) if *tools != server.tools => Some(tools),
            _ => None,
        };
        let recorded = self
            .store
            .record_check(
                &server.path,
                server.revision,
                &outcome.health,
                outcome.server_info.as_ref(),
                changed_tools,
            )
            .await?;
        if !recorded {
            tracing::debug!(path = %server.path, "check result dropped: the server changed meanwhile");
            return Ok(());
        }
        // Before the followers hear of new tools: a server the scan disables is disabled
        // by the time they read it.
        if let Some(tools) = &outcome.tools {
            self.scan_checked(server, tools).await;
        }
        let health_changed = outcome.health.status != server.health.status;
        if changed_tools.is_some() {
            tracing::info!(path = %server.path, tools = outcome.tools.as_ref().map_or(0, Vec::len), "tool list changed");
        }
        if health_changed {
            tracing::info!(path = %server.path, health = %outcome.health.summary(), "health changed");
        }
        // What the aggregated endpoint offers depends on both: tell whoever follows.
        if changed_tools.is_some() || health_changed {
            self.changed();
        }
        // After telling the followers (the routing table must not wait for it): the history
        // keeps each change of verdict (with its reason), not every reason a failing server
        // gives, which may differ at every check.
        if health_changed || server.health.last_checked.is_none() {
            self.remember_health(&server.path, &outcome.health).await;
        }
        Ok(())
    }

    /// Appends a change to `path`'s health history. The history is a courtesy to people:
    /// failing to write it is logged, and the check's result stands.
    async fn remember_health(&self, path: &str, health: &crate::model::Health) {
        let event = HealthEvent {
            at: health.last_checked.unwrap_or_else(now),
            status: health.status,
            reason: health.reason.clone(),
        };
        if let Err(error) = self
            .store
            .record_health_event(path, &event, HEALTH_HISTORY)
            .await
        {
            tracing::warn!(%path, %error, "could not record a health change in the history");
        }
    }

    /// `path`'s health changes, newest first (at most [`HEALTH_HISTORY`]).
    pub async fn health_history(&self, path: &str) -> Result<Vec<HealthEvent>, RegistryError> {
        let path = validation::normalize_path(path);
        Ok(self.store.health_events(&path, HEALTH_HISTORY).await?)
    }

    fn check_in_background(&self, server: &Server) {
        let service = self.clone();
        let server = server.clone();
        self.tasks.spawn(async move {
            if let Err(error) = service.check(&server).await {
                tracing::warn!(path = %server.path, %error, "could not record health check");
            }
        });
    }
}

/// True when the way the server is reached changed.
fn endpoint_changed(before: &Server, after: &Server) -> bool {
    before.transport != after.transport
        || before.url != after.url
        || before.command != after.command
        || before.args != after.args
        || before.env != after.env
        || before.headers != after.headers
}
