//! The floor: a bare HTTP/1.1 proxy that forwards every request to one upstream over a
//! keep-alive pool and streams the response back. It reads nothing, checks nothing and
//! rewrites only what forwarding needs (the request URI and `Host`), so what it costs is
//! the price of one extra hop on this machine.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http::uri::{Authority, Scheme};
use http::{Request, Response, StatusCode, Uri, header::HOST};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// How long an idle pooled upstream connection is kept (as the gateway does).
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// The proxy's answer: the upstream's streamed body, or a short error of its own.
type ProxyBody = Either<Incoming, Full<Bytes>>;

/// Forwards requests to one upstream.
struct Proxy {
    client: Client<HttpConnector, Incoming>,
    scheme: Scheme,
    authority: Authority,
}

/// Serves on `listener` forever, forwarding to `upstream` (`http://host:port`; its path
/// is ignored, the client's path is kept).
pub async fn serve(listener: TcpListener, upstream: &Uri) -> anyhow::Result<()> {
    let proxy = Arc::new(Proxy::new(upstream)?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("passthrough: accept failed: {error}");
                continue;
            }
        };
        if let Err(error) = stream.set_nodelay(true) {
            eprintln!("passthrough: cannot set TCP_NODELAY: {error}");
        }
        let proxy = Arc::clone(&proxy);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let proxy = Arc::clone(&proxy);
                async move { Ok::<_, Infallible>(proxy.forward(request).await) }
            });
            // A client that goes away mid-request is not the proxy's problem.
            let _closed = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl Proxy {
    /// A proxy to `upstream` with a keep-alive, TCP_NODELAY connection pool.
    fn new(upstream: &Uri) -> anyhow::Result<Proxy> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Ok(Proxy {
            client,
            scheme: upstream.scheme().cloned().unwrap_or(Scheme::HTTP),
            authority: upstream
                .authority()
                .cloned()
                .context("the upstream URL needs a host")?,
        })
    }

    /// Sends `request` to the upstream and hands its response back unread.
    async fn forward(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let (mut parts, body) = request.into_parts();
        let mut uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone());
        if let Some(path_and_query) = parts.uri.path_and_query() {
            uri = uri.path_and_query(path_and_query.clone());
        }
        parts.uri = match uri.build() {
            Ok(uri) => uri,
            Err(error) => return failure(StatusCode::BAD_REQUEST, error.to_string()),
        };
        // The client pool sets `Host` from the URI.
        parts.headers.remove(HOST);
        match self.client.request(Request::from_parts(parts, body)).await {
            Ok(response) => response.map(Either::Left),
            Err(error) => failure(StatusCode::BAD_GATEWAY, error.to_string()),
        }
    }
}

/// A plain-text error response.
fn failure(status: StatusCode, reason: String) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(reason))));
    *response.status_mut() = status;
    response
}
