//! The SSRF guard, end to end: server URLs that point at link-local or cloud metadata
//! addresses (or at networks an admin closed) are refused at registration and import,
//! with a message saying how to allow them; and a name that is re-pointed at a denied
//! address after registration (DNS rebinding) is refused at connection time, by the
//! data plane, the aggregated endpoint and the health check alike, before anything
//! connects there.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::hostile::{self, Reply};
use common::{Gateway, Launch, TOKEN};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Writes `[network]` settings to a config file in `dir` and returns its path.
fn network_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("mcpgw.toml");
    std::fs::write(&path, format!("[network]\n{body}\n")).unwrap();
    path
}

/// Starts a gateway with `config` (quiet health checks: tests drive them).
async fn gateway_with(dir: &Path, config: &Path) -> Gateway {
    Launch::quiet(&dir.join("data"))
        .args(&["--config", config.to_str().unwrap()])
        .start()
        .await
}

/// Registers `url` at `path` through the REST API.
async fn register(gw: &Gateway, path: &str, url: &str) -> common::Reply {
    gw.api("POST", "/api/servers", Some(common::http_server(path, url)))
        .await
}

/// Asserts a 400 whose message names every one of `parts`, and that nothing was stored.
async fn assert_refused(gw: &Gateway, reply: common::Reply, path: &str, parts: &[&str]) {
    // A field with a value the rules refuse, like any invalid URL.
    assert_eq!(reply.status, 422, "{:?}", reply.body);
    assert_eq!(reply.body["error"]["code"], "invalid_field");
    let message = reply.body["error"]["message"].as_str().unwrap_or_default();
    for part in parts {
        assert!(message.contains(part), "{part} missing from: {message}");
    }
    let stored = gw.api("GET", &format!("/api/servers/{path}"), None).await;
    assert_eq!(stored.status, 404, "a refused server is not stored");
}

#[tokio::test]
async fn metadata_addresses_are_refused_at_registration_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Launch::quiet(&dir.path().join("data")).start().await;

    let refused = register(&gw, "imds", "http://169.254.169.254/mcp").await;
    let parts = [
        "169.254.169.254",
        "169.254.0.0/16",
        "[network] allow_networks",
    ];
    assert_refused(&gw, refused, "imds", &parts).await;
    let refused = register(&gw, "imds6", "http://[fd00:ec2::254]/mcp").await;
    let parts = ["fd00:ec2::254", "fd00:ec2::254/128", "allow_networks"];
    assert_refused(&gw, refused, "imds6", &parts).await;
    // The same address in IPv6 clothing, and in a numeric spelling.
    let refused = register(&gw, "mapped", "http://[::ffff:169.254.169.254]/sse").await;
    assert_refused(&gw, refused, "mapped", &["169.254.169.254"]).await;
    let refused = register(&gw, "numeric", "http://2852039166/mcp").await;
    assert_refused(&gw, refused, "numeric", &["169.254.169.254"]).await;

    // An allowed server cannot be moved there either.
    let allowed = register(&gw, "moved", "http://127.0.0.1:9/mcp").await;
    assert_eq!(allowed.status, 201, "{:?}", allowed.body);
    let moved = gw
        .api(
            "PATCH",
            "/api/servers/moved",
            Some(json!({"url": "http://169.254.169.254/mcp"})),
        )
        .await;
    assert_eq!(moved.status, 422, "{:?}", moved.body);
    let kept = gw.api("GET", "/api/servers/moved", None).await;
    assert_eq!(kept.body["url"], "http://127.0.0.1:9/mcp");

    // The Python registry's form and the CLI go through the same rules.
    let form = gw
        .request("POST", "/register")
        .bearer_auth(TOKEN)
        .form(&[
            ("path", "legacy"),
            ("name", "legacy"),
            ("proxy_pass_url", "http://169.254.169.254/mcp"),
        ])
        .send()
        .await
        .unwrap();
    let form = common::reply(form).await;
    assert_refused(&gw, form, "legacy", &["169.254.0.0/16"]).await;
    let (ok, _, err) = gw
        .cli(&[
            "server",
            "add",
            "cli",
            "--upstream",
            "http://169.254.169.254/mcp",
        ])
        .await;
    assert!(!ok && err.contains("169.254.0.0/16"), "{err}");

    // An import: nothing is imported, the entry named; a dry run reports it as invalid.
    let file = dir.path().join("servers.json");
    let entries = json!([
        common::registry::entry(
            "io.example/fine",
            json!({"remotes": [{"type": "streamable-http", "url": "http://127.0.0.1:9/mcp"}]})
        ),
        common::registry::entry(
            "io.example/imds",
            json!({"remotes": [{"type": "streamable-http", "url": "http://169.254.169.254/mcp"}]})
        ),
    ]);
    std::fs::write(&file, entries.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let (ok, out, err) = common::registry::cli(&gw, &["import", "--file", file]).await;
    assert!(!ok, "{out}");
    assert!(
        err.contains("io.example/imds") && err.contains("169.254.0.0/16"),
        "{err}"
    );
    let paths: Vec<Value> = common::registry::servers(&gw)
        .await
        .iter()
        .map(|server| server["path"].clone())
        .collect();
    assert_eq!(paths, [json!("moved")], "nothing was imported");
    let (ok, out, err) = common::registry::cli(&gw, &["import", "--file", file, "--dry-run"]).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("169.254.0.0/16"), "{out}");
}

#[tokio::test]
async fn deny_networks_closes_more_and_allow_networks_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let config = network_config(
        dir.path(),
        r#"deny_networks = ["127.0.0.2/32"]
allow_networks = ["169.254.169.254/32"]"#,
    );
    let gw = gateway_with(dir.path(), &config).await;
    let refused = register(&gw, "closed", "http://127.0.0.2:9/mcp").await;
    let parts = ["127.0.0.2", "deny_networks", "allow_networks"];
    assert_refused(&gw, refused, "closed", &parts).await;
    // Loopback outside the closed network stays open.
    assert_eq!(
        register(&gw, "open", "http://127.0.0.1:9/mcp").await.status,
        201
    );
    // Disabled: it is registered, and nothing tries to connect to it.
    let reopened = gw
        .api(
            "POST",
            "/api/servers",
            Some(json!({"path": "imds", "name": "imds", "enabled": false,
                        "url": "http://169.254.169.254/mcp"})),
        )
        .await;
    assert_eq!(reopened.status, 201, "{:?}", reopened.body);
    // Only that address: its neighbours stay closed.
    let neighbour = register(&gw, "neighbour", "http://169.254.169.253/mcp").await;
    assert_refused(&gw, neighbour, "neighbour", &["169.254.0.0/16"]).await;
}

#[tokio::test]
async fn a_bad_network_stops_the_gateway_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let stderr =
        common::start_refused(dir.path(), "[network]\ndeny_networks = [\"10.0.0.1/8\"]\n").await;
    assert!(
        stderr.contains("'10.0.0.1/8' has bits set after its prefix"),
        "{stderr}"
    );
    // An unknown [network] key is refused.
    let stderr =
        common::start_refused(dir.path(), "[network]\ndeny_network = [\"10.0.0.0/8\"]\n").await;
    assert!(stderr.contains("deny_network"), "{stderr}");
}

/// A listener that counts the connections it accepts (and answers none).
struct Counter {
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Counter {
    async fn start(address: &str) -> Counter {
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Counter { connections, task }
    }

    fn count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether this process may make a private mount namespace (root, and a kernel that
/// lets it); if not, why.
async fn mount_namespaces() -> Result<(), String> {
    let probe = Command::new("unshare")
        .args(["--mount", "true"])
        .output()
        .await
        .map_err(|error| format!("cannot run unshare: {error}"))?;
    if probe.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&probe.stderr).trim().to_owned())
    }
}

/// The gateway in a private mount namespace where `/etc/hosts` is `hosts` (bind-mounted:
/// rewriting `hosts` in place changes what the system resolver answers, for the gateway
/// only). SQLite in `dir`, health checks on demand. Killed when dropped.
async fn gateway_in_namespace(dir: &Path, hosts: &Path, config: &Path) -> (Child, String) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let log = std::fs::File::create(data.join("gateway.stderr")).unwrap();
    let mut child = Command::new("unshare")
        .args([
            "--mount",
            "sh",
            "-c",
            r#"mount --bind "$0" /etc/hosts && exec "$@""#,
        ])
        .arg(hosts)
        .args([
            common::binary(),
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data)
        .arg("--config")
        .arg(config)
        .env_remove("MCPGW_DATABASE_URL")
        .env_remove("MCPGW_CONFIG")
        .env("MCPGW_ADMIN_TOKEN", TOKEN)
        .env("MCPGW_HEALTH_INTERVAL", "3600")
        .env("MCPGW_HEALTH_TIMEOUT", "3")
        .env("MCPGW_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("start unshare");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("mcpgw listening on ") {
                return Some(url.to_owned());
            }
        }
        None
    })
    .await
    .expect("the gateway did not start in time");
    let url = url.unwrap_or_else(|| {
        panic!(
            "the gateway exited: {}",
            std::fs::read_to_string(data.join("gateway.stderr")).unwrap_or_default()
        )
    });
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

/// What the upstream's tool answers.
const ANSWER: &str = "answered-by-the-real-server";

/// A minimal 2026-07-28 (stateless) MCP server with one tool, `echo`, answering
/// [`ANSWER`]. (The example servers check `Host`, which is not a loopback name here.)
fn stateless_server(request: &hostile::Request) -> Reply {
    let message = request.json();
    let result = match request.rpc_method().as_deref() {
        None => return Reply::empty(202),
        Some("server/discover") => json!({"supportedVersions": ["2026-07-28"],
            "capabilities": {"tools": {}}, "serverInfo": {"name": "rebind", "version": "1"}}),
        Some("tools/list") => json!({"tools": [{"name": "echo", "description": "echoes",
            "inputSchema": {"type": "object"}}]}),
        Some("tools/call") => json!({"content": [{"type": "text", "text": ANSWER}],
            "isError": false}),
        Some(_) => json!({}),
    };
    if message.get("id").is_none() {
        return Reply::empty(202);
    }
    Reply::json(
        200,
        &json!({"jsonrpc": "2.0", "id": message["id"], "result": result}),
    )
}

/// Sends a JSON-RPC request to `url` as a 2026-07-28 client; returns the status and the
/// body as text.
async fn call(http: &reqwest::Client, url: &str, tool: &str) -> (u16, String) {
    let response = http
        .post(url)
        .bearer_auth(TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": tool, "arguments": {"message": "hi"},
                                 "_meta": common::stateless_meta()}}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// Calls until the answer says the connection was refused for `address`; panics after
/// 30 s. (A connection pooled before the switch may fail differently once first.)
async fn call_until_refused(
    http: &reqwest::Client,
    url: &str,
    tool: &str,
    address: &str,
) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = call(http, url, tool).await;
        assert!(
            !body.contains(ANSWER),
            "{url} still reached a server: {status} {body}"
        );
        if body.contains(&format!("refused to connect to {address}")) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} never said it refused {address}: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_name_rebound_to_a_denied_address_is_refused_before_connecting() {
    if let Err(why) = mount_namespaces().await {
        eprintln!("skipped: this test needs a private mount namespace (root): {why}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let upstream = hostile::start(stateless_server).await;
    let port = url::Url::parse(&upstream.url).unwrap().port().unwrap();
    // Where the name will point next: the same port on an address the config denies.
    let trap = Counter::start(&format!("127.0.0.2:{port}")).await;
    let hosts = dir.path().join("hosts");
    let point_to = |address: &str| {
        // In place (same inode): the bind mount shows the new content.
        std::fs::write(
            &hosts,
            format!("127.0.0.1 localhost\n{address} rebind.mcpgw.test\n"),
        )
        .unwrap();
    };
    point_to("127.0.0.1");
    let config = network_config(dir.path(), r#"deny_networks = ["127.0.0.2/32"]"#);
    let (_gateway, base) = gateway_in_namespace(dir.path(), &hosts, &config).await;
    let http = common::client();
    let api = |method: &str, path: &str| {
        http.request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(TOKEN)
    };

    // Registered while the name points to the server: accepted, checked, healthy.
    let target = format!("http://rebind.mcpgw.test:{port}/mcp");
    let registered = api("POST", "/api/servers")
        .json(&common::http_server("rebind", &target))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let server: Value = api("GET", "/api/servers/rebind")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if server["health"]["status"] == "healthy" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{server}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let route = format!("{base}/rebind/mcp");
    let aggregated = format!("{base}/mcp");
    let (status, body) = call(&http, &route, "echo").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(ANSWER), "{body}");
    let (status, body) = call(&http, &aggregated, "rebind__echo").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(ANSWER), "{body}");

    // The name now points to the denied address, and the server is gone (so that no
    // connection pooled before the switch carries a call).
    point_to("127.0.0.2");
    drop(upstream);

    let refused = call_until_refused(&http, &route, "echo", "127.0.0.2").await;
    assert!(refused.contains("rebind.mcpgw.test"), "{refused}");
    assert!(refused.contains("deny_networks"), "{refused}");
    let refused = call_until_refused(&http, &aggregated, "rebind__echo", "127.0.0.2").await;
    assert!(refused.contains("rebind.mcpgw.test"), "{refused}");

    // The health check says the same.
    let refreshed = api("POST", "/api/servers/rebind/refresh")
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let server: Value = refreshed.json().await.unwrap();
    assert_eq!(server["health"]["status"], "unhealthy", "{server}");
    let reason = server["health"]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("refused to connect to 127.0.0.2"),
        "{reason}"
    );

    // A registration of the name as it resolves now is refused outright.
    let again = api("POST", "/api/servers")
        .json(&common::http_server("rebind-again", &target))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 422);
    let again: Value = again.json().await.unwrap();
    let message = again["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("127.0.0.2") && message.contains("rebind.mcpgw.test"),
        "{message}"
    );

    assert_eq!(trap.count(), 0, "nothing connected to the denied address");
}
