//! Hostile upstreams for health-check tests: tiny HTTP/1.1 servers on 127.0.0.1 whose every
//! answer a test scripts (endless bodies, redirects, version errors, failing sessions) and
//! which record what they were sent; plus a look into `/proc` for stdio servers that try to
//! leave processes behind. Each connection carries one request.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// Most bytes an endless reply sends, so a client that never stops reading cannot keep a
/// test (or the machine's memory) busy forever.
const ENDLESS_LIMIT: usize = 64 * 1024 * 1024;
/// Size of one piece of an endless reply.
const PIECE_BYTES: usize = 64 * 1024;
/// Largest request head read.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, `DELETE` …
    pub method: String,
    /// The request target.
    pub path: String,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (names are compared in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON (`Null` if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The JSON-RPC method of the body, if it has one.
    pub fn rpc_method(&self) -> Option<String> {
        self.json()["method"].as_str().map(str::to_owned)
    }
}

/// How a hostile server answers a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response; the connection closes after it.
    Full {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// A response head, then `piece` again and again until [`ENDLESS_LIMIT`] bytes were
    /// sent or the client went away.
    Endless {
        /// Status line and headers, ending with the blank line.
        head: String,
        /// What is repeated.
        piece: Vec<u8>,
    },
}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply::Full {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    /// A response without a body.
    pub fn empty(status: u16) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// Adds a header to a complete response.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }

    /// `200 application/json` with a chunked body that never ends.
    pub fn endless_json() -> Reply {
        Reply::Endless {
            head: "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".into(),
            piece: chunk(&[b' '; PIECE_BYTES]),
        }
    }

    /// `status` with a plain-text body that never ends.
    pub fn endless_error(status: u16) -> Reply {
        Reply::Endless {
            head: format!(
                "HTTP/1.1 {status} Hostile\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
            ),
            piece: chunk(&[b'x'; PIECE_BYTES]),
        }
    }

    /// `200 text/event-stream` whose first event never ends: short `data:` lines forever.
    pub fn endless_event() -> Reply {
        let line = format!("data: {}\n", "x".repeat(1000));
        Reply::Endless {
            head: "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n".into(),
            piece: chunk(line.repeat(PIECE_BYTES / line.len()).as_bytes()),
        }
    }
}

/// `data` as one chunk of a chunked body.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut chunk = format!("{:x}\r\n", data.len()).into_bytes();
    chunk.extend_from_slice(data);
    chunk.extend_from_slice(b"\r\n");
    chunk
}

/// A running hostile server; stopped (with every connection) when dropped.
pub struct Hostile {
    /// Its MCP URL.
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    task: JoinHandle<()>,
}

impl Hostile {
    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a server that answers each request with what `answer` says.
pub async fn start(answer: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&requests);
    let answer = Arc::new(answer);
    let task = tokio::spawn(async move {
        // Owned here, so aborting the server aborts its connections too.
        let mut connections = JoinSet::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let recorded = Arc::clone(&recorded);
            let answer = Arc::clone(&answer);
            connections.spawn(async move {
                let Some(request) = read_request(&mut socket).await else {
                    return;
                };
                let reply = answer(&request);
                recorded.lock().unwrap().push(request);
                write_reply(&mut socket, reply).await;
            });
        }
    });
    Hostile {
        url,
        requests,
        task,
    }
}

/// Reads one request: its head and a `Content-Length` body.
async fn read_request(socket: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut piece = [0u8; 8192];
    let mut fill = async |buffer: &mut Vec<u8>| match socket.read(&mut piece).await {
        Ok(0) | Err(_) => false,
        Ok(read) => {
            buffer.extend_from_slice(&piece[..read]);
            true
        }
    };
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > MAX_HEAD_BYTES || !fill(&mut buffer).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        if !fill(&mut buffer).await {
            return None;
        }
    }
    Some(Request {
        method,
        path,
        headers,
        body: buffer[body_start..body_start + length].to_vec(),
    })
}

/// Writes `reply`; an endless one stops at [`ENDLESS_LIMIT`] or when the client leaves.
async fn write_reply(socket: &mut TcpStream, reply: Reply) {
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut response = format!(
                "HTTP/1.1 {status} Hostile\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                response.push_str(&format!("{name}: {value}\r\n"));
            }
            response.push_str("\r\n");
            let mut bytes = response.into_bytes();
            bytes.extend_from_slice(&body);
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
        Reply::Endless { head, piece } => {
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let mut sent = 0;
            while sent < ENDLESS_LIMIT {
                if socket.write_all(&piece).await.is_err() {
                    return;
                }
                sent += piece.len();
            }
        }
    }
}

/// Pids of running processes whose command line contains `marker` (zombies have none).
pub fn processes_with(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline)
            .replace('\0', " ")
            .contains(marker)
        {
            found.push(pid);
        }
    }
    found
}

/// Kills processes a failed test left behind.
pub fn kill_all(pids: &[u32]) {
    for pid in pids {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}
