//! Streamable HTTP on `/{server}/mcp` for bridged servers: the gateway answers on the
//! shared connection's behalf.
//!
//! A client's `initialize` is answered with what the server said to the gateway, and its
//! `notifications/initialized` is absorbed. A request that asks for progress is answered
//! as an event stream, so that progress arrives as it happens; others as JSON. `GET`
//! opens a stream of the server's own notifications.

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::channel::{Events, is_undelivered};
use super::pool::{BridgePool, Running};
use super::{Action, classify};
use crate::error::GatewayError;
use crate::list_filter::ListFilter;
use crate::table::Target;

use crate::error::GATEWAY_ERROR;

/// One client request to a bridged server.
pub struct BridgedRequest<'a> {
    /// The HTTP method.
    pub method: &'a Method,
    /// The inspected body of a POST.
    pub body: Option<Bytes>,
    /// How long to wait for the server's answer.
    pub timeout: Duration,
    /// Tool lists in answers are cut down to these.
    pub filter: Option<&'a ListFilter>,
}

/// Serves one request to a bridged server.
pub async fn serve(
    pool: &BridgePool,
    target: &Target,
    request: BridgedRequest<'_>,
) -> Result<Response<Body>, GatewayError> {
    let BridgedRequest {
        method,
        body,
        timeout,
        filter,
    } = request;
    if *method == Method::DELETE {
        return Ok(status_only(StatusCode::OK));
    }
    if *method == Method::GET {
        let running = pool.running(target).await?;
        return Ok(notification_stream(&running, filter.is_some()));
    }
    let Some(body) = body.filter(|_| *method == Method::POST) else {
        return Err(GatewayError::NotHere(format!(
            "{method} is not an MCP method on /{}/mcp (use POST, GET or DELETE)",
            target.path
        )));
    };
    // The body was validated by inspection already; this parse cannot fail in practice.
    let value: Value = serde_json::from_slice(&body)
        .map_err(|error| GatewayError::ClientBody(error.to_string()))?;
    let batch = value.is_array();
    let messages = match value {
        Value::Array(items) => items,
        single => vec![single],
    };
    let running = pool.running(target).await?;

    let streams_progress = |message: &Value| {
        message.pointer("/params/_meta/progressToken").is_some()
            && message.get("method").and_then(Value::as_str) != Some("initialize")
    };
    let mut actions: Vec<Action> = messages
        .into_iter()
        .map(|message| classify(message, &running))
        .collect();
    if let [Action::Request(single)] = actions.as_mut_slice()
        && !batch
        && streams_progress(single)
    {
        let events = running.channel().request(single.take()).await?;
        return Ok(event_stream(events, filter.cloned()));
    }

    // Requests go out together, so a batch takes as long as its slowest call, not the sum.
    let mut session = None;
    let mut planned = Vec::new();
    let mut requests = Vec::new();
    for action in actions {
        match action {
            Action::Replay(reply) => {
                session = Some(crate::ids::random_hex());
                planned.push(Some(reply));
            }
            Action::Absorb => {}
            Action::Request(message) => {
                planned.push(None);
                requests.push(message);
            }
            Action::Notify(message) => {
                if let Err(error) = running.channel().notify(&message).await {
                    tracing::debug!(%error, "client notification not delivered");
                }
            }
        }
    }
    let calls = requests.into_iter().map(|message| {
        let id = message.get("id").cloned();
        let running = &running;
        async move {
            let result = answer(running, target, message, timeout).await;
            (id, result)
        }
    });
    let mut results = futures::future::join_all(calls).await.into_iter();
    let mut answers = Vec::with_capacity(planned.len());
    for slot in planned {
        match slot {
            Some(reply) => answers.push(reply),
            None => match results.next() {
                Some((_, Ok(response))) => answers.push(response),
                // A single request's failure is the whole answer: 502 or 504.
                Some((_, Err(error))) if !batch => return Err(error),
                Some((id, Err(error))) => answers.push(error_answer(id.as_ref(), &error)),
                None => {}
            },
        }
    }
    if answers.is_empty() {
        return Ok(status_only(StatusCode::ACCEPTED));
    }
    let mut body = if batch {
        Value::Array(answers)
    } else {
        answers.remove(0)
    };
    if let Some(filter) = filter {
        filter.message(&mut body);
    }
    let mut response = Response::new(Body::from(body.to_string()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(session) = session.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(crate::forward::MCP_SESSION_ID, session);
    }
    Ok(response)
}

/// Sends one request and waits for its response, skipping progress.
async fn answer(
    running: &Running,
    target: &Target,
    message: Value,
    timeout: Duration,
) -> Result<Value, GatewayError> {
    let events = running.channel().request(message).await?;
    let closed = || GatewayError::Upstream {
        server: target.path.clone(),
        reason: "it closed the connection before answering".into(),
    };
    match tokio::time::timeout(timeout, events.response()).await {
        // The channel answers what it can no longer deliver with an error of its own.
        Ok(Some(response)) if is_undelivered(&response) => Err(closed()),
        Ok(Some(response)) => Ok(response),
        Ok(None) => Err(closed()),
        Err(_) => Err(GatewayError::UpstreamTimeout {
            server: target.path.clone(),
            seconds: timeout.as_secs(),
        }),
    }
}

/// A failure as the JSON-RPC error answering `id`, so that the rest of a batch is still
/// answered.
pub(crate) fn error_answer(id: Option<&Value>, error: &GatewayError) -> Value {
    json!({"jsonrpc": "2.0", "id": id.cloned().unwrap_or(Value::Null),
        "error": {"code": GATEWAY_ERROR, "message": error.to_string()}})
}

/// An SSE response carrying progress notifications, then the response, as they come.
fn event_stream(events: Events, filter: Option<ListFilter>) -> Response<Body> {
    let stream = futures::stream::unfold((events, filter), |(mut events, filter)| async move {
        let mut event = events.next().await?;
        if let Some(filter) = &filter {
            filter.message(&mut event);
        }
        Some((
            Ok::<_, std::io::Error>(sse_message(&event)),
            (events, filter),
        ))
    });
    sse_response(Body::from_stream(stream))
}

/// The server's own notifications for as long as the connection lives.
fn notification_stream(running: &Running, restricted: bool) -> Response<Body> {
    sse_response(Body::from_stream(notifications(running, restricted)))
}

/// Notifications of a shared connection that come from what one client did and may
/// carry its data: log lines written while serving any client's call, and updates of
/// resources some client subscribed to. A caller who may not use every tool does not get
/// them (what it could learn from them is exactly what its policy hides).
const PER_CLIENT_NOTIFICATIONS: [&str; 2] =
    ["notifications/message", "notifications/resources/updated"];

/// The server's notifications as SSE events, until its connection closes; a listener
/// that fell behind skips what it missed and goes on. A `restricted` listener gets only
/// those that are about the server as a whole (list changes and the like).
pub(crate) fn notifications(
    running: &Running,
    restricted: bool,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + use<> {
    futures::stream::unfold(
        running.channel().notifications(),
        move |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(message) => {
                        let method = message.get("method").and_then(Value::as_str);
                        if restricted
                            && method.is_some_and(|m| PER_CLIENT_NOTIFICATIONS.contains(&m))
                        {
                            continue;
                        }
                        return Some((Ok(sse_message(&message)), receiver));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    )
}

/// One JSON-RPC message as an SSE `message` event.
pub(crate) fn sse_message(message: &Value) -> Bytes {
    Bytes::from(format!("event: message\ndata: {message}\n\n"))
}

/// A `200 text/event-stream` response.
pub(crate) fn sse_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response
}

fn status_only(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}
