//! Telemetry: what the gateway tells about itself. The audit trail ([`audit::AuditLog`])
//! and the analytics tables ([`analytics::Analytics`]), both taken off the request path by
//! one batch writer ([`batch::BatchLog`]) and written to a store in batches; and the
//! Prometheus metrics ([`metrics::metrics`]), also as OTLP export requests
//! ([`metrics::otlp`]).
//!
//! This crate imports no other workspace crate: callers turn their own types (principals,
//! policy decisions) into plain [`audit::AuditRecord`]s, and the database crate implements
//! [`audit::AuditStore`]. Nothing here may block or await on a request's path.

pub mod analytics;
pub mod audit;
pub mod batch;
mod error;
pub mod metrics;

pub use error::TelemetryError;
