//! [`TelemetryError`]: why a telemetry operation failed.

/// A failure of the audit trail's storage or of its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelemetryError {
    /// The store could not be reached or refused the operation; trying again may work.
    #[error("audit store unavailable: {0}")]
    Store(String),
    /// The store holds something that cannot be read back.
    #[error("audit store corrupt: {0}")]
    Corrupt(String),
    /// A query parameter that cannot be used (a cursor not issued by the gateway, …).
    #[error("{field}: {message}")]
    Invalid {
        /// The parameter.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
}
