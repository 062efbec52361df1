//! TLS towards upstream servers (`[upstream_tls]`): the platform's trusted roots plus an
//! organisation's own CA, and optionally a client certificate for servers that require
//! mutual TLS. One rustls configuration, set once at start, is used by every client that
//! reaches an upstream (the data plane's pooled client, probes and health checks, the
//! aggregated endpoint's sessions), so that a server is trusted alike on every path.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Where the upstream TLS material is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamTlsFiles {
    /// PEM file of CA certificates trusted besides the platform's roots.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain presented to servers that ask for one (mutual TLS).
    pub client_cert_file: Option<PathBuf>,
    /// Its private key.
    pub client_key_file: Option<PathBuf>,
}

/// Why the upstream TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamTlsError {
    /// A file could not be read or holds nothing usable.
    #[error("cannot read {what} from {path}: {reason}")]
    File {
        /// Which file.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Only one of the client certificate and its key.
    #[error("upstream_tls needs both client_cert_file and client_key_file (or neither)")]
    HalfIdentity,
    /// rustls refused the material (a key that is not the certificate's, …).
    #[error("the upstream TLS settings cannot be used: {0}")]
    Rustls(String),
}

/// The configuration set at start; `None` until then (platform roots, no client cert).
static CONFIGURED: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// Reads `files` and makes them the TLS settings of every upstream client built from now
/// on. Call once, before the first client is built; a second call changes nothing.
pub fn configure_upstream_tls(files: &UpstreamTlsFiles) -> Result<(), UpstreamTlsError> {
    if *files == UpstreamTlsFiles::default() {
        return Ok(());
    }
    let config = client_config(files)?;
    let _ = CONFIGURED.set(Arc::new(config));
    Ok(())
}

/// The configured upstream TLS settings, if any were set.
pub fn upstream_tls() -> Option<Arc<ClientConfig>> {
    CONFIGURED.get().cloned()
}

/// A rustls client configuration from `files`: platform roots and the extra CAs,
/// HTTP/2 and HTTP/1.1 offered, the client certificate when given.
pub fn client_config(files: &UpstreamTlsFiles) -> Result<ClientConfig, UpstreamTlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra_roots = match &files.ca_file {
        Some(path) => certificates("the upstream CA certificates", path)?,
        None => Vec::new(),
    };
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra_roots,
        Arc::clone(&provider),
    )
    .map_err(|error| UpstreamTlsError::Rustls(error.to_string()))?;
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| UpstreamTlsError::Rustls(error.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match (&files.client_cert_file, &files.client_key_file) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = certificates("the upstream client certificate", cert)?;
            let key = private_key(key)?;
            check_pair(&provider, &chain, &key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|error| UpstreamTlsError::Rustls(error.to_string()))?
        }
        _ => return Err(UpstreamTlsError::HalfIdentity),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Every certificate in the PEM file at `path` (at least one).
fn certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, UpstreamTlsError> {
    let fail = |reason: String| UpstreamTlsError::File {
        what,
        path: path.to_owned(),
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|error| fail(error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| fail(error.to_string()))?;
    if certificates.is_empty() {
        return Err(fail("no CERTIFICATE block in the file".to_owned()));
    }
    Ok(certificates)
}

/// The private key in the PEM file at `path`.
fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, UpstreamTlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| UpstreamTlsError::File {
        what: "the upstream client key",
        path: path.to_owned(),
        reason: error.to_string(),
    })
}

/// Refuses a key that is not the certificate's (rustls would only notice at the first
/// handshake with a server that asks for it).
fn check_pair(
    provider: &CryptoProvider,
    chain: &[CertificateDer<'static>],
    key: &PrivateKeyDer<'static>,
) -> Result<(), UpstreamTlsError> {
    rustls::sign::CertifiedKey::from_der(chain.to_vec(), key.clone_key(), provider)
        .map(|_| ())
        .map_err(|error| UpstreamTlsError::Rustls(error.to_string()))
}
