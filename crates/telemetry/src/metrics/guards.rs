//! Guards that keep a gauge up while something lives: an open stream, a running process.

use prometheus_client::metrics::gauge::Gauge;

/// An open event stream, counted until dropped.
#[derive(Debug)]
pub struct OpenStream(pub(super) Gauge);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A running stdio process, counted until dropped.
#[derive(Debug)]
pub struct RunningProcess(pub(super) Gauge);

impl Drop for RunningProcess {
    fn drop(&mut self) {
        self.0.dec();
    }
}
