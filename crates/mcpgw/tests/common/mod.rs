//! Test harness: the real `mcpgw` binary on 127.0.0.1:0 with a temporary data directory,
//! driven over HTTP and through its CLI.
#![allow(dead_code)]

pub mod access;
pub mod agent;
pub mod balancer;
pub mod browser;
pub mod certs;
pub mod chaos;
pub mod database;
pub mod faults;
pub mod hostile;
pub mod oidc;
pub mod private_pg;
pub mod registry;
pub mod registry_schema;
pub mod replicas;
pub mod ui;
pub mod upstreams;
pub mod webdriver;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The admin token tests use (set through `MCPGW_ADMIN_TOKEN`).
pub const TOKEN: &str = "test-admin-token-0123456789";
/// How long the gateway may take to start (first start migrates the database).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_mcpgw")
}

/// A running gateway process; killed when dropped.
pub struct Gateway {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    http: reqwest::Client,
    /// Where its stderr (the log) goes.
    log: PathBuf,
}

/// How to start a gateway.
pub struct Launch {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Extra arguments after `serve`.
    pub args: Vec<String>,
    /// Extra environment.
    pub env: Vec<(String, String)>,
    /// Set `MCPGW_ADMIN_TOKEN` to [`TOKEN`].
    pub admin_token_env: bool,
    /// The address to listen on (`127.0.0.1:0`: any free port).
    pub listen: String,
    /// Stay on the database the gateway chooses itself (SQLite in the data dir, or what a
    /// config file names) in the PostgreSQL pass too; see [`Launch::sqlite`].
    pub sqlite: bool,
}

impl Launch {
    /// Defaults: the given data dir, token from the environment, fast health checks.
    pub fn new(data_dir: &Path) -> Self {
        Launch {
            data_dir: data_dir.to_owned(),
            args: Vec::new(),
            // Fast checks by default, through the environment so a test's flags win.
            env: vec![
                ("MCPGW_HEALTH_INTERVAL".into(), "1".into()),
                ("MCPGW_HEALTH_TIMEOUT".into(), "3".into()),
            ],
            admin_token_env: true,
            listen: "127.0.0.1:0".into(),
            sqlite: false,
        }
    }

    /// Keeps the gateway on SQLite (or the database its config file names) in both passes,
    /// for tests about SQLite itself or about how the database is chosen. Otherwise, in
    /// the PostgreSQL pass, a gateway started without a database of its own
    /// (`--database-url`, `MCPGW_DATABASE_URL`) runs on its data dir's PostgreSQL database
    /// ([`database::postgres_for`]).
    pub fn sqlite(mut self) -> Self {
        self.sqlite = true;
        self
    }

    /// Listens on `address` (a test that must know the URL before the start).
    pub fn listen(mut self, address: &str) -> Self {
        self.listen = address.into();
        self
    }

    /// A gateway whose periodic health checks stay out of the test's way (hourly).
    pub fn quiet(data_dir: &Path) -> Self {
        Launch::new(data_dir).env("MCPGW_HEALTH_INTERVAL", "3600")
    }

    /// Adds arguments.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|arg| arg.to_string()));
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Starts the gateway and waits for its listening line.
    pub async fn start(self) -> Gateway {
        let (gateway, _) = self.start_capturing().await;
        gateway
    }

    /// Starts the gateway; also returns what it printed on stderr so far (the log file).
    pub async fn start_capturing(self) -> (Gateway, PathBuf) {
        std::fs::create_dir_all(&self.data_dir).unwrap();
        // Inside the data dir, which tests own (a temporary directory): nothing is left
        // behind in /tmp.
        let log = self
            .data_dir
            .join(format!("gateway-{}.stderr", rand_suffix()));
        let stderr = std::fs::File::create(&log).unwrap();
        let own_database = self.sqlite
            || self.env.iter().any(|(key, _)| key == "MCPGW_DATABASE_URL")
            || self
                .args
                .iter()
                .any(|arg| arg.starts_with("--database-url"));
        let pass_database = if own_database {
            None
        } else {
            database::postgres_for(&self.data_dir).await
        };
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .arg("--listen")
            .arg(&self.listen)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.args)
            .env_remove("MCPGW_ADMIN_TOKEN")
            .env_remove("MCPGW_DATABASE_URL")
            .env_remove("MCPGW_CONFIG")
            .env("MCPGW_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        if self.admin_token_env {
            command.env("MCPGW_ADMIN_TOKEN", TOKEN);
        }
        if let Some(url) = pass_database {
            command.env("MCPGW_DATABASE_URL", url);
        }
        let mut child = command.spawn().expect("start mcpgw");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(url) = line.strip_prefix("mcpgw listening on ") {
                    return Some(url.to_owned());
                }
            }
            None
        })
        .await
        .expect("mcpgw did not start in time");
        let Some(url) = url else {
            panic!(
                "mcpgw exited before listening: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        (
            Gateway {
                child,
                url,
                data_dir: self.data_dir,
                http: client(),
                log: log.clone(),
            },
            log,
        )
    }
}

/// An HTTP client for tests (with the TLS provider the workspace's reqwest needs).
pub fn client() -> reqwest::Client {
    mcpgw_mcp::client::http_client(Duration::from_secs(10)).unwrap()
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A response: status and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Gateway {
    /// Sends a request with the admin token.
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.url))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.unwrap()).await
    }

    /// Sends a raw request: the caller sets headers and body.
    /// POSTs the JSON-RPC `body` to `path` with the admin token.
    pub async fn post_rpc(&self, path: &str, body: &str) -> reqwest::Response {
        self.request("POST", path)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method.parse().unwrap(), format!("{}{path}", self.url))
    }

    /// Polls a server until `done` holds for it, or panics after `timeout`.
    pub async fn wait_for_server(
        &self,
        path: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let reply = self.api("GET", &format!("/api/servers/{path}"), None).await;
            if reply.status == 200 && done(&reply.body) {
                return reply.body;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "server {path} never reached the expected state; last: {reply:?}\n\
                     the gateway's warnings:\n{}",
                    self.warnings()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens a 2025-11-25 session on the aggregated `/mcp` with the admin token (an
    /// `initialize` that must succeed) and returns its `Mcp-Session-Id`; the answer's body
    /// is read to the end.
    pub async fn open_aggregate_session(&self) -> String {
        let opened = self
            .request("POST", "/mcp")
            .bearer_auth(TOKEN)
            .header("accept", "application/json, text/event-stream")
            .json(
                &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "mcpgw-tests", "version": "1"}}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(opened.status(), 200);
        let session = opened.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let _ = opened.bytes().await;
        session
    }

    /// `GET path` with `token`: the status and the JSON body (`null` when not JSON).
    pub async fn get_as(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .request("GET", path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `GET /api/search?{query}` with `token` until `settled` holds for the answer, which
    /// it returns: search follows the registry (and embeds) off the request path, so a
    /// change is searchable a moment after the API answered it. Panics after 30 s.
    pub async fn search_until(
        &self,
        token: &str,
        query: &str,
        settled: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, found) = self.get_as(&format!("/api/search?{query}"), token).await;
            assert_eq!(status, 200, "{query}: {found}");
            if settled(&found) {
                return found;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{query} never settled: {found}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Registers `body` and waits until the server is healthy (so that `/mcp` offers its
    /// tools).
    pub async fn register_healthy(&self, body: Value) {
        let path = body["path"].as_str().unwrap().to_owned();
        let reply = self.api("POST", "/api/servers", Some(body)).await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        self.wait_for_server(&path, Duration::from_secs(30), |server| {
            server["health"]["status"] == "healthy"
        })
        .await;
    }

    /// Waits (at most 30 s) until the tool scan has disabled server `path`, and checks
    /// that the reason says so; returns the server.
    pub async fn wait_blocked_by_scan(&self, path: &str) -> Value {
        let server = self
            .wait_for_server(path, Duration::from_secs(30), |server| {
                server["enabled"] == false && server["scan"]["blocked"].is_string()
            })
            .await;
        let reason = server["scan"]["blocked"].as_str().unwrap_or_default();
        assert!(reason.contains("disabled by the tool scan"), "{reason}");
        server
    }

    /// The warnings and errors in the gateway's log so far (the last 40), to say why a
    /// test that waited in vain did.
    pub fn warnings(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log
            .lines()
            .filter(|line| line.contains("WARN") || line.contains("ERROR"))
            .collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Runs the CLI against this gateway; returns (exit success, stdout, stderr).
    pub async fn cli(&self, args: &[&str]) -> (bool, String, String) {
        run_cli(
            None,
            args,
            &[("MCPGW_URL", &self.url), ("MCPGW_TOKEN", TOKEN)],
        )
        .await
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("gateway still running")
    }

    /// Sends `signal` (e.g. `TERM`) without waiting for the process to exit.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (at most a minute) for the process to exit.
    pub async fn wait(mut self) -> std::process::ExitStatus {
        tokio::time::timeout(Duration::from_secs(60), self.child.wait())
            .await
            .expect("gateway exited")
            .unwrap()
    }

    /// Sends `signal` (e.g. `TERM`, `KILL`) and waits for the exit status.
    /// Where its log (stderr) is written; it outlives the process.
    pub fn log_file(&self) -> PathBuf {
        self.log.clone()
    }

    pub async fn signal_and_wait(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.pid().to_string();
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("gateway did not exit")
            .unwrap()
    }
}

/// Runs the CLI with none of the caller's `MCPGW_*` client settings, only `env`, in
/// `cwd` if given; returns (exit success, stdout, stderr).
pub async fn run_cli(
    cwd: Option<&Path>,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut command = Command::new(binary());
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let output = command
        .args(args)
        .env_remove("MCPGW_URL")
        .env_remove("MCPGW_TOKEN")
        .env_remove("MCPGW_DATA_DIR")
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Reads a response into a [`Reply`].
pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        body,
        headers,
    }
}

/// The JSON-RPC messages of a JSON or SSE (`text/event-stream`) response body.
pub async fn rpc_messages(response: reqwest::Response) -> Vec<Value> {
    let is_sse = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/event-stream"));
    let text = response.text().await.unwrap();
    if !is_sse {
        return vec![serde_json::from_str(&text).unwrap()];
    }
    text.split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data:")))
        .filter(|data| !data.trim().is_empty())
        .map(|data| serde_json::from_str(data.trim()).unwrap())
        .collect()
}

/// The value of `var`, naming third-party software the test script installs, when
/// `present` accepts it. Otherwise the test is skipped with a message locally, and fails
/// under `CI`, so that an end-to-end test is never skipped silently there.
pub fn test_dependency(var: &str, present: impl Fn(&str) -> bool, what: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if present(&value) => Some(value),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{var} must point at {what} in CI"
            );
            eprintln!("{var} not set: skipping what needs {what} (run scripts/test)");
            None
        }
    }
}

/// The official Python SDK's interpreter (`MCPGW_TEST_PYTHON`), per [`test_dependency`].
pub fn python() -> Option<String> {
    test_dependency("MCPGW_TEST_PYTHON", |_| true, "the Python SDK's venv")
}

/// Runs `tests/python/{script}` with the official Python SDK's venv and `args`; returns the
/// JSON it printed. `None` (skip) outside the test script, an error under CI.
pub async fn run_python(script: &str, args: &[&str]) -> Option<Value> {
    let python = python()?;
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        Command::new(python)
            .arg(&script)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python client finished")
    .unwrap();
    assert!(
        output.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

/// Sends one POST with exactly this request target over a plain socket (HTTP clients
/// normalise `..` and `%2e%2e` away; attackers do not), with `token`.
pub async fn raw_post(base: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

/// A 2026-07-28 `tools/call` of `tool` with `arguments` and `meta` on `path` of `gw`, as
/// `token`, with the headers such a client sends.
pub async fn stateless_call(
    gw: &Gateway,
    path: &str,
    token: &str,
    tool: &str,
    arguments: Value,
    meta: Value,
) -> reqwest::Response {
    gw.request("POST", path)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(
            &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments, "_meta": meta}}),
        )
        .send()
        .await
        .unwrap()
}

/// Signs `username` in on `gw` with JSON (the login API); returns the session cookie as a
/// `Cookie` header value (`name=value`) and the session's CSRF token.
pub async fn sign_in(gw: &Gateway, username: &str, password: &str) -> (String, String) {
    let response = gw
        .request("POST", "/login")
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|header| header.starts_with("mcp_gateway_session="))
        .expect("a session cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

/// The `_meta` a 2026-07-28 (stateless) client sends with every request.
pub fn stateless_meta() -> Value {
    serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// Asserts the uniform error shape and returns its code.
pub fn error_code(reply: &Reply) -> String {
    let code = reply.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error body: {reply:?}"));
    assert!(
        reply.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{reply:?}"
    );
    code.to_owned()
}

/// Starts `command` (killed when dropped) and returns it with what follows `prefix` on its
/// first stdout line: the URL a server announces once it listens. If it never does, the
/// panic says what it wrote on stderr (the last 8 KiB).
pub async fn spawn_announcing(mut command: Command, prefix: &str) -> (Child, String) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Read for as long as it runs (a full pipe would stall it), the end kept.
    let said = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let keep = std::sync::Arc::clone(&said);
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            let mut said = keep.lock().unwrap();
            said.push_str(&line);
            said.push('\n');
            if said.len() > 16 * 1024 {
                let cut = said.len() - 8 * 1024;
                let cut = (cut..said.len())
                    .find(|i| said.is_char_boundary(*i))
                    .unwrap();
                said.drain(..cut);
            }
        }
    });
    let stderr_so_far = || said.lock().unwrap().clone();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "no '{prefix}' line within 30 s; its stderr:\n{}",
                stderr_so_far()
            )
        })
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "exited before printing '{prefix}'; its stderr:\n{}",
                stderr_so_far()
            )
        });
    let announced = line
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected '{prefix}…', got {line:?}"))
        .to_owned();
    (child, announced)
}

/// `GET url` as JSON.
pub async fn get_json(url: &str) -> Value {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Registers a server `box` at an address where nothing listens, for tests that are
/// refused before anything is forwarded.
pub async fn register_unreachable_box(gw: &Gateway) {
    let body = http_server("box", "http://127.0.0.1:9/mcp");
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
}

/// A registration body for an HTTP server.
pub fn http_server(path: &str, url: &str) -> Value {
    serde_json::json!({ "path": path, "name": path, "description": "test server", "url": url })
}

/// Everything a gateway on data directory `dir` stored, as bytes, joined: every file
/// directly in it (the SQLite database, its WAL, the logs) and, in the PostgreSQL pass, its
/// database's rows; for tests that check what is written to disk.
pub fn files_in(dir: &Path) -> Vec<u8> {
    let mut all = database::dump(dir);
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

/// Whether `haystack` (from [`files_in`]) holds `needle`.
pub fn files_contain(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Runs `mcpgw serve` with the config file `config` (written into `dir`), expecting it to
/// refuse to start; returns what it said on stderr.
pub async fn start_refused(dir: &Path, config: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("refused.toml");
    std::fs::write(&file, config).unwrap();
    let output = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.join("refused-data"))
        .env("MCPGW_ADMIN_TOKEN", TOKEN)
        .env_remove("MCPGW_DATABASE_URL")
        .env_remove("MCPGW_CONFIG")
        .output()
        .await
        .unwrap();
    assert!(
        !output.status.success(),
        "the gateway started with {config}"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The value of the sample `series` (name and labels, as exposed) in a Prometheus text
/// exposition; 0 when absent.
pub fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

impl Gateway {
    /// The gateway's metrics exposition, read with the admin token.
    pub async fn metrics_text(&self) -> String {
        self.request("GET", "/metrics")
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

impl Launch {
    /// Starts with `config` as its config file (written into the data directory).
    pub fn config(self, config: &str) -> Self {
        std::fs::create_dir_all(&self.data_dir).unwrap();
        let file = self.data_dir.join("mcpgw.toml");
        std::fs::write(&file, config).unwrap();
        let file = file.to_str().unwrap().to_owned();
        self.args(&["--config", &file])
    }
}
