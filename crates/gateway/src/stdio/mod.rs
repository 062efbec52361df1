//! stdio servers on `/{server}/mcp`: the gateway runs the process ([`pool`]), shares it
//! between clients ([`process`]), and answers Streamable HTTP on its behalf.
//!
//! The process is initialised once by the gateway; a client's `initialize` is answered
//! with what the server said then, and its `notifications/initialized` is absorbed. A
//! request that asks for progress is answered as an event stream, so that progress
//! arrives as it happens; others as JSON.

pub mod pool;
pub mod process;

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Response, StatusCode};
use rand::RngCore;
use serde_json::{Value, json};

use crate::error::GatewayError;
use crate::table::Target;
use pool::{Running, StdioPool};

/// Serves one request to a stdio server.
pub async fn serve(
    pool: &StdioPool,
    target: &Target,
    method: &Method,
    body: Option<Bytes>,
    timeout: Duration,
) -> Result<Response<Body>, GatewayError> {
    if *method == Method::DELETE {
        return Ok(status_only(StatusCode::OK));
    }
    let Some(body) = body.filter(|_| *method == Method::POST) else {
        return Err(GatewayError::NotHere(format!(
            "stdio server '{}' has no server-initiated stream through the gateway; use POST",
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
    let running = pool.running(target, timeout).await?;

    if let [single] = messages.as_slice()
        && !batch
        && single.pointer("/params/_meta/progressToken").is_some()
        && single.get("id").is_some()
    {
        let events = running
            .process
            .request(single.clone())
            .await
            .map_err(|reason| upstream(target, reason))?;
        return Ok(event_stream(events));
    }

    let mut answers = Vec::new();
    let mut session = None;
    for message in messages {
        let method = message
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match (method.as_deref(), message.get("id").cloned()) {
            (Some("initialize"), Some(id)) if running.initialize.is_some() => {
                answers.push(json!({"jsonrpc": "2.0", "id": id, "result": running.initialize}));
                session = Some(new_session_id());
            }
            (Some("notifications/initialized"), None) if running.initialize.is_some() => {}
            (Some(_), Some(_)) => answers.push(answer(&running, target, message, timeout).await?),
            (Some(_), None) => running
                .process
                .notify(&message)
                .await
                .map_err(|reason| upstream(target, reason))?,
            // A client's response to a server request: those are not forwarded yet.
            (None, _) => {}
        }
    }
    if answers.is_empty() {
        return Ok(status_only(StatusCode::ACCEPTED));
    }
    let body = if batch {
        Value::Array(answers)
    } else {
        answers.remove(0)
    };
    let mut response = Response::new(Body::from(body.to_string()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(session) = session.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert("mcp-session-id", session);
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
    let events = running
        .process
        .request(message)
        .await
        .map_err(|reason| upstream(target, reason))?;
    let waited = tokio::time::timeout(timeout, events.response()).await;
    match waited {
        Ok(Some(response)) => Ok(response),
        Ok(None) => Err(upstream(target, "the process exited".into())),
        Err(_) => Err(GatewayError::UpstreamTimeout {
            server: target.path.clone(),
            seconds: timeout.as_secs(),
        }),
    }
}

/// An SSE response carrying progress notifications, then the response, as they come.
fn event_stream(events: process::Events) -> Response<Body> {
    let stream = futures::stream::unfold(events, |mut events| async move {
        let event = events.next().await?;
        let frame = Bytes::from(format!("event: message\ndata: {event}\n\n"));
        Some((Ok::<_, std::io::Error>(frame), events))
    });
    let mut response = Response::new(Body::from_stream(stream));
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

fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn upstream(target: &Target, reason: String) -> GatewayError {
    GatewayError::Upstream {
        server: target.path.clone(),
        reason,
    }
}
