//! OpenTelemetry through the real binary: with `OTEL_EXPORTER_OTLP_ENDPOINT` naming a
//! collector (an OTLP/HTTP receiver started by the test, decoding what it gets with the
//! OpenTelemetry protobuf definitions), a request that carries the client's `traceparent`
//! becomes spans of the client's trace (the MCP request with its method, tool, server and
//! caller; authentication, policy and the upstream call under it), and the upstream server
//! receives a `traceparent` of the same trace whose parent is the gateway's upstream span.

mod common;

use std::time::Duration;

use common::hostile::{self, Reply};
use common::{Launch, TOKEN};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;

const CLIENT_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLIENT_SPAN: &str = "b7ad6b7169203331";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A string attribute of `span`.
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            AnyValue::StringValue(text) => text.clone(),
            AnyValue::IntValue(number) => number.to_string(),
            other => format!("{other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clients_trace_runs_through_the_gateway_to_the_server() {
    let collector = hostile::start(|_| Reply::empty(200)).await;
    let collector_base = collector.url.trim_end_matches("/mcp").to_owned();
    let upstream = hostile::start(|request| {
        let id = request.json()["id"].clone();
        Reply::json(
            200,
            &json!({"jsonrpc": "2.0", "id": id, "result": {"content": [], "isError": false}}),
        )
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(dir.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_base)
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .start()
        .await;
    let created = gw
        .api(
            "POST",
            "/api/servers",
            Some(common::http_server("recorder", &upstream.url)),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);

    let answered = gw
        .request("POST", "/recorder/mcp")
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .json(
            &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
            "name": "anything", "arguments": {}, "_meta": common::stateless_meta()}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);

    // The server got the same trace, under a span of the gateway's.
    let call = upstream
        .requests()
        .into_iter()
        .find(|request| request.rpc_method().as_deref() == Some("tools/call"))
        .expect("the call reached the server");
    let sent = call
        .header("traceparent")
        .expect("a traceparent upstream")
        .to_owned();
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!(parts[1], CLIENT_TRACE, "the client's trace: {sent}");
    assert_ne!(parts[2], CLIENT_SPAN, "the gateway's own span: {sent}");

    // The collector gets the spans (batches leave every 100 ms here).
    let mut spans: Vec<Span> = Vec::new();
    for _ in 0..100 {
        spans = collector
            .requests()
            .iter()
            .filter_map(|request| ExportTraceServiceRequest::decode(request.body.as_slice()).ok())
            .flat_map(|export| export.resource_spans)
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans)
            .collect();
        if spans.iter().any(|span| span.name == "upstream") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let named = |name: &str| {
        spans
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no {name} span in {spans:#?}"))
    };
    let mcp = named("mcp");
    assert_eq!(hex(&mcp.trace_id), CLIENT_TRACE);
    assert_eq!(attribute(mcp, "mcp.method").as_deref(), Some("tools/call"));
    assert_eq!(attribute(mcp, "mcp.server").as_deref(), Some("recorder"));
    assert_eq!(attribute(mcp, "mcp.result").as_deref(), Some("200"));
    assert!(attribute(mcp, "enduser.id").is_some(), "{mcp:?}");
    for child in ["auth", "policy", "upstream"] {
        let span = named(child);
        assert_eq!(hex(&span.trace_id), CLIENT_TRACE, "{child}");
        assert_eq!(
            span.parent_span_id, mcp.span_id,
            "{child} under the request's span"
        );
    }
    // The server's parent is the gateway's upstream span.
    assert_eq!(hex(&named("upstream").span_id), parts[2]);
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
