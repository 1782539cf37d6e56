//! TLS for the server: rustls (ring), ALPN `h2` then `http/1.1`.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::{Error, ErrorKind, Result};

/// A server certificate and key, ready to serve.
#[derive(Debug, Clone)]
pub struct TlsConfig(pub(crate) Arc<ServerConfig>);

impl TlsConfig {
    /// From PEM: the certificate chain (leaf first) and its private key.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self> {
        let tls =
            |what: &str, e: &dyn std::fmt::Display| Error::new(ErrorKind::Config, format!("{what}: {e}"));
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| tls("reading the TLS certificate", &e))?;
        if chain.is_empty() {
            return Err(Error::new(ErrorKind::Config, "the TLS certificate file holds no certificate"));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| tls("reading the TLS key", &e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls("TLS versions", &e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| tls("the TLS certificate and key", &e))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self(Arc::new(config)))
    }

    /// From PEM files.
    pub fn from_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))
        };
        Self::from_pem(&read(cert.as_ref())?, &read(key.as_ref())?)
    }

    /// A rustls configuration of the caller's (its ALPN list is used as it is).
    #[must_use]
    pub fn from_rustls(config: Arc<ServerConfig>) -> Self {
        Self(config)
    }
}
