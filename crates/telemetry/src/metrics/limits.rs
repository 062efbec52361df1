//! What the gateway's limits did: requests and connections refused or closed by one
//! (`mcpgw_limit_rejections_total{limit}`), and the client connections open under the
//! connection cap (`mcpgw_open_connections`).

use super::{LimitLabels, Metrics};

impl Metrics {
    /// A request or connection refused or closed by `limit` (`connections`,
    /// `rate_principal`, `rate_server`, `concurrency`, `streams`, `header_size`,
    /// `header_read_timeout`, `tls_handshake`, `stdio_processes`, …).
    pub fn limit_rejected(&self, limit: &'static str) {
        self.limit_rejections
            .get_or_create(&LimitLabels {
                limit: limit.to_owned(),
            })
            .inc();
    }

    /// A client connection was accepted under the cap.
    pub fn connection_opened(&self) {
        self.open_connections.inc();
    }

    /// A client connection ended.
    pub fn connection_closed(&self) {
        self.open_connections.dec();
    }
}
