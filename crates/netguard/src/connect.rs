//! Guards for the connections a resolver never sees: IP-literal URLs.
//!
//! hyper-util's `HttpConnector` (and so reqwest) connects to an IP-literal host without
//! asking the resolver. For the hyper client, [`GuardedConnector`] checks the host of
//! every URI it is asked to connect to, before connecting. reqwest does not show its
//! connector the URI, so [`guarded_client`] checks the peer address of every new
//! connection instead, as soon as it is established and before a byte of a request is
//! written; callers also check a URL before sending to it ([`NetworkPolicy::check_url`]),
//! which refuses before connecting at all, and [`redirect_policy`] checks every hop.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::{Connection, HttpInfo};

use crate::policy::NetworkPolicy;
use crate::resolve::GuardedResolver;

/// The error type connectors return.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A hyper connector that refuses URIs whose host is a denied IP literal, then connects
/// with `inner` (whose resolver should be a [`GuardedResolver`], for names).
#[derive(Debug, Clone)]
pub struct GuardedConnector<C> {
    inner: C,
    policy: Arc<NetworkPolicy>,
}

impl<C> GuardedConnector<C> {
    /// Wraps `inner`, refusing what `policy` denies.
    pub fn new(inner: C, policy: Arc<NetworkPolicy>) -> Self {
        GuardedConnector { inner, policy }
    }
}

/// The IP address a URI's host is, if it is a literal (`[…]` for IPv6), parsed as
/// hyper-util's connector parses it.
fn literal_host(uri: &Uri) -> Option<IpAddr> {
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

impl<C> tower_service::Service<Uri> for GuardedConnector<C>
where
    C: tower_service::Service<Uri>,
    C::Response: Send + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send + 'static,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if let Some(address) = literal_host(&uri)
            && let Err(denied) = self.policy.check(address)
        {
            tracing::warn!(%uri, reason = %denied, "outbound connection refused");
            return Box::pin(std::future::ready(Err(denied.into())));
        }
        let connecting = self.inner.call(uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

/// The reqwest connector layer that checks the peer of every new connection.
#[derive(Debug, Clone)]
struct PeerCheckLayer {
    policy: Arc<NetworkPolicy>,
}

impl<S> tower_layer::Layer<S> for PeerCheckLayer {
    type Service = PeerCheck<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PeerCheck {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

/// Connects with `inner`, then drops the connection if its peer is denied (an IP-literal
/// URL: a name's addresses were already filtered by the resolver).
#[derive(Debug, Clone)]
struct PeerCheck<S> {
    inner: S,
    policy: Arc<NetworkPolicy>,
}

impl<S, R> tower_service::Service<R> for PeerCheck<S>
where
    S: tower_service::Service<R>,
    S::Response: Connection + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let connecting = self.inner.call(request);
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let connection = connecting.await.map_err(Into::into)?;
            let mut extras = http::Extensions::new();
            connection.connected().get_extras(&mut extras);
            // A connection whose peer cannot be told is refused, not let through.
            let Some(info) = extras.get::<HttpInfo>() else {
                tracing::warn!("outbound connection refused: its peer address is unknown");
                return Err("the outbound connection's peer address is unknown".into());
            };
            if let Err(denied) = policy.check(info.remote_addr().ip()) {
                tracing::warn!(reason = %denied, "outbound connection refused");
                return Err(denied.into());
            }
            Ok(connection)
        })
    }
}

/// A reqwest client builder whose connections `policy` guards: names resolve through a
/// [`GuardedResolver`], every new connection's peer is checked, and no proxy is used. Callers add their
/// timeouts and redirect policy (see [`redirect_policy`]) and build it.
pub fn guarded_client(policy: Arc<NetworkPolicy>) -> reqwest::ClientBuilder {
    // No proxy from the environment (`HTTP(S)_PROXY`): through one, the resolver and the
    // peer check would only ever see the proxy, and a name re-pointed at a denied address
    // would be fetched unchecked.
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver::new(Arc::clone(&policy))))
        .connector_layer(PeerCheckLayer { policy })
}

/// A redirect policy following at most `max_hops` redirects, refusing a hop to a denied
/// IP-literal URL (a hop to a name is checked by the resolver when it connects).
pub fn redirect_policy(policy: Arc<NetworkPolicy>, max_hops: usize) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max_hops {
            return attempt.error(format!("more than {max_hops} redirects"));
        }
        match policy.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(denied) => attempt.error(denied),
        }
    })
}

#[cfg(test)]
#[path = "connect_tests.rs"]
mod tests;
