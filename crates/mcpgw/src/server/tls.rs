//! HTTPS on the gateway's own listener: rustls with the certificate and key from PEM
//! files, read again when either file changes (or on SIGHUP), so that a renewal (certbot,
//! cert-manager rewriting a mounted secret) needs no restart. A renewal that cannot be
//! read (half-written, key and certificate that do not match) is logged and the
//! certificate in use is kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

/// Where the serving certificate comes from (`[tls] cert_file`, `key_file`).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// Why a certificate could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file could not be read or holds no certificate.
    #[error("cannot read the TLS certificate chain from {path}: {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The key file could not be read or holds no private key.
    #[error("cannot read the TLS private key from {path}: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The key is not usable with the certificate.
    #[error("the TLS key {key} does not fit the certificate {cert}: {reason}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        reason: String,
    },
}

impl TlsFiles {
    /// Reads both files into a certificate rustls can serve, checking that the key is the
    /// certificate's.
    pub fn load(&self, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
        let certificate = |reason: String| TlsError::Certificate {
            path: self.cert_file.clone(),
            reason,
        };
        let chain = CertificateDer::pem_file_iter(&self.cert_file)
            .map_err(|error| certificate(error.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| certificate(error.to_string()))?;
        if chain.is_empty() {
            return Err(certificate("no CERTIFICATE block in the file".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_file(&self.key_file).map_err(|error| TlsError::Key {
            path: self.key_file.clone(),
            reason: error.to_string(),
        })?;
        CertifiedKey::from_der(chain, key, provider).map_err(|error| TlsError::Mismatch {
            cert: self.cert_file.clone(),
            key: self.key_file.clone(),
            reason: error.to_string(),
        })
    }
}

/// The certificate in use, swapped whole when the files change; every handshake reads it
/// without a lock.
#[derive(Debug)]
pub struct ReloadingCertificate {
    current: ArcSwap<CertifiedKey>,
}

impl ResolvesServerCert for ReloadingCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The rustls configuration the listener serves with: HTTP/2 and HTTP/1.1 offered by ALPN.
pub fn server_config(
    files: &TlsFiles,
) -> Result<(Arc<ServerConfig>, Arc<ReloadingCertificate>), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let first = files.load(&provider)?;
    let certificate = Arc::new(ReloadingCertificate {
        current: ArcSwap::from_pointee(first),
    });
    let resolver: Arc<dyn ResolvesServerCert> = certificate.clone();
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Mismatch {
            cert: files.cert_file.clone(),
            key: files.key_file.clone(),
            reason: error.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((Arc::new(config), certificate))
}

/// Reads the files again whenever one of them changes (and on SIGHUP) until `shutdown`;
/// a failed read keeps the certificate in use.
pub fn reload_on_change(
    files: TlsFiles,
    certificate: Arc<ReloadingCertificate>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let paths = vec![files.cert_file.clone(), files.key_file.clone()];
    let reload = move |_: Option<&Path>| match files.load(&provider) {
        Ok(loaded) => {
            certificate.current.store(Arc::new(loaded));
            tracing::info!(cert = %files.cert_file.display(), "TLS certificate reloaded");
        }
        Err(error) => {
            tracing::error!(%error, "TLS certificate not reloaded; still serving the previous one");
        }
    };
    // Both files are watched: a renewal may rewrite the key after the certificate, and
    // the pair is only taken once it fits.
    crate::file_watch::on_change_any(paths, shutdown, reload)
}
