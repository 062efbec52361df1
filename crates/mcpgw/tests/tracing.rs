//! OpenTelemetry through the real binary, with `OTEL_EXPORTER_OTLP_ENDPOINT` naming a
//! collector (an OTLP/HTTP receiver started by the test, decoding what it gets with the
//! OpenTelemetry protobuf definitions):
//! - a request carrying the client's `traceparent` header becomes spans of the client's
//!   trace, and the upstream server receives a `traceparent` of the same trace whose parent
//!   is the gateway's upstream span, in the header and in the message's `_meta`;
//! - a message carrying trace context in `_meta` (2026-07-28, SEP-414) is a span of that
//!   trace, on a server's route and on the aggregated `/mcp` (direct and rmcp paths alike);
//! - the metrics `/metrics` serves are pushed to the collector's `/v1/metrics`, with the
//!   configured headers and service name.

mod common;

use std::time::Duration;

use common::hostile::{self, Hostile, Reply, Request};
use common::{Gateway, Launch, TOKEN};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

const CLIENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";
/// The trace an agent's MCP library puts in `_meta`.
const META_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const META_SPAN: &str = "00f067aa0ba902b7";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A string (or integer) attribute.
/// The `tools/call` requests the recording upstream received, in order.
fn tool_calls(upstream: &Hostile) -> Vec<Request> {
    upstream
        .requests()
        .into_iter()
        .filter(|request| request.rpc_method().as_deref() == Some("tools/call"))
        .collect()
}

fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            AnyValue::StringValue(text) => text.clone(),
            AnyValue::IntValue(number) => number.to_string(),
            other => format!("{other:?}"),
        })
}

/// The spans the collector has received, waiting until one matches `until`.
async fn spans_until(collector: &Hostile, until: impl Fn(&Span) -> bool) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for _ in 0..100 {
        spans = collector
            .requests()
            .iter()
            .filter(|request| request.path.ends_with("/v1/traces"))
            .filter_map(|request| ExportTraceServiceRequest::decode(request.body.as_slice()).ok())
            .flat_map(|export| export.resource_spans)
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans)
            .collect();
        if spans.iter().any(&until) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    spans
}

fn find<'a>(spans: &'a [Span], what: &str, test: impl Fn(&Span) -> bool) -> &'a Span {
    spans
        .iter()
        .find(|span| test(span))
        .unwrap_or_else(|| panic!("no {what} span in {spans:#?}"))
}

/// The `(trace id, parent span id)` of a `traceparent` value.
fn trace_and_parent(traceparent: &str) -> (String, String) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    (parts[1].to_owned(), parts[2].to_owned())
}

/// What an upstream received as trace context: the header and the `_meta` of its call.
fn received_context(call: &Request) -> (String, String) {
    let header = call.header("traceparent").expect("a traceparent header");
    let meta = call.json()["params"]["_meta"]["traceparent"]
        .as_str()
        .unwrap_or_else(|| panic!("no traceparent in _meta: {}", call.json()))
        .to_owned();
    (header.to_owned(), meta)
}

/// A 2026-07-28 server that records what it gets: one tool, `echo`.
fn modern_server(request: &Request) -> Reply {
    let body = request.json();
    let result = match body["method"].as_str() {
        Some("server/discover") => json!({"supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}}, "serverInfo": {"name": "recorder", "version": "1"}}),
        Some("tools/list") => json!({"tools": [{"name": "echo", "description": "Echoes.",
            "inputSchema": {"type": "object"}}], "ttlMs": 0, "cacheScope": "public"}),
        Some("tools/call") => json!({"content": [{"type": "text", "text": "ok"}],
            "isError": false, "resultType": "complete"}),
        _ => return Reply::empty(202),
    };
    Reply::json(
        200,
        &json!({"jsonrpc": "2.0", "id": body["id"], "result": result}),
    )
}

async fn traced_gateway(dir: &std::path::Path, collector: &Hostile) -> Gateway {
    let base = collector.url.trim_end_matches("/mcp").to_owned();
    Launch::quiet(dir)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &base)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "300")
        .env("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=s3cr%3Dt")
        .env("OTEL_SERVICE_NAME", "gateway-under-test")
        .start()
        .await
}

fn tool_call(meta: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "echo", "arguments": {}, "_meta": meta}})
}

/// POSTs a 2026-07-28 request with the admin token to `path` (with a `traceparent` header
/// when given) and returns its status.
async fn post_stateless(gw: &Gateway, path: &str, body: &Value, traceparent: Option<&str>) -> u16 {
    let mut request = gw
        .request("POST", path)
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28");
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    request.json(body).send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clients_trace_runs_through_a_servers_route_to_the_server() {
    let collector = hostile::start(|_| Reply::empty(200)).await;
    let upstream = hostile::start(modern_server).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = traced_gateway(dir.path(), &collector).await;
    gw.register_healthy(common::http_server("recorder", &upstream.url))
        .await;
    let client_traceparent = format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01");

    // 1. Trace context in the header only.
    let status = post_stateless(
        &gw,
        "/recorder/mcp",
        &tool_call(common::stateless_meta()),
        Some(&client_traceparent),
    )
    .await;
    assert_eq!(status, 200);
    let calls = tool_calls(&upstream);
    let (header, meta) = received_context(&calls[0]);
    assert_eq!(header, meta, "header and _meta say the same");
    let (trace, parent) = trace_and_parent(&header);
    assert_eq!(trace, CLIENT_TRACE, "the client's trace: {header}");
    assert_ne!(parent, CLIENT_SPAN, "the gateway's own span: {header}");

    let spans = spans_until(&collector, |span| hex(&span.span_id) == parent).await;
    let mcp = find(&spans, "mcp", |span| {
        hex(&span.trace_id) == CLIENT_TRACE
            && attribute(&span.attributes, "mcp.method.name").as_deref() == Some("tools/call")
    });
    assert_eq!(mcp.name, "tools/call echo");
    for (key, expected) in [
        ("mcp.server", "recorder"),
        ("gen_ai.tool.name", "echo"),
        ("mcp.result", "200"),
        ("jsonrpc.request.id", "7"),
        ("mcp.protocol.version", "2026-07-28"),
    ] {
        assert_eq!(
            attribute(&mcp.attributes, key).as_deref(),
            Some(expected),
            "{key}"
        );
    }
    assert!(
        attribute(&mcp.attributes, "enduser.id").is_some(),
        "{mcp:?}"
    );
    let request = find(&spans, "request", |span| span.span_id == mcp.parent_span_id);
    assert_eq!(request.name, "request");
    assert_eq!(hex(&request.parent_span_id), CLIENT_SPAN);
    let auth = find(&spans, "auth", |span| {
        span.name == "auth" && hex(&span.trace_id) == CLIENT_TRACE
    });
    assert_eq!(auth.parent_span_id, request.span_id, "auth before the body");
    for child in ["policy", "upstream"] {
        let span = find(&spans, child, |span| {
            span.name == child && hex(&span.trace_id) == CLIENT_TRACE
        });
        assert_eq!(
            span.parent_span_id, mcp.span_id,
            "{child} under the message"
        );
    }
    let upstream_span = find(&spans, "upstream", |span| hex(&span.span_id) == parent);
    assert_eq!(upstream_span.name, "upstream");

    // 2. Trace context in `_meta` too (another trace): the message belongs to that one.
    let mut meta = common::stateless_meta();
    meta["traceparent"] = json!(format!("00-{META_TRACE}-{META_SPAN}-01"));
    meta["tracestate"] = json!("vendor=agent");
    let status = post_stateless(
        &gw,
        "/recorder/mcp",
        &tool_call(meta),
        Some(&client_traceparent),
    )
    .await;
    assert_eq!(status, 200);
    let calls = tool_calls(&upstream);
    let (header, meta) = received_context(&calls[1]);
    assert_eq!(header, meta);
    let (trace, parent) = trace_and_parent(&meta);
    assert_eq!(trace, META_TRACE, "the trace of the message: {meta}");
    assert_ne!(parent, META_SPAN);
    assert_eq!(
        calls[1].json()["params"]["_meta"]["tracestate"],
        "vendor=agent",
        "tracestate passed on"
    );
    assert_eq!(calls[1].header("tracestate"), Some("vendor=agent"));
    let spans = spans_until(&collector, |span| hex(&span.span_id) == parent).await;
    let mcp = find(&spans, "mcp of the _meta trace", |span| {
        hex(&span.trace_id) == META_TRACE && span.name == "tools/call echo"
    });
    assert_eq!(hex(&mcp.parent_span_id), META_SPAN);

    // No secret in any attribute.
    for span in &spans {
        for attribute in &span.attributes {
            assert!(
                !format!("{:?}", attribute.value).contains(TOKEN),
                "{attribute:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aggregated_endpoint_continues_the_trace_in_meta_on_both_paths() {
    let collector = hostile::start(|_| Reply::empty(200)).await;
    let upstream = hostile::start(modern_server).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = traced_gateway(dir.path(), &collector).await;
    gw.register_healthy(common::http_server("recorder", &upstream.url))
        .await;
    let traceparent = format!("00-{META_TRACE}-{META_SPAN}-01");

    // The direct path: a 2026-07-28 client calling a 2026-07-28 server's tool.
    let mut meta = common::stateless_meta();
    meta["traceparent"] = json!(traceparent);
    let mut call = tool_call(meta);
    call["params"]["name"] = json!("recorder__echo");
    let answered = gw
        .request("POST", "/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "recorder__echo")
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    let answer = common::rpc_messages(answered).await.remove(0);
    assert_eq!(answer["result"]["content"][0]["text"], "ok", "{answer}");

    // The rmcp path: a 2025-11-25 session.
    let session = gw.open_aggregate_session().await;
    let in_session = |body: Value| {
        gw.request("POST", "/mcp")
            .bearer_auth(TOKEN)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", &session)
            .json(&body)
            .send()
    };
    let initialized = in_session(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await
        .unwrap();
    assert_eq!(initialized.status(), 202);
    let mut call = tool_call(json!({"traceparent": traceparent}));
    call["params"]["name"] = json!("recorder__echo");
    let answered = in_session(call).await.unwrap();
    assert_eq!(answered.status(), 200);
    let answer = common::rpc_messages(answered).await.remove(0);
    assert_eq!(answer["result"]["content"][0]["text"], "ok", "{answer}");

    let calls = tool_calls(&upstream);
    assert_eq!(calls.len(), 2, "one call per path");
    let mut parents = Vec::new();
    for call in &calls {
        let (header, meta) = received_context(call);
        assert_eq!(header, meta, "header and _meta say the same");
        let (trace, parent) = trace_and_parent(&meta);
        assert_eq!(trace, META_TRACE, "{meta}");
        assert_eq!(call.json()["params"]["name"], "echo");
        parents.push(parent);
    }
    let spans = spans_until(&collector, |span| {
        parents.iter().all(|parent| *parent != META_SPAN) && hex(&span.span_id) == parents[1]
    })
    .await;
    for parent in &parents {
        let upstream_span = find(&spans, "upstream", |span| hex(&span.span_id) == *parent);
        let message = find(&spans, "mcp", |span| {
            span.span_id == upstream_span.parent_span_id
        });
        assert_eq!(message.name, "tools/call recorder__echo");
        assert_eq!(hex(&message.trace_id), META_TRACE);
        assert_eq!(hex(&message.parent_span_id), META_SPAN);
        assert_eq!(
            attribute(&message.attributes, "mcp.server").as_deref(),
            Some("mcp")
        );
        let policy = find(&spans, "policy", |span| {
            span.name == "policy" && span.parent_span_id == message.span_id
        });
        assert_eq!(hex(&policy.trace_id), META_TRACE);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_pushed_over_otlp_with_the_configured_headers() {
    let collector = hostile::start(|_| Reply::empty(200)).await;
    let upstream = hostile::start(modern_server).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = traced_gateway(dir.path(), &collector).await;
    gw.register_healthy(common::http_server("recorder", &upstream.url))
        .await;
    // Pushed every 300 ms here: wait for an export that holds the call. The routing table
    // learns the server's tools (which name a call's tool in the metrics) a moment after
    // the registry reports the server healthy: a call made in that moment counts under
    // `_unset`, so the call is made again until one is counted under its name.
    let mut found = None;
    for _ in 0..10 {
        let status = post_stateless(
            &gw,
            "/recorder/mcp",
            &tool_call(common::stateless_meta()),
            None,
        )
        .await;
        assert_eq!(status, 200);
        for _ in 0..30 {
            found = collector
                .requests()
                .into_iter()
                .rev()
                .filter(|request| request.path.ends_with("/v1/metrics"))
                .filter_map(|request| {
                    let export =
                        ExportMetricsServiceRequest::decode(request.body.as_slice()).ok()?;
                    let metric = export.resource_metrics[0].scope_metrics[0]
                        .metrics
                        .iter()
                        .find(|metric| metric.name == "mcp_tool_executions")?
                        .clone();
                    let named = matches!(&metric.data, Some(Data::Sum(sum)) if sum
                        .data_points
                        .iter()
                        .any(|point| attribute(&point.attributes, "tool_name").as_deref() == Some("echo")));
                    named.then_some((request, export, metric))
                })
                .next();
            if found.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if found.is_some() {
            break;
        }
    }
    let (request, export, metric) = found.expect("an OTLP metrics export with the call");
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(request.header("x-collector-key"), Some("s3cr=t"));
    let resource = export.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(
        attribute(&resource.attributes, "service.name").as_deref(),
        Some("gateway-under-test")
    );
    let Some(Data::Sum(sum)) = &metric.data else {
        panic!("{metric:?}")
    };
    assert!(sum.is_monotonic);
    let call = sum
        .data_points
        .iter()
        .find(|point| {
            attribute(&point.attributes, "server_name").as_deref() == Some("recorder")
                && attribute(&point.attributes, "tool_name").as_deref() == Some("echo")
        })
        .unwrap_or_else(|| panic!("no point for recorder/echo in {sum:?}"));
    assert!(call.start_time_unix_nano > 0 && call.time_unix_nano >= call.start_time_unix_nano);

    drop(gw);

    // The last values are exported at shutdown: with exports ten minutes apart, a clean
    // stop is what sends one.
    let quiet_collector = hostile::start(|_| Reply::empty(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path())
        .env(
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            &quiet_collector.url.replace("/mcp", "/v1/metrics"),
        )
        .env("OTEL_TRACES_EXPORTER", "none")
        .env("OTEL_METRIC_EXPORT_INTERVAL", "600000")
        .start()
        .await;
    let status = gw.request("GET", "/health").send().await.unwrap().status();
    assert_eq!(status, 200);
    assert_eq!(
        quiet_collector.requests().len(),
        0,
        "nothing before the stop"
    );
    let status = gw.signal_and_wait("TERM").await;
    assert!(status.success());
    let exports: Vec<Request> = quiet_collector.requests();
    assert_eq!(exports.len(), 1, "one export at shutdown");
    assert_eq!(exports[0].path, "/v1/metrics");
    let export = ExportMetricsServiceRequest::decode(exports[0].body.as_slice()).unwrap();
    let resource = export.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(
        attribute(&resource.attributes, "service.name").as_deref(),
        Some("mcpgw")
    );
}
