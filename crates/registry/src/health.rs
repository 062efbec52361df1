//! The background health checker: every enabled server, on an interval, bounded; by one
//! replica at a time (the holder of the `health-checks` [`Lease`]), whose results reach
//! the others through the shared database.

use std::time::Duration;

use futures::StreamExt;
use rand::Rng;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::lease::Lease;
use crate::service::RegistryService;

/// How often and how hard the checker works.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthCheckConfig {
    /// Pause between the end of one round and the start of the next, before jitter.
    pub interval: Duration,
    /// Deadline for one server's check (the [`crate::Prober`] is built with it).
    pub timeout: Duration,
    /// Most checks in flight at once (the [`crate::RegistryService`] is built with it).
    pub concurrency: usize,
    /// Fraction of `interval` by which each pause varies (0.1 = ±10 %), so that replicas
    /// and restarts do not synchronise their checks.
    pub jitter: f64,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
            concurrency: 8,
            jitter: 0.1,
        }
    }
}

/// How often a replica that does not hold the lease looks whether it does now.
const STANDBY_POLL: Duration = Duration::from_secs(1);

/// Runs health-check rounds until cancelled.
pub struct HealthChecker;

impl HealthChecker {
    /// Starts the checker; the first round runs at once if `lease` is held, else as soon
    /// as it is.
    pub fn spawn(
        service: RegistryService,
        config: HealthCheckConfig,
        lease: Lease,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let pause = if lease.held() {
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = run_round(&service, config.concurrency.max(1)) => {}
                    }
                    jittered(config.interval, config.jitter)
                } else {
                    STANDBY_POLL
                };
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(pause) => {}
                }
            }
        })
    }
}

async fn run_round(service: &RegistryService, concurrency: usize) {
    let servers = match service.list().await {
        Ok(servers) => servers,
        Err(error) => {
            tracing::warn!(%error, "health check round skipped: cannot list servers");
            return;
        }
    };
    futures::stream::iter(servers.into_iter().filter(|server| server.enabled))
        .for_each_concurrent(concurrency, |server| async move {
            if let Err(error) = service.check(&server).await {
                tracing::warn!(path = %server.path, %error, "could not record health check");
            }
        })
        .await;
}

fn jittered(interval: Duration, jitter: f64) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    if jitter == 0.0 {
        return interval;
    }
    let factor = rand::rng().random_range((1.0 - jitter)..=(1.0 + jitter));
    interval.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_bounds() {
        let interval = Duration::from_secs(30);
        for _ in 0..1000 {
            let pause = jittered(interval, 0.1);
            assert!(pause >= Duration::from_secs(27) && pause <= Duration::from_secs(33));
        }
        assert_eq!(jittered(interval, 0.0), interval);
    }
}
