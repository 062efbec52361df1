//! [`follow`]: an in-memory view built from the registry's servers, rebuilt off the request
//! path after every registry change, for readers that must not query the store per request
//! (the aggregated endpoint's tool catalogue, the search catalogue).
//!
//! A view lags the registry by one rebuild. Readers that answer a client use
//! [`Followed::fresh`], which waits (briefly) for the rebuild of the change the registry last
//! announced, so a client that registered a server, or saw it turn healthy in the API, finds
//! its tools on its next request instead of on one a few milliseconds later.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::RegistryError;
use crate::model::Server;
use crate::service::RegistryService;

/// How long to wait before reading the registry again after a failed read.
const RETRY: Duration = Duration::from_secs(1);

/// Longest a reader waits in [`Followed::fresh`] for a rebuild: a healthy store lists even
/// thousands of servers well within it; beyond it the reader gets the last view and a
/// warning is logged, so a view too slow to rebuild is seen, not silently stale.
const FRESH_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the rebuilding stands: the registry change the view in force reflects, and
/// whether the last attempt to read the registry failed (readers then do not wait).
#[derive(Debug, Clone, Copy, Default)]
struct Built {
    generation: u64,
    failing: bool,
}

/// A view that follows the registry (see [`follow`]).
pub struct Followed<T> {
    current: watch::Receiver<Arc<T>>,
    built: watch::Receiver<Built>,
    registry: watch::Receiver<u64>,
}

impl<T> Clone for Followed<T> {
    fn clone(&self) -> Self {
        Followed {
            current: self.current.clone(),
            built: self.built.clone(),
            registry: self.registry.clone(),
        }
    }
}

impl<T> Followed<T> {
    /// The view in force, without waiting (for change watchers and background work).
    pub fn current(&self) -> Arc<T> {
        Arc::clone(&self.current.borrow())
    }

    /// The view reflecting every registry change announced before this call, waiting for
    /// its rebuild if needed (at most [`FRESH_TIMEOUT`], and not while the registry cannot
    /// be read): what a client's request is answered from.
    pub async fn fresh(&self) -> Arc<T> {
        let wanted = *self.registry.borrow();
        if self.built.borrow().generation < wanted {
            let mut built = self.built.clone();
            let waited = tokio::time::timeout(
                FRESH_TIMEOUT,
                built.wait_for(|built| built.generation >= wanted || built.failing),
            )
            .await;
            if waited.is_err() {
                tracing::warn!(
                    wanted,
                    "answering from the previous registry view: its rebuild took over {FRESH_TIMEOUT:?}"
                );
            }
        }
        self.current()
    }

    /// A receiver told each time the view changes in what it shows (not at every rebuild).
    pub fn subscribe(&self) -> watch::Receiver<Arc<T>> {
        let mut receiver = self.current.clone();
        receiver.borrow_and_update();
        receiver
    }
}

/// Builds a view with `build` from the registry's servers now, and again after each change
/// until the registry is dropped. Subscribers are told of a new view only when
/// `differs(old, new)`: a health check that changed nothing they show is no news.
pub async fn follow<T>(
    registry: RegistryService,
    build: impl Fn(Vec<Server>) -> T + Send + 'static,
    differs: fn(&T, &T) -> bool,
) -> Result<Followed<T>, RegistryError>
where
    T: Send + Sync + 'static,
{
    let mut changes = registry.subscribe();
    let announced = changes.clone();
    // Read the counter before the list: a change made during the list is rebuilt next.
    let generation = *changes.borrow_and_update();
    let first = build(registry.list().await?);
    let (sender, current) = watch::channel(Arc::new(first));
    let (built_sender, built) = watch::channel(Built {
        generation,
        failing: false,
    });
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            let (generation, servers) = loop {
                let generation = *changes.borrow_and_update();
                match registry.list().await {
                    Ok(servers) => break (generation, servers),
                    Err(error) => {
                        tracing::warn!(%error, "registry view not rebuilt; retrying");
                        built_sender.send_modify(|built| built.failing = true);
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
            built_sender.send_replace(Built {
                generation,
                failing: false,
            });
        }
    });
    Ok(Followed {
        current,
        built,
        registry: announced,
    })
}
