//! A real browser for UI tests: Debian's headless Chromium driven over WebDriver
//! (`chromedriver` on a free loopback port, the small client in [`super::webdriver`]).
//! See `docs/browser-testing-notes.md` for why each flag is here.
//!
//! Every process it starts is stopped when the [`Browser`] is dropped, even after a panic:
//! chromedriver and chromium run with a temporary directory of their own, whose path is on
//! every one of their command lines, and whatever is left holding it is killed.
//!
//! `MCPGW_TEST_CHROMEDRIVER` and `MCPGW_TEST_CHROMIUM` (set by `scripts/test`) name the
//! binaries; without them the browser tests are skipped locally and fail under CI.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use super::webdriver::{Element, Session, TAB};

/// How long to wait for something to appear on a page.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often to look while waiting.
pub const POLL: Duration = Duration::from_millis(50);

/// A headless browser, and the chromedriver it runs under.
pub struct Browser {
    session: Option<Session>,
    chromedriver: Child,
    port: u16,
    /// TMPDIR of chromedriver and chromium (short: chromium's socket path must fit in 107
    /// bytes); the marker by which leftovers are found.
    tmp: PathBuf,
    /// Where screenshots go.
    shots: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless chromium, or `None` when the test script has not
    /// installed them (a failure under CI).
    pub async fn start() -> Option<Browser> {
        let present = |path: &str| Path::new(path).exists();
        let chromedriver =
            super::test_dependency("MCPGW_TEST_CHROMEDRIVER", present, "chromedriver")?;
        let chromium = super::test_dependency("MCPGW_TEST_CHROMIUM", present, "chromium")?;
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let base = std::env::var("MCPGW_TEST_BROWSER_TMP")
            .map(PathBuf::from)
            .unwrap_or_else(|_| std::env::temp_dir());
        let tmp = base.join(format!("br-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let mut child = Command::new(&chromedriver)
            .env("TMPDIR", &tmp)
            .arg("--port=0")
            .arg(format!("--log-path={}/chromedriver.log", tmp.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let port = announced_port(&mut child);
        let shots = screenshot_dir();
        let mut browser = Browser {
            session: None,
            chromedriver: child,
            port,
            tmp,
            shots,
        };
        // The workspace's reqwest needs a TLS provider installed, even for plain http.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "--font-render-hinting=none",
            // No name resolution: the gateway is 127.0.0.1, and nothing else may be reached.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--window-size=1280,900",
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        browser.session = Some(Session::open(port, capabilities).await);
        Some(browser)
    }

    /// The WebDriver session.
    pub fn session(&self) -> &Session {
        self.session.as_ref().expect("the session is open")
    }

    /// Sets an exact viewport of `width` × `height` CSS pixels.
    pub async fn viewport(&self, width: u32, height: u32) {
        self.session()
            .cdp(
                "Emulation.setDeviceMetricsOverride",
                json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
            )
            .await;
    }

    /// Emulates the system's colour scheme.
    pub async fn dark(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.session()
            .cdp(
                "Emulation.setEmulatedMedia",
                json!({"features": [{"name": "prefers-color-scheme", "value": value}]}),
            )
            .await;
    }

    /// Saves a screenshot of the page at `width` px as `{name}-{width}.png`, after checking
    /// that nothing is wider than the viewport (no sideways scrolling).
    pub async fn shot(&self, name: &str, width: u32, height: u32) {
        self.viewport(width, height).await;
        let widths = self
            .session()
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                vec![],
            )
            .await;
        let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
        assert!(
            scroll <= inner,
            "{name} scrolls sideways at {width} px: content {scroll} px wide"
        );
        let png = self.session().screenshot().await;
        std::fs::write(self.shots.join(format!("{name}-{width}.png")), png).unwrap();
    }

    /// Presses Tab (as a person does: to whatever has the focus) and returns what has it
    /// next, as `tag[name]` or `tag` with its text.
    pub async fn tab(&self) -> String {
        let session = self.session();
        session.press(TAB).await;
        let focused = session
            .execute(
                "const e = document.activeElement; \
                 return e.tagName.toLowerCase() + (e.name ? '[' + e.name + ']' : ' ' + e.textContent.trim());",
                vec![],
            )
            .await;
        focused.as_str().unwrap_or_default().to_owned()
    }

    /// Waits until an element matching `css` holds `text`, and returns it. An element
    /// that goes stale while it is read (the page is being replaced) is looked for again.
    pub async fn wait_for_text(&self, css: &str, text: &str) -> Element<'_> {
        let deadline = Instant::now() + WAIT;
        loop {
            for element in self.session().find_all(css).await {
                if element.try_text().await.is_some_and(|t| t.contains(text)) {
                    return element;
                }
            }
            assert!(Instant::now() < deadline, "no {css} with {text:?}");
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `script` (a function body) returns `true`; `what` names the wait in
    /// the panic after [`WAIT`]. A script that fails (the page is being replaced) is run
    /// again.
    pub async fn wait_until(&self, script: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let outcome = self.session().try_execute(script, vec![]).await;
            if outcome == Ok(serde_json::Value::Bool(true)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never true: {what} ({outcome:?})"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The HTTP status of the current page's document (0 when the browser does not know).
    pub async fn status(&self) -> u16 {
        let status = self
            .session()
            .execute(
                "const n = performance.getEntriesByType('navigation')[0]; \
                 return n ? n.responseStatus : 0;",
                vec![],
            )
            .await;
        status.as_u64().unwrap_or_default() as u16
    }

    /// Ends the session (a clean quit; [`Drop`] stops everything in any case).
    pub async fn close(mut self) {
        if let Some(session) = self.session.take() {
            session.quit().await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ask chromedriver to close its browsers and exit, then make sure of it.
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.chromedriver.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
        // Chromium outlives a killed chromedriver: whatever still names our directory.
        super::hostile::kill_all(&super::hostile::processes_with(&self.tmp.to_string_lossy()));
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// The port chromedriver announces (`… started successfully on port N.`).
fn announced_port(child: &mut Child) -> u16 {
    let stdout = child.stdout.take().expect("chromedriver's stdout");
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("chromedriver exited before announcing its port")
            .unwrap();
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest.trim_end_matches('.').parse().unwrap();
        }
    };
    // Keep reading, so chromedriver never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    port
}

/// Where screenshots go (`MCPGW_TEST_SCREENSHOTS`, else `mcpgw-ui-screenshots` in the
/// temporary directory), printed once so a person can look at them.
fn screenshot_dir() -> PathBuf {
    let dir = std::env::var("MCPGW_TEST_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("mcpgw-ui-screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    println!("screenshots: {}", dir.display());
    eprintln!("screenshots: {}", dir.display());
    dir
}
