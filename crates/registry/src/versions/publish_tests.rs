use chrono::Utc;
use serde_json::json;

use super::*;
use crate::input::ServerInput;
use crate::versions::VersionStatus;

fn stdio(command: &str, args: &[&str]) -> Server {
    ServerInput {
        path: Some("tool".into()),
        command: Some(command.into()),
        args: Some(args.iter().map(|arg| (*arg).to_owned()).collect()),
        env: Some([("API_KEY".to_owned(), "secret".to_owned())].into()),
        ..ServerInput::default()
    }
    .into_new_server(Utc::now())
    .unwrap()
}

fn version(text: &str, seq: i64) -> ServerVersion {
    let now = Utc::now();
    ServerVersion {
        path: "tool".into(),
        version: text.into(),
        seq,
        metadata: json!({}),
        digest: String::new(),
        status: VersionStatus::Active,
        status_message: None,
        status_changed_at: now,
        published_at: now,
        updated_at: now,
    }
}

#[test]
fn metadata_names_the_package_and_never_the_secrets() {
    let server = stdio(
        "npx",
        &["-y", "@scope/server-x@1.2.3", "--token", "hunter2"],
    );
    let metadata = published_metadata(&server);
    assert_eq!(
        metadata["package"],
        json!({"registryType": "npm", "identifier": "@scope/server-x", "version": "1.2.3",
               "runtimeHint": "npx", "transport": {"type": "stdio"}})
    );
    let text = metadata.to_string();
    assert!(!text.contains("hunter2") && !text.contains("secret") && !text.contains("API_KEY"));
}

#[test]
fn launchers_and_their_packages() {
    let package =
        |command: &str, args: &[&str]| published_metadata(&stdio(command, args))["package"].clone();
    assert_eq!(
        package("uvx", &["--python", "3.12", "mcp-server-time==0.6.2"])["identifier"],
        "mcp-server-time"
    );
    assert_eq!(
        package("uvx", &["mcp-server-time==0.6.2"])["version"],
        "0.6.2"
    );
    assert_eq!(
        package("/usr/bin/npx", &["-y", "left-pad"])["version"],
        Value::Null
    );
    assert_eq!(package("npx", &["pkg@latest"])["version"], Value::Null);
    let oci = package(
        "docker",
        &[
            "run",
            "-i",
            "--rm",
            "-e",
            "TOKEN",
            "ghcr.io/o/img:1.0",
            "serve",
        ],
    );
    assert_eq!(oci["registryType"], "oci");
    assert_eq!(oci["identifier"], "ghcr.io/o/img:1.0");
    assert_eq!(
        package("dnx", &["Some.Tool@2.0.0", "--yes"])["registryType"],
        "nuget"
    );
    // A program that is not a package launcher publishes no package.
    assert_eq!(package("node", &["server.js"]), Value::Null);
}

#[test]
fn digest_ignores_key_order_but_not_values() {
    let one = json!({"a": 1, "b": {"x": [1, 2], "y": "z"}});
    let same = json!({"b": {"y": "z", "x": [1, 2]}, "a": 1});
    let other = json!({"a": 1, "b": {"x": [2, 1], "y": "z"}});
    assert_eq!(digest(&one), digest(&same));
    assert_ne!(digest(&one), digest(&other));
    assert_eq!(digest(&one).len(), 64);
}

#[test]
fn versions_follow_the_stated_one_and_are_never_reused() {
    assert_eq!(next_version(&[], Some("1.0.0")), ("1.0.0".into(), 1));
    assert_eq!(next_version(&[], None), ("0.0.1".into(), 1));
    let published = [version("1.0.0", 1)];
    assert_eq!(
        next_version(&published, Some("1.0.0")),
        ("1.0.0+2".into(), 2)
    );
    assert_eq!(next_version(&published, Some("1.1.0")), ("1.1.0".into(), 2));
    assert_eq!(next_version(&published, Some("  ")), ("0.0.2".into(), 2));
    let crowded = [version("0.0.2", 1), version("0.0.1", 3)];
    assert_eq!(next_version(&crowded, None), ("0.0.4".into(), 4));
    let clash = [version("1.0.0", 1), version("1.0.0+2", 5)];
    assert_eq!(next_version(&clash[..1], Some("1.0.0")).0, "1.0.0+2");
    let clash = [version("1.0.0", 1), version("1.0.0+3", 2)];
    assert_eq!(next_version(&clash, Some("1.0.0")), ("1.0.0+3.1".into(), 3));
}

#[test]
fn versions_registries_refuse_are_not_published_as_stated() {
    for stated in ["latest", "^1.2.0", "1.x", ">=2", "1.0 beta"] {
        assert_eq!(
            next_version(&[], Some(stated)),
            ("0.0.1".into(), 1),
            "{stated}"
        );
    }
}

#[test]
fn a_flag_value_is_never_taken_for_the_package() {
    let package =
        |command: &str, args: &[&str]| published_metadata(&stdio(command, args))["package"].clone();
    let npm = package(
        "npx",
        &["-y", "--registry", "https://u:tok@npm.corp", "pkg@1.0.0"],
    );
    assert_eq!(npm["identifier"], "pkg");
    assert_eq!(npm["version"], "1.0.0");
    let uv = package(
        "uvx",
        &[
            "--extra-index-url",
            "https://u:tok@pypi.corp/simple",
            "tool",
        ],
    );
    assert_eq!(uv["identifier"], "tool");
    // A value the flag lists do not know is refused rather than published.
    assert_eq!(
        package("npx", &["--unknown-flag", "https://u:tok@x", "pkg"]),
        Value::Null
    );
    assert_eq!(package("uvx", &["KEY=secret"]), Value::Null);
}
