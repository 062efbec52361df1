//! OpenTelemetry traces over OTLP/HTTP (metrics: [`crate::otel_metrics`]), when `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
//! traces-only `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) names a collector: the gateway's
//! spans (one per request on an MCP route, with the MCP method, tool, server, session and
//! caller, and children for authentication, policy and the upstream call) are exported in
//! batches from a thread of the SDK's own, and W3C trace context (`traceparent`) is read
//! from clients and passed to upstream servers. Without an endpoint nothing is exported and
//! no context is propagated.

use opentelemetry::global;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

/// The traces endpoint from the standard environment variables: the traces one as given,
/// or the general one with `/v1/traces` appended; none with `OTEL_TRACES_EXPORTER=none`.
fn endpoint() -> Option<String> {
    if std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|value| value.trim() == "none") {
        return None;
    }
    let given = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
    };
    given("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| {
        given("OTEL_EXPORTER_OTLP_ENDPOINT")
            .map(|base| format!("{}/v1/traces", base.trim_end_matches('/')))
    })
}

/// The exporting tracer provider and its `tracing` layer, when an endpoint is configured;
/// an endpoint that cannot be used is reported on stderr and tracing stays local.
pub fn start<S>() -> Option<(SdkTracerProvider, impl Layer<S>)>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    let endpoint = endpoint()?;
    // The exporter's HTTP client needs a TLS provider even for http:// endpoints.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint.clone())
        .build()
    {
        Ok(exporter) => exporter,
        Err(error) => {
            eprintln!("mcpgw: traces not exported to {endpoint}: {error}");
            return None;
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name("mcpgw").build())
        .with_batch_exporter(exporter)
        .build();
    // W3C trace context and baggage, read from clients and passed on to servers alike.
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    mcpgw_gateway::trace::export();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("mcpgw"));
    Some((provider, layer))
}

/// Exports what is buffered and stops the exporter (blocks briefly; call outside the async
/// runtime).
pub fn stop(provider: SdkTracerProvider) {
    if let Err(error) = provider.shutdown() {
        eprintln!("mcpgw: traces not all exported at exit: {error}");
    }
}
