//! Telemetry: what the gateway tells about itself. For now the audit trail's writer
//! ([`audit::AuditLog`]), which takes every access decision off the request path and
//! writes them to an [`audit::AuditStore`] in batches; tracing setup, Prometheus metrics
//! and OTLP export belong here too.
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
