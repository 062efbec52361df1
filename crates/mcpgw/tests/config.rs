//! Configuration and process behaviour of `mcpgw serve`: the admin token file, the config
//! file and its precedence (file < environment < flags), startup errors, and shutdown.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::{Gateway, Launch};
use serde_json::json;
use tokio::process::Command;

/// Guard against a process that should exit but keeps running (not a timing assertion).
const EXIT_GUARD: Duration = Duration::from_secs(60);

/// Writes `text` to `dir/name` and returns the path.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `sqlite://FILE` for `dir/name`.
fn sqlite(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Runs `mcpgw serve ARGS` directly (not through `Launch`), expecting it to exit.
async fn serve_until_exit(data_dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(common::binary());
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            arg(data_dir),
        ])
        .args(args)
        .env_remove("MCPGW_DATABASE_URL")
        .env_remove("MCPGW_CONFIG")
        .env("MCPGW_ADMIN_TOKEN", common::TOKEN)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(EXIT_GUARD, command.output())
        .await
        .expect("mcpgw kept running instead of exiting")
        .unwrap()
}

/// Asserts a failed exit with exactly one `error:` line on stderr; returns that line.
fn error_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure; stderr: {stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line expected: {stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).is_empty(),
        "nothing listened"
    );
    errors[0].to_owned()
}

/// Number of registered servers.
async fn count(gw: &Gateway) -> u64 {
    let reply = gw.api("GET", "/api/servers", None).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    reply.body["count"].as_u64().unwrap()
}

/// Stops a gateway cleanly.
async fn stop(gw: Gateway) {
    assert!(gw.signal_and_wait("TERM").await.success());
}

/// A launch that reads `config` and has no other flags than `Launch`'s listen/data dir.
fn with_config(data_dir: &Path, config: &Path) -> Launch {
    Launch {
        args: vec!["--config".into(), arg(config).into()],
        ..Launch::new(data_dir)
    }
}

#[tokio::test]
async fn first_start_creates_the_admin_token_file_and_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token_file = data.join("admin-token");
    let first = Launch {
        admin_token_env: false,
        ..Launch::new(&data)
    };
    let (gw, log) = first.start_capturing().await;
    let log = std::fs::read_to_string(log).unwrap();
    let announced: Vec<&str> = log.lines().filter(|l| l.contains("admin token")).collect();
    assert_eq!(announced.len(), 1, "{log}");
    assert!(
        announced[0].contains(&token_file.display().to_string()),
        "{log}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(!token.is_empty() && token != common::TOKEN);
    stop(gw).await;

    let second = Launch {
        admin_token_env: false,
        ..Launch::new(&data)
    };
    let (gw, log) = second.start_capturing().await;
    let log = std::fs::read_to_string(log).unwrap();
    assert!(!log.contains("admin token"), "announced only once: {log}");
    assert_eq!(
        std::fs::read_to_string(&token_file).unwrap().trim(),
        token,
        "the token is kept across restarts"
    );
    let with_file_token = gw.request("GET", "/api/servers").bearer_auth(&token);
    let reply = common::reply(with_file_token.send().await.unwrap()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let other = gw.api("GET", "/api/servers", None).await;
    assert_eq!(other.status, 401, "only the file's token is accepted");
}

#[tokio::test]
async fn config_file_is_used_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file_data = dir.path().join("file-data");
    let config = write(
        dir.path(),
        "mcpgw.toml",
        &format!(
            "listen = \"127.0.0.1:1\"\ndata_dir = {:?}\ndatabase_url = {:?}\n\n\
             [health]\ninterval_secs = 2.5\ntimeout_secs = 2\n",
            arg(&file_data),
            sqlite(dir.path(), "file.db"),
        ),
    );

    // On the file's database in the PostgreSQL pass too: that is what is tested.
    let (gw, log) = with_config(&data, &config).sqlite().start_capturing().await;
    assert!(!gw.url.ends_with(":1"), "--listen overrides the file");
    assert!(
        dir.path().join("file.db").is_file(),
        "database from the file"
    );
    assert!(!data.join("mcpgw.db").exists(), "not the default database");
    assert!(!file_data.exists(), "--data-dir overrides the file");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(!log.contains("unknown configuration key"), "{log}");
    let url = common::faults::down_url().await;
    let created = gw
        .api(
            "POST",
            "/api/servers",
            Some(common::http_server("kept", &url)),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    stop(gw).await;

    let flag_db = sqlite(dir.path(), "flag.db");
    let overridden = with_config(&data, &config).args(&["--database-url", &flag_db]);
    let gw = overridden.start().await;
    assert!(dir.path().join("flag.db").is_file(), "--database-url wins");
    assert_eq!(count(&gw).await, 0, "the file's database is not used");
    stop(gw).await;

    let gw = with_config(&data, &config).sqlite().start().await;
    assert_eq!(count(&gw).await, 1, "back on the file's database");
    let kept = gw.api("GET", "/api/servers/kept", None).await;
    assert_eq!(kept.body["url"], url.as_str());
}

#[tokio::test]
async fn environment_overrides_the_file_and_flags_override_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file_db = dir.path().join("file.db");
    let env_db = dir.path().join("env.db");
    let flag_db = dir.path().join("flag.db");
    let config = write(
        dir.path(),
        "mcpgw.toml",
        &format!("database_url = {:?}\n", sqlite(dir.path(), "file.db")),
    );
    let env_url = sqlite(dir.path(), "env.db");
    // The file comes from MCPGW_CONFIG here, the database from both env and flag.
    let gw = Launch::new(&data)
        .env("MCPGW_CONFIG", arg(&config))
        .env("MCPGW_DATABASE_URL", &env_url)
        .args(&["--database-url", &sqlite(dir.path(), "flag.db")])
        .start()
        .await;
    assert!(flag_db.is_file(), "the flag wins over the environment");
    assert!(!env_db.exists() && !file_db.exists());
    let url = common::faults::down_url().await;
    let created = gw
        .api(
            "POST",
            "/api/servers",
            Some(common::http_server("in-flag-db", &url)),
        )
        .await;
    assert_eq!(created.status, 201);
    stop(gw).await;

    let gw = Launch::new(&data)
        .env("MCPGW_DATABASE_URL", &env_url)
        .args(&["--config", arg(&config)])
        .start()
        .await;
    assert!(env_db.is_file(), "the environment wins over the file");
    assert!(!file_db.exists());
    assert_eq!(count(&gw).await, 0, "a different database than the flag's");
}

#[tokio::test]
async fn broken_config_files_stop_the_gateway_with_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let syntax = write(dir.path(), "syntax.toml", "listen = \n[health\n");
    let wrong_type = write(dir.path(), "type.toml", "listen = 42\n");
    let missing = dir.path().join("missing.toml");
    let nan_jitter = write(dir.path(), "nan.toml", "[health]\njitter = nan\n");
    let threads = write(dir.path(), "threads.toml", "[gateway]\nio_threads = 5000\n");
    let separator = write(
        dir.path(),
        "sep.toml",
        "[gateway]\ntool_separator = \"/\"\n",
    );
    for (file, expected) in [
        (&syntax, "invalid"),
        (&wrong_type, "invalid"),
        (&missing, "cannot read config file"),
        (&nan_jitter, "jitter must be between 0 and 1"),
        (&threads, "io_threads must be between 0 and 1024"),
        (&separator, "tool_separator must be 1 to 8 of"),
    ] {
        let output = serve_until_exit(&data, &["--config", arg(file)]).await;
        let line = error_line(&output);
        if expected.contains("jitter")
            || expected.contains("io_threads")
            || expected.contains("tool_separator")
        {
            assert!(line.contains(expected), "{line}");
            continue;
        }
        assert!(line.contains(&file.display().to_string()), "{line}");
        assert!(line.contains(expected), "{line}");
    }
    assert!(
        !data.join("mcpgw.db").exists(),
        "nothing is created before the configuration is valid"
    );
}

#[tokio::test]
async fn unknown_config_keys_only_warn() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "mcpgw.toml",
        "colour = \"red\"\n\n[health]\nintervall_secs = 3\n",
    );
    let (gw, log) = with_config(&dir.path().join("data"), &config)
        .start_capturing()
        .await;
    let log = std::fs::read_to_string(log).unwrap();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("unknown configuration key"))
        .collect();
    assert_eq!(warnings.len(), 2, "{log}");
    assert!(warnings.iter().any(|l| l.contains("colour")), "{log}");
    assert!(
        warnings.iter().any(|l| l.contains("intervall_secs")),
        "{log}"
    );
    let health = common::reply(gw.request("GET", "/health").send().await.unwrap()).await;
    assert_eq!(health.status, 200, "the gateway runs anyway");
}

#[tokio::test]
async fn unsupported_database_url_is_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = serve_until_exit(
        &dir.path().join("data"),
        &["--database-url", "mysql://user:hunter2@db/x"],
    )
    .await;
    let line = error_line(&output);
    assert!(line.contains("unsupported database URL"), "{line}");
    assert!(line.contains("sqlite://"), "says what is supported: {line}");
    assert!(
        !line.contains("hunter2"),
        "passwords are not printed: {line}"
    );
}

#[tokio::test]
async fn sigterm_and_sigint_shut_down_gracefully() {
    // Default connection workers, one worker, and connections on the shared runtime.
    for (signal, threads) in [("TERM", None), ("INT", Some(1)), ("TERM", Some(0))] {
        let dir = tempfile::tempdir().unwrap();
        let mut launch = Launch::new(&dir.path().join("data"));
        if let Some(threads) = threads {
            let config = write(
                dir.path(),
                "mcpgw.toml",
                &format!("[gateway]\nio_threads = {threads}\n"),
            );
            launch = launch.args(&["--config", arg(&config)]);
        }
        let (gw, log) = launch.start_capturing().await;
        // A served request shows the gateway is past startup and watching for signals.
        assert_eq!(count(&gw).await, 0);
        let status = gw.signal_and_wait(signal).await;
        assert_eq!(status.code(), Some(0), "SIG{signal}: {status:?}");
        let log = std::fs::read_to_string(log).unwrap();
        assert!(log.contains("shutting down"), "SIG{signal}: {log}");
        assert!(log.contains("stopped"), "SIG{signal}: {log}");
    }
}

#[tokio::test]
async fn health_reports_the_database_and_server_counts() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::new(&dir.path().join("data")).start().await;
    let url = common::faults::down_url().await;
    for path in ["up", "off"] {
        let created = gw
            .api(
                "POST",
                "/api/servers",
                Some(common::http_server(path, &url)),
            )
            .await;
        assert_eq!(created.status, 201, "{created:?}");
    }
    let toggle = json!({"enabled": false});
    let off = gw
        .api("POST", "/api/servers/off/toggle", Some(toggle))
        .await;
    assert_eq!(off.status, 200);
    gw.wait_for_server("up", Duration::from_secs(20), |s| {
        s["health"]["status"] == "unhealthy"
    })
    .await;

    let health = common::reply(gw.request("GET", "/health").send().await.unwrap()).await;
    assert_eq!(health.status, 200, "{health:?}");
    assert_eq!(health.body["status"], "healthy");
    assert_eq!(health.body["database"], common::database::backend());
    assert_eq!(
        health.body["servers"],
        json!({"total": 2, "disabled": 1, "healthy": 0, "unhealthy": 1,
               "auth_required": 0, "unknown": 0}),
        "{health:?}"
    );
}
