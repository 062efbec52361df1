use serde_json::{Value, json};

use super::document::looks_like_range;
use super::{Candidate, ImportError, candidate, documents, local_path};
use crate::ServerInput;
use crate::error::{ErrorKind, RegistryError};
use crate::model::now;
use crate::validation::validate_path;

/// A valid server.json with the given fields added or replaced (`null` removes one), and
/// the unknown fields a newer schema might add, which must be ignored.
fn server(fields: Value) -> Value {
    let mut server = json!({
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.github.acme/weather",
        "description": "Weather forecasts",
        "version": "1.0.2",
        "repository": {"url": "https://github.com/acme/weather", "source": "github"},
        "icons": [{"src": "https://acme.example/icon.png"}],
        "x-future-field": {"anything": true},
        "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"tool": "cli"}}
    });
    merge(&mut server, fields);
    server
}

/// Sets the fields of `fields` in `target`; `null` removes one.
fn merge(target: &mut Value, fields: Value) {
    let (Some(target), Value::Object(fields)) = (target.as_object_mut(), fields) else {
        panic!("objects expected");
    };
    for (key, value) in fields {
        if value.is_null() {
            target.remove(&key);
        } else {
            target.insert(key, value);
        }
    }
}

/// Converts, and checks that the registration really registers, disabled.
fn convert(fields: Value) -> Candidate {
    let candidate = candidate(&server(fields)).expect("converts");
    let input = candidate.input.clone();
    let registered = input.into_new_server(now()).expect("registers");
    assert!(!registered.enabled, "imports start disabled");
    candidate
}

/// What a candidate runs and what it still needs, for one-line comparisons.
fn shape(candidate: &Candidate) -> Value {
    let input = &candidate.input;
    json!({
        "source": candidate.source, "transport": input.transport, "url": input.url,
        "command": input.command, "args": input.args, "env": input.env,
        "headers": input.headers, "missing": candidate.missing,
    })
}

/// Converts an entry with these fields and compares the keys of `expected` with its
/// [`shape`].
fn expect(fields: Value, expected: Value) {
    let shape = shape(&convert(fields.clone()));
    for (key, value) in expected.as_object().into_iter().flatten() {
        assert_eq!(&shape[key], value, "{key} of {fields}");
    }
}

/// [`expect`] for an entry with this one package.
fn expect_package(package: Value, expected: Value) {
    expect(json!({"packages": [package]}), expected);
}

/// The rows of a table written as a JSON array of arrays (rustfmt leaves those compact).
fn rows(table: Value) -> Vec<Vec<Value>> {
    let rows = table.as_array().into_iter().flatten();
    rows.map(|row| row.as_array().cloned().unwrap_or_default())
        .collect()
}

/// Asserts that `message` starts with `expected`, saying which `case` failed.
fn assert_prefix(message: &str, expected: &Value, case: &Value) {
    let expected = expected.as_str().unwrap_or_default();
    let context = format!("{case}: got '{message}', expected '{expected}…'");
    assert!(message.starts_with(expected), "{context}");
}

fn error(fields: Value) -> String {
    let result = candidate(&server(fields));
    result.expect_err("is rejected").to_string()
}

// ---- documents ----------------------------------------------------------------------

#[test]
fn reads_every_document_shape() {
    let (one, two) = (
        server(json!({"name": "io.github.acme/one"})),
        server(json!({})),
    );
    let official = |status: &str, latest: bool| json!({"io.modelcontextprotocol.registry/official": {"status": status, "isLatest": latest}});
    let table = json!([
        [one, [[one, null, null]]],
        [{"server": one, "_meta": official("deprecated", false)}, [[one, "deprecated", false]]],
        [{"servers": [{"server": one, "_meta": official("active", true)}, {"server": two}],
          "metadata": {"count": 2, "nextCursor": "x"}}, [[one, "active", true], [two, null, null]]],
        [[one, {"server": two, "_meta": {}}], [[one, null, null], [two, null, null]]],
        [{"servers": [], "metadata": {}}, []]
    ]);
    for row in rows(table) {
        let entries = documents(row[0].to_string().as_bytes()).expect("parses");
        let found: Vec<Value> = entries
            .into_iter()
            .map(|entry| json!([entry.server, entry.status, entry.is_latest]))
            .collect();
        assert_eq!(Value::from(found), row[1], "{}", row[0]);
    }
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(one.to_string().bytes());
    assert_eq!(documents(&bom).expect("parses").len(), 1);
}

#[test]
fn rejects_documents_that_are_not_registry_documents() {
    let not_json = documents(b"<html>502</html>").expect_err("rejected");
    assert!(not_json.to_string().starts_with("not JSON: "), "{not_json}");
    let table = json!([
        [[server(json!({})), {"description": "no name"}], "[1]: expected a server.json"],
        [{"servers": [{"server": server(json!({}))}, {"server": "x"}]}, "servers[1].server: must be an object"],
        [{"servers": {"server": {}}}, "servers: must be an array"],
        [{"server": server(json!({})), "_meta": {"io.modelcontextprotocol.registry/official": {"isLatest": "yes"}}},
            "_meta.io.modelcontextprotocol.registry/official.isLatest: must be a boolean"],
        [{"server": server(json!({})), "_meta": {"io.modelcontextprotocol.registry/official": {"status": 1}}},
            "_meta.io.modelcontextprotocol.registry/official.status: must be a string"],
        [42, "document: expected"]
    ]);
    for row in rows(table) {
        let result = documents(row[0].to_string().as_bytes());
        assert_prefix(&result.expect_err("rejected").to_string(), &row[1], &row[0]);
    }
}

// ---- remotes ------------------------------------------------------------------------

#[test]
fn prefers_a_streamable_http_remote_and_fills_its_headers() {
    let candidate = convert(json!({"title": "Acme Weather", "remotes": [
        {"type": "sse", "url": "https://acme.example/sse"},
        {"type": "streamable-http", "url": "https://acme.example/mcp", "headers": [
            {"name": "X-Client", "value": "mcpgw"},
            {"name": "X-Region", "default": "eu"},
            {"name": "Authorization", "isRequired": true, "isSecret": true},
            {"name": "X-Optional", "description": "not needed"},
            {"name": "X-Bearer", "value": "Bearer {token}", "isRequired": true,
             "variables": {"token": {"isSecret": true, "isRequired": true}}}
        ]}
    ], "packages": [{"registryType": "npm", "identifier": "x", "transport": {"type": "stdio"}}]}));
    let expected = json!({"path": "weather", "name": "Acme Weather", "description": "Weather forecasts",
        "transport": "streamable-http", "url": "https://acme.example/mcp", "version": "1.0.2",
        "headers": {"X-Client": "mcpgw", "X-Region": "eu"}, "enabled": false});
    let expected: ServerInput = serde_json::from_value(expected).expect("an input");
    assert_eq!(candidate.input, expected);
    assert_eq!(candidate.source, "remote streamable-http");
    assert_eq!(
        candidate.missing,
        ["header Authorization", "header X-Bearer"]
    );
    assert_eq!(
        (candidate.name.as_str(), candidate.version.as_str()),
        ("io.github.acme/weather", "1.0.2")
    );
}

#[test]
fn uses_an_sse_remote_and_fills_url_variables() {
    let table = json!([
        [{"type": "sse", "url": "http://acme.example:8080/sse"},
         {"source": "remote sse", "transport": "sse", "url": "http://acme.example:8080/sse", "missing": []}],
        [{"type": "streamable-http", "url": "https://{tenant_id}.acme.example/{region}/mcp",
          "variables": {"tenant_id": {"isRequired": true}, "region": {"default": "eu"}}},
         {"url": "https://{tenant_id}.acme.example/eu/mcp", "missing": ["url variable tenant_id"]}],
        [{"type": "streamable-http", "url": "{base}/mcp", "variables": {"base": {"default": "https://acme.example"}}},
         {"url": "https://acme.example/mcp", "missing": []}]
    ]);
    for row in rows(table) {
        expect(json!({"remotes": [row[0]]}), row[1].clone());
    }
}

// ---- packages -----------------------------------------------------------------------

#[test]
fn runs_packages_with_their_launcher() {
    let table = json!([
        [{"registryType": "npm", "identifier": "@acme/weather", "version": "1.2.3",
          "registryBaseUrl": "https://registry.npmjs.org"},
         {"source": "package npm", "transport": "stdio", "url": null, "headers": null, "env": null,
          "command": "npx", "args": ["-y", "@acme/weather@1.2.3"], "missing": []}],
        [{"registryType": "pypi", "identifier": "acme-weather", "version": "0.4.0"},
         {"source": "package pypi", "command": "uvx", "args": ["acme-weather==0.4.0"]}],
        [{"registryType": "nuget", "identifier": "Acme.Weather", "version": "1.0.0",
          "registryBaseUrl": "https://api.nuget.org/v3/index.json",
          "packageArguments": [{"type": "positional", "value": "serve"}]},
         {"source": "package nuget", "command": "dnx", "args": ["Acme.Weather@1.0.0", "--yes", "serve"]}],
        [{"registryType": "npm", "identifier": "w", "version": "1", "runtimeHint": "bunx"},
         {"command": "bunx", "args": ["w@1"]}],
        // A hint that is not a launcher of the registry's packages is not a command to run.
        [{"registryType": "npm", "identifier": "w", "version": "1", "runtimeHint": "sh"},
         {"command": "npx", "args": ["-y", "w@1"]}],
        [{"registryType": "oci", "identifier": "docker.io/acme/w:1", "runtimeHint": "podman",
          "environmentVariables": [{"name": "A", "value": "1"}]},
         {"command": "podman", "args": ["run", "-i", "--rm", "-e", "A", "docker.io/acme/w:1"]}],
        [{"registryType": "npm", "identifier": "w", "version": "1", "registryBaseUrl": "https://npm.acme.example"},
         {"args": ["-y", "--registry", "https://npm.acme.example", "w@1"]}],
        [{"registryType": "pypi", "identifier": "w", "version": "1", "registryBaseUrl": "https://pypi.acme.example/simple"},
         {"args": ["--index-url", "https://pypi.acme.example/simple", "w==1"]}],
        [{"registryType": "nuget", "identifier": "w", "version": "1", "registryBaseUrl": "https://nuget.acme.example/v3/index.json"},
         {"args": ["--source", "https://nuget.acme.example/v3/index.json", "w@1", "--yes"]}],
        [{"registryType": "pypi", "identifier": "w", "version": "1", "registryBaseUrl": "https://pypi.org"},
         {"args": ["w==1"]}]
    ]);
    for row in rows(table) {
        let mut package = json!({"transport": {"type": "stdio"}});
        merge(&mut package, row[0].clone());
        expect_package(package, row[1].clone());
    }
}

#[test]
fn fills_the_environment_and_lists_what_is_missing() {
    let variables = json!([
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "REGION", "default": "eu"},
        {"name": "ACME_TOKEN", "isRequired": true, "isSecret": true},
        {"name": "ACME_KEY", "value": "{key}", "isRequired": true, "variables": {"key": {"isSecret": true}}},
        {"name": "OPTIONAL", "description": "skipped"},
        {"name": "EMPTY_SECRET", "value": "", "isSecret": true}
    ]);
    let npm = json!({"registryType": "npm", "identifier": "w", "transport": {"type": "stdio"},
        "environmentVariables": variables});
    expect_package(
        npm,
        json!({"args": ["-y", "w"], "env": {"LOG_LEVEL": "info", "REGION": "eu"},
        "missing": ["env ACME_TOKEN", "env ACME_KEY"]}),
    );
    // Docker passes a variable into the container only when named with -e.
    let oci = json!({"registryType": "oci", "identifier": "ghcr.io/acme/weather", "version": "1.0.0",
        "transport": {"type": "stdio"}, "environmentVariables": variables});
    expect_package(
        oci,
        json!({"source": "package oci", "command": "docker",
        "args": ["run", "-i", "--rm", "-e", "LOG_LEVEL", "-e", "REGION", "-e", "ACME_TOKEN", "-e", "ACME_KEY",
            "ghcr.io/acme/weather:1.0.0"],
        "env": {"LOG_LEVEL": "info", "REGION": "eu"}, "missing": ["env ACME_TOKEN", "env ACME_KEY"]}),
    );
}

#[test]
fn tags_an_image_only_when_it_has_no_tag_or_digest() {
    #[rustfmt::skip]
    let table = json!([
        ["ghcr.io/acme/weather:v2", "1.0.0", null, "ghcr.io/acme/weather:v2"],
        ["acme/weather@sha256:abc", "1.0.0", null, "acme/weather@sha256:abc"],
        ["localhost:5000/weather", null, null, "localhost:5000/weather"],
        ["localhost:5000/weather", "3", null, "localhost:5000/weather:3"],
        ["acme/weather", "2", "https://ghcr.io", "ghcr.io/acme/weather:2"],
        ["acme/weather", "2", "https://docker.io", "acme/weather:2"]
    ]);
    for row in rows(table) {
        let package = json!({"registryType": "oci", "identifier": row[0], "version": row[1],
            "registryBaseUrl": row[2], "transport": {"type": "stdio"}});
        expect_package(package, json!({"args": ["run", "-i", "--rm", row[3]]}));
    }
}

#[test]
fn places_runtime_and_package_arguments_around_the_package() {
    let package = json!({"registryType": "npm", "identifier": "weather", "version": "1.0.0",
    "runtimeHint": "npx", "transport": {"type": "stdio"},
    "runtimeArguments": [{"type": "named", "name": "--node-options", "value": "--max-old-space-size=512"}],
    "packageArguments": [
        {"type": "positional", "value": "serve"},
        {"type": "positional", "valueHint": "directory", "default": "/data"},
        {"type": "positional", "valueHint": "config_file", "isRequired": true},
        {"type": "positional", "valueHint": "extra"},
        {"type": "named", "name": "--port", "default": 8080, "format": "number"},
        {"type": "named", "name": "--mount", "value": "src={source},dst=/x",
         "variables": {"source": {"default": "/srv"}}},
        {"type": "named", "name": "--json", "value": "{\"a\": 1}"},
        {"type": "named", "name": "--stdio", "isRequired": true},
        {"type": "named", "name": "--verbose", "format": "boolean"},
        {"type": "named", "name": "--api-key", "isRequired": true, "isSecret": true},
        {"type": "named", "name": "--tenant", "isRequired": true, "format": "string"},
        {"type": "named", "name": "-e", "value": "TOKEN={token}", "isRequired": true,
         "variables": {"token": {"isSecret": true}}}
    ]});
    let expected = json!({"args": ["-y", "--node-options", "--max-old-space-size=512", "weather@1.0.0",
            "serve", "/data", "--port", "8080", "--mount", "src=/srv,dst=/x", "--json", "{\"a\": 1}",
            "--stdio"],
        "missing": ["argument config_file", "argument --api-key", "argument --tenant",
            "argument -e TOKEN={token}"]});
    expect_package(package, expected);
}

#[test]
fn chooses_what_to_run_and_says_what_was_found_when_nothing_can() {
    let stdio = json!({"type": "stdio"});
    let mcpb = json!({"registryType": "mcpb", "identifier": "https://acme.example/w.mcpb", "transport": stdio});
    let nuget = json!({"registryType": "nuget", "identifier": "Acme.Weather", "transport": stdio});
    let pypi = json!({"registryType": "PyPI", "identifier": "weather", "transport": stdio});
    let http = json!({"registryType": "npm", "identifier": "w",
        "transport": {"type": "streamable-http", "url": "http://localhost:3000/mcp"}});
    let candidate = convert(json!({"packages": [nuget, http, mcpb, pypi]}));
    assert_eq!(candidate.source, "package pypi");
    assert_eq!(candidate.input.args, Some(vec!["weather".to_owned()]));

    let table = json!([
        [{"packages": [mcpb, mcpb]}, "no remote or package mcpgw can run: mcpb packages are not supported"],
        [{"packages": [http]}, "no remote or package mcpgw can run: npm package w uses transport \
            streamable-http, a local HTTP server mcpgw does not start"],
        [{}, "no remote or package mcpgw can run: the entry has neither remotes nor packages"]
    ]);
    for row in rows(table) {
        assert_eq!(error(row[0].clone()), row[1], "{}", row[0]);
    }
}

// ---- invalid entries ----------------------------------------------------------------

#[test]
fn every_invalid_entry_names_its_field() {
    let table = json!([
        [{"name": "foo"}, "server.name: 'foo' must be namespace/name"],
        [{"name": "a/b/c"}, "server.name: 'a/b/c' must be namespace/name"],
        [{"name": format!("io.github.acme/{}", "w".repeat(200))}, "server.name: must be 3 to 200 characters"],
        [{"name": 7}, "server.name: must be a string"],
        [{"description": "d".repeat(101)}, "server.description: must be 1 to 100 characters, not 101"],
        [{"description": null}, "server.description: is required"],
        [{"title": ""}, "server.title: must be 1 to 100 characters"],
        [{"version": null}, "server.version: is required"],
        [{"version": "^1.2.3"}, "server.version: '^1.2.3' is a version range"],
        [{"version": "latest"}, "server.version: 'latest' is reserved"],
        [{"version": "v".repeat(256)}, "server.version: must be at most 255 characters"],
        [{"remotes": [{"type": "stdio", "url": "https://x.example"}]},
            "server.remotes[0].type: 'stdio' must be streamable-http or sse"],
        [{"remotes": [{"type": "sse", "url": "ftp://x.example"}]},
            "server.remotes[0].url: 'ftp://x.example' must be an http(s) URL"],
        [{"remotes": [{"type": "sse"}]}, "server.remotes[0].url: is required"],
        [{"remotes": [{"type": "sse", "url": "{base}/mcp", "variables": {"base": {"isRequired": true}}}]},
            "server.remotes[0].url: '{base}/mcp' is not a valid http(s) URL without a value for base"],
        [{"remotes": {"type": "sse"}}, "server.remotes: must be an array"],
        [{"remotes": [{"type": "sse", "url": "https://x.example",
            "headers": [{"name": "Content-Type", "value": "text/plain"}]}]},
            "the converted registration is invalid: headers: 'Content-Type' is managed by the gateway"],
        [{"packages": [{"registryType": "npm", "transport": {"type": "stdio"}}]},
            "server.packages[0].identifier: is required"],
        [{"packages": [{"registryType": "npm", "identifier": "x"}]}, "server.packages[0].transport: is required"],
        [{"packages": [{"identifier": "x", "transport": {"type": "stdio"}}]},
            "server.packages[0].registryType: is required"]
    ]);
    // Each of these is set on an otherwise valid npm package.
    let package_table = json!([
        [{"transport": {"type": "ws"}}, "server.packages[0].transport.type: 'ws' must be stdio"],
        [{"version": "1.x"}, "server.packages[0].version: '1.x' is a version range"],
        [{"identifier": "--eval=1"}, "server.packages[0].identifier: must be a package name"],
        [{"version": "latest"}, "server.packages[0].version: 'latest' is reserved"],
        [{"registryBaseUrl": "not a url"}, "server.packages[0].registryBaseUrl: 'not a url' is not a URL"],
        [{"packageArguments": [{"type": "named"}]}, "server.packages[0].packageArguments[0].name: is required"],
        [{"packageArguments": [{"type": "flag"}]},
            "server.packages[0].packageArguments[0].type: 'flag' must be positional or named"],
        [{"runtimeArguments": [{"type": "positional"}]},
            "server.packages[0].runtimeArguments[0].value: a positional argument needs a value or a valueHint"],
        [{"environmentVariables": [{"value": "1"}]},
            "server.packages[0].environmentVariables[0].name: is required"],
        [{"environmentVariables": [{"name": "A", "isSecret": "yes"}]},
            "server.packages[0].environmentVariables[0].isSecret: must be a boolean"]
    ]);
    let packages = rows(package_table).into_iter().map(|row| {
        let mut package =
            json!({"registryType": "npm", "identifier": "x", "transport": {"type": "stdio"}});
        merge(&mut package, row[0].clone());
        vec![json!({"packages": [package]}), row[1].clone()]
    });
    for row in rows(table).into_iter().chain(packages) {
        assert_prefix(&error(row[0].clone()), &row[1], &row[0]);
    }
    let not_object = candidate(&json!("x")).expect_err("rejected");
    assert_eq!(not_object.to_string(), "server: must be an object");
}

#[test]
fn recognises_version_ranges_like_the_official_registry() {
    #[rustfmt::skip]
    let ranges = ["^1.2.3", "~1.2.3", ">=1.0.0", "<=1", ">1", "<1", "=1.0.0", "1.x", "1.2.*", "*", "1 - 2", "1.2 || 1.3"];
    for range in ranges {
        assert!(looks_like_range(range), "{range}");
    }
    #[rustfmt::skip]
    let versions = ["1.0.0", "2.1.3-alpha", "2025.11.25", "2025-06-18", "v1.0", "1.0.0-x.1"];
    for version in versions {
        assert!(!looks_like_range(version), "{version}");
    }
}

#[test]
fn keeps_a_version_too_long_to_register_only_in_the_candidate() {
    let long = "1".repeat(230);
    let remote = json!({"type": "sse", "url": "https://x.example"});
    let candidate = convert(json!({"version": long, "remotes": [remote]}));
    assert_eq!(candidate.version, long);
    assert_eq!(candidate.input.version, None);
}

#[test]
fn import_errors_are_invalid_registry_errors() {
    let error = candidate(&server(json!({"name": "foo"}))).expect_err("rejected");
    assert!(matches!(&error, ImportError::Invalid { field, .. } if field == "server.name"));
    let error = RegistryError::from(error);
    assert_eq!(error.kind(), ErrorKind::Invalid);
    let message = error.to_string();
    let expected = "invalid server.name: 'foo' must be namespace/name";
    assert!(message.starts_with(expected), "{message}");
    for error in [candidate(&server(json!({}))), candidate(&json!([]))] {
        let error = RegistryError::from(error.expect_err("rejected"));
        assert_eq!(error.kind(), ErrorKind::Invalid);
    }
    let not_json = RegistryError::from(documents(b"{").expect_err("rejected"));
    assert!(matches!(not_json, RegistryError::Invalid { field, .. } if field == "document"));
}

// ---- local paths --------------------------------------------------------------------

#[test]
fn local_paths_follow_the_path_rules() {
    let table = json!([
        ["io.github.acme/Weather_API", "weather_api"],
        ["io.github.acme/weather.v2", "weather.v2"],
        ["com.example/My Server!", "my-server"],
        ["io.github.acme/-._weather", "weather"],
        ["io.github.acme/api", "acme-api"],
        ["com.Example/Health", "example-health"],
        ["io.github.acme/v0.1", "acme-v0.1"],
        ["io.github.acme/___", "acme"],
        ["io.github.api/api", "api-api"],
        ["api", "server-api"],
        ["", "server"],
        ["io.github.acme/ünïcode", "n-code"],
        [
            format!("io.github.acme/{}", "Long".repeat(30)),
            "long".repeat(15) + "lon"
        ],
        [
            format!("io.github.{}/api", "n".repeat(70)),
            "n".repeat(59) + "-api"
        ]
    ]);
    for row in rows(table) {
        let name = row[0].as_str().unwrap_or_default();
        let path = local_path(name);
        assert_eq!(path, row[1], "{name}");
        assert!(validate_path(&path).is_ok(), "{name} → {path}");
    }
}
