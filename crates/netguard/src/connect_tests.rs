use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// A tiny HTTP server on `address` that counts connections and answers every request
/// with `response`.
struct Listener {
    address: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Listener {
    async fn start(address: &str, response: &'static str) -> Listener {
        let listener = TcpListener::bind(address).await.expect("bind");
        let bound = listener.local_addr().expect("address");
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    if matches!(stream.read(&mut buffer).await, Ok(read) if read > 0) {
                        let _ = stream.write_all(response.as_bytes()).await;
                    }
                });
            }
        });
        Listener {
            address: bound,
            connections,
            task,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

fn policy(deny: &[&str], allow: &[&str]) -> Arc<NetworkPolicy> {
    Arc::new(NetworkPolicy::new(deny, allow).expect("valid"))
}

fn hyper_client(
    policy: Arc<NetworkPolicy>,
) -> Client<GuardedConnector<HttpConnector<GuardedResolver>>, String> {
    let connector = GuardedConnector::new(
        HttpConnector::new_with_resolver(GuardedResolver::new(Arc::clone(&policy))),
        policy,
    );
    Client::builder(TokioExecutor::new()).build(connector)
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[tokio::test]
async fn the_hyper_connector_refuses_denied_literals_and_names_without_connecting() {
    let server = Listener::start("127.0.0.1:0", OK).await;
    let port = server.address.port();
    let client = hyper_client(policy(&["127.0.0.0/8", "::1/128"], &[]));
    for uri in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://localhost:{port}/"),
        "http://169.254.169.254/".to_owned(),
        "http://[fd00:ec2::254]/".to_owned(),
    ] {
        let error = client
            .get(uri.parse().expect("a URI"))
            .await
            .expect_err(&uri);
        let reason = root_cause(&error);
        assert!(reason.contains("refused to connect to"), "{uri}: {reason}");
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn the_hyper_connector_connects_where_allowed() {
    let server = Listener::start("127.0.0.1:0", OK).await;
    let client = hyper_client(Arc::new(NetworkPolicy::default()));
    for host in ["127.0.0.1", "localhost"] {
        let uri = format!("http://{host}:{}/", server.address.port());
        let response = client.get(uri.parse().expect("a URI")).await.expect(&uri);
        assert_eq!(response.status(), 200);
    }
    assert_eq!(server.connections(), 2);
}

#[tokio::test]
async fn a_guarded_reqwest_client_refuses_denied_peers() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = Listener::start("127.0.0.1:0", OK).await;
    let port = server.address.port();
    let denying = guarded_client(policy(&["127.0.0.0/8", "::1/128"], &[]))
        .build()
        .expect("client");
    // A name: the resolver drops its addresses, nothing connects.
    let error = denying
        .get(format!("http://localhost:{port}/"))
        .send()
        .await
        .expect_err("denied name");
    assert!(error.is_connect(), "{error:?}");
    assert!(root_cause(&error).contains("'localhost'"), "{error:?}");
    assert_eq!(server.connections(), 0);
    // A literal: the peer is checked as soon as it is connected; no request is sent.
    let error = denying
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .expect_err("denied literal");
    assert!(
        root_cause(&error).contains("refused to connect to 127.0.0.1"),
        "{error:?}"
    );

    let allowing = guarded_client(Arc::new(NetworkPolicy::default()))
        .build()
        .expect("client");
    let answer = allowing
        .get(format!("http://localhost:{port}/"))
        .send()
        .await
        .expect("allowed");
    assert_eq!(answer.text().await.expect("body"), "ok");
}

#[tokio::test]
async fn redirects_to_denied_addresses_are_not_followed() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let to_metadata = Listener::start(
        "127.0.0.1:0",
        "HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    let client = guarded_client(Arc::new(NetworkPolicy::default()))
        .redirect(redirect_policy(Arc::new(NetworkPolicy::default()), 5))
        .build()
        .expect("client");
    let error = client
        .get(format!("http://127.0.0.1:{}/", to_metadata.address.port()))
        .send()
        .await
        .expect_err("redirect refused");
    assert!(error.is_redirect(), "{error:?}");
    assert!(root_cause(&error).contains("169.254.169.254"), "{error:?}");
}
