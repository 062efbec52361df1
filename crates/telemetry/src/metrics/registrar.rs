//! Registering metric families while noting the names of their samples, so that what a
//! dashboard may query is known without scraping.

use prometheus_client::registry::{Metric, Registry};

/// What kind of metric a family is, for the names of its samples.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Registers families and notes their sample names.
pub(super) struct Registrar<'a> {
    pub(super) registry: &'a mut Registry,
    pub(super) names: Vec<String>,
}

impl Registrar<'_> {
    /// Registers `metric` as `name` (a counter without `_total`: the encoder appends it).
    pub(super) fn add(&mut self, name: &str, help: &str, kind: Kind, metric: impl Metric) {
        self.registry.register(name, help, metric);
        match kind {
            Kind::Counter => self.names.push(format!("{name}_total")),
            Kind::Gauge => self.names.push(name.to_owned()),
            Kind::Histogram => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    self.names.push(format!("{name}{suffix}"));
                }
            }
        }
    }
}
