//! Tool lists cut down in JSON bodies, batches and event streams, whatever the chunking,
//! and what cannot be checked is not passed on.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use http::header::CONTENT_TYPE;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use mcpgw_policy::{Caller, Policy};
use serde_json::{Value, json};

use super::{ListFilter, filter_response};

/// A filter for a caller in group `g`, who may call `echo` and `get_*` on server `s`.
fn filter() -> ListFilter {
    let policy = Arc::new(
        Policy::parse(
            "group_mappings:\n  g: [read]\nread:\n- server: s\n  methods: [tools/list]\n  \
             tools: [echo, 'get_*']\n  deny: [get_secret]\n",
        )
        .unwrap(),
    );
    let groups = vec!["g".to_owned()];
    let scopes = policy.scopes_of(&Caller {
        admin: false,
        groups: &groups,
        scope_claim: &[],
    });
    ListFilter::new(policy.tool_filter(scopes, "s")).expect("not everything is allowed")
}

fn listing(id: i64, names: &[&str]) -> Value {
    let tools: Vec<Value> = names.iter().map(|name| json!({"name": name})).collect();
    json!({"jsonrpc": "2.0", "id": id, "result": {"tools": tools}})
}

fn names(message: &Value) -> Vec<&str> {
    message["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect()
}

#[test]
fn single_answers_and_every_member_of_a_batch_are_filtered() {
    let filter = filter();
    let mut single = listing(1, &["echo", "add", "get_time", "get_secret"]);
    assert!(filter.message(&mut single));
    assert_eq!(names(&single), ["echo", "get_time"]);

    let mut batch = json!([listing(1, &["add"]), listing(2, &["echo", "rm"])]);
    assert!(filter.message(&mut batch));
    assert!(names(&batch[0]).is_empty());
    assert_eq!(names(&batch[1]), ["echo"]);

    // Tools without a string name are dropped; answers without tools are left alone.
    let mut odd =
        json!({"id": 3, "result": {"tools": [{"name": 7}, {"title": "x"}, {"name": "echo"}]}});
    filter.message(&mut odd);
    assert_eq!(odd["result"]["tools"], json!([{"name": "echo"}]));
    let mut other = json!({"id": 4, "result": {"content": []}});
    assert!(!filter.message(&mut other));
}

#[test]
fn a_body_that_is_not_json_is_replaced_by_an_error() {
    let filter = filter();
    let out: Value = serde_json::from_slice(&filter.json(b"<html>tools: add</html>")).unwrap();
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON")
    );
    let kept = filter.json(br#"{"id":1,"result":{"tools":[{"name":"echo"}]}}"#);
    assert_eq!(
        &kept[..],
        br#"{"id":1,"result":{"tools":[{"name":"echo"}]}}"#
    );
}

#[test]
fn escaped_keys_count_as_possible_tool_lists() {
    assert!(ListFilter::may_hold_tools(br#"{"result":{"tools":[]}}"#));
    assert!(ListFilter::may_hold_tools(
        br#"{"result":{"\u0074ools":[]}}"#
    ));
    assert!(!ListFilter::may_hold_tools(br#"{"result":{"content":[]}}"#));
}

fn response(content_type: &str, chunks: Vec<&'static str>) -> Response<Body> {
    let frames = chunks
        .into_iter()
        .map(|chunk| Ok::<_, std::io::Error>(Frame::data(Bytes::from_static(chunk.as_bytes()))));
    let mut response = Response::new(Body::new(StreamBody::new(futures::stream::iter(frames))));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, content_type.parse().unwrap());
    response
}

async fn text(response: Response<Body>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test]
async fn event_streams_are_filtered_across_chunk_boundaries() {
    let upstream = response(
        "text/event-stream",
        vec![
            "event: message\nid: 9\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"to",
            "ols\":[{\"name\":\"echo\"},{\"name\":\"rm\"}]}}\n",
            "\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n",
        ],
    );
    let out = text(filter_response(upstream, &filter(), "s").await.unwrap()).await;
    assert_eq!(
        out,
        "id: 9\nevent: message\ndata: {\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"tools\":[{\"name\":\"echo\"}]}}\n\n\
         data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n"
    );
}

#[tokio::test]
async fn mislabelled_answers_are_read_as_json_and_empty_ones_pass() {
    let upstream = response(
        "text/plain",
        vec![r#"{"id":1,"result":{"tools":[{"name":"rm"}]}}"#],
    );
    let out: Value =
        serde_json::from_str(&text(filter_response(upstream, &filter(), "s").await.unwrap()).await)
            .unwrap();
    assert_eq!(out["result"]["tools"], json!([]));
    let accepted = response("text/plain", vec![]);
    assert_eq!(
        text(filter_response(accepted, &filter(), "s").await.unwrap()).await,
        ""
    );
}

#[tokio::test]
async fn what_cannot_be_read_is_withheld_not_passed() {
    // JSON other readers accept and serde_json refuses (a lone surrogate).
    let upstream = response(
        "text/event-stream",
        vec![
            "data: {\"id\":1,\"result\":{\"tools\":[{\"name\":\"rm\",\"description\":\"x\\ud800y\"}]}}\n\n",
        ],
    );
    let out = text(filter_response(upstream, &filter(), "s").await.unwrap()).await;
    assert!(!out.contains("rm"), "{out}");
    assert!(out.contains("could not be checked"), "{out}");

    // A compressed answer, whatever its type, is refused.
    let mut gzipped = response("text/event-stream", vec!["\u{1f}\u{8b}..."]);
    gzipped
        .headers_mut()
        .insert(http::header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let error = filter_response(gzipped, &filter(), "s").await.unwrap_err();
    assert!(error.to_string().contains("compressed"), "{error}");
    let mut sneaky = response("application/json", vec!["{}"]);
    sneaky
        .headers_mut()
        .append(http::header::CONTENT_ENCODING, "identity".parse().unwrap());
    sneaky.headers_mut().append(
        http::header::CONTENT_ENCODING,
        "identity, br".parse().unwrap(),
    );
    assert!(filter_response(sneaky, &filter(), "s").await.is_err());

    // An error answer that cannot hold a list passes; one that holds a list is filtered.
    let mut missing = response("text/plain", vec!["Session not found"]);
    *missing.status_mut() = http::StatusCode::NOT_FOUND;
    let out = text(filter_response(missing, &filter(), "s").await.unwrap()).await;
    assert_eq!(out, "Session not found");
    let mut odd = response(
        "application/json",
        vec![r#"{"result":{"tools":[{"name":"rm"}]}}"#],
    );
    *odd.status_mut() = http::StatusCode::BAD_REQUEST;
    let out = text(filter_response(odd, &filter(), "s").await.unwrap()).await;
    assert!(!out.contains("rm"), "{out}");
}
