//! The `[server]` and `[tls]` settings: how client connections are served and limited,
//! which `Host` and `Origin` the MCP endpoints accept, and HTTPS.

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde::Deserialize;

use crate::config::seconds;
use crate::server::tls::TlsFiles;
use crate::server::{ConnectionLimits, MIN_HEADER_BYTES};

/// The `[server]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    max_connections: Option<usize>,
    header_read_timeout_secs: Option<f64>,
    max_header_bytes: Option<usize>,
    max_headers: Option<usize>,
    tls_handshake_timeout_secs: Option<f64>,
    h2_max_concurrent_streams: Option<u32>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    allowed_origins: Vec<String>,
}

/// The `[tls]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
}

/// The `[server]` and `[tls]` settings, resolved.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Connection limits and timeouts.
    pub limits: ConnectionLimits,
    /// HTTPS certificate and key, when the listener serves HTTPS.
    pub tls: Option<TlsFiles>,
    /// `Host` names (with or without port) the MCP endpoints accept besides loopback
    /// names and the public URL's host; `*` accepts any.
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`https://app.example.com`) allowed to call the MCP endpoints
    /// besides the gateway's own; `*` allows any.
    pub allowed_origins: Vec<String>,
}

impl ServerSettings {
    /// The file's sections over the defaults; `MCPGW_TLS_CERT_FILE` / `MCPGW_TLS_KEY_FILE`
    /// over the file's `[tls]`. Paths in the file are relative to it (`config_dir`).
    pub fn resolve(
        server: ServerSection,
        tls: TlsSection,
        config_dir: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let defaults = ConnectionLimits::default();
        let limits = ConnectionLimits {
            max_connections: match server.max_connections {
                None => defaults.max_connections,
                Some(count @ 1..=1_000_000) => count,
                Some(count) => {
                    bail!("server max_connections must be between 1 and 1000000, not {count}")
                }
            },
            header_read_timeout: seconds(
                "server header_read_timeout_secs",
                server.header_read_timeout_secs,
            )?
            .unwrap_or(defaults.header_read_timeout),
            max_header_bytes: match server.max_header_bytes {
                None => defaults.max_header_bytes,
                Some(bytes @ MIN_HEADER_BYTES..=1_048_576) => bytes,
                Some(bytes) => bail!(
                    "server max_header_bytes must be between {MIN_HEADER_BYTES} and 1048576, not {bytes}"
                ),
            },
            max_headers: match server.max_headers {
                None => defaults.max_headers,
                Some(count @ 16..=1_000) => count,
                Some(count) => bail!("server max_headers must be between 16 and 1000, not {count}"),
            },
            tls_handshake_timeout: seconds(
                "server tls_handshake_timeout_secs",
                server.tls_handshake_timeout_secs,
            )?
            .unwrap_or(defaults.tls_handshake_timeout),
            h2_max_concurrent_streams: match server.h2_max_concurrent_streams {
                None => defaults.h2_max_concurrent_streams,
                Some(count @ 1..=10_000) => count,
                Some(count) => bail!(
                    "server h2_max_concurrent_streams must be between 1 and 10000, not {count}"
                ),
            },
            h2_keep_alive: defaults.h2_keep_alive,
        };
        let relative = |path: PathBuf| match config_dir {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path,
        };
        let cert_file = std::env::var_os("MCPGW_TLS_CERT_FILE")
            .map(PathBuf::from)
            .or(tls.cert_file.map(relative));
        let key_file = std::env::var_os("MCPGW_TLS_KEY_FILE")
            .map(PathBuf::from)
            .or(tls.key_file.map(relative));
        let tls = match (cert_file, key_file) {
            (None, None) => None,
            (Some(cert_file), Some(key_file)) => Some(TlsFiles {
                cert_file,
                key_file,
            }),
            _ => bail!("tls needs both cert_file and key_file (or neither, for plain HTTP)"),
        };
        for origin in &server.allowed_origins {
            if origin != "*" && mcpgw_gateway::origin::normalise_origin(origin).is_none() {
                bail!(
                    "server allowed_origins: {origin:?} is not an origin such as https://app.example.com"
                );
            }
        }
        Ok(ServerSettings {
            limits,
            tls,
            allowed_hosts: server.allowed_hosts,
            allowed_origins: server.allowed_origins,
        })
    }
}
