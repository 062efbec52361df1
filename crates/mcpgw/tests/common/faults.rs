//! Misbehaving upstreams for health-check tests: servers that are down, hang on an open
//! event stream, answer garbage, fail with 5xx, or demand credentials. Loopback only.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How a fault server answers every request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// `200 text/event-stream`, then silence forever.
    HangOnStream,
    /// `200 application/json` with a body that is not JSON.
    Garbage,
    /// `503 Service Unavailable`.
    Unavailable,
    /// `401` with `WWW-Authenticate: Bearer`.
    Unauthorized,
    /// Reads the request and never answers; counts connections the peer closed.
    Silent,
}

/// A running fault server; stopped when dropped.
pub struct FaultServer {
    /// Its MCP URL.
    pub url: String,
    /// Connections closed by the peer while a [`Fault::Silent`] server held them.
    pub closed_by_peer: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Connections a [`Fault::Silent`] server holds now (a check in flight).
    pub open: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A URL where nothing listens (a port that was bound and released).
pub async fn down_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}/mcp")
}

/// Starts a server that answers every request with `fault`.
pub async fn start(fault: Fault) -> FaultServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    let closed_by_peer = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = closed_by_peer.clone();
    let open = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let holding = open.clone();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut buffer).await;
            if matches!(fault, Fault::Silent) {
                let (counter, holding) = (counter.clone(), holding.clone());
                holding.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(async move {
                    // Nothing is ever sent; a read of 0 bytes means the peer hung up.
                    while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {}
                    holding.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                });
                continue;
            }
            let response: &[u8] = match fault {
                Fault::Silent => b"",
                Fault::HangOnStream => {
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\r\n: open\n\n"
                }
                Fault::Garbage => {
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<html>oops</>"
                }
                Fault::Unavailable => {
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 11\r\nconnection: close\r\n\r\nmaintenance"
                }
                Fault::Unauthorized => {
                    b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                }
            };
            let _ = socket.write_all(response).await;
            if matches!(fault, Fault::HangOnStream) {
                held.push(socket);
            }
        }
    });
    FaultServer {
        url,
        closed_by_peer,
        open,
        task,
    }
}
