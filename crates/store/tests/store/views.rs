//! In-memory views that follow the registry (`mcpgw_registry::follow`), over a real store.

use std::sync::Arc;
use std::time::Duration;

use mcpgw_registry::{Prober, RegistryService, Server, Store, follow};
use mcpgw_store::SqlStore;

/// The paths of `servers`, as a minimal view.
fn paths(servers: Vec<Server>) -> Vec<String> {
    servers.into_iter().map(|server| server.path).collect()
}

/// A change announced before a read is in what a fresh read returns, although the view is
/// rebuilt in the background; subscribers hear only of changes in what the view shows.
///
/// The tests run on a one-thread runtime, so the background rebuild cannot have run before
/// the read yields: a read that did not wait for it would return the previous view.
pub async fn fresh_views_include_every_change_announced_before_the_read(store: SqlStore) {
    let registry = RegistryService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        Prober::new(Duration::from_secs(1)).unwrap(),
        1,
    );
    let view = follow(registry.clone(), paths, |a, b| a != b)
        .await
        .unwrap();
    assert!(view.current().is_empty());
    let mut told = view.subscribe();

    store.insert_server(&super::sample("alpha")).await.unwrap();
    registry.reload();
    assert_eq!(*view.fresh().await, ["alpha"]);
    assert!(told.has_changed().unwrap(), "a new server is news");
    told.borrow_and_update();

    registry.reload();
    assert_eq!(*view.fresh().await, ["alpha"]);
    assert!(
        !told.has_changed().unwrap(),
        "a rebuild that shows the same is no news"
    );

    store.insert_server(&super::sample("beta")).await.unwrap();
    store.delete_server("alpha").await.unwrap();
    registry.reload();
    assert_eq!(*view.fresh().await, ["beta"]);
    assert_eq!(*view.current(), ["beta"]);
}
