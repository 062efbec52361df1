use serde_json::json;

use super::*;

fn rpc(code: i64) -> RpcError {
    RpcError {
        code,
        message: "no".into(),
        data: None,
    }
}

fn http(status: u16, code: Option<i64>) -> ProbeError {
    ProbeError::HttpStatus {
        status,
        detail: String::new(),
        rpc: code.map(rpc),
    }
}

#[test]
fn names_are_plain_when_header_safe_and_base64_otherwise() {
    assert_eq!(
        mcp_name("tools/call", &json!({"name": "get weather"})),
        Some("get weather".into())
    );
    assert_eq!(
        mcp_name("resources/read", &json!({"uri": "file:///a b"})),
        Some("file:///a b".into())
    );
    assert_eq!(mcp_name("tools/list", &json!({"name": "x"})), None);
    assert_eq!(encode_header("héllo"), "=?base64?aMOpbGxv?=");
    assert_eq!(encode_header(" x"), "=?base64?IHg=?=");
    assert_eq!(encode_header("=?base64?x?="), "=?base64?PT9iYXNlNjQ/eD89?=");
    assert_eq!(encode_header("a\nb"), "=?base64?YQpi?=");
}

#[test]
fn protocol_meta_is_merged_keeping_the_callers_keys() {
    let params = json!({"name": "countdown", "_meta": {"progressToken": "p1"}});
    let merged = with_meta(params, json!({"proto": "2026"})).expect("merged");
    assert_eq!(
        merged,
        json!({"name": "countdown", "_meta": {"progressToken": "p1", "proto": "2026"}})
    );
    assert_eq!(
        with_meta(json!(null), json!({"proto": 1})).expect("merged"),
        json!({"_meta": {"proto": 1}})
    );
    assert!(with_meta(json!([1]), json!({})).is_err());
    assert!(with_meta(json!({"_meta": 3}), json!({})).is_err());
}

#[test]
fn unsupported_version_and_plain_legacy_refusals_fall_back() {
    let unsupported = UNSUPPORTED_PROTOCOL_VERSION;
    for outcome in [
        Ok(Err(rpc(unsupported))),
        Err(http(400, Some(unsupported))),
        Err(http(404, Some(unsupported))),
        Err(http(400, None)),
        Err(http(404, None)),
        Err(http(405, None)),
    ] {
        assert!(matches!(
            stateless_verdict(outcome, false),
            Verdict::Fallback(_)
        ));
    }
    // Once the server answered statelessly, only a version refusal changes the era.
    assert!(matches!(
        stateless_verdict(Err(http(400, Some(unsupported))), true),
        Verdict::Fallback(_)
    ));
    assert_eq!(
        stateless_verdict(Err(http(404, None)), true),
        Verdict::Fail(http(404, None))
    );
}

#[test]
fn json_rpc_errors_never_fall_back_as_the_request_may_have_run() {
    // Any JSON-RPC error but the version refusal is the server's answer, even before the
    // era is confirmed: falling back would send a possibly delivered request again.
    for status in [400, 404, 405] {
        for code in [
            -32603, // internal error: the server may have run the tool
            -32000,
            -32600,
            METHOD_NOT_FOUND,
            -32602,
            crate::version::HEADER_MISMATCH,
            -32021, // missing client capability
        ] {
            for confirmed in [false, true] {
                assert_eq!(
                    stateless_verdict(Err(http(status, Some(code))), confirmed),
                    Verdict::Answer(Err(rpc(code))),
                    "HTTP {status}, code {code}, confirmed {confirmed}"
                );
            }
        }
    }
}

#[test]
fn modern_refusals_and_other_failures_stay() {
    assert_eq!(
        stateless_verdict(Err(http(404, Some(METHOD_NOT_FOUND))), false),
        Verdict::Answer(Err(rpc(METHOD_NOT_FOUND)))
    );
    assert_eq!(
        stateless_verdict(Ok(Err(rpc(-32602))), false),
        Verdict::Answer(Err(rpc(-32602)))
    );
    assert_eq!(
        stateless_verdict(Ok(Err(rpc(-32603))), false),
        Verdict::Answer(Err(rpc(-32603)))
    );
    assert_eq!(
        stateless_verdict(Ok(Ok(json!({}))), false),
        Verdict::Answer(Ok(json!({})))
    );
    assert_eq!(
        stateless_verdict(Err(http(500, None)), false),
        Verdict::Fail(http(500, None))
    );
    assert_eq!(
        stateless_verdict(Err(http(500, Some(-32603))), false),
        Verdict::Answer(Err(rpc(-32603)))
    );
    assert_eq!(
        stateless_verdict(Err(ProbeError::ConnectionRefused), false),
        Verdict::Fail(ProbeError::ConnectionRefused)
    );
}

#[test]
fn server_requests_are_refused_except_ping() {
    assert_eq!(
        answer_to_server_request(json!(7), "ping"),
        json!({"jsonrpc": "2.0", "id": 7, "result": {}})
    );
    let refused = answer_to_server_request(json!("s1"), "sampling/createMessage");
    assert_eq!(refused["id"], "s1");
    assert_eq!(refused["error"]["code"], METHOD_NOT_FOUND);
}
