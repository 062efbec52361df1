//! Serves one client connection, HTTP/1.1 or HTTP/2 (over TLS when configured), with the
//! connection limits applied, until the client leaves or the drain asks it to close.

use std::convert::Infallible;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::Watcher;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpStream;
use tower::ServiceExt;

use super::{ConnectionLimits, ConnectionPermit, MIN_HEADER_BYTES, ServeOptions};
use mcpgw_telemetry::metrics::metrics;

/// The protocol settings every connection is served with.
pub fn protocol(limits: &ConnectionLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES))
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(limits.h2_keep_alive)
        .keep_alive_timeout(limits.h2_keep_alive);
    builder
}

/// Serves `stream` with `app` until it closes; `permit` holds its place under the
/// connection cap meanwhile, `watcher` lets the drain close it gracefully.
pub async fn serve_connection<S>(
    stream: TcpStream,
    permit: ConnectionPermit,
    app: S,
    options: &ServeOptions,
    protocol: Builder<TokioExecutor>,
    watcher: Watcher,
) where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let service = TowerToHyperService::new(
        app.map_request(|request: Request<Incoming>| request.map(Body::new)),
    );
    let served = match &options.tls {
        None => {
            // The protocol is told by the first bytes; a client that does not send them
            // in time is closed like one that trickles its request head.
            let prior_knowledge = match tokio::time::timeout(
                options.limits.header_read_timeout,
                sends_http2_preface(&stream),
            )
            .await
            {
                Ok(Ok(h2)) => h2,
                Ok(Err(_)) => return,
                Err(_) => {
                    metrics().limit_rejected("header_read_timeout");
                    return;
                }
            };
            let protocol = if prior_knowledge {
                protocol.http2_only()
            } else {
                protocol.http1_only()
            };
            let connection = protocol.serve_connection_with_upgrades(TokioIo::new(stream), service);
            watcher.watch(connection.into_owned()).await
        }
        Some(acceptor) => {
            let handshake = tokio::time::timeout(
                options.limits.tls_handshake_timeout,
                acceptor.accept(stream),
            )
            .await;
            let stream = match handshake {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    tracing::debug!(%error, "TLS handshake failed");
                    metrics().limit_rejected("tls_handshake");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    metrics().limit_rejected("tls_handshake_timeout");
                    return;
                }
            };
            // HTTP/2 only when the client chose it in the handshake (ALPN), as RFC 9113
            // requires over TLS.
            let protocol = if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                protocol.http2_only()
            } else {
                protocol.http1_only()
            };
            let connection = protocol.serve_connection_with_upgrades(TokioIo::new(stream), service);
            watcher.watch(connection.into_owned()).await
        }
    };
    if let Err(error) = served {
        note_connection_error(error.as_ref());
    }
    drop(permit);
}

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113 §3.4).
const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Whether the client opens with the HTTP/2 preface, looking at its first bytes without
/// consuming them; an error when it closes first.
async fn sends_http2_preface(stream: &TcpStream) -> std::io::Result<bool> {
    let mut first = [0u8; 24];
    loop {
        let count = stream.peek(&mut first).await?;
        if count == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if first[..count] != H2_PREFACE[..count] {
            return Ok(false);
        }
        if count == H2_PREFACE.len() {
            return Ok(true);
        }
        // Part of the preface so far: `peek` would return the same bytes at once, so
        // wait a moment for the rest (the caller bounds the whole wait).
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Counts a connection that ended because a limit was hit (a slow or oversized request
/// head); other endings (the client went away) are only logged at debug level.
fn note_connection_error(error: &(dyn std::error::Error + 'static)) {
    if let Some(error) = error.downcast_ref::<hyper::Error>() {
        if error.is_timeout() {
            metrics().limit_rejected("header_read_timeout");
        } else if error.is_parse_too_large() {
            metrics().limit_rejected("header_size");
        }
    }
    tracing::debug!(%error, "client connection ended with an error");
}
