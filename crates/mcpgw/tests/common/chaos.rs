//! Failures for the chaos tests, brought about from outside the gateway the way they
//! arrive in production: upstream processes that are killed, stall or answer garbage
//! (`tests/python/chaos_server.py`), streams read with deadlines, a database locked by
//! another process, a data directory on a small filesystem that fills up.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// How long any stream may take to end: far above every timeout the chaos tests
/// configure (seconds), so that only a real hang trips it.
pub const LIVENESS: Duration = Duration::from_secs(60);

/// The Python that runs the fixtures (standard library only): the test venv's, if set.
fn python() -> String {
    std::env::var("MCPGW_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A misbehaving upstream process (`chaos_server.py MODE PORT`); killed when dropped.
pub struct ChaosServer {
    _child: Child,
    /// Its MCP URL.
    pub url: String,
}

impl ChaosServer {
    /// Starts the fixture in `mode` (`hang`, `garbage-text`, `garbage-binary`,
    /// `truncated`) on `port` of 127.0.0.1.
    pub async fn start(mode: &str, port: u16) -> ChaosServer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/chaos_server.py");
        let mut command = Command::new(python());
        command.args([script, mode, &port.to_string()]);
        let (child, url) = super::spawn_announcing(command, "listening on ").await;
        ChaosServer { _child: child, url }
    }
}

/// Waits until nothing listens on `port` any more (a killed process has released it),
/// so that a successor can bind it.
pub async fn until_released(port: u16) {
    let deadline = tokio::time::Instant::now() + LIVENESS;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "port {port} still taken"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A response body being read chunk by chunk.
pub struct Reading {
    stream: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    /// Everything read so far (lossy UTF-8).
    pub text: String,
}

/// How a stream ended.
#[derive(Debug)]
pub struct Ended {
    /// Everything it carried (lossy UTF-8).
    pub text: String,
    /// The connection broke (the body was cut off) rather than ending cleanly.
    pub broke: bool,
}

impl Reading {
    /// Starts reading `response`'s body.
    pub fn of(response: reqwest::Response) -> Reading {
        Reading {
            stream: response
                .bytes_stream()
                .map(|chunk| chunk.map(|bytes| bytes.to_vec()))
                .boxed(),
            text: String::new(),
        }
    }

    /// Reads until the body holds `needle`; panics if the stream ends first or after
    /// [`LIVENESS`].
    pub async fn until(&mut self, needle: &str) {
        let deadline = tokio::time::Instant::now() + LIVENESS;
        while !self.text.contains(needle) {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no {needle:?} within {LIVENESS:?}: {}", self.text));
            match next {
                Some(Ok(bytes)) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                other => panic!("stream ended before {needle:?}: {other:?} {}", self.text),
            }
        }
    }

    /// Reads to the end; panics if it has not ended after [`LIVENESS`] (a hang).
    pub async fn end(mut self) -> Ended {
        let deadline = tokio::time::Instant::now() + LIVENESS;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("still open after {LIVENESS:?}: {}", self.text));
            match next {
                Some(Ok(bytes)) => self.text.push_str(&String::from_utf8_lossy(&bytes)),
                Some(Err(_)) => {
                    return Ended {
                        text: self.text,
                        broke: true,
                    };
                }
                None => {
                    return Ended {
                        text: self.text,
                        broke: false,
                    };
                }
            }
        }
    }
}

/// The gateway serves what it can while something else is broken: the example clock
/// registered as `clock` on its own route and through `/mcp`, the liveness probe.
pub async fn serves_clock(gw: &super::Gateway) {
    let utc = serde_json::json!({"timezone_name": "UTC"});
    for (path, tool) in [
        ("/clock/mcp", "current_time_by_timezone"),
        ("/mcp", "clock__current_time_by_timezone"),
    ] {
        let meta = super::stateless_meta();
        let call = super::stateless_call(gw, path, super::TOKEN, tool, utc.clone(), meta);
        let response = tokio::time::timeout(LIVENESS, call)
            .await
            .unwrap_or_else(|_| panic!("{path} answered in time"));
        assert_eq!(response.status(), 200, "{path}");
        let messages = super::rpc_messages(response).await;
        assert!(
            messages[0]["result"]["content"].is_array(),
            "{path}: {messages:?}"
        );
    }
    let live = gw.request("GET", "/livez").send().await.unwrap();
    assert_eq!(live.status(), 200, "the gateway is up");
}

/// The JSON-RPC messages of an event stream's text (events whose data is not JSON are
/// skipped).
pub fn events(text: &str) -> Vec<serde_json::Value> {
    text.split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data:")))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect()
}

/// Another process (python3's `sqlite3`) holding `BEGIN EXCLUSIVE` on a database file
/// until dropped (or [`SqliteLock::release`]d).
pub struct SqliteLock {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl SqliteLock {
    /// Takes the lock on `database`; returns once it is held.
    pub async fn take(database: &Path) -> SqliteLock {
        const HOLD: &str = "import sqlite3, sys\n\
            db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n\
            db.execute('BEGIN EXCLUSIVE')\n\
            print('locked', flush=True)\n\
            sys.stdin.read()\n\
            db.execute('ROLLBACK')\n";
        let mut child = Command::new(python())
            .args(["-c", HOLD])
            .arg(database)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 runs");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(LIVENESS, lines.next_line())
            .await
            .expect("the lock was taken in time")
            .unwrap();
        assert_eq!(line.as_deref(), Some("locked"));
        SqliteLock { child, stdin }
    }

    /// Ends the transaction and waits for the process to exit.
    pub async fn release(mut self) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(LIVENESS, self.child.wait())
            .await
            .expect("the lock holder exited")
            .unwrap();
        assert!(status.success());
    }
}

/// A small tmpfs mounted on a directory; unmounted (lazily, so that a gateway still
/// holding files there cannot keep it) when dropped, also when a test panics.
pub struct Tmpfs {
    /// The mount point.
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `16m`) on `path`; `None`, saying why, where
    /// mounting is not permitted (not root, no capability in a container).
    pub fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let output = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Tmpfs {
                path: path.to_owned(),
            }),
            Ok(output) => {
                eprintln!(
                    "cannot mount a tmpfs ({}): skipping the disk-full test",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(error) => {
                eprintln!("cannot run mount ({error}): skipping the disk-full test");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// Fills the filesystem of `dir` with a file `name` until it refuses more; returns the file.
pub fn fill(dir: &Path, name: &str) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    let block = vec![0x5a_u8; 64 * 1024];
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.raw_os_error() == Some(28) => break,
            Err(error) => panic!("filling {}: {error}", path.display()),
        }
    }
    // The last partial block too: not a byte is left.
    while let Ok(written) = file.write(&block[..512]) {
        if written == 0 {
            break;
        }
    }
    let _ = file.sync_all();
    path
}
