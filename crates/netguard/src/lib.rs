//! The SSRF guard: which addresses mcpgw may connect to on a server's behalf.
//!
//! Server URLs come from admins, imports and peer registries, and documents upstreams
//! serve (OAuth metadata, SSE endpoint events) name further URLs. None of them may make
//! the gateway reach the cloud metadata service or other link-local addresses, whatever
//! a name resolves to at the moment of connecting (DNS rebinding). This crate owns:
//!
//! - [`NetworkPolicy`]: the built-in denied networks plus `[network] deny_networks` and
//!   `allow_networks`, and the rule that decides between them (see [`policy`]);
//! - [`GuardedResolver`]: the system resolver with denied addresses dropped, for hyper-util
//!   and reqwest clients, so the address checked is the address connected to;
//! - [`GuardedConnector`] (hyper) and [`guarded_client`] (reqwest): the checks for
//!   IP-literal URLs, which no resolver sees;
//! - [`NetworkPolicy::check_url_resolved`]: the registration-time check.
//!
//! It imports no other mcpgw crate and does no I/O besides name resolution; the check
//! itself is a scan of a few networks, made once per new connection, never per request.

mod connect;
mod error;
pub mod policy;
mod resolve;

pub use connect::{GuardedConnector, guarded_client, redirect_policy};
pub use error::{Denied, NetworkError, Rule};
pub use ipnet::IpNet;
pub use policy::NetworkPolicy;
pub use resolve::GuardedResolver;
