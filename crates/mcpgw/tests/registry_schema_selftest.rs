//! The registry schema checks (`common::registry_schema`) can fail: the example list from
//! `docs/registry-api-notes.md` §2 validates, and each way of breaking it is reported, with
//! the offending instance path. No gateway, no network.

mod common;

use common::registry_schema::RegistrySchemas;
use serde_json::{Value, json};

/// The `GET /v0.1/servers` example of `docs/registry-api-notes.md` §2, verbatim.
fn example_list() -> Value {
    json!({
      "servers": [
        {
          "server": {
            "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
            "name": "io.modelcontextprotocol/filesystem",
            "description": "Filesystem operations server",
            "version": "1.0.2",
            "packages": [{"registryType":"npm","identifier":"@modelcontextprotocol/server-filesystem",
                          "version":"1.0.2","transport":{"type":"stdio"}}]
          },
          "_meta": {
            "io.modelcontextprotocol.registry/official": {
              "status": "active",
              "statusChangedAt": "2025-01-01T10:30:00Z",
              "publishedAt": "2025-01-01T10:30:00Z",
              "updatedAt": "2025-01-01T10:30:00Z",
              "isLatest": true
            }
          }
        }
      ],
      "metadata": { "count": 1, "nextCursor": "io.modelcontextprotocol/filesystem:1.0.2" }
    })
}

/// The list's only item, as `GET /v0.1/servers/{name}/versions/{version}` answers it.
fn example_response() -> Value {
    example_list()["servers"][0].clone()
}

/// The item's server.json.
fn example_server() -> Value {
    example_list()["servers"][0]["server"].clone()
}

const OFFICIAL: &str = "io.modelcontextprotocol.registry/official";
/// JSON Pointer form of [`OFFICIAL`], as instance paths spell it.
const OFFICIAL_POINTER: &str = "io.modelcontextprotocol.registry~1official";

/// Asserts `result` is an error that names `path` (an instance path) and carries the body.
fn assert_fails(result: Result<(), String>, path: &str) -> String {
    let message = result.expect_err("the broken body validated");
    assert!(
        message
            .lines()
            .any(|line| line.trim_start().starts_with(path)),
        "no error at {path}:\n{message}"
    );
    assert!(message.contains("\nin:\n{"), "body not shown:\n{message}");
    message
}

/// The list with `edit` applied.
fn list_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut list = example_list();
    edit(&mut list);
    list
}

#[test]
fn the_documented_example_validates() {
    let schemas = RegistrySchemas::load();
    schemas.check_server_list(&example_list());
    schemas.check_server_response(&example_response());
    schemas.check_server_json(&example_server());
}

#[test]
fn what_the_spec_leaves_open_stays_open() {
    let schemas = RegistrySchemas::load();
    // Last page: no cursor; metadata itself is optional; an empty page.
    schemas.check_server_list(&list_with(|list| {
        list["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("nextCursor");
    }));
    schemas.check_server_list(&list_with(|list| {
        list.as_object_mut().unwrap().remove("metadata");
    }));
    schemas.check_server_list(&json!({"servers": [], "metadata": {"count": 0}}));
    // Unknown members outside `official`, other registries' `_meta`, no `_meta` at all,
    // statusMessage up to 500 characters, a description of exactly 100.
    let mut response = example_response();
    response["extra"] = json!(true);
    response["server"]["x-extra"] = json!({"any": "thing"});
    response["_meta"]["com.example.subregistry/custom"] = json!({"stars": 3});
    response["_meta"][OFFICIAL]["statusMessage"] = json!("m".repeat(500));
    response["server"]["description"] = json!("d".repeat(100));
    schemas.check_server_response(&response);
    schemas.check_server_json(&response["server"]);
    response.as_object_mut().unwrap().remove("_meta");
    schemas.check_server_response(&response);
    // A remote, with a URL variable.
    let mut server = example_server();
    server["remotes"] = json!([{
        "type": "streamable-http",
        "url": "https://{tenant}.example.com/mcp",
        "variables": {"tenant": {"isRequired": true}}
    }]);
    schemas.check_server_json(&server);
    let mut response = example_response();
    response["server"] = server;
    schemas.check_server_response(&response);
}

#[test]
fn an_unknown_status_fails() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| {
        list["servers"][0]["_meta"][OFFICIAL]["status"] = json!("gone");
    });
    assert_fails(
        schemas.validate_server_list(&list),
        &format!("/servers/0/_meta/{OFFICIAL_POINTER}/status:"),
    );
    assert_fails(
        schemas.validate_server_response(&list["servers"][0]),
        &format!("/_meta/{OFFICIAL_POINTER}/status:"),
    );
}

#[test]
fn a_missing_server_fails() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| {
        list["servers"][0].as_object_mut().unwrap().remove("server");
    });
    let message = assert_fails(schemas.validate_server_list(&list), "/servers/0:");
    assert!(
        message.contains("\"server\" is a required property"),
        "{message}"
    );
    assert_fails(schemas.validate_server_response(&list["servers"][0]), "/:");
}

#[test]
fn a_name_without_a_slash_fails() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| {
        list["servers"][0]["server"]["name"] = json!("io.modelcontextprotocol.filesystem");
    });
    assert_fails(
        schemas.validate_server_list(&list),
        "/servers/0/server/name:",
    );
    assert_fails(
        schemas.validate_server_response(&list["servers"][0]),
        "/server/name:",
    );
    assert_fails(
        schemas.validate_server_json(&list["servers"][0]["server"]),
        "/name:",
    );
}

#[test]
fn a_description_of_101_characters_fails() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| {
        list["servers"][0]["server"]["description"] = json!("d".repeat(101));
    });
    assert_fails(
        schemas.validate_server_list(&list),
        "/servers/0/server/description:",
    );
    assert_fails(
        schemas.validate_server_json(&list["servers"][0]["server"]),
        "/description:",
    );
}

#[test]
fn a_count_that_is_a_string_fails() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| list["metadata"]["count"] = json!("1"));
    let message = assert_fails(schemas.validate_server_list(&list), "/metadata/count:");
    assert!(message.contains("is not of type \"integer\""), "{message}");
}

#[test]
fn a_count_that_is_not_the_number_of_servers_fails() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| list["metadata"]["count"] = json!(2));
    let message = assert_fails(schemas.validate_server_list(&list), "/metadata/count:");
    assert!(message.contains("number of servers (1)"), "{message}");
    let empty = json!({"servers": [], "metadata": {"count": 1}});
    assert_fails(schemas.validate_server_list(&empty), "/metadata/count:");
}

#[test]
fn a_published_at_that_is_not_a_date_time_fails() {
    let schemas = RegistrySchemas::load();
    for bad in ["2025-01-01", "yesterday", "2025-01-01T10:30:00"] {
        let list = list_with(|list| {
            list["servers"][0]["_meta"][OFFICIAL]["publishedAt"] = json!(bad);
        });
        let message = assert_fails(
            schemas.validate_server_list(&list),
            &format!("/servers/0/_meta/{OFFICIAL_POINTER}/publishedAt:"),
        );
        assert!(message.contains("date-time"), "{message}");
    }
}

#[test]
fn a_stdio_remote_fails() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| {
        list["servers"][0]["server"]["remotes"] =
            json!([{"type": "stdio", "url": "https://example.com/mcp"}]);
    });
    assert_fails(
        schemas.validate_server_list(&list),
        "/servers/0/server/remotes/0:",
    );
    assert_fails(
        schemas.validate_server_json(&list["servers"][0]["server"]),
        "/remotes/0:",
    );
}

#[test]
fn unknown_members_of_the_official_metadata_fail() {
    // `additionalProperties: false` there, and only there.
    let schemas = RegistrySchemas::load();
    let mut response = example_response();
    response["_meta"][OFFICIAL]["serverId"] = json!("0b0e2d2a");
    assert_fails(
        schemas.validate_server_response(&response),
        &format!("/_meta/{OFFICIAL_POINTER}:"),
    );
}

#[test]
fn uri_formats_are_asserted_in_both_schemas() {
    let schemas = RegistrySchemas::load();
    let mut response = example_response();
    response["server"]["websiteUrl"] = json!("not a uri");
    let message = assert_fails(
        schemas.validate_server_response(&response),
        "/server/websiteUrl:",
    );
    assert!(message.contains("\"uri\""), "{message}");
    let message = assert_fails(
        schemas.validate_server_json(&response["server"]),
        "/websiteUrl:",
    );
    assert!(message.contains("\"uri\""), "{message}");
}

#[test]
fn each_schema_is_its_own_version() {
    // The API description (2025-12-01 draft) allows a remote URL to start with a
    // `{variable}`; server.json 2025-12-11 requires http(s)://.
    let schemas = RegistrySchemas::load();
    let mut response = example_response();
    response["server"]["remotes"] = json!([{"type": "sse", "url": "{base_url}/sse"}]);
    schemas.check_server_response(&response);
    assert_fails(
        schemas.validate_server_json(&response["server"]),
        "/remotes/0:",
    );
}

#[test]
fn every_error_is_listed() {
    let schemas = RegistrySchemas::load();
    let list = list_with(|list| {
        list["servers"][0]["server"]["name"] = json!("no-slash");
        list["servers"][0]["_meta"][OFFICIAL]["status"] = json!("gone");
        list["metadata"]["count"] = json!("1");
    });
    let message = schemas.validate_server_list(&list).unwrap_err();
    for path in [
        "/servers/0/server/name:".to_owned(),
        format!("/servers/0/_meta/{OFFICIAL_POINTER}/status:"),
        "/metadata/count:".to_owned(),
    ] {
        assert!(
            message
                .lines()
                .any(|line| line.trim_start().starts_with(&path)),
            "no error at {path}:\n{message}"
        );
    }
    assert!(message.contains("(3 errors)"), "{message}");
}

#[test]
#[should_panic(expected = "not a valid ServerList")]
fn check_server_list_panics() {
    let list = list_with(|list| list["servers"] = json!({}));
    RegistrySchemas::load().check_server_list(&list);
}

#[test]
#[should_panic(expected = "not a valid ServerResponse")]
fn check_server_response_panics() {
    RegistrySchemas::load().check_server_response(&json!({"server": null}));
}

#[test]
#[should_panic(expected = "not a valid server.schema.json")]
fn check_server_json_panics() {
    RegistrySchemas::load().check_server_json(&json!({"name": "a/b"}));
}
