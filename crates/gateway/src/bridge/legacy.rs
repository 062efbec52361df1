//! The legacy HTTP+SSE transport on `/{server}/sse` for bridged (stdio) servers: the
//! gateway is the SSE server. `GET` opens the client's stream, whose first event names
//! `/{server}/messages?session=…`; the client's posts there go into the shared connection
//! and their answers, progress included, come back on the client's stream, together with
//! the server's own notifications.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use futures::StreamExt;
use http::{Method, Response, StatusCode};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};

use super::pool::Running;
use super::streamable::{error_answer, notifications, sse_message, sse_response};
use super::{Action, classify};
use crate::error::GatewayError;
use crate::handler::Gateway;
use crate::legacy::{GuardedBody, Session, SessionGuard, SessionRoute};
use crate::list_filter::ListFilter;
use crate::table::Target;

/// Messages buffered towards one client's stream before posting waits for it to read.
const CLIENT_QUEUE: usize = 64;
/// Requests one legacy client may have waiting at once.
const MAX_IN_FLIGHT: usize = 64;

/// One legacy client of a bridged server, as its session knows it.
#[derive(Debug, Clone)]
pub(crate) struct BridgedClient {
    /// Its event stream.
    stream: mpsc::Sender<Value>,
    /// Its requests in flight, bounded.
    inflight: Arc<Semaphore>,
}

/// `GET /{server}/sse`: starts the server if needed and opens the client's stream.
pub async fn open(
    gateway: &Gateway,
    target: &Target,
    method: &Method,
    filter: Option<ListFilter>,
    owner: &str,
) -> Result<Response<Body>, GatewayError> {
    if *method != Method::GET {
        return Err(GatewayError::NotHere(format!(
            "use GET on /{}/sse",
            target.path
        )));
    }
    let running = gateway.bridges().running(target).await?;
    let (sender, receiver) = mpsc::channel::<Value>(CLIENT_QUEUE);
    let sessions = gateway.legacy_sessions();
    let id = sessions.insert(Session {
        server: target.path.clone(),
        answers: sender.clone(),
        owner: owner.to_owned(),
        route: SessionRoute::Bridged(BridgedClient {
            stream: sender,
            inflight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }),
    });
    let endpoint = Bytes::from(format!(
        "event: endpoint\ndata: /{}/messages?session={id}\n\n",
        target.path
    ));
    let restricted = filter.is_some();
    let answers =
        futures::stream::unfold((receiver, filter), |(mut receiver, filter)| async move {
            let mut message = receiver.recv().await?;
            if let Some(filter) = &filter {
                filter.message(&mut message);
            }
            Some((Some(Ok(sse_message(&message))), (receiver, filter)))
        });
    // The server's notifications end when its connection closes; so does this stream,
    // which tells the client to reconnect (to a restarted server).
    let notes = notifications(&running, restricted)
        .map(Some)
        .chain(futures::stream::once(async { None }));
    let stream = futures::stream::once(async move { Ok(endpoint) }).chain(
        futures::stream::select(answers, notes)
            .take_while(|item| {
                let more = item.is_some();
                async move { more }
            })
            .filter_map(|item| async move { item }),
    );
    let body = GuardedBody::new(
        Body::from_stream(stream),
        SessionGuard::new(sessions.clone(), id),
    );
    Ok(sse_response(Body::new(body)))
}

/// `POST /{server}/messages?session=…` of a bridged session: each message goes into the
/// shared connection; answers go to the client's stream. Answers `202 Accepted`.
pub(crate) async fn post(
    gateway: &Gateway,
    target: &Target,
    client: BridgedClient,
    body: Bytes,
    timeout: Duration,
) -> Result<Response<Body>, GatewayError> {
    let running = gateway.bridges().running(target).await?;
    // The body was validated by inspection already; this parse cannot fail in practice.
    let messages = match serde_json::from_slice::<Value>(&body)
        .map_err(|error| GatewayError::ClientBody(error.to_string()))?
    {
        Value::Array(items) => items,
        single => vec![single],
    };
    for message in messages {
        match classify(message, &running) {
            Action::Replay(reply) => {
                // The client's stream is gone, or it has not read for a long time.
                if client.stream.send_timeout(reply, timeout).await.is_err() {
                    return Err(GatewayError::UnknownSession);
                }
            }
            Action::Absorb => {}
            Action::Request(message) => relay(&running, target, message, &client, timeout).await,
            Action::Notify(message) => running.channel().notify(&message).await?,
        }
    }
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::ACCEPTED;
    Ok(response)
}

/// Sends a request and relays its progress and response to the client's stream in the
/// background; gives up (and so cancels it upstream) when the client's stream closes, when
/// the client stops reading, or at the deadline.
async fn relay(
    running: &Running,
    target: &Target,
    message: Value,
    client: &BridgedClient,
    timeout: Duration,
) {
    let id = message.get("id").cloned();
    let stream = client.stream.clone();
    let Ok(permit) = Arc::clone(&client.inflight).try_acquire_owned() else {
        let error = GatewayError::NotHere(format!(
            "more than {MAX_IN_FLIGHT} requests in flight on this session"
        ));
        let _ = stream.try_send(error_answer(id.as_ref(), &error));
        return;
    };
    let mut events = match running.channel().request(message).await {
        Ok(events) => events,
        Err(error) => {
            let error = GatewayError::from(error);
            let _ = stream.try_send(error_answer(id.as_ref(), &error));
            return;
        }
    };
    let expired = error_answer(
        id.as_ref(),
        &GatewayError::UpstreamTimeout {
            server: target.path.clone(),
            seconds: timeout.as_secs(),
        },
    );
    tokio::spawn(async move {
        let _permit = permit;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                () = stream.closed() => return,
                () = tokio::time::sleep_until(deadline) => {
                    let _ = stream.try_send(expired);
                    return;
                }
            };
            let Some(event) = event else {
                return;
            };
            // A client that does not read its stream cannot hold this past the deadline.
            if !matches!(
                tokio::time::timeout_at(deadline, stream.send(event)).await,
                Ok(Ok(()))
            ) {
                return;
            }
        }
    });
}
