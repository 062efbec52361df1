//! `Origin` and `Host` checks of the MCP endpoints, against DNS rebinding: a page on
//! `evil.example` whose name the attacker re-points at the gateway's address (a laptop's
//! 127.0.0.1, a private network's 10.x) makes the victim's browser talk to the gateway as
//! if it were `evil.example`. The MCP transport spec says servers must validate `Origin`;
//! a same-origin `GET` (an event stream) carries no `Origin`, so `Host` is checked too.
//!
//! - `Origin`, when present, must be the gateway's public origin, one of
//!   `allowed_origins`, or a page served from this machine (`localhost`, loopback
//!   addresses). Clients that are not browsers send no `Origin` and are not affected.
//! - `Host` must name the gateway: a loopback name, an IP address (an address cannot be
//!   rebound), the public URL's host, or one of `allowed_hosts`. Checked when the gateway
//!   listens on loopback (a developer's machine: where rebinding attacks aim) or when
//!   `allowed_hosts` is configured; a shared deployment reached under many names (a
//!   Kubernetes service) sets `allowed_hosts` to turn it on.

use std::net::IpAddr;

use http::HeaderMap;
use http::header::{HOST, ORIGIN};

/// Which `Host` and `Origin` values the MCP endpoints accept.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Lower-case origins (`https://app.example.com`) allowed besides the gateway's own.
    origins: Vec<String>,
    /// Any origin is allowed (`allowed_origins = ["*"]`).
    any_origin: bool,
    /// Lower-case host names (without port) accepted besides loopback names and IPs.
    hosts: Vec<String>,
    /// Whether `Host` is checked at all.
    check_host: bool,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginRefusal {
    /// A browser page of another site.
    #[error(
        "origin {0} may not use this MCP endpoint (DNS rebinding protection; an admin can add it to [server] allowed_origins)"
    )]
    Origin(String),
    /// A host name the gateway does not answer to.
    #[error(
        "host {0} is not a name of this gateway (DNS rebinding protection; an admin can add it to [server] allowed_hosts)"
    )]
    Host(String),
}

impl OriginPolicy {
    /// The policy for a gateway with `public_url`, listening on loopback or not, with the
    /// configured `allowed_origins` and `allowed_hosts` (`*` in either allows any).
    pub fn new(
        public_url: Option<&str>,
        listens_on_loopback: bool,
        allowed_origins: &[String],
        allowed_hosts: &[String],
    ) -> OriginPolicy {
        let mut origins: Vec<String> = allowed_origins
            .iter()
            .filter_map(|origin| normalise_origin(origin))
            .collect();
        let mut hosts: Vec<String> = allowed_hosts
            .iter()
            .map(|host| host_name(host).to_ascii_lowercase())
            .collect();
        // The public URL may have a path (`https://example.com/mcpgw`): its origin and
        // host are what browsers and clients send.
        if let Some(public) = public_url.and_then(|url| url::Url::parse(url).ok())
            && matches!(public.scheme(), "http" | "https")
            && let Some(host) = public.host_str()
        {
            hosts.push(
                host.trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_ascii_lowercase(),
            );
            origins.push(public.origin().ascii_serialization());
        }
        let any_host = allowed_hosts.iter().any(|host| host == "*");
        OriginPolicy {
            any_origin: allowed_origins.iter().any(|origin| origin == "*"),
            origins,
            hosts,
            check_host: !any_host && (listens_on_loopback || !allowed_hosts.is_empty()),
        }
    }

    /// Refuses a request whose `Origin` or `Host` (the URI's authority in HTTP/2) is not
    /// accepted.
    pub fn check(&self, authority: Option<&str>, headers: &HeaderMap) -> Result<(), OriginRefusal> {
        if let Some(origin) = headers.get(ORIGIN) {
            let text = origin.to_str().unwrap_or("(not text)");
            if !self.origin_allowed(text) {
                return Err(OriginRefusal::Origin(text.to_owned()));
            }
        }
        if self.check_host {
            let host = authority
                .or_else(|| headers.get(HOST).and_then(|value| value.to_str().ok()))
                .unwrap_or("");
            if !self.host_allowed(host) {
                return Err(OriginRefusal::Host(if host.is_empty() {
                    "(none)".to_owned()
                } else {
                    host.to_owned()
                }));
            }
        }
        Ok(())
    }

    /// Whether a browser page of `origin` may use the MCP endpoints.
    fn origin_allowed(&self, origin: &str) -> bool {
        if self.any_origin {
            return true;
        }
        let Some(origin) = normalise_origin(origin) else {
            // `null` (a sandboxed frame, a file) and anything unparsable.
            return false;
        };
        if self.origins.contains(&origin) {
            return true;
        }
        origin
            .split_once("://")
            .is_some_and(|(_, authority)| is_loopback_name(host_name(authority)))
    }

    /// Whether `host` (a `Host` header or HTTP/2 authority) names this gateway.
    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        if name.is_empty() {
            return false;
        }
        if is_loopback_name(name) || parse_ip(name).is_some() {
            return true;
        }
        let name = name.to_ascii_lowercase();
        self.hosts.contains(&name)
    }
}

/// `scheme://host[:port]` in lower case, without a trailing slash; `None` for anything
/// that is not an http(s) origin (`null`, a path, another scheme).
pub fn normalise_origin(origin: &str) -> Option<String> {
    let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https")
        || authority.is_empty()
        || authority.contains(['/', '?', '#', '@', ' '])
    {
        return None;
    }
    // A default port is the same origin as none (`https://x:443` is `https://x`).
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    Some(match authority.strip_suffix(default_port) {
        Some(host) => format!("{scheme}://{host}"),
        None => origin,
    })
}

/// The host of `host[:port]` or `[v6]:port`, without the port or brackets.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => authority,
    }
}

/// `name` as an IP address, if it is one.
fn parse_ip(name: &str) -> Option<IpAddr> {
    name.parse().ok()
}

/// `localhost`, a name under `.localhost` (RFC 6761: always loopback), or a loopback
/// address.
fn is_loopback_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || parse_ip(name).is_some_and(|ip| ip.is_loopback())
}

#[cfg(test)]
#[path = "origin_tests.rs"]
mod tests;
