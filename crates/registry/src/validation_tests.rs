use chrono::Utc;
use serde_json::json;

use crate::ServerInput;
use crate::error::RegistryError;
use crate::model::Transport;

fn input(value: serde_json::Value) -> ServerInput {
    serde_json::from_value(value).expect("input parses")
}

fn field_of(result: Result<crate::Server, RegistryError>) -> String {
    match result {
        Err(RegistryError::Invalid { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn registers_http_server_with_defaults() {
    let server = input(
        json!({"path": "/weather/", "proxy_pass_url": "http://127.0.0.1:9/mcp", "tags": "a, b,a"}),
    )
    .into_new_server(Utc::now())
    .unwrap();
    assert_eq!(server.path, "weather");
    assert_eq!(server.name, "weather");
    assert_eq!(server.transport, Transport::StreamableHttp);
    assert_eq!(server.tags, vec!["a", "b"]);
    assert!(server.enabled);
}

#[test]
fn command_implies_stdio() {
    let server = input(json!({"path": "fs", "command": "npx", "args": ["-y", "pkg"]}))
        .into_new_server(Utc::now())
        .unwrap();
    assert_eq!(server.transport, Transport::Stdio);
}

#[test]
fn rejects_bad_values_naming_the_field() {
    let cases = [
        (json!({"url": "http://x"}), "path"),
        (json!({"path": "Bad", "url": "http://x"}), "path"),
        (json!({"path": "a/b", "url": "http://x"}), "path"),
        (json!({"path": "api", "url": "http://x"}), "path"),
        (json!({"path": "v0.1", "url": "http://x"}), "path"),
        (json!({"path": "ok"}), "url"),
        (json!({"path": "ok", "url": "ftp://x/"}), "url"),
        (json!({"path": "ok", "url": "not a url"}), "url"),
        (json!({"path": "ok", "transport": "stdio"}), "command"),
        (
            json!({"path": "ok", "transport": "carrier-pigeon", "url": "http://x"}),
            "transport",
        ),
        (
            json!({"path": "ok", "url": "http://x", "command": "ls"}),
            "url",
        ),
        (
            json!({"path": "ok", "transport": "sse", "url": "http://x", "command": "ls"}),
            "command",
        ),
        (
            json!({"path": "ok", "url": "http://x", "headers": {"Host": "evil"}}),
            "headers",
        ),
        (
            json!({"path": "ok", "url": "http://x", "headers": {"bad name": "v"}}),
            "headers",
        ),
        (
            json!({"path": "ok", "url": "http://x", "name": "  "}),
            "name",
        ),
        (
            json!({"path": "ok", "command": "x", "env": {"A=B": "c"}}),
            "env",
        ),
    ];
    for (value, field) in cases {
        let result = input(value.clone()).into_new_server(Utc::now());
        assert_eq!(field_of(result), field, "for {value}");
    }
}

#[test]
fn path_cannot_change_and_transport_switch_clears_old_fields() {
    let now = Utc::now();
    let server = input(json!({"path": "svc", "url": "http://127.0.0.1:1/mcp"}))
        .into_new_server(now)
        .unwrap();
    let moved = input(json!({"path": "other"})).apply_to(&server, now);
    assert_eq!(field_of(moved), "path");

    let switched = input(json!({"transport": "stdio", "command": "srv"}))
        .apply_to(&server, now)
        .unwrap();
    assert_eq!(switched.transport, Transport::Stdio);
    assert_eq!(switched.url, None);
    assert_eq!(switched.command.as_deref(), Some("srv"));
}

#[test]
fn unknown_fields_are_rejected() {
    let error = serde_json::from_value::<ServerInput>(json!({"path": "x", "colour": "red"}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("colour"), "{error}");
}

#[test]
fn redacted_placeholder_keeps_stored_secret() {
    let now = Utc::now();
    let server = input(
        json!({"path": "svc", "url": "http://127.0.0.1:1/mcp", "headers": {"X-Api-Key": "k1"}}),
    )
    .into_new_server(now)
    .unwrap();
    let kept = input(json!({"headers": {"X-Api-Key": crate::REDACTED, "X-Other": "v"}}))
        .apply_to(&server, now)
        .unwrap();
    assert_eq!(kept.headers["X-Api-Key"], "k1");
    assert_eq!(kept.headers["X-Other"], "v");
    let unknown = input(json!({"headers": {"X-New": crate::REDACTED}})).apply_to(&server, now);
    assert_eq!(field_of(unknown), "headers");
}

#[test]
fn a_blank_licence_or_version_is_none() {
    let server = input(json!({"path": "w", "url": "http://127.0.0.1:9/mcp",
                              "license": " MIT ", "version": "1.0"}))
    .into_new_server(Utc::now())
    .unwrap();
    assert_eq!(server.license.as_deref(), Some("MIT"));
    let cleared = input(json!({"license": "", "version": "  "}))
        .apply_to(&server, Utc::now())
        .unwrap();
    assert_eq!((cleared.license, cleared.version), (None, None));
}
