//! [`follow`]: an in-memory view built from the registry's servers, rebuilt off the request
//! path after every registry change, for readers that must not query the store per request
//! (the aggregated endpoint's tool catalogue, the search catalogue).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::RegistryError;
use crate::model::Server;
use crate::service::RegistryService;

/// How long to wait before reading the registry again after a failed read.
const RETRY: Duration = Duration::from_secs(1);

/// Builds a view with `build` from the registry's servers now, and again after each change
/// until the registry is dropped. Readers of the returned receiver are told of a new view
/// only when `differs(old, new)`: a health check that changed nothing they show is no news.
pub async fn follow<T>(
    registry: RegistryService,
    build: impl Fn(Vec<Server>) -> T + Send + 'static,
    differs: fn(&T, &T) -> bool,
) -> Result<watch::Receiver<Arc<T>>, RegistryError>
where
    T: Send + Sync + 'static,
{
    let mut changes = registry.subscribe();
    changes.borrow_and_update();
    let first = build(registry.list().await?);
    let (sender, current) = watch::channel(Arc::new(first));
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            let servers = loop {
                match registry.list().await {
                    Ok(servers) => break servers,
                    Err(error) => {
                        tracing::warn!(%error, "registry view not rebuilt; retrying");
                        tokio::time::sleep(RETRY).await;
                    }
                }
            };
            let next = build(servers);
            sender.send_if_modified(|current| {
                let changed = differs(current, &next);
                *current = Arc::new(next);
                changed
            });
        }
    });
    Ok(current)
}
