//! [`GuardedResolver`]: the system resolver, with denied addresses dropped. Every
//! connection to a name goes through it, so the address connected to is the address
//! checked: a name that resolved to an allowed address at registration and to a denied
//! one now (DNS rebinding) is refused before any connection is opened.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::client::legacy::connect::dns::Name;
use url::{Host, Url};

use crate::error::Denied;
use crate::policy::NetworkPolicy;

/// How long a registration waits for a name to resolve before accepting it unchecked
/// (every connection to it is checked anyway).
const REGISTRATION_LOOKUP: Duration = Duration::from_secs(5);

/// Resolves names with the system resolver (`getaddrinfo`, so `/etc/hosts` and
/// `nsswitch.conf` apply) and keeps only the addresses `policy` allows.
///
/// It is a hyper-util resolver (`Service<Name>`, for `HttpConnector::new_with_resolver`)
/// and a reqwest one (`reqwest::dns::Resolve`, for `ClientBuilder::dns_resolver`).
/// Neither calls a resolver for an IP-literal URL: see [`crate::GuardedConnector`] and
/// [`crate::guarded_client`] for those.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<NetworkPolicy>,
}

impl GuardedResolver {
    /// A resolver keeping the addresses `policy` allows.
    pub fn new(policy: Arc<NetworkPolicy>) -> Self {
        GuardedResolver { policy }
    }
}

/// Resolves `host` and keeps the allowed addresses (port 0: the connector sets the
/// URL's). Fails with the first [`Denied`] (as an `io::Error` of kind
/// `PermissionDenied`) when every address is denied.
async fn resolve_allowed(
    policy: Arc<NetworkPolicy>,
    host: String,
) -> io::Result<std::vec::IntoIter<SocketAddr>> {
    let mut allowed = Vec::new();
    let mut refused: Option<Denied> = None;
    for address in tokio::net::lookup_host((host.as_str(), 0)).await? {
        match policy.check(address.ip()) {
            Ok(()) => allowed.push(address),
            Err(denied) => {
                refused.get_or_insert(denied);
            }
        }
    }
    match (allowed.is_empty(), refused) {
        (true, Some(denied)) => {
            let denied = denied.on_host(&host);
            tracing::warn!(%host, reason = %denied, "outbound connection refused");
            Err(io::Error::new(io::ErrorKind::PermissionDenied, denied))
        }
        (true, None) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("'{host}' has no address"),
        )),
        (false, refused) => {
            if let Some(denied) = refused {
                tracing::warn!(%host, reason = %denied.on_host(&host), "denied addresses dropped; connecting to the others");
            }
            Ok(allowed.into_iter())
        }
    }
}

impl tower_service::Service<Name> for GuardedResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        Box::pin(resolve_allowed(
            Arc::clone(&self.policy),
            name.as_str().to_owned(),
        ))
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let resolving = resolve_allowed(Arc::clone(&self.policy), name.as_str().to_owned());
        Box::pin(async move {
            let addresses = resolving.await?;
            Ok(Box::new(addresses) as reqwest::dns::Addrs)
        })
    }
}

impl NetworkPolicy {
    /// Checks a URL's host if it is an IP literal (names are checked when they are
    /// resolved, at each connection). Cheap: no allocation, no lookup.
    pub fn check_url(&self, url: &Url) -> Result<(), Denied> {
        match url.host() {
            Some(Host::Ipv4(v4)) => self.check(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => self.check(IpAddr::V6(v6)),
            Some(Host::Domain(_)) | None => Ok(()),
        }
    }

    /// The registration check: an IP-literal host is checked; a name is resolved and
    /// refused if any of its addresses is denied (even if others are allowed: such a
    /// server is a mistake or an attack). A name that does not resolve (yet) is accepted:
    /// every connection to it is checked when it does.
    pub async fn check_url_resolved(&self, url: &Url) -> Result<(), Denied> {
        self.check_url(url)?;
        let Some(Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        let port = url.port_or_known_default().unwrap_or(0);
        let lookup =
            tokio::time::timeout(REGISTRATION_LOOKUP, tokio::net::lookup_host((host, port)));
        let Ok(Ok(addresses)) = lookup.await else {
            return Ok(());
        };
        for address in addresses {
            self.check(address.ip())
                .map_err(|denied| denied.on_host(host))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
