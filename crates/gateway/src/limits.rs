//! Request rate limits: a token bucket per principal (every request of one caller, on
//! any route) and per server (every message sent to one upstream, from anyone), so that
//! one runaway agent cannot starve the others and one fragile server is not flooded. A
//! request over a limit is refused with `429 Too Many Requests` and `Retry-After` (when
//! a token will be there), before it reaches the upstream, and counted in
//! `mcpgw_limit_rejections_total{limit="rate_principal"|"rate_server"}`.
//!
//! Buckets live in memory, per replica: with N replicas behind a balancer a caller gets
//! up to N times the rate (documented; a shared counter would put the database on every
//! request's path).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcpgw_telemetry::metrics::metrics;

use crate::error::GatewayError;
use crate::stream_quota::{StreamHold, StreamQuota};

/// How many shards the buckets are split over, so that callers rarely wait for each
/// other's lock.
const SHARDS: usize = 16;
/// Above this many buckets in a shard, full (idle) buckets are dropped: memory stays
/// bounded by the callers active in the last `burst / rate` seconds.
const PRUNE_ABOVE: usize = 4_096;
/// At most one pruning pass per shard in this time, so that a shard holding many active
/// callers does not scan them all on every request.
const PRUNE_EVERY: Duration = Duration::from_secs(1);

/// One limit: `rate` tokens a second, at most `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Bucket size: how many requests may come at once after a quiet spell.
    pub burst: f64,
}

/// A bucket's state.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by key, all with the same [`Rate`].
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    /// Counted as `limit` in the metrics.
    limit: &'static str,
    shards: Vec<Mutex<Shard>>,
}

/// One shard's buckets, and when they were last pruned.
#[derive(Debug, Default)]
struct Shard {
    buckets: HashMap<Box<str>, Bucket>,
    pruned: Option<Instant>,
}

/// A refusal: how long until the next token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// Whole seconds for the `Retry-After` header (at least 1).
    pub fn seconds(self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }
}

impl RateLimiter {
    /// Buckets of `rate`, counted as `limit` when they refuse.
    pub fn new(rate: Rate, limit: &'static str) -> RateLimiter {
        RateLimiter {
            rate,
            limit,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    /// Takes a token from `key`'s bucket, or says how long until there is one.
    pub fn admit(&self, key: &str) -> Result<(), RetryAfter> {
        self.admit_at(key, Instant::now())
    }

    /// [`admit`](Self::admit) at `now` (tests drive the clock).
    pub fn admit_at(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let shard = &self.shards[shard_of(key)];
        let mut shard = match shard.lock() {
            Ok(shard) => shard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let due = shard
            .pruned
            .is_none_or(|at| now.saturating_duration_since(at) >= PRUNE_EVERY);
        if shard.buckets.len() > PRUNE_ABOVE && due {
            let rate = self.rate;
            shard
                .buckets
                .retain(|_, bucket| refilled(rate, *bucket, now) < rate.burst);
            shard.pruned = Some(now);
        }
        let buckets = &mut shard.buckets;
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => buckets.entry(key.into()).or_insert(Bucket {
                tokens: self.rate.burst,
                updated: now,
            }),
        };
        let tokens = refilled(self.rate, *bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket {
                tokens: tokens - 1.0,
                updated: now,
            };
            return Ok(());
        }
        *bucket = Bucket {
            tokens,
            updated: now,
        };
        metrics().limit_rejected(self.limit);
        let wait = (1.0 - tokens) / self.rate.per_second;
        Err(RetryAfter(Duration::from_secs_f64(
            wait.clamp(0.0, 86_400.0),
        )))
    }
}

/// The tokens in `bucket` at `now`.
fn refilled(rate: Rate, bucket: Bucket, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    (bucket.tokens + elapsed * rate.per_second).min(rate.burst)
}

/// FNV-1a of the key, for the shard (no allocation, no per-process seed needed: the
/// keys are principals and servers, and a skew only costs lock contention).
fn shard_of(key: &str) -> usize {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in key.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash as usize % SHARDS
}

/// The gateway's limits per caller and per server; each may be off.
#[derive(Debug, Default)]
pub struct RateLimits {
    /// Per principal (subject; anonymous callers share one bucket per group).
    pub principal: Option<RateLimiter>,
    /// Per server path.
    pub server: Option<RateLimiter>,
    /// Event streams open per principal.
    pub streams: Option<Arc<StreamQuota>>,
}

impl RateLimits {
    /// Limits of `per_principal` and `per_server` (`None`: no limit).
    pub fn new(per_principal: Option<Rate>, per_server: Option<Rate>) -> RateLimits {
        RateLimits {
            principal: per_principal.map(|rate| RateLimiter::new(rate, "rate_principal")),
            server: per_server.map(|rate| RateLimiter::new(rate, "rate_server")),
            streams: None,
        }
    }

    /// The same limits, and at most `max` event streams open per principal.
    pub fn with_streams_per_principal(mut self, max: usize) -> RateLimits {
        self.streams = Some(StreamQuota::new(max));
        self
    }

    /// A place for one more event stream of the principal whose owner key `owner` gives,
    /// when `opens` (a `GET` on an MCP endpoint); `None` when nothing is counted.
    pub fn open_stream(
        &self,
        opens: bool,
        owner: impl FnOnce() -> String,
    ) -> Result<Option<StreamHold>, GatewayError> {
        match &self.streams {
            Some(quota) if opens => quota.open(&owner()).map(Some),
            _ => Ok(None),
        }
    }

    /// Admits one request of the principal whose owner key `owner` gives (only asked
    /// for when the limit is on: it allocates).
    pub fn admit_principal(&self, owner: impl FnOnce() -> String) -> Result<(), RetryAfter> {
        match &self.principal {
            Some(limiter) => limiter.admit(&owner()),
            None => Ok(()),
        }
    }

    /// Admits one request to `server`.
    pub fn admit_server(&self, server: &str) -> Result<(), RetryAfter> {
        match &self.server {
            Some(limiter) => limiter.admit(server),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_second: f64, burst: f64) -> RateLimiter {
        RateLimiter::new(Rate { per_second, burst }, "test")
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let limiter = limiter(2.0, 3.0);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.admit_at("alice", start).unwrap();
        }
        let refused = limiter.admit_at("alice", start).unwrap_err();
        assert_eq!(refused.0, Duration::from_millis(500));
        assert_eq!(refused.seconds(), 1);
        // Half a second later, one token is back; not two.
        let later = start + Duration::from_millis(500);
        limiter.admit_at("alice", later).unwrap();
        assert!(limiter.admit_at("alice", later).is_err());
    }

    #[test]
    fn callers_have_buckets_of_their_own() {
        let limiter = limiter(1.0, 1.0);
        let now = Instant::now();
        limiter.admit_at("alice", now).unwrap();
        assert!(limiter.admit_at("alice", now).is_err());
        limiter.admit_at("bob", now).unwrap();
    }

    #[test]
    fn buckets_never_hold_more_than_the_burst() {
        let limiter = limiter(100.0, 2.0);
        let start = Instant::now();
        limiter.admit_at("alice", start).unwrap();
        let much_later = start + Duration::from_secs(3_600);
        limiter.admit_at("alice", much_later).unwrap();
        limiter.admit_at("alice", much_later).unwrap();
        assert!(limiter.admit_at("alice", much_later).is_err());
    }

    #[test]
    fn idle_buckets_are_pruned() {
        let limiter = limiter(1000.0, 1.0);
        let start = Instant::now();
        for index in 0..(PRUNE_ABOVE * SHARDS * 2) {
            limiter.admit_at(&format!("caller-{index}"), start).unwrap();
        }
        let later = start + Duration::from_secs(1);
        for index in 0..SHARDS * 4 {
            limiter.admit_at(&format!("late-{index}"), later).unwrap();
        }
        let held: usize = limiter
            .shards
            .iter()
            .map(|shard| shard.lock().unwrap().buckets.len())
            .sum();
        assert!(held <= PRUNE_ABOVE * SHARDS, "{held} buckets held");
    }
}
