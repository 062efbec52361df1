//! SIGINT and SIGTERM: how `mcpgw serve` learns it should stop (and, a second time, that
//! it should stop waiting for the drain delay).

use anyhow::Context;

/// SIGINT and SIGTERM handlers, installed before the gateway announces itself so a
/// supervisor that signals right after the listening line still gets a graceful stop.
pub struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Installs both handlers (before the gateway announces itself).
    pub fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignals {
                interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    /// Resolves on the next SIGINT (Ctrl-C) or SIGTERM.
    pub async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
