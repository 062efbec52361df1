use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::metrics::v1::metric::Data;

use super::super::{DURATION_BUCKETS, McpMessage, Metrics};
use super::*;

fn exported() -> ExportMetricsServiceRequest {
    let metrics = Metrics::new();
    for (tool, millis) in [("now", 3), ("now", 40), ("now", 70_000)] {
        metrics.mcp_message(&McpMessage {
            method: "tools/call",
            server: "currenttime",
            tool: Some(tool),
            success: true,
            client: None,
            elapsed: Duration::from_millis(millis),
        });
    }
    let exporter = Exporter {
        resource: vec![("service.name".into(), "mcpgw".into())],
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(1),
    };
    exporter.request(
        &metrics.encode(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(2),
    )
}

fn named<'a>(request: &'a ExportMetricsServiceRequest, name: &str) -> &'a Metric {
    request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|metric| metric.name == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

fn label<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref()?.value.as_ref()? {
            any_value::Value::StringValue(text) => Some(text.as_str()),
            _ => None,
        }
    })
}

#[test]
fn a_counter_is_a_cumulative_monotonic_sum_without_total() {
    let request = exported();
    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    assert_eq!(label(&resource.attributes, "service.name"), Some("mcpgw"));
    let metric = named(&request, "mcp_tool_executions");
    let Some(Data::Sum(sum)) = &metric.data else {
        panic!("{metric:?}")
    };
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    let [point] = sum.data_points.as_slice() else {
        panic!("{sum:?}")
    };
    assert_eq!(label(&point.attributes, "tool_name"), Some("now"));
    assert_eq!(label(&point.attributes, "server_name"), Some("currenttime"));
    assert_eq!(point.value, Some(number_data_point::Value::AsDouble(3.0)));
    assert_eq!(point.start_time_unix_nano, 1_000_000_000);
    assert_eq!(point.time_unix_nano, 2_000_000_000);
}

#[test]
fn a_histogram_keeps_its_bounds_and_counts_each_bucket_once() {
    let request = exported();
    let metric = named(&request, "mcp_tool_execution_duration_seconds");
    assert_eq!(metric.unit, "s");
    let Some(Data::Histogram(histogram)) = &metric.data else {
        panic!("{metric:?}")
    };
    let [point] = histogram.data_points.as_slice() else {
        panic!("{histogram:?}")
    };
    assert_eq!(point.explicit_bounds, DURATION_BUCKETS.to_vec());
    assert_eq!(point.bucket_counts.len(), DURATION_BUCKETS.len() + 1);
    assert_eq!(point.count, 3);
    assert_eq!(point.bucket_counts.iter().sum::<u64>(), 3);
    // 3 ms in the first bucket (≤ 5 ms), 40 ms in ≤ 50 ms, 70 s in ≤ 120 s.
    assert_eq!(point.bucket_counts[0], 1);
    assert_eq!(point.bucket_counts[3], 1);
    assert_eq!(point.bucket_counts[13], 1);
    let sum = point.sum.unwrap();
    assert!((sum - 70.043).abs() < 1e-6, "{sum}");
    assert!(label(&point.attributes, "le").is_none());
}

#[test]
fn families_without_samples_are_left_out() {
    let request = exported();
    let names: Vec<&str> = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|metric| metric.name.as_str())
        .collect();
    assert!(!names.contains(&"mcp_auth_requests"), "{names:?}");
    assert!(names.contains(&"mcpgw_stdio_processes"), "{names:?}");
}
