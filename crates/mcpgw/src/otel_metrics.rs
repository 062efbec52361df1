//! OpenTelemetry metrics over OTLP/HTTP: when a collector is configured with the standard
//! variables (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` with
//! `/v1/metrics` appended; `OTEL_METRICS_EXPORTER=none` turns it off), the gateway's metrics
//! (the same families `/metrics` serves) are pushed every `OTEL_METRIC_EXPORT_INTERVAL`
//! milliseconds (default 60 000), as cumulative values, and once more at shutdown.
//!
//! The export reads the Prometheus registry the data plane already updates, so exporting
//! costs the data plane nothing; a collector that is down costs one failed POST per
//! interval and a warning, never a queue.

use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use mcpgw_telemetry::metrics::{metrics, otlp::Exporter};
use percent_encoding::percent_decode_str;
use prost::Message;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Default time between exports (the OpenTelemetry default).
const DEFAULT_INTERVAL_MS: u64 = 60_000;
/// Default time one export may take.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// A failing collector is warned about on the first failure and then every this many.
const WARN_EVERY: u64 = 10;

/// Where and how the metrics go.
struct Settings {
    endpoint: String,
    interval: Duration,
    timeout: Duration,
    headers: HeaderMap,
}

fn variable(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn millis(name: &str, default: u64) -> anyhow::Result<Duration> {
    match variable(name) {
        None => Ok(Duration::from_millis(default)),
        Some(text) => match text.parse::<u64>() {
            Ok(0) | Err(_) => bail!("{name} must be a positive number of milliseconds"),
            Ok(value) => Ok(Duration::from_millis(value)),
        },
    }
}

/// `key=value,key=value` with percent-encoded values, as the OTLP exporter specification
/// writes headers.
fn headers(text: &str) -> anyhow::Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    for pair in text.split(',').filter(|pair| !pair.trim().is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .context("OTLP headers are key=value pairs separated by commas")?;
        let value = percent_decode_str(value.trim()).decode_utf8_lossy();
        let name = HeaderName::try_from(key.trim()).context("an OTLP header name is invalid")?;
        // The value is a secret more often than not: never echoed in an error.
        let value = HeaderValue::try_from(value.as_ref())
            .map_err(|_| anyhow::anyhow!("the value of OTLP header {name} is invalid"))?;
        headers.insert(name, value);
    }
    Ok(headers)
}

/// The settings from the environment; `None` when metrics are not exported.
fn settings() -> anyhow::Result<Option<Settings>> {
    if variable("OTEL_METRICS_EXPORTER").is_some_and(|value| value == "none") {
        return Ok(None);
    }
    let endpoint = variable("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT").or_else(|| {
        variable("OTEL_EXPORTER_OTLP_ENDPOINT")
            .map(|base| format!("{}/v1/metrics", base.trim_end_matches('/')))
    });
    let Some(endpoint) = endpoint else {
        return Ok(None);
    };
    let headers = variable("OTEL_EXPORTER_OTLP_METRICS_HEADERS")
        .or_else(|| variable("OTEL_EXPORTER_OTLP_HEADERS"))
        .map(|text| headers(&text))
        .transpose()?
        .unwrap_or_default();
    Ok(Some(Settings {
        endpoint,
        interval: millis("OTEL_METRIC_EXPORT_INTERVAL", DEFAULT_INTERVAL_MS)?,
        timeout: millis("OTEL_METRIC_EXPORT_TIMEOUT", DEFAULT_TIMEOUT_MS)?,
        headers,
    }))
}

/// The resource every export describes: `service.name` (`OTEL_SERVICE_NAME`, else
/// `mcpgw`), `service.version`, and `OTEL_RESOURCE_ATTRIBUTES`.
fn resource() -> Vec<(String, String)> {
    let mut attributes: Vec<(String, String)> = variable("OTEL_RESOURCE_ATTRIBUTES")
        .map(|text| {
            text.split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(key, value)| {
                    let value = percent_decode_str(value.trim()).decode_utf8_lossy();
                    (key.trim().to_owned(), value.into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    attributes.retain(|(key, _)| key != "service.name" || variable("OTEL_SERVICE_NAME").is_none());
    if !attributes.iter().any(|(key, _)| key == "service.name") {
        let name = variable("OTEL_SERVICE_NAME").unwrap_or_else(|| "mcpgw".to_owned());
        attributes.push(("service.name".into(), name));
    }
    attributes.push(("service.version".into(), env!("CARGO_PKG_VERSION").into()));
    attributes
}

/// Starts the periodic export when a collector is configured; it exports a last time and
/// ends when `stop` is cancelled. A configuration it cannot use is an error at start.
pub fn start(stop: CancellationToken) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(settings) = settings()? else {
        return Ok(None);
    };
    // reqwest is built without a default TLS provider; an https:// collector needs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .build()
        .context("cannot build the OTLP metrics client")?;
    let exporter = Exporter {
        resource: resource(),
        started: SystemTime::now(),
    };
    tracing::info!(endpoint = %settings.endpoint, interval_ms = settings.interval.as_millis() as u64, "exporting metrics over OTLP");
    Ok(Some(tokio::spawn(run(settings, client, exporter, stop))))
}

async fn run(
    settings: Settings,
    client: reqwest::Client,
    exporter: Exporter,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval(settings.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    let mut failures: u64 = 0;
    loop {
        let last = tokio::select! {
            _ = ticks.tick() => false,
            () = stop.cancelled() => true,
        };
        match push(&settings, &client, &exporter).await {
            Ok(()) => {
                if failures > 0 {
                    tracing::info!(endpoint = %settings.endpoint, "OTLP metrics export works again");
                }
                failures = 0;
            }
            Err(reason) => {
                if failures.is_multiple_of(WARN_EVERY) {
                    tracing::warn!(endpoint = %settings.endpoint, %reason, failures = failures + 1, "OTLP metrics export failed");
                }
                failures += 1;
            }
        }
        if last {
            return;
        }
    }
}

/// One export of every metric's current value.
async fn push(
    settings: &Settings,
    client: &reqwest::Client,
    exporter: &Exporter,
) -> Result<(), String> {
    let request = exporter.request(&metrics().encode(), SystemTime::now());
    let response = client
        .post(&settings.endpoint)
        .headers(settings.headers.clone())
        .header(CONTENT_TYPE, "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .map_err(|error| error.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("the collector answered {}", response.status()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_headers_are_pairs_with_percent_encoded_values() {
        let parsed = headers("api-key=s3cr%3Dt, x-tenant = acme ").unwrap();
        assert_eq!(parsed["api-key"], "s3cr=t");
        assert_eq!(parsed["x-tenant"], "acme");
        let error = headers("api-key=bad\u{7f}value").unwrap_err().to_string();
        assert!(!error.contains("bad"), "{error}");
        assert!(headers("no pair").is_err());
    }
}
