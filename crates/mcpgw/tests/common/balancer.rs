//! A round-robin HTTP load balancer for tests, as an ordinary one in front of replicas
//! behaves: every request (not every connection) goes to the next replica, bodies and
//! streams pass through as they come, and a replica that refuses the connection is
//! skipped (nginx's `proxy_next_upstream error`). No session affinity of any kind.
//!
//! It records which replica served each request, so tests can show that a client's
//! requests really alternated.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use futures::StreamExt;

/// Largest request body passed on (requests are buffered, so that a refused connection
/// can be retried at the next replica).
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// Headers that belong to one connection, not to the request.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-connection",
];

/// A running balancer; stops when dropped.
pub struct Balancer {
    /// Its base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    backends: Vec<String>,
    next: AtomicUsize,
    /// (method, path, replica index) of every request passed on, in order.
    served: Mutex<Vec<(String, String, usize)>>,
    http: reqwest::Client,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Balancer {
    /// Starts a balancer on 127.0.0.1:0 over `backends` (base URLs).
    pub async fn start(backends: Vec<String>) -> Balancer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            backends,
            next: AtomicUsize::new(0),
            served: Mutex::new(Vec::new()),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(std::time::Duration::from_secs(2))
                .build()
                .unwrap(),
        });
        let app = axum::Router::new()
            .fallback(pass_on)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Balancer {
            url: format!("http://{address}"),
            shared,
            task,
        }
    }

    /// Which replica served each request so far: (method, path, replica index).
    pub fn served(&self) -> Vec<(String, String, usize)> {
        self.shared.served.lock().unwrap().clone()
    }

    /// The replicas that served requests to paths containing `part`, in order.
    pub fn replicas_for(&self, part: &str) -> Vec<usize> {
        self.served()
            .into_iter()
            .filter(|(_, path, _)| path.contains(part))
            .map(|(_, _, replica)| replica)
            .collect()
    }
}

async fn pass_on(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return status(413);
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    let count = shared.backends.len();
    let first = shared.next.fetch_add(1, Ordering::Relaxed);
    for attempt in 0..count {
        let index = (first + attempt) % count;
        let mut forwarded = shared
            .http
            .request(
                parts.method.clone(),
                format!("{}{path}", shared.backends[index]),
            )
            .body(body.clone());
        for (name, value) in &parts.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                forwarded = forwarded.header(name, value);
            }
        }
        let answer = match forwarded.send().await {
            Ok(answer) => answer,
            // Nothing reached the replica: the next one gets the request.
            Err(error) if error.is_connect() => continue,
            Err(_) => return status(502),
        };
        shared
            .served
            .lock()
            .unwrap()
            .push((parts.method.to_string(), path.clone(), index));
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                response = response.header(name, value);
            }
        }
        let stream = answer
            .bytes_stream()
            .map(|chunk| chunk.map_err(std::io::Error::other));
        return response.body(Body::from_stream(stream)).unwrap();
    }
    status(502)
}

fn status(code: u16) -> Response {
    Response::builder()
        .status(code)
        .body(Body::empty())
        .unwrap()
}
