//! The gateway's metrics as an OTLP export request, for collectors that take metrics over
//! OTLP/HTTP rather than scraping `/metrics`. Every Prometheus family becomes one OTLP
//! metric with the same meaning: a counter a cumulative monotonic sum (named without
//! `_total`, as OpenTelemetry names it; a collector exporting to Prometheus adds it back), a
//! gauge a gauge, a histogram a cumulative explicit-bucket histogram. The labels become
//! attributes, unchanged.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::exposition::{self, Family, Kind, Sample};

/// Who exports: the resource attributes (`service.name`, …) of every export.
#[derive(Debug, Clone)]
pub struct Exporter {
    /// The resource's attributes.
    pub resource: Vec<(String, String)>,
    /// When the counters started counting (the process's start).
    pub started: SystemTime,
}

impl Exporter {
    /// The export request for `exposition` (the text of [`super::Metrics::encode`]) at `now`.
    pub fn request(&self, exposition: &str, now: SystemTime) -> ExportMetricsServiceRequest {
        let times = Times {
            start: nanos(self.started),
            now: nanos(now),
        };
        let metrics = exposition::parse(exposition)
            .iter()
            .filter_map(|family| metric(family, times))
            .collect();
        let resource = Resource {
            attributes: self
                .resource
                .iter()
                .map(|(key, value)| attribute(key, value))
                .collect(),
            ..Default::default()
        };
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(resource),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "mcpgw".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        }
    }
}

#[derive(Clone, Copy)]
struct Times {
    start: u64,
    now: u64,
}

fn nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn attributes(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|(key, value)| attribute(key, value))
        .collect()
}

/// One family as an OTLP metric; `None` for a kind OTLP gets nothing of here, or no samples.
fn metric(family: &Family, times: Times) -> Option<Metric> {
    if family.samples.is_empty() {
        return None;
    }
    let number = |sample: &Sample| NumberDataPoint {
        attributes: attributes(&sample.labels),
        start_time_unix_nano: times.start,
        time_unix_nano: times.now,
        value: Some(number_data_point::Value::AsDouble(sample.value)),
        ..Default::default()
    };
    let (name, data) = match family.kind {
        Kind::Counter => (
            family.name.strip_suffix("_total").unwrap_or(&family.name),
            metric::Data::Sum(Sum {
                data_points: family.samples.iter().map(number).collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
        ),
        Kind::Gauge => (
            family.name.as_str(),
            metric::Data::Gauge(Gauge {
                data_points: family.samples.iter().map(number).collect(),
            }),
        ),
        Kind::Histogram => (
            family.name.as_str(),
            metric::Data::Histogram(Histogram {
                data_points: histogram_points(family, times),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
        ),
        Kind::Other => return None,
    };
    Some(Metric {
        name: name.to_owned(),
        description: family.help.clone(),
        unit: if name.ends_with("_seconds") { "s" } else { "" }.to_owned(),
        data: Some(data),
        ..Default::default()
    })
}

/// One series of a histogram, gathered from its `_bucket`, `_sum` and `_count` samples.
#[derive(Default)]
struct Series {
    /// `(upper bound, cumulative count)` of each finite bucket.
    buckets: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

/// A histogram family's series as OTLP points (per-bucket counts, not cumulative ones).
fn histogram_points(family: &Family, times: Times) -> Vec<HistogramDataPoint> {
    let mut series: BTreeMap<Vec<(String, String)>, Series> = BTreeMap::new();
    for sample in &family.samples {
        let mut labels = sample.labels.clone();
        let bound = labels
            .iter()
            .position(|(key, _)| key == "le")
            .map(|at| labels.remove(at).1);
        let entry = series.entry(labels).or_default();
        let suffix = sample.name.strip_prefix(family.name.as_str()).unwrap_or("");
        match (suffix, bound) {
            ("_bucket", Some(bound)) => {
                if let Ok(bound) = bound.parse::<f64>()
                    && bound.is_finite()
                {
                    entry.buckets.push((bound, sample.value));
                }
            }
            ("_sum", _) => entry.sum = sample.value,
            ("_count", _) => entry.count = sample.value,
            _ => {}
        }
    }
    series
        .into_iter()
        .map(|(labels, mut series)| {
            series.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut counts = Vec::with_capacity(series.buckets.len() + 1);
            let mut below = 0.0;
            for (_, cumulative) in &series.buckets {
                counts.push(as_count(cumulative - below));
                below = *cumulative;
            }
            counts.push(as_count(series.count - below));
            HistogramDataPoint {
                attributes: attributes(&labels),
                start_time_unix_nano: times.start,
                time_unix_nano: times.now,
                count: as_count(series.count),
                sum: Some(series.sum),
                bucket_counts: counts,
                explicit_bounds: series.buckets.iter().map(|(bound, _)| *bound).collect(),
                ..Default::default()
            }
        })
        .collect()
}

/// A count written as a float, as the integer it is (never negative).
fn as_count(value: f64) -> u64 {
    if value.is_finite() && value > 0.0 {
        value.round() as u64
    } else {
        0
    }
}

#[cfg(test)]
#[path = "otlp_tests.rs"]
mod tests;
