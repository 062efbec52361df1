//! Connection-level limits, driven over raw TCP the way a slow or hostile client arrives:
//! a request head trickled in (slowloris) is cut off, an oversized head gets `431`, and a
//! connection past the cap gets `503` with `Retry-After` while those already open keep
//! working; each is counted in `mcpgw_limit_rejections_total`.

mod common;

use std::time::Duration;

use common::Launch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A gateway with `config` as its config file.
async fn gateway_with(dir: &std::path::Path, config: &str) -> common::Gateway {
    Launch::quiet(dir).config(config).start().await
}

/// The `host:port` of the gateway.
fn address(gw: &common::Gateway) -> String {
    gw.url.trim_start_matches("http://").to_owned()
}

/// Reads what the server sends until it closes the connection; `None` if it is still
/// open after `limit` (a liveness bound, far above the configured timeouts).
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(count) => received.extend_from_slice(&buffer[..count]),
            }
        }
    })
    .await;
    read.ok().map(|()| received)
}

/// The value of `limit`'s rejection counter in the gateway's metrics.
async fn rejections(gw: &common::Gateway, limit: &str) -> f64 {
    let series = format!("mcpgw_limit_rejections_total{{limit=\"{limit}\"}}");
    common::sample(&gw.metrics_text().await, &series)
}

#[tokio::test]
async fn a_client_trickling_its_request_head_is_cut_off_and_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway_with(dir.path(), "[server]\nheader_read_timeout_secs = 1\n").await;
    let mut slow = TcpStream::connect(address(&gw)).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    // One more header line now and then, never the end of the head.
    let trickle = async {
        for index in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow
                .write_all(format!("X-Slow-{index}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    };
    // Others are served meanwhile.
    let others = async {
        for _ in 0..5 {
            let reply = gw.api("GET", "/health", None).await;
            assert_eq!(reply.status, 200);
        }
    };
    tokio::join!(trickle, others);
    let answer = read_until_closed(&mut slow, Duration::from_secs(20)).await;
    let answer = answer.expect("the gateway never closed the slow connection");
    // hyper closes without an answer, or with 408: either way no request was served.
    let text = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    assert!(rejections(&gw, "header_read_timeout").await >= 1.0);

    // A client that connects and sends nothing, or only the start of the HTTP/2
    // preface, is closed too (the protocol is told by the first bytes).
    for opening in [&b""[..], &b"PRI * HTTP/2.0\r\n"[..]] {
        let mut silent = TcpStream::connect(address(&gw)).await.unwrap();
        silent.write_all(opening).await.unwrap();
        let answer = read_until_closed(&mut silent, Duration::from_secs(20)).await;
        assert!(
            answer.is_some(),
            "a connection that sent {opening:?} stayed open"
        );
    }

    // An idle keep-alive connection is closed the same way.
    let mut idle = TcpStream::connect(address(&gw)).await.unwrap();
    idle.write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(20))
        .await
        .expect("an idle connection stayed open");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway_with(dir.path(), "[server]\nmax_header_bytes = 16384\n").await;
    let mut client = TcpStream::connect(address(&gw)).await.unwrap();
    let big = "a".repeat(64 * 1024);
    let request = format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {big}\r\n\r\n");
    // The gateway may answer and close before it has read all of it.
    let _ = client.write_all(request.as_bytes()).await;
    let answer = read_until_closed(&mut client, Duration::from_secs(20))
        .await
        .expect("the connection stayed open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 431"), "{text}");
    assert!(rejections(&gw, "header_size").await >= 1.0);
    // A head under the limit is served.
    let reply = gw
        .request("GET", "/health")
        .header("x-fine", "b".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
}

#[tokio::test]
async fn connections_past_the_cap_are_told_to_retry_and_open_ones_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway_with(dir.path(), "[server]\nmax_connections = 3\n").await;
    // Three keep-alive connections, each proven open with a request.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(address(&gw)).await.unwrap();
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 1024];
        let count = stream.read(&mut buffer).await.unwrap();
        assert!(buffer[..count].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    let mut extra = TcpStream::connect(address(&gw)).await.unwrap();
    let answer = read_until_closed(&mut extra, Duration::from_secs(20))
        .await
        .expect("the connection over the cap stayed open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("retry-after: 1"), "{text}");
    assert!(text.contains("too_many_connections"), "{text}");
    // The open ones still work.
    held[0]
        .write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let count = held[0].read(&mut buffer).await.unwrap();
    assert!(buffer[..count].starts_with(b"HTTP/1.1 200"));
    // One closed: a new connection gets in (the gateway notices the close a moment later).
    held.pop();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut stream = TcpStream::connect(address(&gw)).await.unwrap();
        stream
            .write_all(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream, Duration::from_secs(20))
            .await
            .unwrap();
        if answer.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no place came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The metrics request needs a place too: give one back first.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(rejections(&gw, "connections").await >= 1.0);
}

#[tokio::test]
async fn a_client_trickling_its_body_gets_408() {
    let dir = tempfile::tempdir().unwrap();
    let gw = gateway_with(dir.path(), "[gateway]\nbody_read_timeout_secs = 1\n").await;
    let mut slow = TcpStream::connect(address(&gw)).await.unwrap();
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: 200\r\n\r\n{{\"jsonrpc\":",
        common::TOKEN
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let (mut reader, mut writer) = slow.into_split();
    let trickle = async {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    };
    let answer = async {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(20), reader.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return received,
                Ok(Ok(count)) => received.extend_from_slice(&buffer[..count]),
            }
            if String::from_utf8_lossy(&received).contains("}}") {
                return received;
            }
        }
    };
    let (_, answer) = tokio::join!(trickle, answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(
        text.contains("the request body did not arrive within 1s"),
        "{text}"
    );
    assert!(rejections(&gw, "body_read_timeout").await >= 1.0);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_but_not_while_a_request_is_in_flight() {
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::{Bytes, Frame};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let dir = tempfile::tempdir().unwrap();
    let gw = gateway_with(dir.path(), "[server]\nheader_read_timeout_secs = 1\n").await;
    let tcp = TcpStream::connect(address(&gw)).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    let mut connection = tokio::spawn(connection);

    // A request whose body is still arriving is in flight: the connection is not idle,
    // however long past the timeout that lasts.
    let (chunks, body) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
    let body = StreamBody::new(tokio_stream_from(body));
    let request = http::Request::post(format!("{}/mcp", gw.url))
        .header("authorization", format!("Bearer {}", common::TOKEN))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body)
        .unwrap();
    let slow = sender.send_request(request);
    let slow = tokio::spawn(slow);
    chunks
        .send(Ok(Frame::data(Bytes::from_static(
            b"{\"jsonrpc\":\"2.0\",",
        ))))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!connection.is_finished(), "closed with a request in flight");
    // One connection sends one body type: an empty body is a channel already closed.
    let livez = http::Request::get(format!("{}/livez", gw.url))
        .body(StreamBody::new(tokio_stream_from(
            tokio::sync::mpsc::channel(1).1,
        )))
        .unwrap();
    let answer = sender
        .send_request(livez)
        .await
        .expect("the busy connection takes another request");
    assert_eq!(answer.status(), 200);
    chunks
        .send(Ok(Frame::data(Bytes::from_static(
            b"\"id\":1,\"method\":\"ping\"}",
        ))))
        .await
        .unwrap();
    drop(chunks);
    let answer = slow.await.unwrap().expect("the slow request is answered");
    let status = answer.status();
    let text = answer.into_body().collect().await.unwrap().to_bytes();
    assert_ne!(status, 408, "{}", String::from_utf8_lossy(&text));

    // With nothing in flight, the gateway closes it (GOAWAY); a liveness bound far above
    // the configured second.
    let closed = tokio::time::timeout(Duration::from_secs(20), &mut connection).await;
    assert!(
        matches!(closed, Ok(Ok(Ok(())))),
        "an idle HTTP/2 connection stayed open or broke: {closed:?}"
    );
    assert!(rejections(&gw, "h2_idle").await >= 1.0);
}

/// A body stream from a channel's receiving end.
fn tokio_stream_from<T: Send + 'static>(
    mut receiver: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |context| receiver.poll_recv(context))
}
