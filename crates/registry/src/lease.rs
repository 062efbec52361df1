//! [`Lease`]: background work that must be done once, not once per replica (health
//! checks, federation, retention pruning), held by one replica at a time.
//!
//! Every replica runs a small task that tries to take or renew the named lease in the
//! shared database every [`LeaseTiming::renew`]; the lease lasts [`LeaseTiming::ttl`], so a
//! holder that dies (or loses the database) is replaced within `ttl + renew`. Work loops
//! ask [`Lease::held`] before each round: an atomic read, no query. A holder that cannot
//! renew stops saying it holds the lease before the lease can have expired, so two
//! replicas do not both start rounds (clocks are assumed to agree to well under a second,
//! as NTP keeps them). A round already running when its replica lost the lease finishes,
//! and may overlap the new holder's first round: the work guarded this way tolerates that
//! (a check result is stored only for the definition it checked; deletions are
//! idempotent). On shutdown the lease is given back at once, so that another replica
//! takes over without waiting for it to expire.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::StoreError;

/// Durable leases; implemented by `mcpgw-store` on the shared database.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes `name` for `holder` until `until_ms` if it is free, expired at `now_ms`, or
    /// already `holder`'s (a renewal); `true` when `holder` now holds it.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Gives `name` back at `now_ms` if `holder` holds it. An attempt of `holder` to take
    /// or renew it that was made before (`now_ms` earlier than this), still on its way to
    /// the database after its caller stopped waiting, must not take it again.
    async fn release_lease(&self, name: &str, holder: &str, now_ms: i64) -> Result<(), StoreError>;
}

/// How long a lease lasts and how often it is renewed; `renew` must stay well under half
/// of `ttl`, so that a holder notices a failed renewal before its lease expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long a taken lease lasts without renewal: the longest a dead holder blocks.
    pub ttl: Duration,
    /// How often the holder renews, and others try to take it: well under `ttl`.
    pub renew: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            ttl: Duration::from_secs(10),
            renew: Duration::from_secs(3),
        }
    }
}

/// One named lease as this replica sees it. Cheap to clone.
#[derive(Clone)]
pub struct Lease {
    name: Arc<str>,
    held: Arc<AtomicBool>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Lease")
            .field("name", &self.name)
            .field("held", &self.held())
            .finish()
    }
}

impl Lease {
    /// A lease that is always held: for work that runs on every replica, and for tests.
    pub fn always(name: &str) -> Lease {
        Lease {
            name: name.into(),
            held: Arc::new(AtomicBool::new(true)),
        }
    }

    /// Competes for `name` as `holder` until `shutdown`, then gives it back. The first
    /// attempt is made before this returns, so that a single replica starts its work at
    /// once. The returned task ends after the lease was given back.
    pub async fn start(
        store: Arc<dyn LeaseStore>,
        name: &str,
        holder: &str,
        timing: LeaseTiming,
        shutdown: CancellationToken,
    ) -> (Lease, JoinHandle<()>) {
        let lease = Lease {
            name: name.into(),
            held: Arc::new(AtomicBool::new(false)),
        };
        let contender = Contender {
            store,
            lease: lease.clone(),
            holder: holder.to_owned(),
            timing,
        };
        contender.attempt().await;
        let task = tokio::spawn(contender.run(shutdown));
        (lease, task)
    }

    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this replica holds the lease now.
    pub fn held(&self) -> bool {
        self.held.load(Ordering::Acquire)
    }
}

/// The task keeping one lease.
struct Contender {
    store: Arc<dyn LeaseStore>,
    lease: Lease,
    holder: String,
    timing: LeaseTiming,
}

impl Contender {
    /// Renews (or tries to take) the lease every period until `shutdown`, then gives it
    /// back if it is held in this replica's name.
    async fn run(self, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(self.timing.renew);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => self.attempt().await,
                () = shutdown.cancelled() => break,
            }
        }
        // Given back even when this replica no longer believes it holds it: a renewal
        // that timed out (a slow database) may still have been stored, and the lease
        // would then wait out its time with nobody working. The release removes only a
        // lease held in this replica's name.
        self.lease.held.store(false, Ordering::Release);
        let now = chrono::Utc::now().timestamp_millis();
        if let Err(error) = self
            .store
            .release_lease(&self.lease.name, &self.holder, now)
            .await
        {
            tracing::warn!(lease = %self.lease.name, %error, "lease not given back; it expires");
        }
    }

    /// Takes or renews the lease. The attempt itself is bounded by the renewal period,
    /// so that a hung database cannot leave this replica believing it holds a lease that
    /// expired meanwhile.
    async fn attempt(&self) {
        let now = chrono::Utc::now().timestamp_millis();
        let until = now + millis(self.timing.ttl);
        let attempt = self
            .store
            .acquire_lease(&self.lease.name, &self.holder, until, now);
        let held = match tokio::time::timeout(self.timing.renew, attempt).await {
            Ok(Ok(held)) => held,
            Ok(Err(error)) => {
                tracing::warn!(lease = %self.lease.name, %error, "lease not renewed");
                false
            }
            Err(_) => {
                tracing::warn!(lease = %self.lease.name, "lease not renewed: the database is slow");
                false
            }
        };
        let was = self.lease.held.swap(held, Ordering::AcqRel);
        if held != was {
            if held {
                tracing::info!(lease = %self.lease.name, "this replica took the lease");
            } else {
                tracing::info!(lease = %self.lease.name, "this replica no longer holds the lease");
            }
        }
    }
}

/// `duration` in milliseconds, saturating.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
