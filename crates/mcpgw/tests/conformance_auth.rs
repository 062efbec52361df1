//! The MCP conformance suite's client-side authorization scenarios (npm
//! `@modelcontextprotocol/conformance client`), with the gateway's upstream OAuth client
//! as the client under test (`mcpgw egress-probe`, the same code as an `oauth-client`
//! server's health checks and traffic).
//!
//! With `--grant authorization-code` the client under test is the `oauth-user` mode with
//! an `mcp` provider (discovered endpoints, PKCE, the resource, scopes from the challenge
//! or the metadata, step-up, a pre-registered client, the Client ID Metadata Document, or
//! a registered one): the whole `auth` suite and the `draft` one must pass.
//!
//! With client credentials (the `oauth-client` mode):
//! - `auth/client-credentials-basic` and `auth/resource-mismatch` must pass outright;
//! - the discovery scenarios (`auth/metadata-default`, `-var1`, `-var2`, `-var3`) and
//!   `auth/token-endpoint-auth-basic` must pass every check but those of the
//!   authorization-code flow and dynamic client registration, which a client-credentials
//!   client does not do (the suite's mock authorization server issues tokens to any
//!   client, so the rest of the flow is exercised after discovery).

mod common;

use std::path::Path;

use serde_json::Value;

/// The suite's entry point and the Node 22 it needs, or `None` outside `scripts/test`.
fn suite() -> Option<(String, String)> {
    let node = common::test_dependency(
        "MCPGW_TEST_NODE22",
        |path| Path::new(path).exists(),
        "Node 22",
    )?;
    let conformance = common::test_dependency(
        "MCPGW_TEST_CONFORMANCE",
        |path| Path::new(path).exists(),
        "@modelcontextprotocol/conformance",
    )?;
    Some((node, conformance))
}

/// Runs one scenario with `mcpgw egress-probe {extra}` as the client; returns its checks
/// as (id, status).
async fn run(scenario: &str, extra: &str) -> Option<Vec<(String, String)>> {
    run_selected(&["--scenario", scenario], extra).await
}

/// Runs the scenarios `selection` names (`--scenario X` or `--suite Y`) with
/// `mcpgw egress-probe {extra}` as the client; returns every check as (id, status).
async fn run_selected(selection: &[&str], extra: &str) -> Option<Vec<(String, String)>> {
    let scenario = selection.join(" ");
    let (node, conformance) = suite()?;
    let out = tempfile::tempdir().unwrap();
    let command = format!("{} egress-probe {extra}", common::binary())
        .trim()
        .to_owned();
    let finished = tokio::process::Command::new(&node)
        .arg(&conformance)
        .args(["client", "--command", &command])
        .args(selection)
        .arg("-o")
        .arg(out.path())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let mut checks = Vec::new();
    for entry in walk(out.path()) {
        if entry.file_name().is_some_and(|name| name == "checks.json") {
            let listed: Vec<Value> =
                serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
            checks.extend(listed.into_iter().map(|check| {
                (
                    check["id"].as_str().unwrap_or_default().to_owned(),
                    check["status"].as_str().unwrap_or_default().to_owned(),
                )
            }));
        }
    }
    assert!(
        !checks.is_empty(),
        "{scenario}: no checks written\n{}\n{}",
        String::from_utf8_lossy(&finished.stdout),
        String::from_utf8_lossy(&finished.stderr)
    );
    Some(checks)
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The checks of `checks` that did not pass (FAILURE or WARNING), except `allowed`.
fn failed<'a>(checks: &'a [(String, String)], allowed: &[&str]) -> Vec<&'a str> {
    checks
        .iter()
        .filter(|(id, status)| {
            matches!(status.as_str(), "FAILURE" | "WARNING") && !allowed.contains(&id.as_str())
        })
        .map(|(id, _)| id.as_str())
        .collect()
}

fn passed(checks: &[(String, String)], id: &str) -> bool {
    checks
        .iter()
        .any(|(check, status)| check == id && status == "SUCCESS")
}

#[tokio::test]
async fn client_credentials_and_resource_checks_pass() {
    let Some(checks) = run("auth/client-credentials-basic", "").await else {
        return;
    };
    assert_eq!(failed(&checks, &[]), Vec::<&str>::new(), "{checks:?}");
    assert!(
        passed(&checks, "client-credentials-basic-auth"),
        "{checks:?}"
    );
    let checks = run(
        "auth/resource-mismatch",
        "--client-id probe --client-secret probe",
    )
    .await
    .unwrap();
    assert_eq!(failed(&checks, &[]), Vec::<&str>::new(), "{checks:?}");
    assert!(passed(&checks, "resource-mismatch-rejected"), "{checks:?}");
}

#[tokio::test]
async fn every_discovery_variant_is_followed() {
    // What only the authorization-code flow and dynamic registration produce.
    const NOT_THIS_CLIENT: [&str; 3] = [
        "client-registration",
        "authorization-request",
        "resource-parameter-in-authorization",
    ];
    for scenario in [
        "auth/metadata-default",
        "auth/metadata-var1",
        "auth/metadata-var2",
        "auth/metadata-var3",
        "auth/token-endpoint-auth-basic",
    ] {
        let Some(checks) = run(scenario, "--client-id probe --client-secret probe").await else {
            return;
        };
        assert_eq!(
            failed(&checks, &NOT_THIS_CLIENT),
            Vec::<&str>::new(),
            "{scenario}: {checks:?}"
        );
        for id in [
            "authorization-server-metadata",
            "token-request",
            "valid-bearer-token",
        ] {
            assert!(passed(&checks, id), "{scenario}: {id} {checks:?}");
        }
    }
}

#[tokio::test]
async fn a_users_connection_to_an_mcp_server_passes_the_whole_auth_suite() {
    let probe = "--grant authorization-code --call-tool test-tool \
                 --client-metadata-url https://conformance-test.local/client-metadata.json";
    for suite in ["auth", "draft"] {
        let Some(checks) = run_selected(&["--suite", suite], probe).await else {
            return;
        };
        assert_eq!(
            failed(&checks, &[]),
            Vec::<&str>::new(),
            "{suite}: {checks:?}"
        );
        for id in [
            "authorization-request",
            "token-request",
            "valid-bearer-token",
        ] {
            if suite == "auth" {
                assert!(passed(&checks, id), "{suite}: {id}");
            }
        }
    }
}
