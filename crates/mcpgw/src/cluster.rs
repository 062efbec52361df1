//! Several replicas on one database: each process's instance id, the change notifications
//! that keep every replica's in-memory state in step (`mcpgw_store::ChangeBus`), and the
//! leases that make background work happen once (`mcpgw_registry::Lease`).
//!
//! A single gateway on SQLite runs the same code: it takes every lease, and has nobody to
//! notify.

use std::sync::Arc;
use std::time::Duration;

use mcpgw_auth::egress::user::UserConnections;
use mcpgw_auth::vending::{TokenChange, TokenService};
use mcpgw_registry::{Lease, LeaseTiming, RegistryService};
use mcpgw_store::{ChangeBus, SqlStore, Topic};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Leases this gateway competes for.
pub mod leases {
    /// Periodic health checks of every server.
    pub const HEALTH_CHECKS: &str = "health-checks";
    /// Deleting old audit records, analytics rows and expired sessions.
    pub const MAINTENANCE: &str = "maintenance";
}

/// This process among the replicas.
#[derive(Clone)]
pub struct Cluster {
    bus: ChangeBus,
    store: SqlStore,
}

impl Cluster {
    /// The cluster as seen from this process, on `store`'s database.
    pub fn new(store: &SqlStore) -> Cluster {
        Cluster {
            bus: ChangeBus::new(store, &instance_id()),
            store: store.clone(),
        }
    }

    /// This process's instance id (host, process id and a random part: unique even when
    /// containers reuse process ids).
    pub fn instance(&self) -> &str {
        self.bus.origin()
    }

    /// A hook that tells the other replicas that `topic` changed here.
    pub fn announcer(&self, topic: Topic) -> Arc<dyn Fn() + Send + Sync> {
        let bus = self.bus.clone();
        Arc::new(move || bus.publish(topic))
    }

    /// The hook the token service calls after revocations and rotations.
    pub fn token_announcer(&self) -> mcpgw_auth::vending::ChangeHook {
        let bus = self.bus.clone();
        Arc::new(move |change| {
            bus.publish(match change {
                TokenChange::Revocations => Topic::Revocations,
                TokenChange::SigningKeys => Topic::SigningKeys,
            })
        })
    }

    /// Competes for the lease `name` until `shutdown`.
    pub async fn lease(&self, name: &str, shutdown: CancellationToken) -> (Lease, JoinHandle<()>) {
        Lease::start(
            Arc::new(self.store.clone()),
            name,
            self.instance(),
            LeaseTiming::default(),
            shutdown,
        )
        .await
    }

    /// Listens for other replicas' changes at `database_url` (and resyncs every
    /// `resync`), applying each to `followers`, until `shutdown`.
    pub fn follow(
        &self,
        database_url: &str,
        resync: Duration,
        followers: Followers,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let mut news = self.bus.subscribe();
        let listener = self.bus.start(database_url, resync, shutdown.clone());
        tokio::spawn(async move {
            loop {
                let received = tokio::select! {
                    received = news.recv() => received,
                    () = shutdown.cancelled() => break,
                };
                match received {
                    Ok(topic) => followers.apply(topic).await,
                    Err(RecvError::Lagged(_)) => {
                        for topic in Topic::ALL {
                            followers.apply(topic).await;
                        }
                    }
                    Err(RecvError::Closed) => break,
                }
            }
            let _ = listener.await;
        })
    }
}

/// What each replica keeps in memory and reads again when another changed it.
pub struct Followers {
    /// Every registry view (routing table, catalogue, search, live UI).
    pub registry: RegistryService,
    /// Revocations and signing keys.
    pub tokens: Arc<TokenService>,
    /// Users' tokens for `oauth-user` servers, if providers are configured.
    pub connections: Option<Arc<UserConnections>>,
}

impl Followers {
    async fn apply(&self, topic: Topic) {
        match topic {
            Topic::Servers => self.registry.reload(),
            Topic::Revocations => {
                if let Err(error) = self.tokens.reload_revocations(mcpgw_auth::now()).await {
                    tracing::warn!(%error, "token revocation list not reloaded");
                }
            }
            Topic::SigningKeys => {
                if let Err(error) = self.tokens.reload_keys().await {
                    tracing::warn!(%error, "signing keys not reloaded");
                }
            }
            Topic::Connections => {
                if let Some(connections) = &self.connections {
                    connections.forget_all();
                }
            }
        }
    }
}

/// `<host>-<pid>-<random>`: readable in logs and the `leases` table, unique per process.
fn instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "mcpgw".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..8])
}
