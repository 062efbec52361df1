use serde_json::json;

use super::*;

fn entries() -> Vec<(String, String)> {
    vec![(
        "traceparent".to_owned(),
        "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01".to_owned(),
    )]
}

fn rewritten(body: Value) -> Value {
    let bytes = Bytes::from(serde_json::to_vec(&body).unwrap());
    serde_json::from_slice(&body_with(bytes, &entries())).unwrap()
}

#[test]
fn the_gateways_context_replaces_the_clients_and_keeps_the_rest_of_meta() {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "now", "_meta": {"traceparent": "00-client", "tracestate": "a=b",
        "progressToken": 5}}});
    let sent = rewritten(body);
    assert_eq!(
        sent["params"]["_meta"],
        json!({"traceparent": entries()[0].1, "progressToken": 5})
    );
    assert_eq!(sent["params"]["name"], "now");
}

#[test]
fn params_and_meta_are_created_for_messages_without_them() {
    let sent = rewritten(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    assert_eq!(sent["params"]["_meta"]["traceparent"], entries()[0].1);
}

#[test]
fn a_batch_gets_it_in_every_message_but_responses() {
    let sent = rewritten(json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 9, "result": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
    ]));
    assert_eq!(sent[0]["params"]["_meta"]["traceparent"], entries()[0].1);
    assert_eq!(sent[1], json!({"jsonrpc": "2.0", "id": 9, "result": {}}));
    assert_eq!(sent[2]["params"]["_meta"]["traceparent"], entries()[0].1);
}

#[test]
fn without_export_nothing_is_rewritten() {
    let body = Bytes::from_static(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    assert_eq!(add_to_body(body.clone()), body);
    let mut params = json!({"name": "x"});
    add_to_params(&mut params);
    assert_eq!(params, json!({"name": "x"}));
}
