//! Settings for `mcpgw serve`: defaults < `mcpgw.toml` < `MCPGW_*` environment < flags.
//! (clap reads the environment and flags; this module adds the file and the defaults.)

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use mcpgw_api::registry_api::RegistryApiSettings;
use mcpgw_auth::jwt::JwtSettings;
use mcpgw_auth::jwt::issuer::IssuerConfig;
use mcpgw_auth::login::OidcLoginConfig;
use mcpgw_gateway::GatewayConfig;
use mcpgw_registry::HealthCheckConfig;
use serde::Deserialize;

use crate::cli::ServeArgs;

/// Default listen address.
const DEFAULT_LISTEN: &str = "127.0.0.1:7860";
/// Default data directory, relative to the working directory.
const DEFAULT_DATA_DIR: &str = "./mcpgw-data";

/// The `[health]` section of the config file.
#[derive(Debug, Default, Deserialize)]
struct HealthSection {
    interval_secs: Option<f64>,
    timeout_secs: Option<f64>,
    concurrency: Option<usize>,
    jitter: Option<f64>,
}

/// The `[gateway]` section: data-plane limits and timeouts.
#[derive(Debug, Default, Deserialize)]
struct GatewaySection {
    max_body_bytes: Option<usize>,
    connect_timeout_secs: Option<f64>,
    first_byte_timeout_secs: Option<f64>,
    idle_timeout_secs: Option<f64>,
    body_read_timeout_secs: Option<f64>,
    io_threads: Option<usize>,
    tool_separator: Option<String>,
}

/// Default longest lifetime of a gateway-minted token: 30 days.
const DEFAULT_MAX_TOKEN_LIFETIME: i64 = 30 * 24 * 3600;

/// The `[auth]` section: trusted token issuers.
#[derive(Debug, Default, Deserialize)]
struct AuthSection {
    #[serde(default)]
    issuers: Vec<IssuerConfig>,
    leeway_secs: Option<f64>,
    key_refresh_min_secs: Option<f64>,
    anonymous_group: Option<String>,
    #[serde(default)]
    forward_identity: bool,
    max_token_lifetime_secs: Option<i64>,
    session_ttl_secs: Option<i64>,
    max_tokens_per_owner: Option<usize>,
    #[serde(default)]
    oidc_login: Vec<OidcLoginConfig>,
}

/// The `[egress]` section: providers users connect their own accounts at (`oauth-user`),
/// and when those tokens are renewed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EgressSection {
    #[serde(default)]
    providers: Vec<mcpgw_auth::egress::user::providers::ProviderConfig>,
    refresh_buffer_secs: Option<u64>,
    refresh_interval_secs: Option<u64>,
}

/// Default time before expiry a user's token is renewed (the Python refresher's hour).
const DEFAULT_REFRESH_BUFFER_SECS: u64 = 3_600;
/// Default time between two looks for tokens to renew.
const DEFAULT_REFRESH_INTERVAL_SECS: u64 = 60;

/// The `[policy]` section: the access policy.
#[derive(Debug, Default, Deserialize)]
struct PolicySection {
    scopes_file: Option<PathBuf>,
}

/// The `[audit]` section: how long the audit trail is kept.
#[derive(Debug, Default, Deserialize)]
struct AuditSection {
    retention_days: Option<u32>,
}

/// The `[search]` section: where the embedding model is.
#[derive(Debug, Default, Deserialize)]
struct SearchSection {
    model_dir: Option<PathBuf>,
}

/// The `[metrics] listen` section: a listener of its own for `/metrics`.
#[derive(Debug, Default, Deserialize)]
struct MetricsSection {
    listen: Option<SocketAddr>,
    retention_days: Option<u32>,
    analytics: Option<bool>,
}

/// The `[registry_api]` section: how the official registry API (`/v0.1`) publishes.
#[derive(Debug, Default, Deserialize)]
struct RegistryApiSection {
    namespace: Option<String>,
    well_known: Option<bool>,
}

/// Default days the audit trail is kept.
const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;
/// Longest retention that can be set (100 years); 0 means forever.
const MAX_AUDIT_RETENTION_DAYS: u32 = 36_500;

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    #[serde(default)]
    health: HealthSection,
    #[serde(default)]
    gateway: GatewaySection,
    #[serde(default)]
    auth: AuthSection,
    #[serde(default)]
    policy: PolicySection,
    #[serde(default)]
    audit: AuditSection,
    #[serde(default)]
    search: SearchSection,
    #[serde(default)]
    metrics: MetricsSection,
    #[serde(default)]
    registry_api: RegistryApiSection,
    #[serde(default)]
    egress: EgressSection,
    #[serde(default)]
    cluster: crate::config_cluster::ClusterSection,
    #[serde(default)]
    network: crate::config_network::NetworkSection,
    #[serde(default)]
    server: crate::config_server::ServerSection,
    #[serde(default)]
    tls: crate::config_server::TlsSection,
    #[serde(default)]
    limits: crate::config_limits::LimitsSection,
    #[serde(default)]
    scan: crate::config_scan::ScanSection,
    #[serde(default)]
    upstream_tls: crate::config_network::UpstreamTlsSection,
}

/// Everything `serve` needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: String,
    /// Public base URL, if configured.
    pub public_url: Option<String>,
    /// Health checker settings.
    pub health: HealthCheckConfig,
    /// Data-plane settings.
    pub gateway: GatewayConfig,
    /// Trusted OIDC issuers (`[[auth.issuers]]`).
    pub issuers: Vec<IssuerConfig>,
    /// How their tokens are checked and their keys fetched.
    pub jwt: JwtSettings,
    /// Requests without credentials become `anonymous` in this group (off when `None`).
    pub anonymous_group: Option<String>,
    /// Longest lifetime of a token the gateway mints, in seconds.
    pub max_token_lifetime: i64,
    /// Lifetime of a browser session, in seconds.
    pub session_ttl: i64,
    /// Most live gateway tokens one owner may hold.
    pub max_tokens_per_owner: usize,
    /// Providers users can sign in to the web UI with (`[[auth.oidc_login]]`).
    pub oidc_login: Vec<OidcLoginConfig>,
    /// Providers users connect their own accounts at (`[[egress.providers]]`).
    pub egress_providers: Vec<mcpgw_auth::egress::user::providers::ProviderConfig>,
    /// How long before expiry users' tokens are renewed.
    pub egress_refresh_buffer: std::time::Duration,
    /// How often the renewal looks for tokens to renew.
    pub egress_refresh_interval: std::time::Duration,
    /// Threads serving client connections (`[gateway] io_threads`; default: one per CPU).
    pub io_threads: usize,
    /// The `scopes.yml` access policy; without one only admins may do anything.
    pub scopes_file: Option<PathBuf>,
    /// Days audit records are kept before they are pruned; 0 keeps them forever.
    pub audit_retention_days: u32,
    /// Between server and tool in the aggregated endpoint's tool names
    /// (`[gateway] tool_separator`, default `__`).
    pub tool_separator: String,
    /// Where the embedding model is (`[search] model_dir`, default
    /// `<data_dir>/models/all-MiniLM-L6-v2`, where `mcpgw model fetch` puts it).
    pub model_dir: PathBuf,
    /// Where `/metrics` is also served without authentication (`[metrics] listen`), for a
    /// Prometheus on a private network; on the main listener it is for admins only.
    pub metrics_listen: Option<SocketAddr>,
    /// Days analytics rows are kept before they are pruned (`[metrics] retention_days`,
    /// `MCPGW_METRICS_RETENTION_DAYS`; default 90 as the Python gateway; 0 keeps them).
    pub metrics_retention_days: u32,
    /// Whether every request is also written to the analytics tables (`[metrics]
    /// analytics`, `MCPGW_ANALYTICS`; default true): a few microseconds of CPU per
    /// request, which a gateway near its limit on a small machine may rather keep.
    pub analytics: bool,
    /// How `/v0.1` publishes (`[registry_api] namespace`, default `io.mcpgateway`;
    /// `well_known`, default true).
    pub registry_api: RegistryApiSettings,
    /// Stopping a replica, and keeping replicas in step (`[cluster]`).
    pub cluster: crate::config_cluster::ClusterSettings,
    /// Where outbound connections to servers may go (`[network]`, the SSRF guard).
    pub network: std::sync::Arc<mcpgw_netguard::NetworkPolicy>,
    /// Client connections: limits, HTTPS, accepted `Host` and `Origin` (`[server]`,
    /// `[tls]`).
    pub server: crate::config_server::ServerSettings,
    /// Request rates, concurrency and process caps (`[limits]`).
    pub limits: crate::config_limits::LimitSettings,
    /// The tool-poisoning scan (`[scan]`).
    pub scan: mcpgw_registry::scan::ScanSettings,
    /// TLS towards upstream servers: extra CAs, a client certificate (`[upstream_tls]`).
    pub upstream_tls: mcpgw_mcp::client::UpstreamTlsFiles,
}

/// Resolves settings from flags/environment (`args`) and the optional config file.
pub fn resolve(args: &ServeArgs) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => crate::config_file::load_file(path)?,
        None => FileConfig::default(),
    };
    // A path in the config file is relative to that file, as its author sees it.
    let config_dir = args.config.as_deref().and_then(Path::parent);
    let scopes_file = args.scopes.clone().or_else(|| {
        let path = file.policy.scopes_file.clone()?;
        Some(match config_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        })
    });
    let listen = match args.listen.or(file.listen) {
        Some(listen) => listen,
        None => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    let data_dir = args
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    let database_url = args
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("mcpgw.db").display()));
    let defaults = HealthCheckConfig::default();
    let health = HealthCheckConfig {
        interval: seconds(
            "health interval",
            args.health_interval.or(file.health.interval_secs),
        )?
        .unwrap_or(defaults.interval),
        timeout: seconds(
            "health timeout",
            args.health_timeout.or(file.health.timeout_secs),
        )?
        .unwrap_or(defaults.timeout),
        concurrency: file
            .health
            .concurrency
            .unwrap_or(defaults.concurrency)
            .max(1),
        jitter: fraction("health jitter", file.health.jitter)?.unwrap_or(defaults.jitter),
    };
    let public_url = args.public_url.clone().or(file.public_url);
    let network = crate::config_network::resolve(&file.network)?;
    let data_plane = GatewayConfig::default();
    let gateway = GatewayConfig {
        max_body_bytes: file
            .gateway
            .max_body_bytes
            .unwrap_or(data_plane.max_body_bytes),
        connect_timeout: seconds("gateway connect timeout", file.gateway.connect_timeout_secs)?
            .unwrap_or(data_plane.connect_timeout),
        first_byte_timeout: seconds(
            "gateway first-byte timeout",
            file.gateway.first_byte_timeout_secs,
        )?
        .unwrap_or(data_plane.first_byte_timeout),
        idle_timeout: seconds("gateway idle timeout", file.gateway.idle_timeout_secs)?
            .unwrap_or(data_plane.idle_timeout),
        body_read_timeout: seconds(
            "gateway body_read_timeout_secs",
            file.gateway.body_read_timeout_secs,
        )?
        .unwrap_or(data_plane.body_read_timeout),
        public_url: public_url.clone(),
        forward_identity: file.auth.forward_identity,
        network: std::sync::Arc::clone(&network),
    };
    let tool_separator = match file.gateway.tool_separator.clone() {
        None => mcpgw_gateway::aggregate::DEFAULT_SEPARATOR.to_owned(),
        Some(separator)
            if (1..=8).contains(&separator.len())
                && separator
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) =>
        {
            separator
        }
        Some(separator) => bail!(
            "gateway tool_separator must be 1 to 8 of A-Z a-z 0-9 _ - . (the characters tool names may use), not {separator:?}"
        ),
    };
    let io_threads = match file.gateway.io_threads {
        Some(count @ 0..=1024) => count,
        Some(count) => bail!("gateway io_threads must be between 0 and 1024, not {count}"),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let jwt_defaults = JwtSettings::default();
    let jwt = JwtSettings {
        leeway: match file.auth.leeway_secs {
            Some(secs) if secs.is_finite() && (0.0..=600.0).contains(&secs) => {
                Duration::from_secs_f64(secs)
            }
            Some(secs) => bail!("auth leeway_secs must be between 0 and 600, not {secs}"),
            None => jwt_defaults.leeway,
        },
        min_key_refresh: seconds("auth key refresh interval", file.auth.key_refresh_min_secs)?
            .unwrap_or(jwt_defaults.min_key_refresh),
        ..jwt_defaults
    };
    let audit_retention_days = match args.audit_retention_days.or(file.audit.retention_days) {
        None => DEFAULT_AUDIT_RETENTION_DAYS,
        Some(days @ 0..=MAX_AUDIT_RETENTION_DAYS) => days,
        Some(days) => bail!(
            "audit retention_days must be between 0 (keep forever) and {MAX_AUDIT_RETENTION_DAYS}, not {days}"
        ),
    };
    let metrics_retention_days = match std::env::var("MCPGW_METRICS_RETENTION_DAYS")
        .ok()
        .map(|days| days.parse::<u32>())
        .transpose()
        .map_err(|_| anyhow::anyhow!("MCPGW_METRICS_RETENTION_DAYS must be a number of days"))?
        .or(file.metrics.retention_days)
    {
        None => DEFAULT_AUDIT_RETENTION_DAYS,
        Some(days @ 0..=MAX_AUDIT_RETENTION_DAYS) => days,
        Some(days) => bail!(
            "metrics retention_days must be between 0 (keep forever) and {MAX_AUDIT_RETENTION_DAYS}, not {days}"
        ),
    };
    let analytics = match std::env::var("MCPGW_ANALYTICS").ok().as_deref() {
        None => file.metrics.analytics.unwrap_or(true),
        Some("1" | "true" | "on") => true,
        Some("0" | "false" | "off") => false,
        Some(other) => bail!("MCPGW_ANALYTICS must be true or false, not '{other}'"),
    };
    Ok(Settings {
        cluster: crate::config_cluster::ClusterSettings::resolve(args, &file.cluster)?,
        network,
        limits: crate::config_limits::LimitSettings::resolve(&file.limits)?,
        upstream_tls: crate::config_network::upstream_tls(file.upstream_tls, config_dir)?,
        scan: crate::config_scan::resolve(&file.scan)?,
        server: crate::config_server::ServerSettings::resolve(file.server, file.tls, config_dir)?,
        analytics,
        audit_retention_days,
        metrics_retention_days,
        tool_separator,
        gateway,
        io_threads,
        scopes_file,
        anonymous_group: match file.auth.anonymous_group {
            Some(group) if group.trim().is_empty() => {
                bail!(
                    "auth anonymous_group must name a group (remove it to refuse anonymous requests)"
                )
            }
            other => other,
        },
        max_token_lifetime: match file.auth.max_token_lifetime_secs {
            None => DEFAULT_MAX_TOKEN_LIFETIME,
            Some(secs @ 60..=31_622_400) => secs,
            Some(secs) => bail!(
                "auth max_token_lifetime_secs must be between 60 and 31622400 (a year), not {secs}"
            ),
        },
        session_ttl: match file.auth.session_ttl_secs {
            None => mcpgw_auth::session::DEFAULT_TTL_SECS,
            Some(secs @ 1..=2_592_000) => secs,
            Some(secs) => {
                bail!("auth session_ttl_secs must be between 1 and 2592000 (30 days), not {secs}")
            }
        },
        oidc_login: file.auth.oidc_login,
        egress_providers: file.egress.providers,
        egress_refresh_buffer: std::time::Duration::from_secs(
            match file.egress.refresh_buffer_secs {
                None => DEFAULT_REFRESH_BUFFER_SECS,
                Some(secs @ 0..=2_592_000) => secs,
                Some(secs) => bail!(
                    "egress refresh_buffer_secs must be at most 2592000 (30 days), not {secs}"
                ),
            },
        ),
        egress_refresh_interval: std::time::Duration::from_secs(
            match file.egress.refresh_interval_secs {
                None => DEFAULT_REFRESH_INTERVAL_SECS,
                Some(secs @ 1..=86_400) => secs,
                Some(secs) => {
                    bail!("egress refresh_interval_secs must be between 1 and 86400, not {secs}")
                }
            },
        ),
        max_tokens_per_owner: match file.auth.max_tokens_per_owner {
            None => mcpgw_auth::vending::DEFAULT_MAX_ACTIVE_PER_OWNER,
            Some(count @ 1..=100_000) => count,
            Some(count) => {
                bail!("auth max_tokens_per_owner must be between 1 and 100000, not {count}")
            }
        },
        issuers: file.auth.issuers,
        jwt,
        listen,
        metrics_listen: match std::env::var("MCPGW_METRICS_LISTEN") {
            Ok(address) => Some(address.parse().map_err(|_| {
                anyhow::anyhow!(
                    "MCPGW_METRICS_LISTEN must be an address such as 0.0.0.0:9465, not '{address}'"
                )
            })?),
            Err(_) => file.metrics.listen,
        },
        model_dir: match file.search.model_dir {
            // Relative to the config file, like the scopes file.
            Some(dir) => match config_dir {
                Some(base) if dir.is_relative() => base.join(dir),
                _ => dir,
            },
            None => data_dir.join("models").join("all-MiniLM-L6-v2"),
        },
        registry_api: registry_api(file.registry_api)?,
        data_dir,
        database_url,
        public_url,
        health,
    })
}

/// The `[registry_api]` settings, defaults filled in and the namespace checked.
fn registry_api(section: RegistryApiSection) -> anyhow::Result<RegistryApiSettings> {
    let defaults = RegistryApiSettings::default();
    let namespace = section.namespace.unwrap_or(defaults.namespace);
    RegistryApiSettings::check_namespace(&namespace).map_err(anyhow::Error::msg)?;
    Ok(RegistryApiSettings {
        namespace,
        well_known: section.well_known.unwrap_or(defaults.well_known),
    })
}

pub(crate) fn seconds(what: &str, value: Option<f64>) -> anyhow::Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(secs) if secs.is_finite() && secs > 0.0 && secs < 86_400.0 => {
            Ok(Some(Duration::from_secs_f64(secs)))
        }
        Some(secs) => bail!("{what} must be between 0 and 86400 seconds, not {secs}"),
    }
}

fn fraction(what: &str, value: Option<f64>) -> anyhow::Result<Option<f64>> {
    match value {
        // `contains` is false for NaN too.
        Some(value) if !(0.0..=1.0).contains(&value) => {
            bail!("{what} must be between 0 and 1, not {value}")
        }
        other => Ok(other),
    }
}
