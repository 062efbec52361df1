//! [`RoutingTable`]: the registry's servers as the data plane needs them, in memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use mcpgw_registry::{RegistryService, Server, Transport};

/// How to reach one server, prepared once per registry change.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its path.
    pub path: String,
    /// Its transport.
    pub transport: Transport,
    /// Upstream URL (HTTP transports).
    pub uri: Option<Uri>,
    /// Headers configured for the upstream.
    pub headers: HeaderMap,
    /// Disabled servers are answered with 404.
    pub enabled: bool,
}

impl Target {
    fn from_server(server: &Server) -> Target {
        let mut headers = HeaderMap::new();
        for (name, value) in &server.headers {
            // The registry validated these; a pair that still fails is skipped, not fatal.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        Target {
            path: server.path.clone(),
            transport: server.transport,
            uri: server.url.as_deref().and_then(|url| url.parse().ok()),
            headers,
            enabled: server.enabled,
        }
    }
}

/// One immutable generation of the table.
type Snapshot = Arc<HashMap<String, Arc<Target>>>;

/// Servers by path, swapped as a whole when the registry changes; reads take a read lock
/// just long enough to clone one `Arc`.
#[derive(Clone, Default)]
pub struct RoutingTable {
    current: Arc<RwLock<Snapshot>>,
}

impl RoutingTable {
    /// The target for a server path, if registered.
    pub fn get(&self, path: &str) -> Option<Arc<Target>> {
        let table = self.current.read().map(|table| Arc::clone(&table)).ok()?;
        table.get(path).cloned()
    }

    /// Replaces the table with these servers.
    pub fn load(&self, servers: &[Server]) {
        let table: HashMap<String, Arc<Target>> = servers
            .iter()
            .map(|server| (server.path.clone(), Arc::new(Target::from_server(server))))
            .collect();
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(table);
        }
    }

    /// Loads the table now and keeps it in sync with `registry` until the registry is
    /// dropped. A failed reload keeps the previous table and is retried on the next change.
    pub async fn sync_with(
        &self,
        registry: RegistryService,
    ) -> Result<(), mcpgw_registry::RegistryError> {
        let mut changes = registry.subscribe();
        self.load(&registry.list().await?);
        let table = self.clone();
        tokio::spawn(async move {
            while changes.changed().await.is_ok() {
                match registry.list().await {
                    Ok(servers) => table.load(&servers),
                    Err(error) => tracing::warn!(%error, "routing table not refreshed"),
                }
            }
        });
        Ok(())
    }
}
