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

/// What a [`Watched`] server saw: the `notifications/cancelled` params it received, and
/// how each tool call it ran ended.
#[derive(Clone, Default)]
struct Seen {
    cancelled: Arc<std::sync::Mutex<Vec<Value>>>,
    finished: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Seen {
    fn cancelled(&self) -> Vec<Value> {
        self.cancelled.lock().expect("lock").clone()
    }

    fn finished(&self) -> Vec<String> {
        self.finished.lock().expect("lock").clone()
    }

    /// Polls (bounded by [`TIMEOUT`]) until `done` holds.
    async fn wait_for(&self, what: &str, done: impl Fn(&Self) -> bool) {
        let waited = tokio::time::timeout(TIMEOUT, async {
            while !done(self) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "{what}: cancelled {:?}, finished {:?}",
            self.cancelled(),
            self.finished()
        );
    }
}

/// The real toolbox, plus a record of the cancellations it receives and of how its tool
/// calls end (the toolbox itself shows neither once the caller is gone).
#[derive(Clone)]
struct Watched {
    toolbox: mcpgw_example_servers::Toolbox,
    seen: Seen,
}

impl rmcp::ServerHandler for Watched {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        self.toolbox.get_info()
    }

    async fn call_tool(
        &self,
        request: rmcp::model::CallToolRequestParams,
        context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        let outcome = self.toolbox.call_tool(request, context).await;
        self.seen
            .finished
            .lock()
            .expect("lock")
            .push(format!("{outcome:?}"));
        outcome
    }

    async fn on_cancelled(
        &self,
        notification: rmcp::model::CancelledNotificationParam,
        _context: rmcp::service::NotificationContext<rmcp::RoleServer>,
    ) {
        let params = serde_json::to_value(notification).expect("params");
        self.seen.cancelled.lock().expect("lock").push(params);
    }
}

/// Serves a [`Watched`] toolbox on 127.0.0.1 in the mode [`serve_http`] uses; returns its
/// URL, what it sees, and the token that stops it.
async fn watched_server(stateful: bool) -> (Url, Seen, CancellationToken) {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

    let seen = Seen::default();
    let handler = Watched {
        toolbox: mcpgw_example_servers::Toolbox::new(),
        seen: seen.clone(),
    };
    let shutdown = CancellationToken::new();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(stateful)
        .with_json_response(!stateful)
        .with_cancellation_token(shutdown.child_token());
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().route_service(MCP_PATH, service);
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let stop = shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await
    });
    let url = Url::parse(&format!("http://{addr}{MCP_PATH}")).expect("url");
    (url, seen, shutdown)
}

/// Starts a long `countdown` with progress and drops the call once the first progress
/// notification arrived, as the gateway does when its client goes away.
async fn drop_countdown_after_first_progress(session: &HttpSession) {
    let (notes, mut progress) = tokio::sync::mpsc::unbounded_channel();
    let mut on_note = move |note: Value| {
        let _ = notes.send(note);
    };
    // 100 steps of 1 s: far longer than any wait below, so a finished countdown means
    // it was cancelled.
    let params = json!({
        "name": "countdown",
        "arguments": { "steps": 100, "delay_ms": 1000 },
        "_meta": { "progressToken": "p-drop" },
    });
    let call = session.request("tools/call", params, &mut on_note);
    tokio::select! {
        outcome = call => panic!("the countdown ended before it was dropped: {outcome:?}"),
        note = progress.recv() => {
            let note = note.expect("a notification");
            assert_eq!(note["method"], "notifications/progress", "{note}");
        }
    }
}

#[tokio::test]
async fn a_dropped_stateful_call_is_cancelled_upstream() {
    let (url, seen, shutdown) = watched_server(true).await;
    let session = session_to(url, None);
    drop_countdown_after_first_progress(&session).await;
    // `initialize` took id 1, the countdown id 2.
    assert_eq!(session.next_id.load(Ordering::Relaxed), 3);

    seen.wait_for("the server received the cancellation", |seen| {
        !seen.cancelled().is_empty()
    })
    .await;
    assert_eq!(
        seen.cancelled(),
        vec![json!({ "requestId": 2, "reason": "the gateway's client went away" })]
    );
    seen.wait_for("the countdown stopped", |seen| !seen.finished().is_empty())
        .await;
    let finished = seen.finished();
    assert!(
        finished[0].contains("countdown cancelled at step"),
        "{finished:?}"
    );

    // The session stays usable, and an answered call sends no cancellation.
    assert_eq!(echo(&session, "still here").await, Ok("still here".into()));
    assert_eq!(seen.cancelled().len(), 1);
    shutdown.cancel();
}

#[tokio::test]
async fn a_dropped_stateless_call_is_cancelled_by_closing_its_stream() {
    let (url, seen, shutdown) = watched_server(false).await;
    let session = session_to(url, Some(Era::Stateless));
    drop_countdown_after_first_progress(&session).await;
    // 2026-07-28: closing the stream is the cancellation; the server stops the tool
    // without any `notifications/cancelled`.
    seen.wait_for("the countdown stopped", |seen| !seen.finished().is_empty())
        .await;
    let finished = seen.finished();
    assert!(
        finished[0].contains("countdown cancelled at step"),
        "{finished:?}"
    );
    assert_eq!(echo(&session, "still here").await, Ok("still here".into()));
    assert_eq!(seen.cancelled(), Vec::<Value>::new());
    shutdown.cancel();
}
