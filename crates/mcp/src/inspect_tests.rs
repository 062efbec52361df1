use super::*;

fn error_code(body: &str) -> i64 {
    inspect(body.as_bytes()).expect_err(body).code()
}

#[test]
fn reads_method_id_target_and_version_without_copying() {
    let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_time","arguments":{"big":[1,2,3]},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#;
    let inspected = inspect(body).unwrap();
    let [message] = inspected.messages.as_slice() else {
        panic!()
    };
    assert_eq!(message.kind, Kind::Request);
    assert_eq!(message.id.unwrap().get(), "7");
    assert_eq!(message.method.as_deref(), Some("tools/call"));
    assert!(matches!(message.target, Some(Cow::Borrowed("get_time"))));
    assert_eq!(message.protocol_version.as_deref(), Some("2026-07-28"));
    assert!(message.params.unwrap().get().contains("\"big\""));
    assert_eq!(inspected.single_id().unwrap().get(), "7");
}

#[test]
fn batches_notifications_and_responses() {
    let body = br#"[{"jsonrpc":"2.0","method":"notifications/initialized"},
                    {"jsonrpc":"2.0","id":"a","result":{}},
                    {"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///x"}}]"#;
    let inspected = inspect(body).unwrap();
    assert!(inspected.batch);
    let kinds: Vec<Kind> = inspected.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [Kind::Notification, Kind::Response, Kind::Request]);
    assert_eq!(inspected.messages[2].target.as_deref(), Some("file:///x"));
    assert!(inspected.has_requests());
    assert!(inspected.single_id().is_none());
}

#[test]
fn escaped_names_are_decoded() {
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a\"b\u00e9"}}"#;
    let inspected = inspect(body).unwrap();
    assert_eq!(inspected.messages[0].target.as_deref(), Some("a\"bé"));
}

#[test]
fn rejects_what_must_not_be_forwarded() {
    assert_eq!(error_code("{not json"), PARSE_ERROR);
    assert_eq!(error_code(""), PARSE_ERROR);
    assert_eq!(error_code("[]"), INVALID_REQUEST);
    assert_eq!(error_code("42"), INVALID_REQUEST);
    assert_eq!(error_code("[1]"), INVALID_REQUEST);
    assert_eq!(error_code(r#"{"id":1,"method":"x"}"#), INVALID_REQUEST);
    assert_eq!(
        error_code(r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#),
        INVALID_REQUEST
    );
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#),
        INVALID_REQUEST
    );
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#),
        INVALID_REQUEST
    );
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":1,"method":5}"#),
        INVALID_REQUEST
    );
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#),
        INVALID_REQUEST
    );
    assert_eq!(error_code(r#"{"jsonrpc":"2.0","id":1}"#), INVALID_REQUEST);
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#),
        INVALID_REQUEST
    );
    assert_eq!(error_code(r#"{"jsonrpc":"2.0"}"#), INVALID_REQUEST);
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}"#),
        INVALID_PARAMS
    );
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":3}}"#),
        INVALID_PARAMS
    );
    assert_eq!(
        error_code(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"x"}}"#),
        INVALID_PARAMS
    );
    // The classic bypass: two names, one seen by the gateway, the other by the server.
    let duplicate =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","name":"rm_rf"}}"#;
    assert_eq!(error_code(duplicate), INVALID_REQUEST);
    let duplicate_method =
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"}"#;
    assert_eq!(error_code(duplicate_method), INVALID_REQUEST);
}

/// Found by `fuzz/fuzz_targets/jsonrpc_inspect.rs` (reproducers in
/// `fuzz/seeds/jsonrpc_inspect/duplicate-then-*.json`): a duplicate key before a syntax
/// error was answered -32600; invalid JSON is a parse error, whatever else it has.
#[test]
fn a_malformed_body_is_a_parse_error_even_after_a_duplicate_key() {
    assert_eq!(error_code(r#"{"id":1,"id":2,"#), PARSE_ERROR);
    let found = r#"{"jsonrpc":"2.0","id":1,"m-thod":"tloos/call","pc":"2.0","id":1,"method":"tools/call","y"}%}"#;
    let error = inspect(found.as_bytes()).expect_err(found);
    assert_eq!(error.code(), PARSE_ERROR, "{error}");
    assert!(error.to_string().contains("expected `:`"), "{error}");
    // Bytes that are not UTF-8 in a string after the duplicate (found by the fuzzer too;
    // a pass that skips strings without decoding them would miss them).
    let mut not_utf8 = br#"{"jsonrpc":"2.0","id":"a","id":"b","method":"x","params":{"k"#.to_vec();
    not_utf8.extend_from_slice(b"\x99\":1}}");
    let error = inspect(&not_utf8).expect_err("not UTF-8");
    assert_eq!(error.code(), PARSE_ERROR, "{error}");
    // So does an escape no JSON string may hold.
    assert_eq!(error_code(r#"{"id":1,"id":2,"k":"\ud800"}"#), PARSE_ERROR);
    // Well-formed, with a duplicate: still an invalid request.
    assert_eq!(error_code(r#"{"id":1,"id":2}"#), INVALID_REQUEST);
}

#[test]
fn other_methods_may_use_name_and_uri_freely() {
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"custom/thing","params":{"name":5,"uri":[],"_meta":"x"}}"#;
    let inspected = inspect(body).unwrap();
    assert_eq!(inspected.messages[0].target, None);
    assert_eq!(inspected.messages[0].protocol_version, None);
}

#[test]
fn headers_must_agree_with_the_body() {
    let call = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather"}}"#;
    let inspected = inspect(call).unwrap();
    assert!(check_headers(&inspected, None, None).is_ok());
    assert!(check_headers(&inspected, Some(b"tools/call"), Some(b"get_weather")).is_ok());
    let encoded = b"=?base64?Z2V0X3dlYXRoZXI=?=";
    assert!(check_headers(&inspected, Some(b"tools/call"), Some(encoded)).is_ok());
    for (method, name) in [
        (Some(&b"tools/list"[..]), Some(&b"get_weather"[..])),
        (Some(b"tools/call"), Some(b"delete_all")),
        (Some(b"tools/call"), None),
        (None, Some(b"get_weather")),
        (Some(b"tools/call"), Some(b"=?base64?!!!?=")),
        (Some(b"tools/call\x01"), Some(b"get_weather")),
    ] {
        let error = check_headers(&inspected, method, name).unwrap_err();
        assert_eq!(
            error.code(),
            crate::version::HEADER_MISMATCH,
            "{method:?} {name:?}"
        );
    }
    let list = inspect(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
    assert!(check_headers(&list, Some(b"tools/list"), None).is_ok());
    assert!(check_headers(&list, Some(b"tools/list"), Some(b"x")).is_err());
    let batch = inspect(br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#).unwrap();
    assert!(check_headers(&batch, Some(b"tools/list"), None).is_err());
}

#[test]
fn the_client_is_read_from_initialize_or_from_meta() {
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"claude-code","version":"1.2"}}}"#;
    let inspected = inspect(body).unwrap();
    let client = inspected.messages[0].client_info().unwrap();
    assert_eq!(
        (client.name.as_str(), client.version.as_str()),
        ("claude-code", "1.2")
    );
    let body = br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"cursor"}}}}"#;
    let inspected = inspect(body).unwrap();
    let client = inspected.messages[0].client_info().unwrap();
    assert_eq!(
        (client.name.as_str(), client.version.as_str()),
        ("cursor", "")
    );
    let body = br#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/clientInfo":"not an object"}}}"#;
    assert_eq!(inspect(body).unwrap().messages[0].client_info(), None);
    let body = br#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#;
    assert_eq!(inspect(body).unwrap().messages[0].client_info(), None);
}

#[test]
fn trace_context_is_read_from_meta_when_it_is_text() {
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01","tracestate":"vendor=a","baggage":"user=x"}}}"#;
    let inspected = inspect(body).unwrap();
    let trace = &inspected.messages[0].trace;
    assert_eq!(
        trace.get("traceparent"),
        Some("00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01")
    );
    assert_eq!(trace.get("tracestate"), Some("vendor=a"));
    assert_eq!(trace.get("baggage"), Some("user=x"));
    assert_eq!(trace.get("other"), None);
    // Not text: ignored, not refused (the server decides what it makes of it).
    let body =
        br#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{"traceparent":7}}}"#;
    let inspected = inspect(body).unwrap();
    assert_eq!(inspected.messages[0].trace, TraceContext::default());
}
