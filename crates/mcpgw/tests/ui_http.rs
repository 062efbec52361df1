//! The web UI's pages over plain HTTP (issue 10), for what a browser test cannot see well:
//! the redirects of an absent or expired session, CSRF on every form, the headers every
//! page carries, escaping of what registrants typed, field errors from the API's own
//! validation, what a restricted user is not shown, and the embedded assets' caching.

mod common;

use common::access::start_configured;
use common::{Gateway, http_server, upstreams};
use serde_json::{Value, json};

/// GET `path` with the session; (status, location, body).
async fn page(gw: &Gateway, cookie: &str, path: &str) -> (u16, String, String) {
    let response = gw
        .request("GET", path)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    read(response).await
}

/// (status, location, body) of a response.
async fn read(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, location, response.text().await.unwrap())
}

/// POSTs a form as a same-origin browser page would (with `Origin`).
async fn form(
    gw: &Gateway,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let response = gw
        .request("POST", path)
        .header("cookie", cookie)
        .header("origin", &gw.url)
        .header("sec-fetch-site", "same-origin")
        .form(fields)
        .send()
        .await
        .unwrap();
    read(response).await
}

/// A policy where group `viewers` may list `visible` only and toggle nothing.
const POLICY: &str = r#"
group_mappings:
  viewers: [look]
  editors: [edit]
UI-Scopes:
  look:
    list_service: [visible]
  edit:
    list_service: [visible]
    modify_service: [visible]
look:
- server: visible
  methods: [initialize, tools/list]
edit:
- server: visible
  methods: [initialize, tools/list]
"#;

async fn start(dir: &std::path::Path) -> Gateway {
    let (gw, _, _) = start_configured(dir, POLICY, "").await;
    for (name, password, groups, admin) in [
        ("ada", "the admin's password", json!([]), true),
        ("viola", "viola's long password", json!(["viewers"]), false),
        ("edda", "edda's long password", json!(["editors"]), false),
    ] {
        let created = gw
            .api(
                "POST",
                "/api/users",
                Some(json!({"username": name, "password": password, "groups": groups, "admin": admin})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    gw
}

#[tokio::test]
async fn pages_need_a_session_and_forms_need_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    let client = common::client();

    // No session: to the login page, and back here afterwards.
    let anonymous = client
        .get(format!("{}/ui/servers?tag=a", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(
        anonymous.headers()["location"],
        "/login?next=%2Fui%2Fservers%3Ftag%3Da"
    );
    // A session that ended: the login page says so.
    let (cookie, csrf) = common::sign_in(&gw, "ada", "the admin's password").await;
    let (status, _, _) = form(&gw, &cookie, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(status, 303);
    let (status, location, _) = page(&gw, &cookie, "/ui/tokens").await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/login?next=%2Fui%2Ftokens&reason=expired")
    );
    let login = client
        .get(format!("{}{location}", gw.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains("Your session has expired"), "{login}");

    let (cookie, csrf) = common::sign_in(&gw, "ada", "the admin's password").await;
    register_plain(&gw, "visible").await;
    // Every page: a strict policy, no framing, no caching.
    let response = gw
        .request("GET", "/ui/servers")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    // A form without the session's token, or from another site, changes nothing.
    for (origin, token) in [
        (gw.url.as_str(), "wrong"),
        ("http://evil.example", csrf.as_str()),
    ] {
        let forged = gw
            .request("POST", "/ui/servers/visible/toggle")
            .header("cookie", &cookie)
            .header("origin", origin)
            .form(&[("csrf_token", token), ("enabled", "false")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "{origin}");
    }
    let (_, _, html) = page(&gw, &cookie, "/ui/servers/visible").await;
    assert!(html.contains("aria-checked=\"true\""), "still enabled");
    // With it, the switch works and returns to where it was used.
    let (status, location, _) = form(
        &gw,
        &cookie,
        "/ui/servers/visible/toggle",
        &[
            ("csrf_token", &csrf),
            ("enabled", "false"),
            ("back", "/ui/servers/visible"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/ui/servers/visible"));
    let server = gw.api("GET", "/api/servers/visible", None).await;
    assert_eq!(server.body["enabled"], false);
    // `back` never leads off the gateway.
    let (_, location, _) = form(
        &gw,
        &cookie,
        "/ui/servers/visible/toggle",
        &[
            ("csrf_token", &csrf),
            ("enabled", "true"),
            ("back", "//evil.example/"),
        ],
    )
    .await;
    assert_eq!(location, "/");

    // The assets are embedded and revalidated by ETag.
    let css = client
        .get(format!("{}/ui/static/app.css", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let etag = css.headers()["etag"].to_str().unwrap().to_owned();
    let again = client
        .get(format!("{}/ui/static/app.css", gw.url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let missing = client
        .get(format!("{}/ui/static/../Cargo.toml", gw.url))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// The value of the hidden input `name` in `html`.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Registers an enabled server at an address where nothing listens.
async fn register_plain(gw: &Gateway, path: &str) {
    let reply = gw
        .api(
            "POST",
            "/api/servers",
            Some(http_server(path, "http://127.0.0.1:9/mcp")),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn what_registrants_typed_is_escaped_and_refused_fields_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    let (cookie, csrf) = common::sign_in(&gw, "ada", "the admin's password").await;
    let hostile = "<script>alert(1)</script>\"'&";
    let reply = gw
        .api(
            "POST",
            "/api/servers",
            Some(
                json!({"path": "odd", "name": hostile, "description": hostile,
                        "tags": ["<b>x</b>"], "url": "http://127.0.0.1:9/mcp"}),
            ),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    for path in [
        "/ui/servers",
        "/ui/servers?view=table",
        "/ui/servers/odd",
        "/ui/servers/odd/edit",
    ] {
        let (status, _, html) = page(&gw, &cookie, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("<script>alert"), "{path} echoes markup");
        assert!(!html.contains("<b>x</b>"), "{path} echoes markup");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{path} shows the name, escaped"
        );
    }

    // The registry's own rules, at the field they are about, with what was typed kept.
    let (status, _, html) = form(
        &gw,
        &cookie,
        "/ui/servers/new",
        &[
            ("csrf_token", &csrf),
            ("path", "Not A Path"),
            ("name", "Typed name"),
            ("transport", "streamable-http"),
            ("url", "http://127.0.0.1:9/mcp"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"f-path\" name=\"path\" value=\"Not A Path\""),
        "{html}"
    );
    let error_at = html.find("id=\"e-path\"").expect("the path's error");
    assert!(html[error_at..].contains("lowercase letter"), "{html}");
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert!(html.contains("value=\"Typed name\""));
    let (status, _, html) = form(
        &gw,
        &cookie,
        "/ui/servers/new",
        &[
            ("csrf_token", &csrf),
            ("path", "hdr"),
            ("name", "h"),
            ("transport", "streamable-http"),
            ("url", "http://127.0.0.1:9/mcp"),
            ("headers", "X-Fine: 1\nno separator here"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    let error_at = html.find("id=\"e-headers\"").expect("the headers' error");
    assert!(html[error_at..].contains("line 2"), "{html}");
    // A path that is taken is named as such.
    let (status, _, html) = form(
        &gw,
        &cookie,
        "/ui/servers/new",
        &[
            ("csrf_token", &csrf),
            ("path", "odd"),
            ("name", "again"),
            ("transport", "streamable-http"),
            ("url", "http://127.0.0.1:9/mcp"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("is taken by another server"), "{html}");
    // Nothing of the refused attempts was stored.
    assert_eq!(gw.api("GET", "/api/servers/hdr", None).await.status, 404);

    // Test connection checks the form as typed and stores nothing; saving an edit keeps
    // the secrets shown as placeholders.
    let upstream = upstreams::example("currenttime", false).await;
    let (status, _, html) = form(
        &gw,
        &cookie,
        "/ui/servers/new",
        &[
            ("csrf_token", &csrf),
            ("path", "clock"),
            ("name", "Clock"),
            ("transport", "streamable-http"),
            ("url", &upstream.url),
            ("headers", "X-Api-Key: secret-value"),
            ("intent", "test"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"test-result\""), "{html}");
    assert!(
        html.contains("healthy") && html.contains("current_time"),
        "{html}"
    );
    assert_eq!(gw.api("GET", "/api/servers/clock", None).await.status, 404);
    let (status, location, _) = form(
        &gw,
        &cookie,
        "/ui/servers/new",
        &[
            ("csrf_token", &csrf),
            ("path", "clock"),
            ("name", "Clock"),
            ("transport", "streamable-http"),
            ("url", &upstream.url),
            ("headers", "X-Api-Key: secret-value"),
            ("enabled", "on"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!((status, location.as_str()), (303, "/ui/servers/clock"));
    let (_, _, edit) = page(&gw, &cookie, "/ui/servers/clock/edit").await;
    assert!(!edit.contains("secret-value"), "secrets are never shown");
    assert!(edit.contains("X-Api-Key: &#60;redacted&#62;"), "{edit}");
    let revision = hidden_value(&edit, "revision");
    let save = |name: &'static str, revision: String| {
        let (gw, cookie, csrf, url) = (&gw, &cookie, &csrf, upstream.url.clone());
        async move {
            form(
                gw,
                cookie,
                "/ui/servers/clock/edit",
                &[
                    ("csrf_token", csrf.as_str()),
                    ("revision", &revision),
                    ("name", name),
                    ("transport", "streamable-http"),
                    ("url", &url),
                    ("headers", "X-Api-Key: <redacted>"),
                    ("enabled", "on"),
                    ("intent", "save"),
                ],
            )
            .await
        }
    };
    // Someone else changes the server while the form is open: the save is refused with
    // the typed values kept, and a second save, made knowing, goes through.
    let other = gw
        .api(
            "PATCH",
            "/api/servers/clock",
            Some(json!({"description": "theirs"})),
        )
        .await;
    assert_eq!(other.status, 200);
    let (status, _, html) = save("Clock, renamed", revision).await;
    assert_eq!(status, 422);
    assert!(html.contains("someone else changed this server"), "{html}");
    assert!(html.contains("value=\"Clock, renamed\""), "{html}");
    let (status, _, _) = save("Clock, renamed", hidden_value(&html, "revision")).await;
    assert_eq!(status, 303);
    let admin_view = gw.api("GET", "/api/servers/clock", None).await;
    assert_eq!(admin_view.body["name"], "Clock, renamed");
    assert_eq!(admin_view.body["headers"]["X-Api-Key"], "<redacted>");
    // The stored secret is still the one typed: the upstream gets it.
    let (ok, stdout, _) = gw.cli(&["server", "list"]).await;
    assert!(ok && stdout.contains("clock"), "{stdout}");
}

#[tokio::test]
async fn a_restricted_user_sees_only_what_it_may_use() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    register_plain(&gw, "visible").await;
    register_plain(&gw, "secret").await;
    let (cookie, csrf) = common::sign_in(&gw, "viola", "viola's long password").await;
    let (status, _, html) = page(&gw, &cookie, "/ui/servers").await;
    assert_eq!(status, 200);
    assert!(html.contains("data-server=\"visible\""));
    assert!(
        !html.contains("secret"),
        "a server it may not list is absent"
    );
    assert!(!html.contains("href=\"/ui/admin\""), "no admin link");
    assert!(!html.contains("/ui/servers/new"), "no register link");
    assert!(
        !html.contains("role=\"switch\""),
        "no switch without toggle_service"
    );
    let (_, _, server) = page(&gw, &cookie, "/ui/servers/visible").await;
    for absent in ["/edit", "/delete", "/refresh"] {
        assert!(
            !server.contains(&format!("/ui/servers/visible{absent}")),
            "{absent}"
        );
    }
    // Asking anyway: the same refusals as the API.
    assert_eq!(page(&gw, &cookie, "/ui/servers/secret").await.0, 404);
    assert_eq!(page(&gw, &cookie, "/ui/admin").await.0, 403);
    assert_eq!(page(&gw, &cookie, "/ui/admin/audit").await.0, 403);
    assert_eq!(page(&gw, &cookie, "/ui/servers/new").await.0, 403);
    assert_eq!(page(&gw, &cookie, "/ui/servers/visible/edit").await.0, 403);
    let (status, _, html) = form(
        &gw,
        &cookie,
        "/ui/servers/visible/toggle",
        &[("csrf_token", &csrf), ("enabled", "false")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        html.contains("Not allowed") && html.contains("toggle_service"),
        "{html}"
    );
    assert_eq!(
        gw.api("GET", "/api/servers/visible", None).await.body["enabled"],
        true
    );

    // The admin's view of the policy and of this user.
    let (admin, _) = common::sign_in(&gw, "ada", "the admin's password").await;
    let (status, _, html) = page(
        &gw,
        &admin,
        "/ui/admin?user=viola&server=visible&method=tools%2Fcall&tool=anything",
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"why-answer\""), "{html}");
    assert!(
        html.contains("Denied") && html.contains("user viola"),
        "{html}"
    );
    let (_, _, html) = page(
        &gw,
        &admin,
        "/ui/admin?user=viola&server=visible&method=list_service",
    )
    .await;
    assert!(html.contains("Allowed"), "{html}");
    assert!(
        html.contains("scope-look"),
        "the scopes file's scopes are shown"
    );
    // As on the API, an action on a server the user may not list is refused first.
    let (_, _, html) = page(
        &gw,
        &admin,
        "/ui/admin?user=viola&server=secret&method=modify_service",
    )
    .await;
    assert!(
        html.contains("Denied") && html.contains("list_service"),
        "{html}"
    );
    // The audit log shows the refused toggle, filtered (records are written in batches:
    // poll). Empty fields of the filter form are no filter.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, _, html) = page(
            &gw,
            &admin,
            "/ui/admin/audit?source=api&decision=deny&server=visible&principal=&method=",
        )
        .await;
        assert_eq!(status, 200);
        if html.contains("toggle_service") {
            assert!(html.contains("viola"), "{html}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{html}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let (status, _, html) = page(&gw, &admin, "/ui/admin/audit?since=yesterday").await;
    assert_eq!(status, 422);
    assert!(html.contains("RFC 3339"), "{html}");
}

#[tokio::test]
async fn usage_figures_name_only_tools_the_viewer_may_call() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    let clock = upstreams::example("currenttime", true).await;
    gw.register_healthy(http_server("visible", &clock.url))
        .await;
    // The admin calls a tool that viola, who may only list `visible`, may not call.
    let response = gw
        .request("POST", "/visible/mcp")
        .bearer_auth(common::TOKEN)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "current_time_by_timezone")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "current_time_by_timezone", "arguments": {"timezone_name": "UTC"},
            "_meta": common::stateless_meta()}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    common::rpc_messages(response).await;
    // Rows are written in batches: wait until the admin's summary counts the call.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !gw
        .api("GET", "/api/metrics/summary", None)
        .await
        .body
        .to_string()
        .contains("current_time_by_timezone")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call was never counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (cookie, _) = common::sign_in(&gw, "viola", "viola's long password").await;
    let summary = gw
        .request("GET", "/api/metrics/summary")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("\"visible\""), "{summary}");
    assert!(!summary.contains("current_time_by_timezone"), "{summary}");
    let (status, _, html) = page(&gw, &cookie, "/ui/servers/visible").await;
    assert_eq!(status, 200);
    assert!(html.contains("all calls"), "the server's total is shown");
    assert!(!html.contains("current_time_by_timezone"), "{html}");
    // Nor whose calls they were: the recent calls are the viewer's own.
    assert!(html.contains("Recent calls (yours)"), "{html}");
    assert!(!html.contains("Recent calls (everyone"), "{html}");
}

#[tokio::test]
async fn editing_is_no_way_around_the_switch() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    register_plain(&gw, "visible").await;
    let (cookie, csrf) = common::sign_in(&gw, "edda", "edda's long password").await;
    // The REST API: changing `enabled` needs toggle_service; sending it unchanged does not.
    let put = |body: Value| {
        gw.request("PATCH", "/api/servers/visible")
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let refused = put(json!({"enabled": false})).await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("toggle_service"));
    let same = put(json!({"enabled": true, "description": "edited"}))
        .await
        .unwrap();
    assert_eq!(same.status(), 200);
    // The form: no "Enabled" box, and an edit leaves the server as it was.
    let (status, _, html) = page(&gw, &cookie, "/ui/servers/visible/edit").await;
    assert_eq!(status, 200);
    assert!(!html.contains("name=\"enabled\""), "{html}");
    let revision = hidden_value(&html, "revision");
    let (status, _, _) = form(
        &gw,
        &cookie,
        "/ui/servers/visible/edit",
        &[
            ("csrf_token", &csrf),
            ("revision", &revision),
            ("name", "Visible, edited"),
            ("transport", "streamable-http"),
            ("url", "http://127.0.0.1:9/mcp"),
            ("intent", "save"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let stored = gw.api("GET", "/api/servers/visible", None).await;
    assert_eq!(stored.body["name"], "Visible, edited");
    assert_eq!(
        stored.body["enabled"], true,
        "the missing box did not disable it"
    );
}

#[tokio::test]
async fn the_tokens_page_offers_configurations_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    register_plain(&gw, "visible").await;
    let (cookie, _) = common::sign_in(&gw, "ada", "the admin's password").await;
    let (status, _, html) = page(&gw, &cookie, "/ui/tokens?server=visible&auth=oauth").await;
    assert_eq!(status, 200);
    assert!(html.contains("OAuth discovery"), "{html}");
    assert!(html.contains(&format!("{}/visible/mcp", gw.url)), "{html}");
    assert!(
        !html.contains("Authorization"),
        "no credential in any snippet"
    );
    assert!(
        !html.contains("snippet-python"),
        "no SDK program without a token"
    );
    let (_, _, html) = page(&gw, &cookie, "/ui/tokens?server=visible").await;
    assert!(html.contains("Bearer &#60;your token&#62;"), "{html}");
    assert!(html.contains("snippet-python"));
    // A server the user may not see is no target: the aggregated endpoint is shown.
    let (viola, _) = common::sign_in(&gw, "viola", "viola's long password").await;
    register_plain(&gw, "secret").await;
    let (_, _, html) = page(&gw, &viola, "/ui/tokens?server=secret").await;
    assert!(!html.contains("secret"), "{html}");
    assert!(html.contains(&format!("{}/mcp", gw.url)));
}
