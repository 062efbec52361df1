//! The web pages in a real browser (headless Chromium over WebDriver, issue 10): sign in
//! with a wrong and then the right password, keyboard order, sign out; screenshots of each
//! page at 1280 and 390 px, light and dark, written to the folder the harness prints.
//! The first browser test; the UI issue's pages join it as they are built.

mod common;

use common::browser::Browser;
use common::webdriver::ENTER;
use common::{Gateway, Launch};

/// The first admin's password (`MCPGW_ADMIN_PASSWORD`).
const ADMIN_PASSWORD: &str = "browser admin password";

async fn start(dir: &std::path::Path) -> Gateway {
    Launch::quiet(&dir.join("data"))
        .env("MCPGW_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .start()
        .await
}

/// Fills the login form and submits it with the keyboard's Enter.
async fn sign_in(browser: &Browser, user: &str, password: &str) {
    let session = browser.session();
    let name = session.find("input[name=username]").await;
    name.clear().await;
    name.send_keys(user).await;
    let secret = session.find("input[name=password]").await;
    secret.send_keys(password).await;
    secret.send_keys(ENTER).await;
}

#[tokio::test]
async fn signing_in_and_out_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gw = start(dir.path()).await;
    let session = browser.session();

    // A protected page sends the browser to sign in first, and back afterwards.
    session.goto(&format!("{}/", gw.url)).await;
    browser.wait_for_text("h1", "Sign in to mcpgw").await;
    browser.shot("login", 1280, 900).await;
    browser.shot("login", 390, 844).await;

    // The keyboard reaches everything in order, starting in the user name field.
    let focused = session
        .execute("return document.activeElement.name", vec![])
        .await;
    assert_eq!(focused, "username", "the first field has the focus");
    assert_eq!(browser.tab().await, "input[password]");
    assert_eq!(browser.tab().await, "button Sign in");

    // A wrong password: a clear message, announced to assistive technology.
    sign_in(&browser, "admin", "not the password").await;
    let alert = browser.wait_for_text("[role=alert]", "").await;
    let message = alert.text().await;
    assert!(!message.is_empty(), "a wrong password says why");
    assert!(
        !message.contains(ADMIN_PASSWORD),
        "the message does not echo a password"
    );
    browser.shot("login-error", 1280, 900).await;
    browser.shot("login-error", 390, 844).await;

    // The right one: the servers page, naming who is signed in.
    sign_in(&browser, "admin", ADMIN_PASSWORD).await;
    browser.wait_for_text("h1", "Servers").await;
    browser.wait_for_text(".who", "admin").await;
    browser.shot("home", 1280, 900).await;
    browser.shot("home", 390, 844).await;
    browser.dark(true).await;
    browser.shot("home-dark", 390, 844).await;
    browser.dark(false).await;

    // Signing out ends the session: the protected page asks to sign in again.
    session
        .find("form[action='/logout'] button")
        .await
        .click()
        .await;
    session.goto(&format!("{}/", gw.url)).await;
    browser.wait_for_text("h1", "Sign in to mcpgw").await;
    browser.close().await;
}
