//! Serves one client connection, HTTP/1.1 or HTTP/2 (over TLS when configured), with the
//! connection limits applied, until the client leaves or the drain asks it to close.

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use mcpgw_gateway::held_body::hold_until_sent;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::activity::Activity;
use super::{App, ConnectionLimits, ConnectionPermit, MIN_HEADER_BYTES, ServeOptions};
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
/// connection cap meanwhile. When `drain` fires the connection is asked to close once its
/// requests are answered; so is an HTTP/2 connection with no request in flight for the
/// header read timeout (HTTP/1.1's idle wait is hyper's header read timeout).
pub async fn serve_connection<S>(
    stream: TcpStream,
    permit: ConnectionPermit,
    app: S,
    options: &ServeOptions,
    protocol: Builder<TokioExecutor>,
    drain: CancellationToken,
) where
    S: App,
{
    let idle_after = options.limits.header_read_timeout;
    let served = match &options.tls {
        None => {
            // The protocol is told by the first bytes; a client that does not send them
            // in time is closed like one that trickles its request head.
            let prior_knowledge =
                match tokio::time::timeout(idle_after, sends_http2_preface(&stream)).await {
                    Ok(Ok(h2)) => h2,
                    Ok(Err(_)) => return,
                    Err(_) => {
                        metrics().limit_rejected("header_read_timeout");
                        return;
                    }
                };
            serve_io(
                TokioIo::new(stream),
                prior_knowledge,
                app,
                protocol,
                &drain,
                idle_after,
            )
            .await
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
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            serve_io(TokioIo::new(stream), h2, app, protocol, &drain, idle_after).await
        }
    };
    if let Err(error) = served {
        note_connection_error(error.as_ref());
    }
    drop(permit);
}

/// Serves `io` with `app` in HTTP/2 (`h2`) or HTTP/1.1 until the connection closes.
async fn serve_io<I, S>(
    io: I,
    h2: bool,
    app: S,
    protocol: Builder<TokioExecutor>,
    drain: &CancellationToken,
    idle_after: Duration,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: App,
{
    if h2 {
        let activity = Activity::default();
        let connection = protocol
            .http2_only()
            .serve_connection_with_upgrades(io, tracked(app, activity.clone()))
            .into_owned();
        until_closed(
            connection,
            |c| c.graceful_shutdown(),
            drain,
            Some((&activity, idle_after)),
        )
        .await
    } else {
        let connection = protocol
            .http1_only()
            .serve_connection_with_upgrades(io, untracked(app))
            .into_owned();
        until_closed(connection, |c| c.graceful_shutdown(), drain, None).await
    }
}

/// The application as hyper calls it.
trait HyperApp:
    hyper::service::Service<
        Request<Incoming>,
        Response = Response,
        Error = Infallible,
        Future: Send,
    > + Clone
{
}

impl<S> HyperApp for S where
    S: hyper::service::Service<
            Request<Incoming>,
            Response = Response,
            Error = Infallible,
            Future: Send,
        > + Clone
{
}

/// `app` as hyper calls it.
fn untracked<S>(app: S) -> impl HyperApp
where
    S: App,
{
    TowerToHyperService::new(app.map_request(|request: Request<Incoming>| request.map(Body::new)))
}

/// `app` as hyper calls it, each request counted in `activity` until its answer's body
/// is dropped.
fn tracked<S>(app: S, activity: Activity) -> impl HyperApp
where
    S: App,
{
    untracked(app.map_future(move |answer| {
        let in_flight = activity.enter();
        async move {
            let response = answer.await?;
            Ok(hold_until_sent(response, in_flight))
        }
    }))
}

/// Drives `connection` to its end; when `drain` fires, or the connection has been idle
/// (`idle`: its activity and for how long), asks it to close gracefully (`shutdown`) and
/// lets it finish what it is serving.
async fn until_closed<C, E>(
    connection: C,
    shutdown: impl FnOnce(Pin<&mut C>),
    drain: &CancellationToken,
    idle: Option<(&Activity, Duration)>,
) -> Result<(), E>
where
    C: Future<Output = Result<(), E>>,
{
    let mut connection = pin!(connection);
    let idle = async {
        match idle {
            Some((activity, after)) => activity.idle_for(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        result = connection.as_mut() => return result,
        () = drain.cancelled() => {}
        () = idle => metrics().limit_rejected("h2_idle"),
    }
    shutdown(connection.as_mut());
    connection.await
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
