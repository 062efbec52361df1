//! W3C trace context across the gateway: a request's span continues the client's trace
//! (`traceparent` from its request), and an upstream request carries the gateway's span as
//! its parent, so one trace runs from the client through the gateway to the server. The
//! propagator is OpenTelemetry's global one: a no-op (nothing read, nothing added) unless
//! the binary configured an exporter.

use std::sync::atomic::{AtomicBool, Ordering};

use http::HeaderMap;
use opentelemetry::global;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Whether traces are exported: the data plane's spans cost a few microseconds per request,
/// spent only when someone reads them.
static EXPORTED: AtomicBool = AtomicBool::new(false);

/// Turns the data plane's spans on (the binary calls it once an exporter is running).
pub fn export() {
    EXPORTED.store(true, Ordering::Relaxed);
}

/// `make()` when traces are exported, else a span that records nothing and costs nothing.
pub(crate) fn span(make: impl FnOnce() -> Span) -> Span {
    if EXPORTED.load(Ordering::Relaxed) {
        make()
    } else {
        Span::none()
    }
}

/// Makes `span` a child of the trace the client's `headers` carry, if any.
pub fn continue_from(span: &Span, headers: &HeaderMap) {
    if !EXPORTED.load(Ordering::Relaxed) || !headers.contains_key("traceparent") {
        return;
    }
    let parent =
        global::get_text_map_propagator(|propagator| propagator.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// Adds the current span's context (`traceparent`, `tracestate`) to an upstream request's
/// `headers`, replacing the client's: the upstream's parent is the gateway's span.
pub(crate) fn inject(headers: &mut HeaderMap) {
    if !EXPORTED.load(Ordering::Relaxed) {
        return;
    }
    let context = Span::current().context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut HeaderInjector(headers));
    });
}
