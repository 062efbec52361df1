//! [`NetworkPolicy`]: which addresses mcpgw may open a connection to.
//!
//! The rule, for one address: of all the networks that contain it (the built-in denied
//! networks, `[network] deny_networks`, `[network] allow_networks`), the most specific one
//! (longest prefix) decides. At equal prefix an `allow_networks` entry beats a built-in
//! one, which is how an admin re-allows exactly a default network; the same network in
//! both configured lists is a configuration error. An address no network contains is
//! allowed (private ranges and loopback included: that is where MCP servers live).
//!
//! So `allow_networks = ["0.0.0.0/0"]` does not reopen the metadata range (it is less
//! specific than 169.254.0.0/16); `allow_networks = ["169.254.169.254/32"]` does reopen
//! that one address; `deny_networks = ["10.0.0.0/8"]` with `allow_networks =
//! ["10.1.0.0/16"]` allows 10.1.x.x only; a `deny_networks` entry wins over an allowed
//! network only where it is more specific.
//!
//! An IPv6 address that carries an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`,
//! IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and `64:ff9b:1::/48`) is checked
//! as itself and as that IPv4 address; both must be allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::error::{Denied, NetworkError, Rule};

/// A network mcpgw never connects to unless `allow_networks` re-allows it, and why.
struct Builtin {
    /// The network, written as CIDR.
    network: &'static str,
    /// What lives there, for the error message.
    what: &'static str,
}

/// The networks denied whatever the configuration says (until re-allowed explicitly).
const BUILTIN_DENIED: &[Builtin] = &[
    Builtin {
        network: "169.254.0.0/16",
        what: "link-local: cloud metadata services",
    },
    Builtin {
        network: "fe80::/10",
        what: "IPv6 link-local",
    },
    Builtin {
        network: "fd00:ec2::254/128",
        what: "AWS instance metadata over IPv6",
    },
    Builtin {
        network: "fd20:ce::254/128",
        what: "Google Cloud metadata over IPv6",
    },
    Builtin {
        network: "100.100.100.200/32",
        what: "Alibaba Cloud metadata",
    },
    Builtin {
        network: "168.63.129.16/32",
        what: "the Azure host agent, WireServer",
    },
    Builtin {
        network: "0.0.0.0/8",
        what: "'this network': 0.0.0.0 is the local host",
    },
    Builtin {
        network: "::/128",
        what: "unspecified: the local host",
    },
];

/// The NAT64 prefixes an IPv4 address is embedded in (RFC 6052 well-known, RFC 8215
/// local-use); the IPv4 address is the last 32 bits.
const NAT64_PREFIXES: [(Ipv6Addr, u8); 2] = [
    (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
];

/// Whether a matching network denies or allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Deny,
    Allow,
}

/// One network of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    network: IpNet,
    verdict: Verdict,
    /// Where it comes from (built-in, with its description, or a configured list).
    rule: Rule,
}

impl Entry {
    /// Among entries of equal prefix, the higher rank decides: an explicit allow over a
    /// configured deny over a built-in deny.
    fn rank(&self) -> u8 {
        match (self.verdict, &self.rule) {
            (Verdict::Allow, _) => 2,
            (Verdict::Deny, Rule::Configured) => 1,
            (Verdict::Deny, _) => 0,
        }
    }
}

/// Which addresses outbound connections to servers may reach. Cheap to check (a scan of
/// a few networks), checked once per new connection, never per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    entries: Vec<Entry>,
}

impl Default for NetworkPolicy {
    /// The built-in denied networks only.
    fn default() -> Self {
        NetworkPolicy {
            entries: builtin_entries(),
        }
    }
}

/// The built-in entries (the constants are valid networks; a test holds them to it).
fn builtin_entries() -> Vec<Entry> {
    BUILTIN_DENIED
        .iter()
        .filter_map(|builtin| {
            let network = builtin.network.parse::<IpNet>().ok()?;
            Some(Entry {
                network,
                verdict: Verdict::Deny,
                rule: Rule::Builtin(builtin.what),
            })
        })
        .collect()
}

impl NetworkPolicy {
    /// The built-in denied networks plus `deny` (`[network] deny_networks`) and `allow`
    /// (`[network] allow_networks`), each a CIDR (`10.0.0.0/8`, `fd00::/8`) or a single
    /// address (`127.0.0.2`).
    pub fn new<D, A>(deny: D, allow: A) -> Result<Self, NetworkError>
    where
        D: IntoIterator,
        D::Item: AsRef<str>,
        A: IntoIterator,
        A::Item: AsRef<str>,
    {
        let mut entries = builtin_entries();
        let denied = deny.into_iter().map(|text| {
            parse_network("deny_networks", text.as_ref()).map(|network| (network, Verdict::Deny))
        });
        let allowed = allow.into_iter().map(|text| {
            parse_network("allow_networks", text.as_ref()).map(|network| (network, Verdict::Allow))
        });
        for parsed in denied.chain(allowed) {
            let (network, verdict) = parsed?;
            let clash = entries.iter().any(|entry| {
                entry.rule == Rule::Configured
                    && entry.network == network
                    && entry.verdict != verdict
            });
            if clash {
                return Err(NetworkError::Both(network.to_string()));
            }
            entries.push(Entry {
                network,
                verdict,
                rule: Rule::Configured,
            });
        }
        Ok(NetworkPolicy { entries })
    }

    /// Whether a connection to `address` is allowed; if not, which network denies it.
    pub fn check(&self, address: IpAddr) -> Result<(), Denied> {
        self.check_one(address, None)?;
        if let IpAddr::V6(v6) = address
            && let Some(v4) = embedded_ipv4(v6)
        {
            self.check_one(IpAddr::V4(v4), Some(address))?;
        }
        Ok(())
    }

    /// The configured networks, as written in the config (for the startup log).
    pub fn configured(&self) -> (Vec<String>, Vec<String>) {
        let listed = |verdict: Verdict| {
            self.entries
                .iter()
                .filter(|entry| entry.rule == Rule::Configured && entry.verdict == verdict)
                .map(|entry| entry.network.to_string())
                .collect()
        };
        (listed(Verdict::Deny), listed(Verdict::Allow))
    }

    /// Checks `address` against the networks of its own family. `carrier` is the IPv6
    /// address it was found in, for the message.
    fn check_one(&self, address: IpAddr, carrier: Option<IpAddr>) -> Result<(), Denied> {
        let decisive = self
            .entries
            .iter()
            .filter(|entry| entry.network.contains(&address))
            .max_by_key(|entry| (entry.network.prefix_len(), entry.rank()));
        match decisive {
            Some(entry) if entry.verdict == Verdict::Deny => Err(Denied {
                address: carrier.unwrap_or(address),
                embedded: carrier.map(|_| address),
                host: None,
                network: entry.network,
                rule: entry.rule.clone(),
            }),
            _ => Ok(()),
        }
    }
}

/// The IPv4 address an IPv6 address stands for, if it stands for one: IPv4-mapped,
/// IPv4-compatible (other than `::` and `::1`), or NAT64.
pub(crate) fn embedded_ipv4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = address.to_ipv4_mapped() {
        return Some(v4);
    }
    let octets = address.octets();
    let last = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
    if octets[..12].iter().all(|&byte| byte == 0) {
        // `::` (unspecified) and `::1` (loopback) are IPv6 addresses of their own.
        return (u32::from(last) > 1).then_some(last);
    }
    NAT64_PREFIXES
        .iter()
        .filter_map(|&(prefix, length)| Ipv6Net::new(prefix, length).ok())
        .any(|network| network.contains(&address))
        .then_some(last)
}

/// Parses one configured entry: a CIDR with no host bits set, or a single address.
fn parse_network(list: &'static str, text: &str) -> Result<IpNet, NetworkError> {
    let text = text.trim();
    if !text.contains('/') {
        return text
            .parse::<IpAddr>()
            .map(IpNet::from)
            .map_err(|_| NetworkError::Invalid {
                list,
                entry: text.to_owned(),
            });
    }
    let network = text.parse::<IpNet>().map_err(|_| NetworkError::Invalid {
        list,
        entry: text.to_owned(),
    })?;
    if network.trunc() != network {
        let single = match network.addr() {
            IpAddr::V4(v4) => IpNet::from(Ipv4Net::from(v4)),
            IpAddr::V6(v6) => IpNet::from(Ipv6Net::from(v6)),
        };
        return Err(NetworkError::HostBits {
            list,
            entry: text.to_owned(),
            network: network.trunc().to_string(),
            single: single.to_string(),
        });
    }
    Ok(network)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
