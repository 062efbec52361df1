//! The legacy 2024-11-05 HTTP+SSE transport for the aggregated server: `GET /sse` opens a
//! session whose first event names `/messages?session=…`; what the client posts there is
//! answered on its stream.
//!
//! Each session is one rmcp server instance of its own (the same handler as `/mcp`, with
//! the caller fixed when the stream opened), spoken to over an in-memory pipe in
//! newline-delimited JSON: rmcp does the protocol, this module only moves messages
//! between HTTP and the pipe. Closing the stream ends the instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Response, StatusCode, request::Parts};
use mcpgw_auth::Principal;
use rmcp::ServiceExt;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::server::AggregateServer;
use super::sessions::caller_key;
use super::{Aggregator, Surface, builtin};
use crate::error::GatewayError;
use crate::route::Endpoint;

/// Bytes buffered in each direction of a session's pipe.
const PIPE_BYTES: usize = 256 * 1024;
/// Messages from the client waiting to go into the pipe.
const INPUT_QUEUE: usize = 64;
/// Most legacy sessions open at once.
const MAX_SESSIONS: usize = 10_000;
/// Most legacy sessions one caller may hold open, so that nobody can take them all.
const MAX_PER_CALLER: usize = 100;
/// Longest wait for room in a session's input: a client that does not read its stream
/// holds up its own posts, not the gateway.
const INPUT_WAIT: Duration = Duration::from_secs(10);
/// A comment line on an idle stream, so proxies do not cut it.
const KEEPALIVE: Duration = Duration::from_secs(15);

struct Session {
    /// [`caller_key`] of whoever opened it: only the same caller, with the same rights,
    /// may post into it.
    caller: String,
    surface: Surface,
    input: mpsc::Sender<Vec<u8>>,
}

/// Open legacy sessions of the aggregated server.
pub(crate) struct LegacyEndpoint {
    core: Arc<Aggregator>,
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    shutdown: CancellationToken,
}

/// Forgets a session when its stream ends, however it ends.
struct Forget {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    id: String,
}

impl Drop for Forget {
    fn drop(&mut self) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(&self.id);
        }
    }
}

impl LegacyEndpoint {
    pub(crate) fn new(core: Arc<Aggregator>, shutdown: CancellationToken) -> Self {
        LegacyEndpoint {
            core,
            sessions: Arc::default(),
            shutdown,
        }
    }

    /// Serves `GET /sse` or `POST /messages` of `surface`.
    pub(crate) async fn serve(
        &self,
        surface: Surface,
        endpoint: Endpoint,
        parts: Parts,
        body: Option<Bytes>,
        principal: Arc<Principal>,
    ) -> Result<Response<Body>, GatewayError> {
        match (endpoint, &parts.method, body) {
            (Endpoint::Sse, &Method::GET, _) => self.open(surface, principal),
            (Endpoint::Messages, &Method::POST, Some(body)) => {
                self.post(surface, &parts, &body, &principal).await
            }
            (Endpoint::Sse, ..) => Err(GatewayError::NotHere("use GET on the SSE endpoint".into())),
            _ => Err(GatewayError::NotHere("POST your message".into())),
        }
    }

    fn open(
        &self,
        surface: Surface,
        principal: Arc<Principal>,
    ) -> Result<Response<Body>, GatewayError> {
        let id = crate::ids::random_hex();
        let (input, mut inbox) = mpsc::channel::<Vec<u8>>(INPUT_QUEUE);
        {
            let mut sessions = self.sessions.lock().map_err(|_| GatewayError::Registry)?;
            let caller = caller_key(&principal);
            let own = sessions
                .values()
                .filter(|session| session.caller == caller)
                .count();
            if sessions.len() >= MAX_SESSIONS || own >= MAX_PER_CALLER {
                return Err(GatewayError::Restarting {
                    server: "mcp".into(),
                    reason: "too many legacy SSE sessions are open".into(),
                    retry_after: 5,
                });
            }
            sessions.insert(
                id.clone(),
                Session {
                    caller,
                    surface,
                    input,
                },
            );
        }
        let (client_side, server_side) = tokio::io::duplex(PIPE_BYTES);
        let server = AggregateServer::new(Arc::clone(&self.core), surface, Some(principal));
        let stop = self.shutdown.child_token();
        let (server_read, server_write) = tokio::io::split(server_side);
        let ended = stop.clone();
        tokio::spawn(async move {
            if let Ok(running) = server
                .serve_with_ct((server_read, server_write), ended)
                .await
            {
                let _ = running.waiting().await;
            }
        });
        let (client_read, mut client_write) = tokio::io::split(client_side);
        tokio::spawn(async move {
            while let Some(mut line) = inbox.recv().await {
                line.push(b'\n');
                if client_write.write_all(&line).await.is_err() {
                    return;
                }
            }
        });
        let prefix = match surface {
            Surface::Everything => String::new(),
            Surface::Builtins => format!("/{}", builtin::SERVER),
        };
        let first = Bytes::from(format!(
            "event: endpoint\ndata: {prefix}/messages?session={id}\n\n"
        ));
        let forget = Forget {
            sessions: Arc::clone(&self.sessions),
            id,
        };
        let lines = BufReader::new(client_read).lines();
        let stream = futures::stream::unfold(
            (lines, forget, stop.drop_guard()),
            |(mut lines, forget, guard)| async move {
                let event = tokio::select! {
                    line = lines.next_line() => match line {
                        Ok(Some(line)) => Bytes::from(format!("event: message\ndata: {line}\n\n")),
                        _ => return None,
                    },
                    () = tokio::time::sleep(KEEPALIVE) => Bytes::from_static(b": keep-alive\n\n"),
                };
                Some((Ok::<_, std::io::Error>(event), (lines, forget, guard)))
            },
        );
        let body = futures::stream::once(async move { Ok(first) });
        use futures::StreamExt;
        Ok(crate::bridge::streamable::sse_response(Body::from_stream(
            body.chain(stream),
        )))
    }

    async fn post(
        &self,
        surface: Surface,
        parts: &Parts,
        body: &Bytes,
        principal: &Principal,
    ) -> Result<Response<Body>, GatewayError> {
        let id = parts
            .uri
            .query()
            .and_then(|query| {
                url::form_urlencoded::parse(query.as_bytes())
                    .find(|(name, _)| name == "session" || name == "session_id")
                    .map(|(_, value)| value.into_owned())
            })
            .ok_or_else(|| GatewayError::NotHere("no session: open the SSE stream first".into()))?;
        let input = {
            let sessions = self.sessions.lock().map_err(|_| GatewayError::Registry)?;
            match sessions.get(&id) {
                Some(session)
                    if session.surface == surface && session.caller == caller_key(principal) =>
                {
                    session.input.clone()
                }
                _ => return Err(GatewayError::UnknownSession),
            }
        };
        super::endpoint::refuse_batch(&mcpgw_mcp::inspect::inspect(body)?)?;
        // One line per message on the pipe: re-serialised without the newlines a pretty
        // printed body may hold.
        let value: Value = serde_json::from_slice(body)
            .map_err(|error| GatewayError::ClientBody(error.to_string()))?;
        let line = serde_json::to_vec(&value)
            .map_err(|error| GatewayError::ClientBody(error.to_string()))?;
        match tokio::time::timeout(INPUT_WAIT, input.send(line)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(GatewayError::UnknownSession),
            Err(_) => {
                return Err(GatewayError::Restarting {
                    server: "mcp".into(),
                    reason: "this session's event stream is not being read".into(),
                    retry_after: 1,
                });
            }
        }
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::ACCEPTED;
        Ok(response)
    }
}
