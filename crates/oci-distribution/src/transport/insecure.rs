//! Server certificate verification that trusts any certificate of the hosts the caller
//! listed as insecure (`--tls-verify=false` in a command line), and verifies every other
//! host's as usual. The handshake's signature is still checked against the certificate
//! presented, so the connection is encrypted to whoever holds its key; only who that is
//! goes unchecked.

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The verifier: the listed names pass, the others go to the web PKI verifier.
pub(super) struct Verifier {
    /// Lowercase host names (or IP addresses) whose certificates are not verified;
    /// `*` lists every host.
    hosts: Vec<String>,
    /// The usual verifier, `None` when every host is insecure and there may be no roots.
    inner: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("hosts", &self.hosts).finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `hosts` (names with an optional `:port`, which is ignored: a
    /// certificate names a host, not a port), verifying other hosts against `roots`.
    pub(super) fn new(
        hosts: &[String],
        roots: RootCertStore,
        provider: &Arc<CryptoProvider>,
    ) -> Result<Self, rustls::client::VerifierBuilderError> {
        let hosts: Vec<String> = hosts.iter().map(|h| host_name(h)).collect();
        let inner = if hosts.iter().any(|h| h == "*") {
            None
        } else {
            Some(WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider)).build()?)
        };
        Ok(Self { hosts, inner, algorithms: provider.signature_verification_algorithms })
    }

    fn insecure(&self, name: &ServerName<'_>) -> bool {
        let name = match name {
            ServerName::DnsName(dns) => dns.as_ref().to_ascii_lowercase(),
            ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
            _ => return false,
        };
        self.hosts.contains(&name)
    }
}

/// The name of `host` as a certificate would hold it: without a port or IPv6 brackets,
/// in lowercase.
fn host_name(host: &str) -> String {
    let host = host.trim();
    if host == "*" {
        return host.to_owned();
    }
    let (name, _port) = super::split_host(host);
    name.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.inner {
            Some(inner) if !self.insecure(server_name) => {
                inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            _ => {
                tracing::debug!(host = ?server_name, "TLS certificate not verified (insecure host)");
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject as _;

    #[test]
    fn names_lose_their_port_brackets_and_case() {
        assert_eq!(host_name("Registry.Example:5000"), "registry.example");
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name(" * "), "*");
    }

    #[test]
    fn only_listed_names_are_insecure() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        let pem = super::super::tests::peers::pki().other_ca_pem.as_bytes();
        roots.add(CertificateDer::pem_slice_iter(pem).next().unwrap().unwrap()).unwrap();
        let v = Verifier::new(&["r.example:443".to_owned(), "::1".to_owned()], roots, &provider).unwrap();
        assert!(v.insecure(&ServerName::try_from("R.example").unwrap()));
        assert!(v.insecure(&ServerName::try_from("::1").unwrap()));
        assert!(!v.insecure(&ServerName::try_from("other.example").unwrap()));
        assert!(v.inner.is_some());
        let all = Verifier::new(&["*".to_owned()], RootCertStore::empty(), &provider).unwrap();
        assert!(all.inner.is_none());
    }
}
