//! The `mcpgw server …` commands, run as a user would against a real gateway: output,
//! exit status, and one readable `error:` line for every failure.

mod common;

use std::path::Path;

use common::{Gateway, Launch};
use serde_json::{Value, json};

/// The flag for a server's own URL (`--url` is the gateway's).
const UPSTREAM: &str = "--upstream";

/// What one CLI run produced: exit success, stdout, stderr.
type Run = (bool, String, String);

async fn gateway() -> (tempfile::TempDir, Gateway) {
    let dir = tempfile::tempdir().unwrap();
    let gateway = Launch::new(&dir.path().join("data")).start().await;
    (dir, gateway)
}

/// Runs the CLI in `cwd` with no `MCPGW_*` variables except those in `env`.
async fn run(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    common::run_cli(Some(cwd), args, env).await
}

/// Asserts success and returns stdout.
fn ok(run: Run) -> String {
    let (success, stdout, stderr) = run;
    assert!(
        success,
        "expected success\nstdout: {stdout}\nstderr: {stderr}"
    );
    stdout
}

/// Asserts failure with exactly one line on stderr, starting with `error:`; returns it.
fn failed(run: Run) -> String {
    let (success, stdout, stderr) = run;
    assert!(
        !success,
        "expected failure\nstdout: {stdout}\nstderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one error line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    lines[0].to_owned()
}

/// Parses JSON output.
fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// `server show PATH --json`.
async fn show(gw: &Gateway, path: &str) -> Value {
    json_of(&ok(gw.cli(&["server", "show", path, "--json"]).await))
}

/// The `key: value` line of `server show`/`add` output for `key`.
fn detail<'a>(stdout: &'a str, key: &str) -> &'a str {
    let prefix = format!("{key}:");
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no '{key}:' line in:\n{stdout}"))
        .trim()
}

/// Base URL of a port where nothing listens.
async fn down_base() -> String {
    let url = common::faults::down_url().await;
    url.trim_end_matches("/mcp").to_owned()
}

#[tokio::test]
async fn add_then_list_as_table_and_json() {
    let (_dir, gw) = gateway().await;
    assert!(ok(gw.cli(&["server", "list"]).await).contains("no servers registered"));
    let url = common::faults::down_url().await;
    let added = ok(gw
        .cli(&[
            "server",
            "add",
            "weather",
            UPSTREAM,
            &url,
            "--name",
            "Weather",
            "--description",
            "forecasts",
            "--tag",
            "a",
            "--tag",
            "b",
            "--header",
            "X-Api-Key=secret-value",
            "--license",
            "MIT",
            "--server-version",
            "1.0",
        ])
        .await);
    assert_eq!(added.lines().next(), Some("registered weather"), "{added}");
    assert_eq!(detail(&added, "path"), "weather");
    assert_eq!(detail(&added, "name"), "Weather");
    assert_eq!(detail(&added, "description"), "forecasts");
    assert_eq!(detail(&added, "transport"), "streamable-http");
    assert_eq!(detail(&added, "target"), url);
    assert_eq!(detail(&added, "enabled"), "yes");
    assert_eq!(detail(&added, "tags"), "a, b");
    assert_eq!(detail(&added, "license"), "MIT");
    assert_eq!(detail(&added, "version"), "1.0");
    assert!(!added.contains("secret-value"), "secrets are never shown");

    let table = ok(gw.cli(&["server", "list"]).await);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["PATH", "TRANSPORT", "ENABLED", "TOOLS", "HEALTH", "TARGET"]
    );
    let row = lines[1];
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cells[..4],
        ["weather", "streamable-http", "yes", "0"],
        "{row}"
    );
    assert_eq!(cells.last(), Some(&url.as_str()), "{row}");
    // Columns are aligned: each cell starts under its heading.
    for (heading, cell) in [("TRANSPORT", "streamable-http"), ("TARGET", url.as_str())] {
        assert_eq!(lines[0].find(heading), row.find(cell), "{table}");
    }

    let listing = json_of(&ok(gw.cli(&["server", "list", "--json"]).await));
    assert_eq!(listing["count"], 1, "{listing}");
    let server = &listing["servers"][0];
    assert_eq!(server["path"], "weather");
    assert_eq!(server["url"], url.as_str());
    assert_eq!(server["tags"], json!(["a", "b"]));
    assert_eq!(server["license"], "MIT");
    assert_eq!(server["version"], "1.0");
    assert_eq!(server["headers"]["X-Api-Key"], "<redacted>");
}

#[tokio::test]
async fn stdio_server_takes_arguments_after_double_dash() {
    let (_dir, gw) = gateway().await;
    let added = ok(gw
        .cli(&[
            "server",
            "add",
            "fs",
            "--command",
            "/bin/echo",
            "--env",
            "MODE=test",
            "--",
            "hello",
            "world",
        ])
        .await);
    assert_eq!(added.lines().next(), Some("registered fs"), "{added}");
    assert_eq!(detail(&added, "target"), "/bin/echo hello world");
    let server = show(&gw, "fs").await;
    assert_eq!(server["transport"], "stdio", "{server}");
    assert_eq!(server["command"], "/bin/echo");
    assert_eq!(server["args"], json!(["hello", "world"]));
    assert_eq!(server["env"]["MODE"], "<redacted>");
    let table = ok(gw.cli(&["server", "list"]).await);
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("/bin/echo hello world"),
        "{table}"
    );
}

#[tokio::test]
async fn show_update_toggle_refresh_remove() {
    let (_dir, gw) = gateway().await;
    let url = common::faults::down_url().await;
    let add = [
        "server", "add", "weather", UPSTREAM, &url, "--name", "Weather",
    ];
    ok(gw
        .cli(&[&add[..], &["--description", "old"]].concat())
        .await);

    let shown = ok(gw.cli(&["server", "show", "weather"]).await);
    assert_eq!(detail(&shown, "description"), "old");
    assert!(shown.contains("tools (0):"), "{shown}");

    let updated = ok(gw
        .cli(&["server", "update", "weather", "--description", "new"])
        .await);
    assert_eq!(updated.lines().next(), Some("updated weather"), "{updated}");
    let server = show(&gw, "weather").await;
    assert_eq!(server["description"], "new");
    assert_eq!(server["name"], "Weather", "fields not given are kept");
    assert_eq!(server["url"], url.as_str());

    let nothing = failed(gw.cli(&["server", "update", "weather"]).await);
    assert!(nothing.contains("nothing to update"), "{nothing}");

    let disabled = ok(gw.cli(&["server", "disable", "weather"]).await);
    assert_eq!(disabled.lines().next(), Some("disabled weather"));
    assert_eq!(show(&gw, "weather").await["enabled"], false);
    let enabled = ok(gw.cli(&["server", "enable", "weather"]).await);
    assert_eq!(enabled.lines().next(), Some("enabled weather"));
    assert_eq!(show(&gw, "weather").await["enabled"], true);

    let refreshed = ok(gw.cli(&["server", "refresh", "weather"]).await);
    assert_eq!(refreshed.lines().next(), Some("refreshed weather"));
    assert!(
        detail(&refreshed, "health").starts_with("unhealthy: connection refused"),
        "{refreshed}"
    );

    let removed = ok(gw.cli(&["server", "remove", "weather"]).await);
    assert_eq!(removed.trim(), "removed weather");
    let gone = failed(gw.cli(&["server", "show", "weather"]).await);
    assert!(
        gone.contains("not found") && gone.contains("(HTTP 404)"),
        "{gone}"
    );
    for command in ["enable", "disable", "refresh", "remove"] {
        let missing = failed(gw.cli(&["server", command, "weather"]).await);
        assert!(missing.contains("(HTTP 404)"), "{command}: {missing}");
    }
}

#[tokio::test]
async fn rejected_commands_print_one_error_line_and_change_nothing() {
    let (_dir, gw) = gateway().await;
    let url = common::faults::down_url().await;
    // `--proxy-pass-url` (the Python registry's name) is an alias.
    ok(gw
        .cli(&["server", "add", "weather", "--proxy-pass-url", &url])
        .await);

    let duplicate = failed(gw.cli(&["server", "add", "weather", UPSTREAM, &url]).await);
    assert!(duplicate.contains("already exists"), "{duplicate}");
    assert!(duplicate.contains("(HTTP 409)"), "{duplicate}");

    let bad_path = failed(gw.cli(&["server", "add", "Bad!", UPSTREAM, &url]).await);
    assert!(
        bad_path.contains("path") && bad_path.contains("(HTTP 422)"),
        "{bad_path}"
    );

    let bad_url = failed(
        gw.cli(&["server", "add", "ftp", UPSTREAM, "ftp://x/"])
            .await,
    );
    assert!(bad_url.contains("(HTTP 422)"), "{bad_url}");

    let header = [
        "server", "add", "other", UPSTREAM, &url, "--header", "novalue",
    ];
    let no_value = failed(gw.cli(&header).await);
    assert!(
        no_value.contains("--header expects KEY=VALUE"),
        "{no_value}"
    );
    assert!(no_value.contains("novalue"), "{no_value}");
    let env = failed(
        gw.cli(&["server", "add", "x", "--command", "a", "--env", "E"])
            .await,
    );
    assert!(env.contains("--env expects KEY=VALUE"), "{env}");

    let listing = json_of(&ok(gw.cli(&["server", "list", "--json"]).await));
    assert_eq!(
        listing["count"], 1,
        "rejected commands register nothing: {listing}"
    );
}

#[tokio::test]
async fn unreachable_gateway_and_wrong_token_are_reported() {
    let (dir, gw) = gateway().await;
    let base = down_base().await;
    let env = [("MCPGW_URL", base.as_str()), ("MCPGW_TOKEN", common::TOKEN)];
    let down = failed(run(dir.path(), &["server", "list"], &env).await);
    assert!(down.contains("cannot reach the gateway"), "{down}");
    assert!(down.contains(&base), "{down}");
    // `--url` overrides MCPGW_URL.
    let flag = ["server", "list", "--url", gw.url.as_str()];
    assert!(ok(run(dir.path(), &flag, &env).await).contains("no servers registered"));

    let wrong = ["server", "list", "--token", "wrong-token-0123456789"];
    let unauthorized = failed(gw.cli(&wrong).await);
    assert!(unauthorized.contains("(HTTP 401)"), "{unauthorized}");
    let add = [
        "server",
        "add",
        "x",
        UPSTREAM,
        &base,
        "--token",
        "wrong-token-0123456789",
    ];
    assert!(failed(gw.cli(&add).await).contains("(HTTP 401)"));
    assert_eq!(
        gw.api("GET", "/api/servers", None).await.body["count"],
        0,
        "an unauthorized add registers nothing"
    );
}

#[tokio::test]
async fn token_is_read_from_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let gw = Launch {
        admin_token_env: false,
        ..Launch::new(&data)
    }
    .start()
    .await;
    assert!(data.join("admin-token").is_file());
    let data_arg = data.to_str().unwrap();
    let url = common::faults::down_url().await;
    let at_gateway = [("MCPGW_URL", gw.url.as_str())];

    let listed = ok(run(
        dir.path(),
        &["server", "list", "--data-dir", data_arg],
        &at_gateway,
    )
    .await);
    assert!(listed.contains("no servers registered"), "{listed}");

    let with_env = [("MCPGW_URL", gw.url.as_str()), ("MCPGW_DATA_DIR", data_arg)];
    let add = ["server", "add", "weather", UPSTREAM, url.as_str()];
    ok(run(dir.path(), &add, &with_env).await);
    let listing = ok(run(dir.path(), &["server", "list", "--json"], &with_env).await);
    assert_eq!(json_of(&listing)["servers"][0]["path"], "weather");

    let empty = tempfile::tempdir().unwrap();
    let empty_arg = empty.path().to_str().unwrap();
    let args = ["server", "list", "--data-dir", empty_arg];
    let no_token = failed(run(dir.path(), &args, &at_gateway).await);
    assert!(no_token.contains("MCPGW_TOKEN"), "{no_token}");
    // The default data dir (./mcpgw-data in the working directory) is empty too.
    let default_dir = failed(run(empty.path(), &["server", "list"], &at_gateway).await);
    assert!(default_dir.contains("MCPGW_TOKEN"), "{default_dir}");
}
