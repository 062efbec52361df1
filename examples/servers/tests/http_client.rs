//! Drives `serve_http` with rmcp's own Streamable HTTP client, in both lifecycles
//! (legacy `initialize` and 2026-07-28 `server/discover`) and both server modes.

mod common;

use common::{TIMEOUT, TestServer};
use mcpgw_example_servers::ExampleServer;
use rmcp::{
    ClientHandler, ClientLifecycleMode, ClientServiceExt as _, RoleClient,
    model::{CallToolRequestParams, CallToolResult, ProgressNotificationParam, ProtocolVersion},
    service::{NotificationContext, RunningService},
    transport::StreamableHttpClientTransport,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A client that forwards every progress notification to a channel.
struct ProgressRecorder(mpsc::UnboundedSender<ProgressNotificationParam>);

impl ClientHandler for ProgressRecorder {
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(params);
    }
}

type Client = RunningService<RoleClient, ProgressRecorder>;

async fn connect(
    url: &str,
    lifecycle: ClientLifecycleMode,
) -> (Client, mpsc::UnboundedReceiver<ProgressNotificationParam>) {
    common::install_crypto_provider();
    let (tx, rx) = mpsc::unbounded_channel();
    let transport = StreamableHttpClientTransport::from_uri(url.to_owned());
    let client = tokio::time::timeout(
        TIMEOUT,
        ProgressRecorder(tx).serve_with_lifecycle(transport, lifecycle),
    )
    .await
    .expect("connect timed out")
    .expect("connect failed");
    (client, rx)
}

async fn call(client: &Client, name: &'static str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object");
    };
    let params = CallToolRequestParams::new(name).with_arguments(arguments);
    tokio::time::timeout(TIMEOUT, client.peer().call_tool(params))
        .await
        .expect("call timed out")
        .expect("call failed")
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn lifecycles() -> [ClientLifecycleMode; 2] {
    [
        ClientLifecycleMode::Initialize,
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    ]
}

#[tokio::test]
async fn currenttime_with_rmcp_client() {
    for stateful in [true, false] {
        for lifecycle in lifecycles() {
            let server = TestServer::start(ExampleServer::CurrentTime, stateful).await;
            let (client, _progress) = connect(&server.url, lifecycle.clone()).await;
            let context = format!("stateful={stateful} lifecycle={lifecycle:?}");

            let tools = client.peer().list_all_tools().await.expect("tools/list");
            assert_eq!(tools.len(), 1, "{context}");
            assert_eq!(tools[0].name, "current_time_by_timezone", "{context}");
            assert!(
                tools[0].input_schema.contains_key("properties"),
                "{context}"
            );

            let tokyo = call(
                &client,
                "current_time_by_timezone",
                json!({"tz_name": "Asia/Tokyo"}),
            )
            .await;
            assert_ne!(tokyo.is_error, Some(true), "{context}");
            assert!(text(&tokyo).contains("Asia/Tokyo"), "{context}: {tokyo:?}");

            let unknown = call(
                &client,
                "current_time_by_timezone",
                json!({"tz_name": "No/Where"}),
            )
            .await;
            assert_eq!(unknown.is_error, Some(true), "{context}");
            assert!(text(&unknown).contains("No/Where"), "{context}");

            client.cancel().await.expect("client cancel");
            server.stop().await;
        }
    }
}

#[tokio::test]
async fn toolbox_progress_and_structured_output_with_rmcp_client() {
    for stateful in [true, false] {
        for lifecycle in lifecycles() {
            let server = TestServer::start(ExampleServer::Toolbox, stateful).await;
            let (client, mut progress) = connect(&server.url, lifecycle.clone()).await;
            let context = format!("stateful={stateful} lifecycle={lifecycle:?}");

            let tools = client.peer().list_all_tools().await.expect("tools/list");
            assert_eq!(tools.len(), 11, "{context}");

            let sum = call(&client, "add", json!({"a": 40, "b": 2})).await;
            let structured = sum.structured_content.clone().expect("structuredContent");
            assert_eq!(structured["sum"], 42.0, "{context}");

            // rmcp's client attaches a progressToken to every request.
            let done = call(&client, "countdown", json!({"steps": 3, "delay_ms": 5})).await;
            assert!(
                text(&done).contains("3 progress notifications sent"),
                "{context}"
            );
            for step in 1..=3 {
                let note = tokio::time::timeout(TIMEOUT, progress.recv())
                    .await
                    .expect("progress timed out")
                    .expect("progress channel closed");
                assert_eq!(note.progress, f64::from(step), "{context}");
                assert_eq!(note.total, Some(3.0), "{context}");
            }

            let uuid = text(&call(&client, "uuid", json!({})).await);
            assert_eq!(uuid.len(), 36, "{context}: {uuid}");
            assert_eq!(uuid.as_bytes()[14], b'4', "{context}: not a v4 uuid {uuid}");

            let n: i64 = text(&call(&client, "random_number", json!({"min": 5, "max": 7})).await)
                .parse()
                .expect("integer");
            assert!((5..=7).contains(&n), "{context}");
            let bad_range = call(&client, "random_number", json!({"min": 9, "max": 1})).await;
            assert_eq!(bad_range.is_error, Some(true), "{context}");

            let echo = call(&client, "echo", json!({"message": "hi there"})).await;
            assert_eq!(text(&echo), "hi there", "{context}");
            let reversed = call(&client, "reverse_text", json!({"text": "abc"})).await;
            assert_eq!(text(&reversed), "cba", "{context}");
            let encoded = call(&client, "base64_encode", json!({"text": "héllo"})).await;
            assert_eq!(text(&encoded), "aMOpbGxv", "{context}");
            let words = call(&client, "word_count", json!({"text": "one two\nthree"})).await;
            assert_eq!(words.structured_content.expect("structured")["words"], 3);
            let slept = call(&client, "sleep", json!({"ms": 1})).await;
            assert_eq!(text(&slept), "slept 1 ms", "{context}");

            client.cancel().await.expect("client cancel");
            server.stop().await;
        }
    }
}

/// A connected stateful client keeps a standalone SSE stream open; cancelling
/// `shutdown` must still end `serve_http` promptly (sessions are torn down), well
/// before its forced-stop grace period.
#[tokio::test]
async fn shutdown_with_open_session_is_prompt() {
    let server = TestServer::start(ExampleServer::Toolbox, true).await;
    let (client, _progress) = connect(&server.url, ClientLifecycleMode::Initialize).await;
    let echo = call(&client, "echo", json!({"message": "still here"})).await;
    assert_eq!(text(&echo), "still here");
    let started = std::time::Instant::now();
    server.stop().await;
    let elapsed = started.elapsed();
    assert!(
        elapsed < std::time::Duration::from_secs(4),
        "shutdown took {elapsed:?}"
    );
    drop(client);
}
