//! Access control on the registry REST API from `UI-Scopes` of `scopes.yml` (issue 5):
//! per caller lists, a hidden server answered exactly like an unknown one (404), refused
//! actions on a visible one as 403 naming the permission, the Python registry's routes
//! under the same rules, reloads, and `/api/auth/me` showing the mapped scopes. The users
//! are gateway tokens the admin mints with chosen groups.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Gateway, Launch, TOKEN, http_server};
use serde_json::{Value, json};

/// ops may see and toggle `a`; dev may see `b`, named by its display name; builders may
/// register, and see, check and change `c` and what they register as `new-*`.
const SCOPES: &str = r#"
group_mappings:
  ops: [registry-ops, servers-a]
  dev: [registry-dev, servers-b]
  builders: [registry-builders, servers-built]
  unmapped: []
UI-Scopes:
  registry-ops:
    list_service: [a]
    toggle_service: [a]
  registry-dev:
    list_service: [Bee Server]
  registry-builders:
    list_service: [c, new-*]
    register_service: [all]
    health_check_service: [c]
    modify_service: [c, new-*]
servers-a:
  - server: a
    methods: [initialize, tools/list]
servers-b:
  - server: b
    methods: [tools/list]
servers-built:
  - server: c
    methods: [tools/list]
  - server: new-*
    methods: [tools/list]
"#;

/// The same file, but ops now also sees `b`.
const SCOPES_OPS_SEES_B: &str = r#"
group_mappings:
  ops: [registry-ops, servers-a]
UI-Scopes:
  registry-ops:
    list_service: [a, b]
    toggle_service: [a]
servers-a:
  - server: a
    methods: [initialize, tools/list]
  - server: b
    methods: [tools/list]
"#;

/// How long a reload may take to show (the file is polled every second).
const RELOAD_DEADLINE: Duration = Duration::from_secs(30);

/// Writes `text` to `path` as editors do (a new file renamed over the old one), so the
/// gateway's change detection sees a new file whatever the clock's resolution.
fn write_scopes(path: &Path, text: &str) {
    let staged = path.with_extension("yml.new");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// A gateway with `scopes` as its policy file (none when `None`) and servers `a`, `b`
/// (display name "Bee Server") and `c` registered by the admin.
async fn start(dir: &Path, scopes: Option<&str>) -> (Gateway, PathBuf) {
    let file = dir.join("scopes.yml");
    let mut launch = Launch::quiet(&dir.join("data"));
    if let Some(text) = scopes {
        write_scopes(&file, text);
        launch = launch.args(&["--scopes", file.to_str().unwrap()]);
    }
    let gw = launch.start().await;
    for (path, name) in [("a", "a"), ("b", "Bee Server"), ("c", "c")] {
        let mut body = http_server(path, "http://127.0.0.1:9/mcp");
        body["name"] = json!(name);
        let reply = gw.api("POST", "/api/servers", Some(body)).await;
        assert_eq!(reply.status, 201, "{reply:?}");
    }
    (gw, file)
}

/// A token the admin mints for a user in `groups`.
async fn user(gw: &Gateway, groups: &[&str]) -> String {
    let reply = gw
        .api("POST", "/api/tokens", Some(json!({ "groups": groups })))
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    reply.body["token"].as_str().unwrap().to_owned()
}

/// `METHOD path` with `token` and a JSON body: status and body.
async fn call(
    gw: &Gateway,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = gw.request(method, path).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = common::reply(request.send().await.unwrap()).await;
    (reply.status, reply.body)
}

/// The paths of the servers `token` is shown by `GET /api/servers`.
async fn listed(gw: &Gateway, token: &str) -> Vec<String> {
    let (status, body) = call(gw, token, "GET", "/api/servers", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], body["servers"].as_array().unwrap().len());
    paths(&body["servers"])
}

fn paths(servers: &Value) -> Vec<String> {
    servers
        .as_array()
        .unwrap()
        .iter()
        .map(|server| server["path"].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 403 `forbidden` whose message names `permission` and no scope.
fn assert_forbidden((status, body): &(u16, Value), permission: &str) {
    assert_eq!(*status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(permission), "{message}");
    assert!(!message.contains("registry-"), "no scope names: {message}");
}

/// Every route that names a server, as `(method, path, body)` for server `path`.
fn routes_naming(path: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/api/servers/{path}"), None),
        ("GET", format!("/api/servers/{path}/tools"), None),
        ("GET", format!("/api/server_details/{path}"), None),
        ("GET", format!("/api/tools/{path}"), None),
        (
            "POST",
            format!("/api/servers/{path}/toggle"),
            Some(json!({"enabled": false})),
        ),
        (
            "POST",
            format!("/toggle/{path}"),
            Some(json!({"enabled": false})),
        ),
        (
            "PATCH",
            format!("/api/servers/{path}"),
            Some(json!({"description": "changed"})),
        ),
        ("DELETE", format!("/api/servers/{path}"), None),
        ("POST", format!("/api/servers/{path}/refresh"), None),
        ("POST", format!("/api/refresh/{path}"), None),
    ]
}

#[tokio::test]
async fn each_caller_sees_only_what_it_may_list_and_hidden_servers_do_not_exist_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), Some(SCOPES)).await;
    let ops = user(&gw, &["ops"]).await;
    let dev = user(&gw, &["dev"]).await;
    let both = user(&gw, &["ops", "dev"]).await;
    let unmapped = user(&gw, &["unmapped"]).await;

    assert_eq!(listed(&gw, TOKEN).await, ["a", "b", "c"], "admins see all");
    assert_eq!(listed(&gw, &ops).await, ["a"]);
    assert_eq!(listed(&gw, &dev).await, ["b"], "granted by display name");
    assert_eq!(listed(&gw, &both).await, ["a", "b"]);
    assert_forbidden(
        &call(&gw, &unmapped, "GET", "/api/servers", None).await,
        "list_service",
    );
    let (status, details) = call(&gw, &ops, "GET", "/api/server_details/all", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        details.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["a"]
    );

    let (status, shown) = call(&gw, &ops, "GET", "/api/servers/a", None).await;
    assert_eq!((status, shown["path"].as_str()), (200, Some("a")));
    let (status, tools) = call(&gw, &dev, "GET", "/api/tools/b", None).await;
    assert_eq!((status, tools["path"].as_str()), (200, Some("b")));

    // Every route naming `b` answers ops exactly as it will once `b` is really gone.
    let mut hidden = Vec::new();
    for (method, path, body) in routes_naming("b") {
        let answer = call(&gw, &ops, method, &path, body).await;
        assert_eq!(answer.0, 404, "{method} {path}: {}", answer.1);
        hidden.push(answer);
    }
    assert_eq!(
        gw.api("DELETE", "/api/servers/b", None).await.status,
        204,
        "nothing ops tried changed b"
    );
    for ((method, path, body), before) in routes_naming("b").into_iter().zip(hidden) {
        let after = call(&gw, &ops, method, &path, body).await;
        assert_eq!(after, before, "{method} {path}");
    }
    // An unauthorised caller learns nothing either: unknown and existing are alike.
    let (status, body) = call(&gw, &unmapped, "GET", "/api/servers/a", None).await;
    assert_eq!(
        (status, &body["error"]["message"]),
        (404, &json!("server 'a' not found"))
    );
}

#[tokio::test]
async fn actions_on_visible_servers_need_their_permission_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), Some(SCOPES)).await;
    let ops = user(&gw, &["ops"]).await;
    let builders = user(&gw, &["builders"]).await;

    // ops: toggle `a`, nothing else.
    let (status, toggled) = call(
        &gw,
        &ops,
        "POST",
        "/api/servers/a/toggle",
        Some(json!({"enabled": false})),
    )
    .await;
    assert_eq!((status, &toggled["enabled"]), (200, &json!(false)));
    let legacy = gw
        .request("POST", "/toggle/a")
        .bearer_auth(&ops)
        .form(&[("enabled", "on")])
        .send()
        .await
        .unwrap();
    let legacy = common::reply(legacy).await;
    assert_eq!(
        (legacy.status, &legacy.body["new_enabled_state"]),
        (200, &json!(true))
    );
    let patch = Some(json!({"description": "by ops"}));
    assert_forbidden(
        &call(&gw, &ops, "PATCH", "/api/servers/a", patch.clone()).await,
        "modify_service",
    );
    assert_forbidden(
        &call(&gw, &ops, "PUT", "/api/servers/a", patch).await,
        "modify_service",
    );
    assert_forbidden(
        &call(&gw, &ops, "DELETE", "/api/servers/a", None).await,
        "modify_service",
    );
    for refresh in ["/api/servers/a/refresh", "/api/refresh/a"] {
        assert_forbidden(
            &call(&gw, &ops, "POST", refresh, None).await,
            "health_check_service",
        );
    }
    let new = Some(http_server("new-ops", "http://127.0.0.1:9/mcp"));
    assert_forbidden(
        &call(&gw, &ops, "POST", "/api/servers", new.clone()).await,
        "register_service",
    );
    assert_forbidden(
        &call(&gw, &ops, "POST", "/register", new).await,
        "register_service",
    );
    let admin_view = gw.api("GET", "/api/servers/a", None).await.body;
    assert_eq!(
        (&admin_view["description"], &admin_view["enabled"]),
        (&json!("test server"), &json!(true)),
        "refused requests changed nothing"
    );

    // builders: register, check and change their own; toggling is not theirs.
    let new = Some(http_server("new-one", "http://127.0.0.1:9/mcp"));
    let (status, body) = call(&gw, &builders, "POST", "/api/servers", new).await;
    assert_eq!(status, 201, "{body}");
    let form = gw
        .request("POST", "/register")
        .bearer_auth(&builders)
        .form(&[
            ("path", "new-two"),
            ("name", "new-two"),
            ("proxy_pass_url", "http://127.0.0.1:9/mcp"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 201);
    assert_eq!(listed(&gw, &builders).await, ["c", "new-one", "new-two"]);
    let patch = Some(json!({"description": "by builders"}));
    let (status, body) = call(&gw, &builders, "PATCH", "/api/servers/c", patch).await;
    assert_eq!((status, &body["description"]), (200, &json!("by builders")));
    for refresh in ["/api/servers/c/refresh", "/api/refresh/c"] {
        let (status, body) = call(&gw, &builders, "POST", refresh, None).await;
        assert_eq!((status, &body["path"]), (200, &json!("c")), "{refresh}");
    }
    assert_forbidden(
        &call(
            &gw,
            &builders,
            "POST",
            "/api/servers/c/toggle",
            Some(json!({"enabled": false})),
        )
        .await,
        "toggle_service",
    );
    let (status, _) = call(&gw, &builders, "DELETE", "/api/servers/new-two", None).await;
    assert_eq!(status, 204);

    // A taken path: the same 409 whether or not the registrant may see its holder, and
    // nothing of the holder in it.
    let (visible_status, visible) = call(
        &gw,
        &builders,
        "POST",
        "/api/servers",
        Some(http_server("c", "http://127.0.0.1:9/mcp")),
    )
    .await;
    let (hidden_status, hidden) = call(
        &gw,
        &builders,
        "POST",
        "/api/servers",
        Some(http_server("a", "http://127.0.0.1:9/mcp")),
    )
    .await;
    assert_eq!((visible_status, hidden_status), (409, 409));
    assert_eq!(visible["error"]["code"], hidden["error"]["code"]);
    assert_eq!(
        hidden["error"]["message"],
        "a server with path 'a' already exists"
    );
}

#[tokio::test]
async fn without_a_scopes_file_only_admins_use_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, _) = start(dir.path(), None).await;
    let ops = user(&gw, &["ops"]).await;
    let refused = call(&gw, &ops, "GET", "/api/servers", None).await;
    assert_forbidden(&refused, "list_service");
    assert!(
        refused.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only admins"),
        "{}",
        refused.1
    );
    assert_forbidden(
        &call(
            &gw,
            &ops,
            "POST",
            "/api/servers",
            Some(http_server("mine", "http://127.0.0.1:9/mcp")),
        )
        .await,
        "register_service",
    );
    for (method, path, body) in routes_naming("a") {
        let (status, answer) = call(&gw, &ops, method, &path, body).await;
        assert_eq!(
            (status, &answer["error"]["message"]),
            (404, &json!("server 'a' not found")),
            "{method} {path}"
        );
    }
    assert_eq!(listed(&gw, TOKEN).await, ["a", "b", "c"]);
    let (_, me) = call(&gw, &ops, "GET", "/api/auth/me", None).await;
    assert_eq!(me["policy_scopes"], json!([]));
}

#[tokio::test]
async fn a_reloaded_policy_changes_the_answers_and_me_shows_the_mapped_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, file) = start(dir.path(), Some(SCOPES)).await;
    let ops = user(&gw, &["ops"]).await;

    let (status, me) = call(&gw, &ops, "GET", "/api/auth/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["policy_scopes"], json!(["registry-ops", "servers-a"]));
    assert_eq!(
        (&me["groups"], &me["is_admin"], &me["subject"]),
        (&json!(["ops"]), &json!(false), &json!("admin")),
        "the existing fields stay (a minted token acts as its minter)"
    );
    let (_, admin) = call(&gw, TOKEN, "GET", "/api/auth/me", None).await;
    assert_eq!(
        (&admin["is_admin"], &admin["policy_scopes"]),
        (&json!(true), &json!([]))
    );
    assert_eq!(call(&gw, &ops, "GET", "/api/servers/b", None).await.0, 404);

    write_scopes(&file, SCOPES_OPS_SEES_B);
    let deadline = tokio::time::Instant::now() + RELOAD_DEADLINE;
    while listed(&gw, &ops).await != ["a", "b"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rewritten scopes file never took effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, shown) = call(&gw, &ops, "GET", "/api/servers/b", None).await;
    assert_eq!((status, &shown["name"]), (200, &json!("Bee Server")));
    assert_forbidden(
        &call(
            &gw,
            &ops,
            "POST",
            "/api/servers/b/toggle",
            Some(json!({"enabled": false})),
        )
        .await,
        "toggle_service",
    );
    let (_, me) = call(&gw, &ops, "GET", "/api/auth/me", None).await;
    assert_eq!(me["policy_scopes"], json!(["registry-ops", "servers-a"]));

    // Back to the first file: `b` disappears for ops again.
    write_scopes(&file, SCOPES);
    let deadline = tokio::time::Instant::now() + RELOAD_DEADLINE;
    while listed(&gw, &ops).await != ["a"] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restored scopes file never took effect"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(call(&gw, &ops, "GET", "/api/servers/b", None).await.0, 404);
}
