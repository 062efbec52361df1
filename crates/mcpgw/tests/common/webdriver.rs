//! A minimal W3C WebDriver client over the workspace's own reqwest: the dozen commands the
//! UI tests use, and Chromium's DevTools passthrough (`goog/cdp/execute`).
//!
//! Why not a WebDriver crate: the one that fits best (`thirtyfour`) turns on serde_json's
//! `preserve_order`, which cargo then unifies into every test build of the workspace; the
//! tested binary would order JSON objects differently from the released one.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The key W3C WebDriver uses to name an element in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// The Tab key, in WebDriver's key codes.
pub const TAB: &str = "\u{E004}";
/// The Enter key.
pub const ENTER: &str = "\u{E007}";
/// The space bar (buttons and switches act on it).
pub const SPACE: &str = " ";

/// One browser session.
pub struct Session {
    http: reqwest::Client,
    /// `http://127.0.0.1:{port}/session/{id}`.
    base: String,
}

/// An element of the current page.
pub struct Element<'a> {
    session: &'a Session,
    id: String,
}

impl Session {
    /// Opens a session at the chromedriver on `port` with `capabilities`.
    pub async fn open(port: u16, capabilities: Value) -> Session {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let root = format!("http://127.0.0.1:{port}");
        let created: Value = http
            .post(format!("{root}/session"))
            .json(&json!({ "capabilities": { "alwaysMatch": capabilities } }))
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .unwrap();
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"));
        Session {
            http,
            base: format!("{root}/session/{id}"),
        }
    }

    /// Sends a command and returns its `value`; a WebDriver error is a panic naming it.
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_command(method, path, body).await {
            Ok(value) => value,
            Err(error) => panic!("{error}"),
        }
    }

    /// Sends a command: its `value`, or the WebDriver error described.
    async fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("WebDriver {path}: HTTP {status}: {answer}"));
        }
        Ok(answer["value"].clone())
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    /// Loads `url`.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// The address of the current page.
    pub async fn url(&self) -> String {
        let url = self.command(reqwest::Method::GET, "/url", None).await;
        url.as_str().unwrap_or_default().to_owned()
    }

    /// Every element matching the CSS selector `css`.
    pub async fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        found
            .as_array()
            .map(|elements| {
                elements
                    .iter()
                    .filter_map(|element| element[ELEMENT].as_str())
                    .map(|id| Element {
                        session: self,
                        id: id.to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `css` (a panic if there is none).
    pub async fn find(&self, css: &str) -> Element<'_> {
        self.find_all(css)
            .await
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element matches {css}"))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// [`Session::execute`], with a WebDriver error (e.g. the page was being replaced)
    /// returned rather than a panic.
    pub async fn try_execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.try_command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// Presses and releases `key` (a character or one of [`TAB`], [`ENTER`]) wherever the
    /// focus is, as a person's keyboard does.
    pub async fn press(&self, key: &str) {
        let actions = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
            { "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }
        ]}]});
        self.post("/actions", actions).await;
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let encoded = self
            .command(reqwest::Method::GET, "/screenshot", None)
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 text"))
            .unwrap()
    }

    /// Sends a Chrome DevTools Protocol command.
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.post(
            "/goog/cdp/execute",
            json!({ "cmd": command, "params": params }),
        )
        .await
    }

    /// Ends the session (the browser closes).
    pub async fn quit(&self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

impl Element<'_> {
    fn path(&self, action: &str) -> String {
        format!("/element/{}/{action}", self.id)
    }

    /// Its rendered text.
    pub async fn text(&self) -> String {
        let text = self
            .session
            .command(reqwest::Method::GET, &self.path("text"), None)
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Its rendered text, or `None` when it is no longer on the page (the page changed
    /// since it was found).
    pub async fn try_text(&self) -> Option<String> {
        let text = self
            .session
            .try_command(reqwest::Method::GET, &self.path("text"), None)
            .await
            .ok()?;
        Some(text.as_str().unwrap_or_default().to_owned())
    }

    /// The value of its attribute `name` (`None` when it has none).
    pub async fn attribute(&self, name: &str) -> Option<String> {
        let value = self
            .session
            .command(
                reqwest::Method::GET,
                &self.path(&format!("attribute/{name}")),
                None,
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// The value of its DOM property `name` (e.g. `open`, `value`).
    pub async fn property(&self, name: &str) -> Value {
        self.session
            .command(
                reqwest::Method::GET,
                &self.path(&format!("property/{name}")),
                None,
            )
            .await
    }

    /// Types `text` into it (it takes the focus first).
    pub async fn send_keys(&self, text: &str) {
        self.session
            .post(&self.path("value"), json!({ "text": text }))
            .await;
    }

    /// Empties a form field.
    pub async fn clear(&self) {
        self.session.post(&self.path("clear"), json!({})).await;
    }

    /// Clicks it.
    pub async fn click(&self) {
        self.session.post(&self.path("click"), json!({})).await;
    }
}
