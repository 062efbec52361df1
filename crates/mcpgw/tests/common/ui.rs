//! Helpers of the web UI's page tests (`tests/ui_pages.rs`): a gateway whose first admin
//! signs in with a known password, signing in through the login form, screenshots at both
//! widths, and reading the page with small scripts.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::browser::Browser;
use super::webdriver::ENTER;
use super::{Gateway, Launch};

/// The first admin's password (`MCPGW_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "ui pages admin password";

/// How long to wait for what the gateway does on its own (checks, aggregation).
pub const SLOW: Duration = Duration::from_secs(30);

/// A gateway (quiet health checks) whose first admin `admin` has [`ADMIN_PASSWORD`].
pub async fn start_gateway(dir: &Path) -> Gateway {
    Launch::quiet(&dir.join("data"))
        .env("MCPGW_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .start()
        .await
}

/// Opens the gateway's home page, signs in there with the login form (Enter submits it)
/// and waits for the servers page it leads to.
pub async fn sign_in(browser: &Browser, gw: &Gateway, user: &str, password: &str) {
    let session = browser.session();
    session.goto(&format!("{}/", gw.url)).await;
    browser.wait_for_text("h1", "Sign in to mcpgw").await;
    let name = session.find("input[name=username]").await;
    name.clear().await;
    name.send_keys(user).await;
    let secret = session.find("input[name=password]").await;
    secret.send_keys(password).await;
    secret.send_keys(ENTER).await;
    browser.wait_for_text("main h1", "Servers").await;
    assert!(
        session.url().await.ends_with("/ui/servers"),
        "signing in leads to the servers page, not {}",
        session.url().await
    );
}

/// Loads `path` of the gateway.
pub async fn open(browser: &Browser, gw: &Gateway, path: &str) {
    browser.session().goto(&format!("{}{path}", gw.url)).await;
}

/// Screenshots `name` at 1280 × 900 and 390 × 844 (each also checks that nothing scrolls
/// sideways), then goes back to the wide viewport the test drives the page in.
pub async fn shots(browser: &Browser, name: &str) {
    browser.shot(name, 1280, 900).await;
    browser.shot(name, 390, 844).await;
    browser.viewport(1280, 900).await;
}

/// A dark screenshot of `name` at both widths (suffix `-dark`), back in light afterwards.
pub async fn dark_shots(browser: &Browser, name: &str) {
    browser.dark(true).await;
    shots(browser, &format!("{name}-dark")).await;
    browser.dark(false).await;
}

/// Runs `script` with `args` in the page.
pub async fn eval(browser: &Browser, script: &str, args: Vec<Value>) -> Value {
    browser.session().execute(script, args).await
}

/// The `textContent` (trimmed) of the first element matching `css`, shown or not; `None`
/// when nothing matches.
pub async fn text_of(browser: &Browser, css: &str) -> Option<String> {
    let text = eval(
        browser,
        "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;",
        vec![json!(css)],
    )
    .await;
    text.as_str().map(str::to_owned)
}

/// The attribute `name` of the first element matching `css`.
pub async fn attribute_of(browser: &Browser, css: &str, name: &str) -> Option<String> {
    let value = eval(
        browser,
        "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
        vec![json!(css), json!(name)],
    )
    .await;
    value.as_str().map(str::to_owned)
}

/// How many elements match `css`.
pub async fn count(browser: &Browser, css: &str) -> usize {
    browser.session().find_all(css).await.len()
}

/// Waits until the first element matching `css` has attribute `name` equal to `value`.
pub async fn wait_for_attribute(browser: &Browser, css: &str, name: &str, value: &str) {
    let script = format!(
        "const e = document.querySelector({}); return !!e && e.getAttribute({}) === {};",
        json!(css),
        json!(name),
        json!(value)
    );
    browser
        .wait_until(&script, &format!("{css} [{name}={value:?}]"))
        .await;
}

/// Marks the page, so that [`assert_not_reloaded`] can tell it is still the same document.
pub async fn mark_page(browser: &Browser) {
    eval(browser, "window.__noReload = 1; return null;", vec![]).await;
}

/// Asserts that the page marked by [`mark_page`] was never reloaded or left.
pub async fn assert_not_reloaded(browser: &Browser, what: &str) {
    let marker = eval(browser, "return window.__noReload === 1;", vec![]).await;
    assert_eq!(marker, json!(true), "{what} without reloading the page");
}
