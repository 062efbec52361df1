//! The web UI's pages end to end, in headless Chromium against the real binary and real
//! upstream MCP servers: registering a server through the form (a refused field, a tested
//! connection) and watching its health change live, searching and opening a tool, minting
//! a token and using it from the CLI until it is revoked, switching a server off and on
//! while an MCP client watches the aggregated `/mcp`, and what a restricted user is not
//! shown. Screenshots of each page at 1280 and 390 px (some dark) go to the folder the
//! harness prints.

mod common;

use common::browser::Browser;
use common::ui::{
    ADMIN_PASSWORD, SLOW, assert_not_reloaded, attribute_of, count, dark_shots, mark_page, open,
    shots, sign_in, start_gateway, text_of, wait_for_attribute,
};
use common::webdriver::{ENTER, SPACE};
use common::{TOKEN, access, http_server, run_cli, upstreams};
use serde_json::{Value, json};

/// A registration body for an HTTP server with a name, description and tags.
fn described(path: &str, name: &str, description: &str, url: &str, tags: &[&str]) -> Value {
    let mut body = http_server(path, url);
    body["name"] = json!(name);
    body["description"] = json!(description);
    body["tags"] = json!(tags);
    body
}

#[tokio::test]
async fn register_a_server_and_watch_it_turn_healthy() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = start_gateway(dir.path()).await;
    let toolbox = upstreams::example("toolbox", false).await;
    let session = browser.session();

    sign_in(&browser, &gw, "admin", ADMIN_PASSWORD).await;
    assert_eq!(
        count(&browser, "header nav a[href='/ui/admin']").await,
        1,
        "an admin is offered the admin pages"
    );
    session
        .find("a[href='/ui/servers/new']")
        .await
        .click()
        .await;
    browser.wait_for_text("main h1", "Register a server").await;

    // A path the registry refuses: the form again (422), with the field marked and the
    // reason next to it, and everything else kept as typed.
    session.find("#f-path").await.send_keys("Bad Path").await;
    session.find("#f-name").await.send_keys("Toolbox").await;
    session
        .find("#f-description")
        .await
        .send_keys("The example toolbox: echo, base64, word counts")
        .await;
    session
        .find("#f-tags")
        .await
        .send_keys("examples, text")
        .await;
    session.find("#f-url").await.send_keys(&toolbox.url).await;
    session
        .find("button[name=intent][value=save]")
        .await
        .click()
        .await;
    browser
        .wait_for_text("#form-error[role=alert]", "Not saved")
        .await;
    assert_eq!(browser.status().await, 422, "a refused form is a 422");
    assert_eq!(
        attribute_of(&browser, "#f-path", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        attribute_of(&browser, "#f-url", "aria-invalid")
            .await
            .as_deref(),
        Some("false"),
        "only the refused field is marked"
    );
    let reason = session.find("#e-path").await.text().await;
    assert!(!reason.is_empty(), "the path's error is shown at #e-path");
    assert!(
        session
            .find("#form-error")
            .await
            .text()
            .await
            .contains("path"),
        "the summary names the field"
    );
    assert_eq!(
        session.find("#f-url").await.property("value").await,
        json!(toolbox.url),
        "the form keeps what was typed"
    );
    assert_eq!(
        gw.api("GET", "/api/servers", None).await.body["servers"]
            .as_array()
            .map_or(0, Vec::len),
        0,
        "nothing was registered"
    );
    shots(&browser, "register-error").await;

    // Test connection: the server answers, with its tools; nothing is stored yet.
    let path = session.find("#f-path").await;
    path.clear().await;
    path.send_keys("toolbox").await;
    session
        .find("button[name=intent][value=test]")
        .await
        .click()
        .await;
    let result = browser
        .wait_for_text("#test-result", "Test connection")
        .await;
    let summary = result.text().await;
    let listed = count(&browser, "#test-result code").await;
    assert!(summary.contains("healthy"), "{summary}");
    assert!(!summary.contains("unhealthy"), "{summary}");
    assert!(listed > 5, "the toolbox's tools are listed: {summary}");
    assert!(
        summary.contains(&format!("{listed} tools")),
        "the count matches the list: {summary}"
    );
    assert!(summary.contains("echo"), "{summary}");
    assert_eq!(count(&browser, "#form-error").await, 0);
    assert_eq!(
        gw.api("GET", "/api/servers/toolbox", None).await.status,
        404,
        "testing stores nothing"
    );
    shots(&browser, "register-tested").await;

    // Register: the server's page, whose badge follows the first check.
    session
        .find("button[name=intent][value=save]")
        .await
        .click()
        .await;
    browser.wait_for_text("main h1", "Toolbox").await;
    assert!(
        session.url().await.ends_with("/ui/servers/toolbox"),
        "{}",
        session.url().await
    );
    wait_for_attribute(&browser, "[data-server=toolbox]", "data-health", "healthy").await;
    assert_eq!(
        text_of(&browser, "[data-server=toolbox] [data-field=health]")
            .await
            .as_deref(),
        Some("healthy")
    );
    let stored = gw.api("GET", "/api/servers/toolbox", None).await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.body["tags"], json!(["examples", "text"]));
    shots(&browser, "server-registered").await;
    // A page opened before the first check learns live that the tools arrived, and
    // offers a reload (the list itself is rendered by the server).
    if count(&browser, "details.tool").await == 0 {
        browser
            .wait_for_text("[data-live-note]", "tools changed")
            .await;
        assert_eq!(
            count(&browser, "[data-live-note] a").await,
            1,
            "a reload link"
        );
    }
    open(&browser, &gw, "/ui/servers/toolbox").await;
    browser.wait_for_text("main h1", "Toolbox").await;
    assert_eq!(count(&browser, "details.tool").await, listed);
    for action in [
        "form[action='/ui/servers/toolbox/refresh'] button",
        "a[href='/ui/servers/toolbox/edit']",
        "a[href='/ui/servers/toolbox/delete']",
    ] {
        assert_eq!(count(&browser, action).await, 1, "an admin gets {action}");
    }
    shots(&browser, "server").await;
    dark_shots(&browser, "server").await;

    // A server that is down when the list is opened, and comes up while it is open: its
    // badge turns healthy without a reload.
    let port = upstreams::unused_port().await;
    let later_url = format!("http://127.0.0.1:{port}/mcp");
    let later = described("later", "Later", "Starts after the page", &later_url, &[]);
    assert_eq!(
        gw.api("POST", "/api/servers", Some(later)).await.status,
        201
    );
    gw.wait_for_server("later", SLOW, |server| {
        server["health"]["status"] == "unhealthy"
    })
    .await;
    open(&browser, &gw, "/ui/servers").await;
    browser.wait_for_text("main h1", "Servers").await;
    assert_eq!(
        attribute_of(&browser, "[data-server=later]", "data-health")
            .await
            .as_deref(),
        Some("unhealthy")
    );
    assert_eq!(
        text_of(&browser, "[data-server=later] [data-field=health]")
            .await
            .as_deref(),
        Some("unhealthy")
    );
    shots(&browser, "servers").await;
    dark_shots(&browser, "servers").await;

    // The filters apply as one types or chooses, without a round trip.
    let visible = |path: &'static str| {
        let browser = &browser;
        async move {
            let hidden = common::ui::eval(
                browser,
                "return document.querySelector(arguments[0]).hidden;",
                vec![json!(format!("[data-server={path}]"))],
            )
            .await;
            hidden == json!(false)
        }
    };
    mark_page(&browser).await;
    let health = session.find("[data-filters] select[name=health]").await;
    session
        .find("[data-filters] select[name=health] option[value=unhealthy]")
        .await
        .click()
        .await;
    browser
        .wait_until(
            "return document.querySelector('[data-server=toolbox]').hidden === true;",
            "the health filter hides the healthy toolbox",
        )
        .await;
    assert!(visible("later").await);
    session
        .find("[data-filters] select[name=health] option[value='']")
        .await
        .click()
        .await;
    assert_eq!(health.property("value").await, json!(""));
    let filter = session.find("[data-filters] input[name=q]").await;
    filter.send_keys("base64").await;
    browser
        .wait_until(
            "return document.querySelector('[data-server=later]').hidden === true;",
            "the text filter hides what does not match",
        )
        .await;
    assert!(visible("toolbox").await);
    filter.clear().await;
    filter.send_keys(" ").await;
    browser
        .wait_until(
            "return document.querySelector('[data-server=later]').hidden === false;",
            "an empty filter shows everything again",
        )
        .await;
    // The tag filter: the toolbox is tagged `text`, the other server not.
    session
        .execute(
            "const s = document.querySelector('[data-filters] select[name=tag]'); \
             s.value = 'text'; s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await;
    browser
        .wait_until(
            "return document.querySelector('[data-server=later]').hidden === true;",
            "the tag filter hides servers without the tag",
        )
        .await;
    assert!(visible("toolbox").await);
    assert!(
        session.url().await.ends_with("?tag=text"),
        "the filter is in the URL"
    );
    session
        .execute(
            "const s = document.querySelector('[data-filters] select[name=tag]'); \
             s.value = ''; s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await;
    assert_not_reloaded(&browser, "filtering").await;

    let _clock = upstreams::example_at("currenttime", port).await;
    assert_eq!(
        gw.api("POST", "/api/servers/later/refresh", None)
            .await
            .status,
        200
    );
    wait_for_attribute(&browser, "[data-server=later]", "data-health", "healthy").await;
    assert_eq!(
        text_of(&browser, "[data-server=later] [data-field=health]")
            .await
            .as_deref(),
        Some("healthy")
    );
    assert_eq!(
        text_of(&browser, "[data-server=later] [data-field=num_tools]")
            .await
            .as_deref(),
        Some("1")
    );
    assert_not_reloaded(&browser, "the badge turned healthy").await;
    shots(&browser, "servers-live").await;

    // The table layout, remembered for the next visit.
    session
        .find("a[href='/ui/servers?view=table']")
        .await
        .click()
        .await;
    browser.wait_for_text("table.servers", "Later").await;
    assert_eq!(count(&browser, "tr[data-server]").await, 2);
    shots(&browser, "servers-table").await;
    open(&browser, &gw, "/ui/servers").await;
    browser.wait_for_text("main h1", "Servers").await;
    assert_eq!(
        count(&browser, "table.servers tr[data-server=later]").await,
        1,
        "the table layout is remembered"
    );
    dark_shots(&browser, "servers-table").await;

    // Delete, after a confirmation page.
    open(&browser, &gw, "/ui/servers/later").await;
    session
        .find("a[href='/ui/servers/later/delete']")
        .await
        .click()
        .await;
    browser.wait_for_text("main h1", "Delete Later").await;
    session.find("main button.danger").await.click().await;
    browser.wait_for_text("main h1", "Servers").await;
    assert_eq!(count(&browser, "[data-server=later]").await, 0);
    assert_eq!(count(&browser, "[data-server=toolbox]").await, 1);
    assert_eq!(gw.api("GET", "/api/servers/later", None).await.status, 404);
    browser.close().await;
}

#[tokio::test]
async fn search_and_open_a_tool() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = start_gateway(dir.path()).await;
    let toolbox = upstreams::example("toolbox", false).await;
    let clock = upstreams::example("currenttime", false).await;
    gw.register_healthy(described(
        "toolbox",
        "Toolbox",
        "Small text utilities",
        &toolbox.url,
        &["text"],
    ))
    .await;
    gw.register_healthy(described(
        "clock",
        "Clock",
        "The time anywhere",
        &clock.url,
        &["time"],
    ))
    .await;
    gw.search_until(TOKEN, "q=base64&type=tool", |found| {
        found["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|t| t["tool_name"] == "base64_encode"))
    })
    .await;
    let session = browser.session();
    sign_in(&browser, &gw, "admin", ADMIN_PASSWORD).await;

    // The header's search box, submitted with Enter.
    let query = "encode base64";
    let search = session
        .find("form[role=search] input[name=q]#site-search")
        .await;
    search.send_keys(query).await;
    search.send_keys(ENTER).await;
    browser
        .wait_for_text("ol[data-results=tools] li.result", "base64")
        .await;
    assert!(
        session.url().await.contains("/ui/search?q="),
        "{}",
        session.url().await
    );
    assert_eq!(
        session.find("#site-search").await.property("value").await,
        json!(query),
        "the box keeps the query"
    );
    let links: Vec<String> = common::ui::eval(
        &browser,
        "return [...document.querySelectorAll('ol[data-results=tools] li.result h3 a')]\
         .map(a => a.getAttribute('href'));",
        vec![],
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|href| href.as_str().unwrap().to_owned())
    .collect();
    assert!(
        links.contains(&"/ui/servers/toolbox#tool-base64_encode".to_owned()),
        "{links:?}"
    );
    assert!(
        !links
            .iter()
            .any(|link| link.starts_with("/ui/servers/clock")),
        "the clock has nothing to do with base64: {links:?}"
    );
    assert_eq!(
        count(
            &browser,
            "ol[data-results=servers] li.result h3 a[href='/ui/servers/toolbox']"
        )
        .await,
        1,
        "the toolbox is found as a server too"
    );
    shots(&browser, "search").await;

    // The first result opens its tool on its server's page.
    let first = &links[0];
    let tool = first.split("#tool-").nth(1).unwrap().to_owned();
    session
        .find("ol[data-results=tools] li.result h3 a")
        .await
        .click()
        .await;
    browser.wait_for_text("main h1", "Toolbox").await;
    assert!(session.url().await.ends_with(first.as_str()));
    let details = format!("details.tool[id='tool-{tool}']");
    browser
        .wait_until(
            &format!(
                "return document.querySelector({}).open === true;",
                json!(details)
            ),
            "the linked tool is open",
        )
        .await;
    let others_open = common::ui::eval(
        &browser,
        "return document.querySelectorAll('details.tool[open]').length;",
        vec![],
    )
    .await;
    assert_eq!(others_open, json!(1), "only the linked tool is open");
    let schema = session.find(&format!("{details} table.schema")).await;
    let rows = schema.text().await;
    assert!(
        rows.contains("text") && rows.contains("required"),
        "the schema table shows the argument: {rows}"
    );
    // The raw schema, one click away.
    let raw = format!("{details} details.raw");
    assert_eq!(
        session.find(&raw).await.property("open").await,
        json!(false)
    );
    session.find(&format!("{raw} summary")).await.click().await;
    let json_text = browser
        .wait_for_text(&format!("{raw} pre"), "properties")
        .await
        .text()
        .await;
    let parsed: Value = serde_json::from_str(&json_text).expect("the raw schema is JSON");
    assert_eq!(parsed["type"], "object");
    shots(&browser, "server-tool").await;
    dark_shots(&browser, "server-tool").await;
    browser.close().await;
}

#[tokio::test]
async fn mint_a_token_and_use_it_from_the_cli() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = start_gateway(dir.path()).await;
    let toolbox = upstreams::example("toolbox", false).await;
    gw.register_healthy(described(
        "toolbox",
        "Toolbox",
        "Small text utilities",
        &toolbox.url,
        &[],
    ))
    .await;
    let session = browser.session();
    sign_in(&browser, &gw, "admin", ADMIN_PASSWORD).await;

    session
        .find("header nav a[href='/ui/tokens']")
        .await
        .click()
        .await;
    browser.wait_for_text("main h1", "Tokens").await;
    assert_eq!(count(&browser, "#minted-token").await, 0);
    let description = "ui pages: the CLI";
    session
        .find("#t-description")
        .await
        .send_keys(description)
        .await;
    assert!(count(&browser, "#t-expires option").await >= 1);
    assert_eq!(
        session.find("#t-server").await.property("value").await,
        json!(""),
        "the aggregated /mcp is the default target"
    );
    // Without a scopes file only admins may use the gateway (the CLI administers it): the
    // page says so, and admin rights are the user's explicit choice.
    let admin_box = session.find("input[name=admin]").await;
    assert_eq!(admin_box.property("checked").await, json!(false));
    assert!(
        session
            .find("#t-admin-hint")
            .await
            .text()
            .await
            .contains("only a token with admin rights"),
        "the page says why admin rights matter here"
    );
    admin_box.click().await;
    session
        .find("form[action='/ui/tokens'] button[type=submit]")
        .await
        .click()
        .await;
    let token = browser
        .wait_for_text("#minted-token", ".")
        .await
        .text()
        .await
        .trim()
        .to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");

    // The snippets carry it.
    let vscode = session.find("#snippet-vscode").await.text().await;
    assert!(vscode.contains(&token), "{vscode}");
    let config: Value = serde_json::from_str(&vscode).expect("the VS Code snippet is JSON");
    let entry = &config["servers"]["mcpgw"];
    assert_eq!(entry["type"], "http", "{vscode}");
    assert_eq!(entry["url"], json!(format!("{}/mcp", gw.url)), "{vscode}");
    assert_eq!(
        entry["headers"]["Authorization"],
        json!(format!("Bearer {token}"))
    );
    for client in ["cursor", "claude-code"] {
        let text = text_of(&browser, &format!("#snippet-{client}"))
            .await
            .unwrap_or_else(|| panic!("no #snippet-{client}"));
        assert!(text.contains(&token), "{client}: {text}");
    }
    let row = browser
        .wait_for_text("table[data-tokens] tr[data-token]", description)
        .await;
    assert!(row.text().await.contains("active"), "{}", row.text().await);
    let id = row.attribute("data-token").await.unwrap();
    shots(&browser, "tokens-minted").await;

    // The token works from the CLI.
    let list = ["server", "list", "--url", &gw.url, "--token", &token];
    let (ok, stdout, stderr) = run_cli(None, &list, &[]).await;
    assert!(
        ok,
        "mcpgw server list with the minted token: {stdout}{stderr}"
    );
    assert!(stdout.contains("toolbox"), "{stdout}");

    // Revoked in the page, it no longer does.
    session
        .find(&format!("tr[data-token='{id}'] button.danger"))
        .await
        .click()
        .await;
    // The revoke is a form post: wait for the page it leads to, where the row says so.
    browser
        .wait_until(
            &format!(
                "const row = document.querySelector(\"tr[data-token='{id}']\"); \
                 return !document.getElementById('minted-token') && !!row && \
                 row.textContent.includes('revoked');"
            ),
            "the token's row says revoked",
        )
        .await;
    assert_eq!(
        count(&browser, &format!("tr[data-token='{id}'] button")).await,
        0,
        "a revoked token has no Revoke button"
    );
    assert_eq!(count(&browser, "#minted-token").await, 0, "shown only once");
    let (ok, stdout, stderr) = run_cli(None, &list, &[]).await;
    assert!(!ok, "a revoked token still works: {stdout}");
    assert!(
        stderr.contains("(HTTP 401)"),
        "an authentication error: {stderr}"
    );
    eprintln!("the CLI with the revoked token: {}", stderr.trim());
    shots(&browser, "tokens-revoked").await;
    browser.close().await;
}

#[tokio::test]
async fn toggle_changes_the_aggregated_tools() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = start_gateway(dir.path()).await;
    let toolbox = upstreams::example("toolbox", false).await;
    let clock = upstreams::example("currenttime", false).await;
    gw.register_healthy(http_server("box", &toolbox.url)).await;
    gw.register_healthy(http_server("clock", &clock.url)).await;
    let url = format!("{}/mcp", gw.url);
    let Some(mut agent) = common::agent::Agent::connect("http", "stateful", &url, TOKEN).await
    else {
        return;
    };
    let clock_tool = "clock__current_time_by_timezone";
    let tools = agent.tools().await;
    assert!(tools.iter().any(|t| t == clock_tool), "{tools:?}");
    assert!(tools.iter().any(|t| t == "box__echo"), "{tools:?}");

    let session = browser.session();
    sign_in(&browser, &gw, "admin", ADMIN_PASSWORD).await;
    let switch = "[data-server=clock] button[role=switch]";
    assert_eq!(
        attribute_of(&browser, switch, "aria-checked")
            .await
            .as_deref(),
        Some("true")
    );
    mark_page(&browser).await;

    // Off: the switch flips in place, and the aggregate drops the clock's tools.
    session.find(switch).await.click().await;
    wait_for_attribute(&browser, switch, "aria-checked", "false").await;
    wait_for_attribute(&browser, "[data-server=clock]", "data-health", "disabled").await;
    assert_eq!(
        attribute_of(
            &browser,
            "[data-server=box] button[role=switch]",
            "aria-checked"
        )
        .await
        .as_deref(),
        Some("true"),
        "the other server is untouched"
    );
    assert_eq!(
        gw.api("GET", "/api/servers/clock", None).await.body["enabled"],
        false
    );
    let deadline = std::time::Instant::now() + SLOW;
    loop {
        let tools = agent.tools().await;
        if !tools.iter().any(|t| t.starts_with("clock__")) {
            assert!(tools.iter().any(|t| t == "box__echo"), "{tools:?}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the aggregate still offers the disabled clock: {tools:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_not_reloaded(&browser, "switching off").await;
    shots(&browser, "servers-switched-off").await;

    // On again: the tools come back.
    session.find(switch).await.click().await;
    wait_for_attribute(&browser, switch, "aria-checked", "true").await;
    let deadline = std::time::Instant::now() + SLOW;
    loop {
        let tools = agent.tools().await;
        if tools.iter().any(|t| t == clock_tool) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the aggregate never offers the clock again: {tools:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    wait_for_attribute(&browser, "[data-server=clock]", "data-health", "healthy").await;
    assert_not_reloaded(&browser, "switching on").await;
    browser.close().await;
}

/// A group that may see one server (`alpha`) and nothing else.
const ONE_SERVER: &str = r#"
group_mappings:
  viewers: [alpha-viewer]
UI-Scopes:
  alpha-viewer:
    list_service: [alpha]
alpha-viewer:
- server: alpha
  methods: [initialize, notifications/initialized, tools/list]
  tools: ["*"]
"#;

#[tokio::test]
async fn restricted_user_sees_no_admin_pages() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (gw, _scopes) = access::start(dir.path(), ONE_SERVER).await;
    let toolbox = upstreams::example("toolbox", false).await;
    gw.register_healthy(described("alpha", "Alpha", "Seen", &toolbox.url, &[]))
        .await;
    gw.register_healthy(described("beta", "Beta", "Unseen", &toolbox.url, &[]))
        .await;
    let password = "the viewer's own password";
    let created = gw
        .api(
            "POST",
            "/api/users",
            Some(json!({"username": "viv", "password": password, "groups": ["viewers"]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    let session = browser.session();
    sign_in(&browser, &gw, "viv", password).await;
    let nav = common::ui::eval(
        &browser,
        "return [...document.querySelectorAll('header nav a')].map(a => a.textContent.trim());",
        vec![],
    )
    .await;
    assert_eq!(nav, json!(["Servers", "Tokens & setup"]), "no Admin link");
    assert_eq!(count(&browser, "a[href='/ui/servers/new']").await, 0);
    assert_eq!(count(&browser, "button[role=switch]").await, 0);
    assert_eq!(count(&browser, "form.toggle").await, 0);
    let listed = common::ui::eval(
        &browser,
        "return [...document.querySelectorAll('[data-server]')].map(e => e.dataset.server);",
        vec![],
    )
    .await;
    assert_eq!(listed, json!(["alpha"]), "only the allowed server");
    assert_eq!(
        text_of(&browser, "[data-server=alpha] [data-field=enabled-text]")
            .await
            .as_deref(),
        Some("enabled")
    );
    shots(&browser, "servers-restricted").await;

    // Its page offers nothing to change.
    open(&browser, &gw, "/ui/servers/alpha").await;
    browser.wait_for_text("main h1", "Alpha").await;
    for action in [
        "form[action='/ui/servers/alpha/refresh']",
        "a[href='/ui/servers/alpha/edit']",
        "a[href='/ui/servers/alpha/delete']",
        "button[role=switch]",
    ] {
        assert_eq!(count(&browser, action).await, 0, "no {action}");
    }

    // The pages it may not see.
    open(&browser, &gw, "/ui/admin").await;
    browser.wait_for_text("main h1", "Not allowed").await;
    assert_eq!(browser.status().await, 403);
    shots(&browser, "admin-refused").await;
    open(&browser, &gw, "/ui/servers/new").await;
    browser.wait_for_text("main h1", "Not allowed").await;
    assert_eq!(browser.status().await, 403);
    open(&browser, &gw, "/ui/servers/beta").await;
    browser.wait_for_text("main h1", "Not found").await;
    assert_eq!(browser.status().await, 404);
    let page = session.find("main").await.text().await;
    assert!(!page.contains("Unseen"), "{page}");

    // Signing out: the pages ask to sign in again.
    session
        .find("form[action='/logout'] button")
        .await
        .click()
        .await;
    browser.wait_for_text("h1", "Sign in to mcpgw").await;
    open(&browser, &gw, "/ui/servers/alpha").await;
    browser.wait_for_text("h1", "Sign in to mcpgw").await;
    browser.close().await;
}

/// Everything with the keyboard alone: the first Tab stop skips to the content, focus is
/// always visible, and a server's switch flips with Space without a reload.
#[tokio::test]
async fn the_keyboard_reaches_everything_with_visible_focus() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = start_gateway(dir.path()).await;
    let body = common::http_server("quiet", "http://127.0.0.1:9/mcp");
    assert_eq!(gw.api("POST", "/api/servers", Some(body)).await.status, 201);
    sign_in(&browser, &gw, "admin", ADMIN_PASSWORD).await;
    mark_page(&browser).await;
    let session = browser.session();
    // The focus starts at the top of the page: the first stop is the skip link.
    session
        .execute(
            "document.activeElement.blur(); window.scrollTo(0, 0);",
            vec![],
        )
        .await;
    assert_eq!(browser.tab().await, "a Skip to content");
    let visible_focus = "const s = getComputedStyle(document.activeElement); \
                         return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;";
    assert_eq!(session.execute(visible_focus, vec![]).await, json!(true));
    // Tab on until the switch, each stop showing where the focus is.
    let mut reached = false;
    for _ in 0..40 {
        browser.tab().await;
        assert_eq!(
            session.execute(visible_focus, vec![]).await,
            json!(true),
            "the focused element shows its focus"
        );
        let role = session
            .execute("return document.activeElement.getAttribute('role')", vec![])
            .await;
        if role == json!("switch") {
            reached = true;
            break;
        }
    }
    assert!(reached, "the switch is reachable with Tab");
    session.press(SPACE).await;
    wait_for_attribute(
        &browser,
        "[data-server=quiet] button[role=switch]",
        "aria-checked",
        "false",
    )
    .await;
    assert_not_reloaded(&browser, "switching with the keyboard").await;
    assert_eq!(
        gw.api("GET", "/api/servers/quiet", None).await.body["enabled"],
        false
    );
    browser.close().await;
}
