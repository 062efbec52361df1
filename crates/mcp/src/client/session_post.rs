//! The HTTP side of [`HttpSession`]: the headers of each kind of POST, what a failed POST
//! means for a resend, answering server-to-client requests, and ending a session.

use reqwest::header::HeaderValue;
use serde_json::Value;

use super::{Established, HttpSession, PROTOCOL_VERSION, Route, SESSION_ID};
use crate::client::ProbeError;
use crate::client::http::{CLOSE_TIMEOUT, status_error};
use crate::client::session_wire::{Failure, answer_to_server_request};
use crate::version;

impl HttpSession {
    /// Routes a message that is not the awaited response: notifications to the caller,
    /// server-to-client requests answered (in the background, so the stream keeps being
    /// read), responses to other ids ignored.
    pub(super) fn on_other(
        &self,
        message: Value,
        route: &Route<'_>,
        on_notification: &mut (dyn FnMut(Value) + Send),
    ) {
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            return;
        };
        let Some(id) = message.get("id") else {
            on_notification(message);
            return;
        };
        let answer = answer_to_server_request(id.clone(), method);
        let answer_route = match route {
            // A response is not a request: it carries no Mcp-Method / Mcp-Name.
            Route::Stateless { .. } => Route::Stateless {
                method: "",
                name: None,
            },
            Route::Handshake => Route::Handshake,
            Route::Session(session) => Route::Session(session),
        };
        if let Ok(request) = self.builder(&answer, &answer_route) {
            let timeout = self.probe.timeout;
            tokio::spawn(async move {
                let _ = tokio::time::timeout(timeout, request.send()).await;
            });
        }
    }

    /// A POST of `body` with the headers `route` calls for.
    pub(super) fn builder(
        &self,
        body: &Value,
        route: &Route<'_>,
    ) -> Result<reqwest::RequestBuilder, ProbeError> {
        let mut request =
            crate::client::http::mcp_post(&self.probe.http, &self.url, &self.headers, body);
        for (name, value) in trace_headers(body) {
            request = request.header(name, value);
        }
        match route {
            Route::Stateless { method, name } => {
                request = request.header(PROTOCOL_VERSION, version::STATELESS_2026);
                if !method.is_empty() {
                    request = request.header("mcp-method", header_value(method)?);
                }
                if let Some(name) = name {
                    request = request.header("mcp-name", header_value(name)?);
                }
            }
            Route::Handshake => {}
            Route::Session(session) => {
                if let Some(id) = &session.id {
                    request = request.header(SESSION_ID, id.clone());
                }
                request = request.header(PROTOCOL_VERSION, session.version.clone());
            }
        }
        Ok(request)
    }

    /// POSTs `body`; a success status gives the response, anything else a [`Failure`]
    /// that says whether a resend is safe.
    pub(super) async fn post(
        &self,
        body: &Value,
        route: &Route<'_>,
    ) -> Result<reqwest::Response, Failure> {
        let timeout = self.probe.timeout;
        let request = self.builder(body, route)?;
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return Err(Failure::stop(ProbeError::Timeout(timeout))),
            Ok(Err(error)) => {
                return Err(Failure {
                    // Not connected means not delivered.
                    retry: error.is_connect(),
                    error: ProbeError::from_transport(&error),
                });
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // 404 on a session is the spec's "session expired": the request was not handled.
        let expired = status == reqwest::StatusCode::NOT_FOUND
            && matches!(route, Route::Session(session) if session.id.is_some());
        let error = tokio::time::timeout(timeout, status_error(response))
            .await
            .unwrap_or(ProbeError::HttpStatus {
                status: status.as_u16(),
                detail: String::new(),
                rpc: None,
            });
        Err(Failure {
            error,
            retry: expired,
        })
    }

    /// The `DELETE` that ends `session`, if it has an id to end.
    pub(super) fn delete_request(&self, session: &Established) -> Option<reqwest::RequestBuilder> {
        let id = session.id.clone()?;
        Some(
            self.probe
                .http
                .delete(self.url.clone())
                .headers(self.headers.clone())
                .header(SESSION_ID, id)
                .header(PROTOCOL_VERSION, session.version.clone())
                .timeout(CLOSE_TIMEOUT),
        )
    }
}

fn header_value(value: &str) -> Result<HeaderValue, ProbeError> {
    HeaderValue::from_str(value)
        .map_err(|_| ProbeError::Config(format!("{value:?} cannot be sent in a header")))
}

/// The W3C trace context a message carries in `params._meta` (SEP-414), as the headers
/// that say the same: a server (or a proxy before it) that reads only one of the two sees
/// the same parent.
fn trace_headers(body: &Value) -> Vec<(&'static str, HeaderValue)> {
    let Some(meta) = body.pointer("/params/_meta").and_then(Value::as_object) else {
        return Vec::new();
    };
    ["traceparent", "tracestate", "baggage"]
        .into_iter()
        .filter_map(|name| {
            let value = meta.get(name)?.as_str()?;
            Some((name, HeaderValue::from_str(value).ok()?))
        })
        .collect()
}
