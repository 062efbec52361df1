//! [`ChangeBus`]: how replicas sharing one PostgreSQL database tell each other that
//! something they keep in memory changed (a server registered, a token revoked, a signing
//! key rotated …), so that the change is in force everywhere within a second.
//!
//! A replica that changed something stores it first, then sends `NOTIFY mcpgw_changes`
//! with the [`Topic`] and its own instance id; every replica `LISTEN`s on one dedicated
//! connection and, for news from others, reads that part of its state again from the
//! database. Notifications carry no data, only "read again", so a lost or repeated one
//! costs a reload, never a wrong state. They are lost while a listener is disconnected:
//! after every (re)connection every topic is announced locally (a resync), and again every
//! `resync` period, in case a notification vanished in a way nobody noticed.
//!
//! On SQLite (one machine, one gateway) there is nobody to tell: [`ChangeBus::publish`]
//! does nothing and only the periodic resync runs (cheap, and harmless).

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::SqlStore;
use crate::connect::Backend;

/// The PostgreSQL channel every replica listens on.
const CHANNEL: &str = "mcpgw_changes";
/// Longest wait between attempts to reconnect the listener.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A listening connection that lasted less than this counts as a failure (something
/// keeps closing it): the next attempt waits, instead of resyncing in a tight loop.
const STABLE_FOR: Duration = Duration::from_secs(10);
/// Longest wait for the listening connection to be made.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// News waiting for a slow subscriber; one that falls behind gets a resync instead.
const BUFFER: usize = 64;

/// What changed: each names a part of the state that replicas keep in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Server definitions, health and tools (the routing table and every registry view).
    Servers,
    /// The list of revoked gateway tokens.
    Revocations,
    /// The keys gateway tokens are signed with.
    SigningKeys,
    /// Users' connections to the services behind `oauth-user` servers.
    Connections,
}

impl Topic {
    /// Every topic: what a resync announces.
    pub const ALL: [Topic; 4] = [
        Topic::Servers,
        Topic::Revocations,
        Topic::SigningKeys,
        Topic::Connections,
    ];

    /// The name sent in notifications.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Servers => "servers",
            Topic::Revocations => "revocations",
            Topic::SigningKeys => "signing-keys",
            Topic::Connections => "connections",
        }
    }

    /// The topic a notification names, if it is one of this version's.
    fn parse(name: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|topic| topic.as_str() == name)
    }
}

/// A notification's payload: `<topic> <instance id>`.
fn payload(topic: Topic, origin: &str) -> String {
    format!("{} {origin}", topic.as_str())
}

/// The topic of a notification sent by another instance than `me`.
fn news_from_others(payload: &str, me: &str) -> Option<Topic> {
    let (topic, origin) = payload.split_once(' ')?;
    if origin == me {
        return None;
    }
    Topic::parse(topic)
}

/// Sends and receives change notifications. Cheap to clone.
#[derive(Clone)]
pub struct ChangeBus {
    inner: Arc<Inner>,
}

/// What the clones of a bus share.
struct Inner {
    /// Where notifications are sent from.
    pool: AnyPool,
    /// SQLite has nobody to notify.
    backend: Backend,
    /// This process's instance id: its own notifications come back and are ignored.
    origin: String,
    /// News for this process's subscribers.
    local: broadcast::Sender<Topic>,
}

impl std::fmt::Debug for ChangeBus {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ChangeBus")
            .field("origin", &self.inner.origin)
            .finish()
    }
}

impl ChangeBus {
    /// A bus on `store`'s database for the instance `origin`.
    pub fn new(store: &SqlStore, origin: &str) -> ChangeBus {
        ChangeBus {
            inner: Arc::new(Inner {
                pool: store.pool().clone(),
                backend: store.backend(),
                origin: origin.to_owned(),
                local: broadcast::channel(BUFFER).0,
            }),
        }
    }

    /// This instance's id.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// Tells the other replicas that `topic` changed here; call it after the change is
    /// stored. Sent in the background: a notification that cannot be sent (the database
    /// is down) is logged, and the others catch up at their next resync.
    pub fn publish(&self, topic: Topic) {
        if self.inner.backend != Backend::Postgres {
            return;
        }
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload(topic, &inner.origin))
                .execute(&inner.pool)
                .await;
            if let Err(error) = sent {
                tracing::warn!(topic = topic.as_str(), %error,
                    "other replicas not notified of a change; they see it at their next resync");
            }
        });
    }

    /// Changes made by other replicas, and resyncs. A subscriber that lags gets
    /// `RecvError::Lagged` and should reload everything it follows.
    pub fn subscribe(&self) -> broadcast::Receiver<Topic> {
        self.inner.local.subscribe()
    }

    /// Announces every topic locally, as if every replica had changed everything.
    pub fn resync(&self) {
        for topic in Topic::ALL {
            let _ = self.inner.local.send(topic);
        }
    }

    /// Listens for other replicas' notifications at `url` (PostgreSQL only) and resyncs
    /// every `resync`, until `shutdown`.
    pub fn start(
        &self,
        url: &str,
        resync: Duration,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let bus = self.clone();
        let url = (self.inner.backend == Backend::Postgres).then(|| url.to_owned());
        tokio::spawn(async move {
            let periodic = bus.clone();
            let stop = shutdown.clone();
            let ticker = tokio::spawn(async move {
                let mut ticks = tokio::time::interval(resync);
                ticks.tick().await;
                loop {
                    tokio::select! {
                        _ = ticks.tick() => periodic.resync(),
                        () = stop.cancelled() => return,
                    }
                }
            });
            if let Some(url) = url {
                tokio::select! {
                    () = bus.listen(&url) => {}
                    () = shutdown.cancelled() => {}
                }
            }
            let _ = ticker.await;
        })
    }

    /// Listens forever, reconnecting with backoff; resyncs after each connection.
    async fn listen(&self, url: &str) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = tokio::time::Instant::now();
            let ended = self.listen_once(url).await;
            if let Err(error) = &ended {
                tracing::warn!(%error, "change notifications interrupted; reconnecting");
            }
            if ended.is_ok() && started.elapsed() >= STABLE_FOR {
                backoff = Duration::from_millis(100);
                continue;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection's worth of notifications: returns when it is lost.
    async fn listen_once(&self, url: &str) -> Result<(), sqlx::Error> {
        let mut listener = tokio::time::timeout(CONNECT_TIMEOUT, PgListener::connect(url))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        listener.listen(CHANNEL).await?;
        tracing::debug!("listening for other replicas' changes");
        // Whatever was announced while nobody listened is lost: read everything again.
        self.resync();
        while let Some(notification) = listener.try_recv().await? {
            if let Some(topic) = news_from_others(notification.payload(), &self.inner.origin) {
                tracing::debug!(topic = topic.as_str(), "another replica changed something");
                let _ = self.inner.local.send(topic);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_and_unknown_notifications_are_ignored() {
        let sent = payload(Topic::Revocations, "a1");
        assert_eq!(news_from_others(&sent, "b2"), Some(Topic::Revocations));
        assert_eq!(news_from_others(&sent, "a1"), None);
        assert_eq!(news_from_others("policies a1", "b2"), None);
        assert_eq!(news_from_others("servers", "b2"), None);
        for topic in Topic::ALL {
            assert_eq!(Topic::parse(topic.as_str()), Some(topic));
        }
    }
}
