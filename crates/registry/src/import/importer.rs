//! [`Importer`]: turns registry entries into servers, remembering where each came from, so
//! that importing again updates rather than duplicates and never overwrites a local edit
//! unless asked to.
//!
//! An import is planned in full before anything is written ([`super::plan`]): every entry
//! is read, checked and converted first, and one bad entry fails the whole import with
//! every problem listed. Only then are servers created, updated or (for a synchronised
//! source) removed.

use std::collections::HashMap;
use std::sync::Arc;

use super::plan::{Plan, Step, definition_digest, entry_name, plan};
use super::report::{ImportReport, ImportRequest};
use super::{Candidate, Origin, OriginStore};
use crate::error::RegistryError;
use crate::model::{Server, now};
use crate::service::RegistryService;

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

    /// Where each imported server came from, by path (for the registry API's `_meta`).
    pub async fn origins_by_path(&self) -> Result<HashMap<String, Origin>, RegistryError> {
        Ok(self
            .origins
            .list_origins()
            .await?
            .into_iter()
            .map(|origin| (origin.path.clone(), origin))
            .collect())
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
        let planned = plan(&request, &origins, &servers)?;
        let Plan { items, steps } =
            super::guard::refuse_denied(&self.registry, &request, planned).await?;
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
                let mut input = candidate.input.clone();
                input.path = Some(path.clone());
                // The origin is recorded first, with the digest of the server about to
                // be registered (the same validation makes it): a server is never
                // registered without its origin, so the next import cannot create it
                // a second time under another path.
                let planned = input.clone().into_new_server(at)?;
                self.record(request, &candidate, &planned, at, at).await?;
                let server = match self.registry.register(input).await {
                    Ok(server) => server,
                    Err(error) => {
                        if let Err(forget) = self.origins.delete_origin(&path).await {
                            tracing::warn!(%path, error = %forget, "origin of a failed import kept");
                        }
                        return Err(error);
                    }
                };
                // Again with the server as registered (its registration time is part of
                // the digest); should this fail, the next import reports a conflict
                // rather than importing it twice.
                self.record(request, &candidate, &server, at, at).await
            }
            Step::Update(update) => {
                let (candidate, input, existing, origin) = *update;
                let server = self.registry.update(&existing.path, input).await?;
                self.record(request, &candidate, &server, origin.imported_at, at)
                    .await
            }
            Step::Remove(origin, registered) => {
                let origin = *origin;
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
            .find(|entry| {
                entry_name(entry) == candidate.name
                    && entry.server.get("version").and_then(|v| v.as_str())
                        == Some(candidate.version.as_str())
            })
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
