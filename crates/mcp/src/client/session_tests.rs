//! [`HttpSession`] against the real example servers (`toolbox`), stateless and stateful,
//! on 127.0.0.1. A child module of `session` so it can check the id counter and the
//! session it holds.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use mcpgw_example_servers::{ExampleServer, MCP_PATH, serve_http};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::client::http_client;

/// Upper bound for any single wait of the session (headers, stream silence).
const TIMEOUT: Duration = Duration::from_secs(20);

/// A toolbox server on 127.0.0.1, stopped by [`Server::stop`].
struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Starts on `addr` (port 0 for any free port).
    async fn start(stateful: bool, addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve_http(
            ExampleServer::Toolbox,
            listener,
            stateful,
            shutdown.clone(),
        ));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    async fn any_port(stateful: bool) -> Self {
        Self::start(stateful, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Stops the server and waits until its port no longer listens.
    async fn stop(self) {
        self.shutdown.cancel();
        let stopped = tokio::time::timeout(TIMEOUT, self.task).await;
        stopped.expect("server stops").expect("joins").expect("ok");
    }

    fn session(&self, era: Option<Era>) -> HttpSession {
        let url = Url::parse(&format!("http://{}{MCP_PATH}", self.addr)).expect("url");
        session_to(url, era)
    }
}

fn session_to(url: Url, era: Option<Era>) -> HttpSession {
    HttpSession::new(SessionOptions {
        http: http_client(TIMEOUT).expect("client"),
        url,
        headers: HeaderMap::new(),
        era,
        client_name: "mcpgw-test".into(),
        client_version: "0.0.0".into(),
        timeout: TIMEOUT,
    })
}

/// Calls `tool`; returns the outcome and the notifications seen before it.
async fn call(
    session: &HttpSession,
    tool: &str,
    arguments: Value,
    meta: Option<Value>,
) -> (Result<Result<Value, RpcError>, ProbeError>, Vec<Value>) {
    let mut params = json!({ "name": tool, "arguments": arguments });
    if let Some(meta) = meta {
        params["_meta"] = meta;
    }
    let mut notes = Vec::new();
    let outcome = session
        .request("tools/call", params, &mut |note| notes.push(note))
        .await;
    (outcome, notes)
}

/// The text of a successful tool result.
fn text(outcome: Result<Result<Value, RpcError>, ProbeError>) -> String {
    let result = outcome.expect("exchange").expect("result");
    assert_ne!(result["isError"], true, "{result}");
    result["content"][0]["text"]
        .as_str()
        .expect("text content")
        .to_owned()
}

async fn echo(session: &HttpSession, message: &str) -> Result<String, ProbeError> {
    let (outcome, _) = call(session, "echo", json!({ "message": message }), None).await;
    Ok(text(Ok(outcome?)))
}

async fn session_id(session: &HttpSession) -> Option<HeaderValue> {
    let current = session.session.lock().await;
    current.as_ref().and_then(|session| session.id.clone())
}

#[tokio::test]
async fn stateless_server_answers_without_a_session() {
    let server = Server::any_port(false).await;
    let session = server.session(Some(Era::Stateless));
    assert_eq!(session.era(), None);
    assert_eq!(echo(&session, "héllo").await, Ok("héllo".into()));
    assert_eq!(session.era(), Some(Era::Stateless));
    assert!(session.session.lock().await.is_none());
    session
        .notify("notifications/cancelled", json!({ "requestId": 999 }))
        .await
        .expect("notify");
    server.stop().await;
}

#[tokio::test]
async fn concurrent_calls_share_one_handshake() {
    let server = Server::any_port(true).await;
    let session = server.session(None);
    let calls = (0..5).map(|index| {
        let session = &session;
        async move { echo(session, &format!("call {index}")).await }
    });
    let answers = futures::future::join_all(calls).await;
    for (index, answer) in answers.into_iter().enumerate() {
        assert_eq!(answer, Ok(format!("call {index}")));
    }
    assert_eq!(session.era(), Some(Era::Stateful));
    // One id for `initialize`, one per call: a second handshake would have taken one more.
    assert_eq!(session.next_id.load(Ordering::Relaxed), 7);
    let first = session_id(&session).await;
    assert!(first.is_some(), "a stateful server issues a session id");
    assert_eq!(echo(&session, "again").await, Ok("again".into()));
    assert_eq!(session_id(&session).await, first);
    session.close().await;
    assert!(session.session.lock().await.is_none());
    server.stop().await;
}

#[tokio::test]
async fn progress_arrives_before_the_result_in_both_eras() {
    for (stateful, era) in [(true, None), (false, Some(Era::Stateless))] {
        let server = Server::any_port(stateful).await;
        let session = server.session(era);
        let (outcome, notes) = call(
            &session,
            "countdown",
            json!({ "steps": 3, "delay_ms": 5 }),
            Some(json!({ "progressToken": "p-1" })),
        )
        .await;
        assert_eq!(
            text(outcome),
            "countdown finished: 3 steps, 3 progress notifications sent"
        );
        let progress: Vec<_> = notes
            .iter()
            .filter(|note| note["method"] == "notifications/progress")
            .map(|note| {
                (
                    note["params"]["progressToken"].clone(),
                    note["params"]["progress"].clone(),
                )
            })
            .collect();
        assert_eq!(
            progress,
            vec![
                (json!("p-1"), json!(1.0)),
                (json!("p-1"), json!(2.0)),
                (json!("p-1"), json!(3.0))
            ],
            "stateful: {stateful}"
        );
        drop(session);
        server.stop().await;
    }
}

#[tokio::test]
async fn a_restarted_server_gets_a_new_session_transparently() {
    let server = Server::any_port(true).await;
    let addr = server.addr;
    let session = server.session(None);
    assert_eq!(echo(&session, "before").await, Ok("before".into()));
    let before = session_id(&session).await;
    server.stop().await;

    let server = Server::start(true, addr).await;
    assert_eq!(echo(&session, "after").await, Ok("after".into()));
    let after = session_id(&session).await;
    assert!(after.is_some());
    assert_ne!(after, before, "the lost session was replaced");
    server.stop().await;
}

#[tokio::test]
async fn a_server_that_stays_down_is_refused_after_one_retry() {
    let server = Server::any_port(true).await;
    let session = server.session(None);
    assert_eq!(echo(&session, "up").await, Ok("up".into()));
    server.stop().await;
    let ids_before = session.next_id.load(Ordering::Relaxed);
    assert_eq!(
        echo(&session, "down").await,
        Err(ProbeError::ConnectionRefused)
    );
    // The request was tried, then the handshake of the second attempt was refused.
    assert_eq!(session.next_id.load(Ordering::Relaxed), ids_before + 2);
    assert!(session.session.lock().await.is_none());

    // Never reached at all: stateless, the request is tried twice.
    let stateless = session_to(session.url.clone(), Some(Era::Stateless));
    assert_eq!(
        echo(&stateless, "down").await,
        Err(ProbeError::ConnectionRefused)
    );
    assert_eq!(stateless.next_id.load(Ordering::Relaxed), 3);
}

#[tokio::test]
async fn json_rpc_errors_come_back_as_the_servers_answer() {
    for (stateful, era) in [(true, None), (false, Some(Era::Stateless))] {
        let server = Server::any_port(stateful).await;
        let session = server.session(era);
        let outcome = session
            .request("no/such/method", json!({}), &mut |_| {})
            .await;
        let error = outcome.expect("exchange").expect_err("rpc error");
        assert_eq!(error.code, -32601, "stateful: {stateful}: {error:?}");

        let (outcome, _) = call(&session, "no_such_tool", json!({}), None).await;
        let error = outcome.expect("exchange").expect_err("rpc error");
        assert_eq!(error.code, -32602, "{error:?}");

        // A tool failure is a result, not a JSON-RPC error.
        let (outcome, _) = call(&session, "fail", json!({ "message": "boom" }), None).await;
        assert_eq!(outcome.expect("exchange").expect("result")["isError"], true);
        drop(session);
        server.stop().await;
    }
}
