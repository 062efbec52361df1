//! [`RoutingTable`]: the registry's servers as the data plane needs them, in memory.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use mcpgw_registry::{RegistryError, RegistryService, Server, Transport};
use tokio::sync::watch;

/// How to start a stdio server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioSpec {
    /// Program.
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
}

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
    /// The command of a stdio server.
    pub stdio: Option<StdioSpec>,
    /// Started with the gateway rather than on first use.
    pub eager: bool,
    /// The registry revision of this definition.
    pub revision: i64,
    /// The names of its tools at the last check (a tool name outside these is counted as
    /// unknown in the metrics, never as a series of its own).
    pub tools: std::collections::HashSet<String>,
    /// How the gateway authorises itself upstream beyond `headers`.
    pub egress: mcpgw_registry::Egress,
    /// The upstream URL as registered (the resource egress tokens are for).
    pub url: String,
    /// Registered but not checked yet while the tool scan is on: nothing reaches it
    /// before its tools were scanned (a poisoned server is disabled by that first scan).
    pub awaiting_check: bool,
}

/// The headers configured for `server`'s upstream. The registry validated them; a pair
/// that still fails is skipped, not fatal.
pub(crate) fn configured_headers(server: &Server) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &server.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

impl Target {
    fn from_server(server: &Server) -> Target {
        let headers = configured_headers(server);
        Target {
            path: server.path.clone(),
            transport: server.transport,
            uri: server.url.as_deref().and_then(|url| url.parse().ok()),
            headers,
            enabled: server.enabled,
            eager: server.eager,
            revision: server.revision,
            tools: server.tools.iter().map(|tool| tool.name.clone()).collect(),
            egress: server.egress.clone(),
            url: server.url.clone().unwrap_or_default(),
            awaiting_check: false,
            stdio: server.command.as_ref().map(|command| StdioSpec {
                command: command.clone(),
                args: server.args.clone(),
                env: server.env_pairs(),
            }),
        }
    }
}

/// One immutable generation of the table.
pub type Snapshot = Arc<HashMap<String, Arc<Target>>>;

/// Servers by path, in memory, reloaded from the registry whenever its change counter
/// moved. The check is made on every lookup, so a request that follows a registration,
/// an edit or a toggle on this replica always sees it (read-your-writes), and the hot
/// path costs one atomic comparison when nothing changed.
#[derive(Clone)]
pub struct RoutingTable {
    registry: RegistryService,
    changes: watch::Receiver<u64>,
    current: Arc<RwLock<(u64, Snapshot)>>,
    reload: Arc<tokio::sync::Mutex<()>>,
    /// Until when a failed reload is not tried again: requests meanwhile are routed with
    /// the last snapshot at once, instead of each waiting for the database in turn.
    retry_at: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

/// How long the table routes with its last snapshot after a failed reload.
const RELOAD_RETRY: std::time::Duration = std::time::Duration::from_secs(5);
/// Longest a request waits for a reload (a healthy database lists even thousands of
/// servers well within it); beyond it the request is routed with the last snapshot and a
/// warning is logged, so a registry too slow to list is seen, not silently stale.
const RELOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

impl RoutingTable {
    /// The registry the table routes by.
    pub fn registry(&self) -> &RegistryService {
        &self.registry
    }

    /// A table over `registry`, loaded now.
    pub async fn load(registry: RegistryService) -> Result<Self, RegistryError> {
        let changes = registry.subscribe();
        let generation = *changes.borrow();
        let snapshot = snapshot_of(&registry.list().await?, registry.scans_tools());
        Ok(RoutingTable {
            registry,
            changes,
            current: Arc::new(RwLock::new((generation, snapshot))),
            reload: Arc::new(tokio::sync::Mutex::new(())),
            retry_at: Arc::default(),
        })
    }

    /// The target for a server path, if registered, as of the latest registry change.
    pub async fn get(&self, path: &str) -> Result<Option<Arc<Target>>, RegistryError> {
        let latest = *self.changes.borrow();
        let (loaded, snapshot) = self.read();
        if loaded == latest {
            return Ok(snapshot.get(path).cloned());
        }
        if self.waiting_to_retry() {
            return Ok(snapshot.get(path).cloned());
        }
        let _reloading = self.reload.lock().await;
        let (loaded, snapshot) = self.read();
        if loaded == *self.changes.borrow() || self.waiting_to_retry() {
            return Ok(snapshot.get(path).cloned());
        }
        // Read the counter before the list: a change made during the list is seen by
        // the next lookup instead of being lost.
        let generation = *self.changes.borrow();
        let listed = tokio::time::timeout(RELOAD_TIMEOUT, self.registry.list())
            .await
            .unwrap_or_else(|_| {
                Err(RegistryError::Store(
                    mcpgw_registry::StoreError::Unavailable(format!(
                        "no answer within {RELOAD_TIMEOUT:?}"
                    )),
                ))
            });
        let servers = match listed {
            Ok(servers) => servers,
            Err(error) => {
                // The database is away: servers that still work keep being served as
                // they were last read, rather than every request failing with it.
                tracing::warn!(%error, "routing with the last known servers: the registry cannot be read");
                if let Ok(mut retry_at) = self.retry_at.lock() {
                    *retry_at = Some(std::time::Instant::now() + RELOAD_RETRY);
                }
                return Ok(snapshot.get(path).cloned());
            }
        };
        let snapshot = snapshot_of(&servers, self.registry.scans_tools());
        let found = snapshot.get(path).cloned();
        if let Ok(mut current) = self.current.write() {
            *current = (generation, snapshot);
        }
        Ok(found)
    }

    /// Whether a reload failed less than [`RELOAD_RETRY`] ago.
    fn waiting_to_retry(&self) -> bool {
        self.retry_at
            .lock()
            .ok()
            .and_then(|retry_at| *retry_at)
            .is_some_and(|at| std::time::Instant::now() < at)
    }

    /// The whole table as of the latest registry change (the last one read, while the
    /// registry cannot be read).
    pub async fn fresh(&self) -> Result<Snapshot, RegistryError> {
        self.get("").await?;
        Ok(self.read().1)
    }

    /// A receiver of the registry's change counter.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    fn read(&self) -> (u64, Snapshot) {
        match self.current.read() {
            Ok(current) => (current.0, Arc::clone(&current.1)),
            Err(_) => (u64::MAX, Snapshot::default()),
        }
    }
}

/// The targets of `servers`; with the tool scan on (`scans`), a server never checked yet
/// awaits its first check (and scan) before it is routed to.
fn snapshot_of(servers: &[Server], scans: bool) -> Snapshot {
    Arc::new(
        servers
            .iter()
            .map(|server| {
                let mut target = Target::from_server(server);
                target.awaiting_check = scans && server.health.last_checked.is_none();
                (server.path.clone(), Arc::new(target))
            })
            .collect(),
    )
}
