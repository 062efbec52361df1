//! The cap on open client connections. A connection over the cap is answered at once
//! with `503 Service Unavailable` and `Retry-After` (plain HTTP) or closed (HTTPS: an
//! answer would need the handshake the cap is there to avoid), and counted in
//! `mcpgw_limit_rejections_total{limit="connections"}`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcpgw_telemetry::metrics::metrics;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The body of what a connection over the cap is told.
const OVER_CAPACITY_BODY: &str = "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"the gateway has too many open connections; retry shortly\"}}\n";

/// The whole answer to a connection over the cap.
fn over_capacity() -> String {
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{OVER_CAPACITY_BODY}",
        OVER_CAPACITY_BODY.len()
    )
}

/// How long writing that answer may take before the connection is just dropped.
const REJECT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// The connections open now, against their cap.
#[derive(Debug)]
pub struct OpenConnections {
    count: AtomicUsize,
    max: usize,
}

impl OpenConnections {
    /// No connection open yet; at most `max` at once.
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(OpenConnections {
            count: AtomicUsize::new(0),
            max,
        })
    }

    /// A permit for one more connection, or `None` when the cap is reached (counted).
    pub fn try_open(self: &Arc<Self>) -> Option<ConnectionPermit> {
        let opened = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .is_ok();
        if !opened {
            metrics().limit_rejected("connections");
            return None;
        }
        metrics().connection_opened();
        Some(ConnectionPermit {
            connections: Arc::clone(self),
        })
    }

    /// How many are open now.
    pub fn open(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }
}

/// One open connection's place under the cap, given back when dropped (when the
/// connection's task ends, however it ends).
#[derive(Debug)]
pub struct ConnectionPermit {
    connections: Arc<OpenConnections>,
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        self.connections.count.fetch_sub(1, Ordering::AcqRel);
        metrics().connection_closed();
    }
}

/// Tells a plain-HTTP client over the cap to come back later, then closes; a client that
/// does not read is dropped after [`REJECT_WRITE_TIMEOUT`].
pub async fn reject_over_capacity(mut stream: TcpStream) {
    let _ = tokio::time::timeout(REJECT_WRITE_TIMEOUT, async {
        stream.write_all(over_capacity().as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_kept_and_permits_give_their_place_back() {
        let connections = OpenConnections::new(2);
        let first = connections.try_open().unwrap();
        let _second = connections.try_open().unwrap();
        assert!(connections.try_open().is_none());
        drop(first);
        assert_eq!(connections.open(), 1);
        assert!(connections.try_open().is_some());
    }

    #[test]
    fn the_rejection_is_a_complete_http_answer() {
        let text = over_capacity();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), length);
        serde_json::from_str::<serde_json::Value>(body).unwrap();
    }
}
