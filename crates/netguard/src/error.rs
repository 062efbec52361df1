//! The two failures of this crate: a refused address ([`Denied`]) and a configured
//! network that cannot be used ([`NetworkError`]).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

/// Where a denying network comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A built-in network, with what lives there.
    Builtin(&'static str),
    /// `[network] deny_networks` (or `allow_networks`, for an allowing entry).
    Configured,
}

/// A connection mcpgw refuses to open: the address, the host it belongs to (if it came
/// from a name), and the network that denies it. Its message says how to allow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The refused address (as resolved or written).
    pub address: IpAddr,
    /// The IPv4 address `address` carries, when that is what is denied.
    pub embedded: Option<IpAddr>,
    /// The name `address` was found for, if any.
    pub host: Option<String>,
    /// The denying network.
    pub network: IpNet,
    /// Where the denying network comes from.
    pub rule: Rule,
}

impl Denied {
    /// The same refusal, naming `host` as the name the address was found for.
    pub fn on_host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused to connect to {}", self.address)?;
        if let Some(host) = &self.host {
            write!(f, " (an address of '{host}')")?;
        }
        if let Some(embedded) = self.embedded {
            write!(f, ", which stands for {embedded}")?;
        }
        let exact = match self.embedded.unwrap_or(self.address) {
            IpAddr::V4(v4) => format!("{v4}/32"),
            IpAddr::V6(v6) => format!("{v6}/128"),
        };
        match &self.rule {
            Rule::Builtin(what) => write!(
                f,
                ": it is in {} ({what}), denied by default; to allow it, an admin adds \
                 \"{exact}\" to [network] allow_networks",
                self.network
            ),
            Rule::Configured => write!(
                f,
                ": it is in {}, denied by [network] deny_networks; to allow it, an admin adds \
                 \"{exact}\" to [network] allow_networks",
                self.network
            ),
        }
    }
}

impl std::error::Error for Denied {}

/// A `[network]` entry that is not a usable network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    /// Neither a CIDR nor an address.
    #[error(
        "[network] {list}: '{entry}' is not an IP network (write a CIDR such as 10.0.0.0/8 or \
         fd00::/8, or a single address such as 127.0.0.2)"
    )]
    Invalid {
        /// `deny_networks` or `allow_networks`.
        list: &'static str,
        /// The entry as written.
        entry: String,
    },
    /// A CIDR with bits set after its prefix: probably a typo, and ambiguous.
    #[error(
        "[network] {list}: '{entry}' has bits set after its prefix; write {network} for the \
         network or {single} for the one address"
    )]
    HostBits {
        /// `deny_networks` or `allow_networks`.
        list: &'static str,
        /// The entry as written.
        entry: String,
        /// The network it probably means.
        network: String,
        /// The single address it may mean.
        single: String,
    },
    /// The same network is both denied and allowed.
    #[error("[network] {0} is in both deny_networks and allow_networks; keep it in one of them")]
    Both(String),
}
