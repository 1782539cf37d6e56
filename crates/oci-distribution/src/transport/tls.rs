//! The rustls client configuration: the caller's, or one built from the crypto provider,
//! the root certificates and an optional client certificate.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::ClientConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TransportConfig;
use super::verifier::{Roots, Verifier};
use crate::{Error, ErrorKind, Result};

const NO_PROVIDER: &str = "no TLS setup: no rustls crypto provider; enable the `ring` feature (on by \
    default), install one process-wide (rustls::crypto::CryptoProvider::install_default), or give a TLS \
    configuration (TransportConfig::tls)";
#[cfg(feature = "native-roots")]
const NO_ROOTS: &str = "no TLS setup: no root certificates; the system's store (SSL_CERT_FILE, SSL_CERT_DIR \
    or the platform's) has none: give a CA bundle (TransportConfig::ca_files, ca_pem) or a TLS \
    configuration (TransportConfig::tls)";
#[cfg(not(feature = "native-roots"))]
const NO_ROOTS: &str = "no TLS setup: no root certificates; enable the `native-roots` feature (on by \
    default) for the system's, give a CA bundle (TransportConfig::ca_files, ca_pem) or a TLS \
    configuration (TransportConfig::tls)";

fn config_error(what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Config, what)
}

/// The TLS configuration `config` asks for, with the transport's ALPN protocols; an
/// error when none can be made (no crypto provider, no root certificate) or for
/// unusable TLS settings (a missing or malformed CA bundle, a certificate without its
/// key...).
pub(super) fn build(config: &TransportConfig) -> Result<Arc<ClientConfig>> {
    let mut client = match &config.tls {
        Some(tls) => {
            if !config.ca_files.is_empty()
                || !config.ca_pem.is_empty()
                || config.client_cert_pem.is_some()
                || config.client_key_pem.is_some()
                || !config.insecure_hosts.is_empty()
            {
                return Err(config_error(
                    "a TLS configuration was given together with CA bundles, a client certificate or \
                     insecure hosts: put them in the TLS configuration",
                ));
            }
            ClientConfig::clone(tls)
        }
        None => from_parts(config)?,
    };
    client.alpn_protocols =
        if config.http2 { vec![b"h2".to_vec(), b"http/1.1".to_vec()] } else { vec![b"http/1.1".to_vec()] };
    Ok(Arc::new(client))
}

/// The configuration for the connection to an `https://` proxy: `tls` (the transport's
/// roots and client certificate) with HTTP/1.1 as the only ALPN protocol, since
/// `CONNECT` and absolute-form requests are HTTP/1.1.
pub(super) fn for_proxy(tls: &ClientConfig) -> Arc<ClientConfig> {
    let mut config = tls.clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

#[cfg_attr(feature = "ring", allow(clippy::unnecessary_wraps))] // `None` without the `ring` feature
fn provider() -> Option<Arc<CryptoProvider>> {
    if let Some(provider) = CryptoProvider::get_default() {
        return Some(Arc::clone(provider));
    }
    #[cfg(feature = "ring")]
    return Some(Arc::new(rustls::crypto::ring::default_provider()));
    #[cfg(not(feature = "ring"))]
    None
}

/// The configuration built from the system's roots (read on the first handshake that
/// needs them, see [`Verifier`]), the CA, insecure hosts and client certificate fields.
fn from_parts(config: &TransportConfig) -> Result<ClientConfig> {
    let mut extra = RootCertStore::empty();
    for path in &config.ca_files {
        let what = format!("CA bundle {}", path.display());
        let pem =
            std::fs::read(path).map_err(|e| config_error(format!("reading the {what}")).with_source(e))?;
        add_pem(&mut extra, &pem, &what)?;
    }
    for (i, pem) in config.ca_pem.iter().enumerate() {
        add_pem(&mut extra, pem, &format!("CA bundle #{} of ca_pem", i + 1))?;
    }
    let identity = client_identity(config)?;
    let system = cfg!(feature = "native-roots");
    let every_host_insecure = config.insecure_hosts.iter().any(|h| h.trim() == "*");
    if extra.is_empty() && !system && !every_host_insecure {
        return Err(config_error(NO_ROOTS));
    }
    let Some(provider) = provider() else { return Err(config_error(NO_PROVIDER)) };
    let verifier =
        Verifier::new(&config.insecure_hosts, Roots { extra, system }, Arc::clone(&provider), NO_ROOTS);
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_error("the crypto provider supports no safe TLS version").with_source(e))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let client = match identity {
        None => builder.with_no_client_auth(),
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| config_error("using the client certificate").with_source(e))?,
    };
    Ok(client)
}

type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_identity(config: &TransportConfig) -> Result<Option<Identity>> {
    let (cert, key) = match (&config.client_cert_pem, &config.client_key_pem) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        _ => return Err(config_error("a client certificate needs both the certificate and its private key")),
    };
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error("reading the client certificate").with_source(e))?;
    if chain.is_empty() {
        return Err(config_error("the client certificate PEM holds no certificate"));
    }
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| config_error("reading the client certificate's private key").with_source(e))?;
    Ok(Some((chain, key)))
}

fn add_pem(roots: &mut RootCertStore, pem: &[u8], what: &str) -> Result<()> {
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| config_error(format!("reading the {what}")).with_source(e))?;
        roots.add(cert).map_err(|e| config_error(format!("a certificate of the {what}")).with_source(e))?;
        added += 1;
    }
    if added == 0 {
        return Err(config_error(format!("the {what} holds no certificate")));
    }
    Ok(())
}
