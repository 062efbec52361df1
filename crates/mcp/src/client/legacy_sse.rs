//! Client channel for the deprecated 2024-11-05 HTTP+SSE transport.
//!
//! The client opens a `GET` event stream; the server's first `endpoint` event names the URL
//! to POST messages to; responses come back as `message` events on the stream.

use futures::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use super::handshake::{self, RpcChannel};
use super::http::{header_map, status_error};
use super::response::is_message;
use super::{ProbeError, ProbeOptions, ProbeReport};
use crate::jsonrpc::{self, RpcError};
use crate::sse::SseDecoder;
use crate::version::{self, Era};

/// Messages buffered between the stream reader and the caller.
const CHANNEL_CAPACITY: usize = 64;

/// An open legacy SSE connection.
struct LegacyChannel<'a> {
    options: &'a ProbeOptions,
    post_url: Url,
    headers: reqwest::header::HeaderMap,
    messages: mpsc::Receiver<Result<Value, ProbeError>>,
    reader: JoinHandle<()>,
    next_id: u64,
}

impl Drop for LegacyChannel<'_> {
    fn drop(&mut self) {
        // Closing the stream is how a legacy client ends its session.
        self.reader.abort();
    }
}

impl<'a> LegacyChannel<'a> {
    async fn connect(
        url: &Url,
        headers: &[(String, String)],
        options: &'a ProbeOptions,
    ) -> Result<LegacyChannel<'a>, ProbeError> {
        let headers = header_map(headers)?;
        let response = options
            .http
            .get(url.clone())
            .headers(headers.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|error| ProbeError::from_transport(&error))?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        let content_type = super::http::content_type(&response);
        if !content_type.starts_with("text/event-stream") {
            return Err(ProbeError::Protocol(format!(
                "SSE endpoint answered with content type {content_type:?}"
            )));
        }

        let mut stream = response.bytes_stream();
        let mut decoder = SseDecoder::new();
        let mut early = Vec::new();
        let post_url = 'found: loop {
            let Some(chunk) = stream.next().await else {
                return Err(ProbeError::Protocol(
                    "SSE stream ended before the endpoint event".into(),
                ));
            };
            let chunk = chunk.map_err(|error| ProbeError::from_transport(&error))?;
            let events = decoder
                .feed(&chunk)
                .map_err(|error| ProbeError::Protocol(error.to_string()))?;
            let mut events = events.into_iter();
            while let Some(event) = events.next() {
                if event.kind() == "endpoint" {
                    early.extend(events);
                    break 'found resolve_endpoint(url, event.data.trim())?;
                }
            }
        };

        let (sender, messages) = mpsc::channel(CHANNEL_CAPACITY);
        let reader = tokio::spawn(async move {
            let forward =
                |event: crate::sse::SseEvent| {
                    if !is_message(&event) {
                        return None;
                    }
                    Some(serde_json::from_str::<Value>(&event.data).map_err(|_| {
                        ProbeError::Protocol("invalid JSON in SSE message event".into())
                    }))
                };
            for event in early {
                if let Some(message) = forward(event)
                    && sender.send(message).await.is_err()
                {
                    return;
                }
            }
            while let Some(chunk) = stream.next().await {
                let events = match chunk {
                    Ok(chunk) => match decoder.feed(&chunk) {
                        Ok(events) => events,
                        Err(error) => {
                            let _ = sender
                                .send(Err(ProbeError::Protocol(error.to_string())))
                                .await;
                            return;
                        }
                    },
                    Err(error) => {
                        let _ = sender.send(Err(ProbeError::from_transport(&error))).await;
                        return;
                    }
                };
                for event in events {
                    if let Some(message) = forward(event)
                        && sender.send(message).await.is_err()
                    {
                        return;
                    }
                }
            }
        });

        Ok(LegacyChannel {
            options,
            post_url,
            headers,
            messages,
            reader,
            next_id: 1,
        })
    }

    async fn post(&self, body: &Value) -> Result<(), ProbeError> {
        let response = self
            .options
            .http
            .post(self.post_url.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .json(body)
            .send()
            .await
            .map_err(|error| ProbeError::from_transport(&error))?;
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        Ok(())
    }
}

/// Resolves the `endpoint` event's URI against the stream URL; it must stay on the same
/// origin, or a hostile server could make the gateway POST anywhere.
pub fn resolve_endpoint(stream_url: &Url, endpoint: &str) -> Result<Url, ProbeError> {
    let resolved = stream_url
        .join(endpoint)
        .map_err(|_| ProbeError::Protocol(format!("invalid endpoint event URI {endpoint:?}")))?;
    if resolved.origin() != stream_url.origin() {
        return Err(ProbeError::Protocol(format!(
            "endpoint event points to another origin: {resolved}"
        )));
    }
    Ok(resolved)
}

impl RpcChannel for LegacyChannel<'_> {
    async fn call(
        &mut self,
        method: &str,
        params: Value,
    ) -> Result<Result<Value, RpcError>, ProbeError> {
        let id = self.next_id;
        self.next_id += 1;
        self.post(&jsonrpc::request(id, method, params)).await?;
        while let Some(message) = self.messages.recv().await {
            if let Some(outcome) = jsonrpc::find_response(&message?, id) {
                return Ok(outcome);
            }
        }
        Err(ProbeError::Protocol(format!(
            "SSE stream closed before the response to request {id}"
        )))
    }

    async fn notify(&mut self, method: &str, params: Value) -> Result<(), ProbeError> {
        self.post(&jsonrpc::notification(method, params)).await
    }
}

/// Probes a legacy HTTP+SSE server: open the stream, `initialize`, list tools, close.
pub(crate) async fn probe_legacy(
    url: &Url,
    headers: &[(String, String)],
    options: &ProbeOptions,
) -> Result<ProbeReport, ProbeError> {
    let mut channel = LegacyChannel::connect(url, headers, options).await?;
    let mut report =
        handshake::initialize(&mut channel, options, Era::LegacySse, version::LEGACY_SSE).await?;
    report.tools = handshake::list_tools(&mut channel, None).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_must_stay_on_the_same_origin() {
        let stream = Url::parse("http://127.0.0.1:9000/sse").unwrap();
        let same = resolve_endpoint(&stream, "/messages?session=1").unwrap();
        assert_eq!(same.as_str(), "http://127.0.0.1:9000/messages?session=1");
        assert!(resolve_endpoint(&stream, "http://169.254.169.254/latest").is_err());
    }
}
