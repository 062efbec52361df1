//! [`RegistryService`]: every registry operation, validated and persisted.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::watch;

use crate::error::RegistryError;
use crate::input::ServerInput;
use crate::model::{HealthSummary, Server, Tool};
use crate::probe::Prober;
use crate::store::Store;
use crate::validation;

/// The registry's operations. Cheap to clone; clones share the store and prober.
#[derive(Clone)]
pub struct RegistryService {
    store: Arc<dyn Store>,
    prober: Prober,
    /// Bumped after every change to a server's definition, so that in-memory views
    /// (the gateway's routing table) know when to reload.
    changes: Arc<watch::Sender<u64>>,
}

impl RegistryService {
    /// A service over `store` that checks servers with `prober`.
    pub fn new(store: Arc<dyn Store>, prober: Prober) -> Self {
        RegistryService {
            store,
            prober,
            changes: Arc::new(watch::channel(0).0),
        }
    }

    /// A receiver that sees a new value after every definition change (register, update,
    /// enable/disable, remove).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|generation| *generation += 1);
    }

    /// `sqlite` or `postgres`.
    pub fn store_kind(&self) -> &'static str {
        self.store.kind()
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), RegistryError> {
        Ok(self.store.ping().await?)
    }

    /// Every server, ordered by path.
    pub async fn list(&self) -> Result<Vec<Server>, RegistryError> {
        Ok(self.store.list_servers().await?)
    }

    /// Counts of servers by health state.
    pub async fn health_summary(&self) -> Result<HealthSummary, RegistryError> {
        Ok(HealthSummary::of(&self.list().await?))
    }

    /// One server; `path` may carry the Python registry's slashes (`/weather`).
    pub async fn get(&self, path: &str) -> Result<Server, RegistryError> {
        let path = validation::normalize_path(path);
        self.store
            .get_server(&path)
            .await?
            .ok_or(RegistryError::NotFound(path))
    }

    /// Registers a new server and starts its first health check in the background.
    pub async fn register(&self, input: ServerInput) -> Result<Server, RegistryError> {
        let server = input.into_new_server(Utc::now())?;
        if !self.store.insert_server(&server).await? {
            return Err(RegistryError::Conflict(server.path));
        }
        tracing::info!(path = %server.path, transport = server.transport.as_str(), "server registered");
        self.changed();
        self.check_in_background(&server);
        Ok(server)
    }

    /// Applies a partial update; a changed endpoint is re-checked in the background.
    pub async fn update(&self, path: &str, input: ServerInput) -> Result<Server, RegistryError> {
        let existing = self.get(path).await?;
        let updated = input.apply_to(&existing, Utc::now())?;
        if !self.store.update_definition(&updated).await? {
            return Err(RegistryError::NotFound(existing.path));
        }
        tracing::info!(path = %updated.path, "server updated");
        self.changed();
        let endpoint_changed = updated.transport != existing.transport
            || updated.url != existing.url
            || updated.command != existing.command
            || updated.args != existing.args
            || updated.env != existing.env
            || updated.headers != existing.headers;
        if updated.enabled && (endpoint_changed || !existing.enabled) {
            self.check_in_background(&updated);
        }
        self.get(&updated.path).await
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
        Ok(())
    }

    /// Checks a server now and stores its health and (if changed) its tools.
    pub async fn refresh(&self, path: &str) -> Result<Server, RegistryError> {
        let server = self.get(path).await?;
        self.check(&server).await?;
        self.get(&server.path).await
    }

    /// Probes one server and records the outcome. Used by refresh and the health checker.
    pub async fn check(&self, server: &Server) -> Result<(), RegistryError> {
        let outcome = self.prober.check(server).await;
        let changed_tools: Option<&[Tool]> = match &outcome.tools {
            Some(tools) if *tools != server.tools => Some(tools),
            _ => None,
        };
        if changed_tools.is_some() {
            tracing::info!(path = %server.path, tools = outcome.tools.as_ref().map_or(0, Vec::len), "tool list changed");
        }
        if outcome.health.status != server.health.status {
            tracing::info!(path = %server.path, health = %outcome.health.summary(), "health changed");
        }
        self.store
            .record_check(
                &server.path,
                &outcome.health,
                outcome.server_info.as_ref(),
                changed_tools,
            )
            .await?;
        Ok(())
    }

    fn check_in_background(&self, server: &Server) {
        let service = self.clone();
        let server = server.clone();
        tokio::spawn(async move {
            if let Err(error) = service.check(&server).await {
                tracing::warn!(path = %server.path, %error, "could not record health check");
            }
        });
    }
}
