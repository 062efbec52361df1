//! A legacy (2024-11-05) HTTP+SSE server as a [`Channel`]: the gateway holds one open
//! event stream to it, reads its messages from that stream and posts its own to the
//! announced message endpoint. This lets Streamable HTTP clients use SSE-only servers.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::BodyExt;
use mcpgw_mcp::sse::{SseDecoder, SseEvent};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::BridgeError;
use super::channel::{Channel, Failer, Inbound, WRITE_QUEUE};
use crate::upstream::UpstreamClient;

/// Most bytes of a message POST's answer that are read (and thrown away).
const MAX_ACK_BYTES: usize = 64 * 1024;

/// An open session with a legacy SSE server.
pub struct SseSession {
    channel: Channel,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for SseSession {
    fn drop(&mut self) {
        // Aborting the reader drops the response body, which closes the upstream stream.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Where and how to reach the server.
pub struct SseUpstream<'a> {
    /// The registered server's path, for errors and logs.
    pub server: &'a str,
    /// The server's SSE URL.
    pub uri: &'a Uri,
    /// Headers configured for the server (its credentials, for example).
    pub headers: &'a HeaderMap,
    /// The gateway's pooled client.
    pub client: &'a UpstreamClient,
    /// How long opening the stream and the first `endpoint` event may take.
    pub timeout: Duration,
}

impl SseSession {
    /// Opens the server's event stream and waits for its `endpoint` event.
    pub async fn open(upstream: SseUpstream<'_>) -> Result<SseSession, BridgeError> {
        let server = upstream.server.to_owned();
        let fail = |reason: String| BridgeError::Start {
            server: server.clone(),
            reason,
        };
        let mut request = Request::new(Body::empty());
        *request.uri_mut() = upstream.uri.clone();
        configure(request.headers_mut(), upstream.headers);
        request
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        let opened = tokio::time::timeout(upstream.timeout, async {
            let response = upstream
                .client
                .request(request)
                .await
                .map_err(|error| fail(crate::handler::describe(&error)))?;
            if !crate::forward::is_event_stream(&response) {
                return Err(fail(format!(
                    "its SSE endpoint answered {} without an event stream",
                    response.status()
                )));
            }
            let mut body = response.into_body();
            let mut decoder = SseDecoder::new();
            loop {
                let events = next_events(&mut body, &mut decoder)
                    .await
                    .map_err(|reason| fail(reason.to_owned()))?;
                if let Some(event) = events.iter().find(|event| event.kind() == "endpoint") {
                    let endpoint = resolve(upstream.uri, event.data.trim()).map_err(fail)?;
                    return Ok((endpoint, body, decoder));
                }
            }
        })
        .await
        .map_err(|_| fail(format!("no endpoint event within {:?}", upstream.timeout)))?;
        let (endpoint, body, decoder) = opened?;

        let (outbound, queue) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        let (channel, inbound) = Channel::new(&server, outbound);
        let poster = Poster {
            client: upstream.client.clone(),
            endpoint,
            headers: upstream.headers.clone(),
            timeout: upstream.timeout,
            failer: inbound.failer(),
        };
        let reader = tokio::spawn(read_loop(server, body, decoder, inbound));
        let writer = tokio::spawn(poster.run(queue));
        Ok(SseSession {
            channel,
            tasks: vec![reader, writer],
        })
    }

    /// The session's messages.
    pub fn channel(&self) -> &Channel {
        &self.channel
    }
}

/// Adds the configured headers to a request to the server.
fn configure(headers: &mut HeaderMap, configured: &HeaderMap) {
    for (name, value) in configured {
        headers.insert(name.clone(), value.clone());
    }
}

/// The endpoint event's URI, resolved against the stream URL and kept on its origin.
fn resolve(stream: &Uri, endpoint: &str) -> Result<Uri, String> {
    let base = url::Url::parse(&stream.to_string()).map_err(|error| error.to_string())?;
    let resolved =
        mcpgw_mcp::client::resolve_endpoint(&base, endpoint).map_err(|error| error.to_string())?;
    resolved
        .as_str()
        .parse()
        .map_err(|_| format!("unusable endpoint {endpoint:?}"))
}

/// Reads frames until at least one event is complete.
async fn next_events(
    body: &mut hyper::body::Incoming,
    decoder: &mut SseDecoder,
) -> Result<Vec<SseEvent>, &'static str> {
    loop {
        let Some(frame) = body.frame().await else {
            return Err("the event stream ended");
        };
        let frame = frame.map_err(|_| "the event stream broke")?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let events = decoder
            .feed(&data)
            .map_err(|_| "the event stream sent an oversized event")?;
        if !events.is_empty() {
            return Ok(events);
        }
    }
}

/// Delivers the server's `message` events to the channel until the stream ends.
async fn read_loop(
    server: String,
    mut body: hyper::body::Incoming,
    mut decoder: SseDecoder,
    inbound: Inbound,
) {
    loop {
        let events = match next_events(&mut body, &mut decoder).await {
            Ok(events) => events,
            Err(reason) => {
                tracing::warn!(%server, reason, "legacy SSE session with the server ended");
                return;
            }
        };
        for event in events.into_iter().filter(|event| event.kind() == "message") {
            match serde_json::from_str::<Value>(&event.data) {
                Ok(Value::Array(batch)) => batch.into_iter().for_each(|m| inbound.deliver(m)),
                Ok(message) => inbound.deliver(message),
                Err(_) => tracing::debug!(%server, "ignoring a non-JSON SSE message"),
            }
        }
    }
}

/// Why a message POST failed.
enum Rejection {
    /// The server does not know the session any more (404).
    SessionGone,
    /// Anything else: this message is lost, the session may still work.
    Failed(String),
}

impl Rejection {
    fn reason(&self) -> String {
        match self {
            Rejection::SessionGone => "the server no longer knows this session".into(),
            Rejection::Failed(reason) => reason.clone(),
        }
    }
}

/// Posts the gateway's messages to the server's message endpoint, one at a time, in order.
struct Poster {
    client: UpstreamClient,
    endpoint: Uri,
    headers: HeaderMap,
    timeout: Duration,
    failer: Failer,
}

impl Poster {
    async fn run(self, mut queue: mpsc::Receiver<Vec<u8>>) {
        while let Some(message) = queue.recv().await {
            if let Err(rejection) = self.post(message.clone()).await {
                let reason = rejection.reason();
                tracing::warn!(endpoint = %self.endpoint, %reason, "message not delivered");
                self.failer.fail_message(
                    &message,
                    &format!("the server refused the message: {reason}"),
                );
                if let Rejection::SessionGone = rejection {
                    // The server forgot this session (it restarted behind a proxy that kept
                    // the stream, say): a new one is opened on the next request.
                    self.failer.close();
                    return;
                }
            }
        }
    }

    async fn post(&self, message: Vec<u8>) -> Result<(), Rejection> {
        let mut request = Request::new(Body::from(Bytes::from(message)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.endpoint.clone();
        configure(request.headers_mut(), &self.headers);
        request
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let response = tokio::time::timeout(self.timeout, self.client.request(request))
            .await
            .map_err(|_| Rejection::Failed(format!("no answer within {:?}", self.timeout)))?
            .map_err(|error| Rejection::Failed(crate::handler::describe(&error)))?;
        let status = response.status();
        // Drain the (small) acknowledgement so the pooled connection can be reused; a
        // server that sends more than an acknowledgement does not get it buffered.
        let acknowledgement = http_body_util::Limited::new(response.into_body(), MAX_ACK_BYTES);
        let _ = tokio::time::timeout(self.timeout, acknowledgement.collect()).await;
        match status {
            _ if status.is_success() => Ok(()),
            http::StatusCode::NOT_FOUND => Err(Rejection::SessionGone),
            _ => Err(Rejection::Failed(format!("HTTP {status}"))),
        }
    }
}
