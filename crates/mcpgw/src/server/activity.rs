//! Whether an HTTP/2 connection is serving anything, so that one left open with no
//! request in flight can be closed after a while.
//!
//! hyper closes an idle HTTP/1.1 connection itself (the header read timeout covers the
//! wait for the next request) but keeps an HTTP/2 connection open for as long as its
//! client answers pings. A client could hold many such connections without asking
//! anything and fill the connection cap; counting the requests in flight per connection
//! tells when it has been idle long enough.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

/// The requests in flight on one connection: a request counts from the moment its task
/// first runs the application until its answer's body is sent (or dropped), so an open
/// event stream keeps its connection busy. (A stream hyper has accepted but whose task
/// has not run yet is not counted: if the idle close falls in that instant, the graceful
/// `GOAWAY` still lets it be answered.)
#[derive(Debug, Clone)]
pub struct Activity(Arc<watch::Sender<usize>>);

/// One request in flight; dropping it ends the request's share of the activity.
#[derive(Debug)]
pub struct InFlight(Arc<watch::Sender<usize>>);

impl Default for Activity {
    fn default() -> Self {
        Activity(Arc::new(watch::Sender::new(0)))
    }
}

impl Activity {
    /// Counts a request as in flight until the returned guard is dropped.
    pub fn enter(&self) -> InFlight {
        // Only a change between idle and busy is announced: the idle wait cares for no
        // other, and each announcement wakes the connection's task.
        self.0.send_if_modified(|count| {
            *count += 1;
            *count == 1
        });
        InFlight(Arc::clone(&self.0))
    }

    /// Returns once no request has been in flight for `timeout` in a row.
    pub async fn idle_for(&self, timeout: Duration) {
        let mut changes = self.0.subscribe();
        loop {
            // The sender lives in `self`, so the channel cannot close while we wait.
            if changes.wait_for(|count| *count == 0).await.is_err() {
                return;
            }
            if tokio::time::timeout(timeout, changes.changed())
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.send_if_modified(|count| {
            *count = count.saturating_sub(1);
            *count == 0
        });
    }
}

#[cfg(test)]
#[path = "activity_tests.rs"]
mod tests;
