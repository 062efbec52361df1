//! Event streams open per principal: one caller (a runaway agent, a leaked token) cannot
//! take every place under the gateway-wide `max_streams` cap and lock everybody else out.
//! A `GET` that would open one stream more than `[limits] max_streams_per_principal` is
//! refused with `429` before it reaches the upstream, and counted in
//! `mcpgw_limit_rejections_total{limit="streams_principal"}`.
//!
//! Counts live in memory, per replica, like the rate limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mcpgw_telemetry::metrics::metrics;

use crate::error::GatewayError;

/// How many streams each principal has open, under one cap.
#[derive(Debug)]
pub struct StreamQuota {
    max: usize,
    /// Open streams by owner key; owners with none are removed, so the map holds only
    /// callers with a stream open.
    open: Mutex<HashMap<Box<str>, usize>>,
}

/// One open stream's place under its principal's quota, given back when dropped.
#[derive(Debug)]
pub struct StreamHold {
    quota: Arc<StreamQuota>,
    owner: Box<str>,
}

impl StreamQuota {
    /// At most `max` streams per principal.
    pub fn new(max: usize) -> Arc<StreamQuota> {
        Arc::new(StreamQuota {
            max,
            open: Mutex::default(),
        })
    }

    /// A place for one more stream of `owner`, or the `429` to answer.
    pub fn open(self: &Arc<Self>, owner: &str) -> Result<StreamHold, GatewayError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(owner.into()).or_insert(0);
        if *count >= self.max {
            drop(open);
            metrics().limit_rejected("streams_principal");
            return Err(GatewayError::TooManyStreams { max: self.max });
        }
        *count += 1;
        Ok(StreamHold {
            quota: Arc::clone(self),
            owner: owner.into(),
        })
    }

    /// How many streams `owner` has open.
    pub fn open_for(&self, owner: &str) -> usize {
        self.open
            .lock()
            .map(|open| open.get(owner).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for StreamHold {
    fn drop(&mut self) {
        let mut open = self
            .quota
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.owner) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.owner);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_principal_has_its_own_quota_and_places_come_back() {
        let quota = StreamQuota::new(2);
        let first = quota.open("alice").unwrap();
        let _second = quota.open("alice").unwrap();
        assert!(matches!(
            quota.open("alice"),
            Err(GatewayError::TooManyStreams { max: 2 })
        ));
        let _bob = quota.open("bob").unwrap();
        drop(first);
        assert_eq!(quota.open_for("alice"), 1);
        let _again = quota.open("alice").unwrap();
        drop(_again);
        drop(_second);
        assert_eq!(quota.open_for("alice"), 0);
        assert!(
            !quota.open.lock().unwrap().contains_key("alice"),
            "owners without streams are forgotten"
        );
    }
}
