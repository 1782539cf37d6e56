//! Server certificate verification: the web PKI against the system's roots (read on the
//! first handshake that needs them, so that a client that only speaks plain HTTP, or a
//! short-lived command, never reads the system's store) and the caller's CAs; and any
//! certificate of the hosts the caller listed as insecure (`--tls-verify=false` in a
//! command line). For those, the handshake's signature is still checked against the
//! certificate presented, so the connection is encrypted to whoever holds its key; only
//! who that is goes unchecked.

use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The certificates a verified host's chain must lead to.
pub(super) struct Roots {
    /// The caller's CAs, read when the client was built.
    pub(super) extra: RootCertStore,
    /// Whether the system's roots count too (read on first use).
    pub(super) system: bool,
}

/// The verifier: the listed names pass, the others go to the web PKI verifier.
pub(super) struct Verifier {
    /// Lowercase host names (or IP addresses) whose certificates are not verified;
    /// `*` lists every host.
    hosts: Vec<String>,
    roots: Roots,
    provider: Arc<CryptoProvider>,
    /// The web PKI verifier, made on first use (or why none could be).
    web_pki: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
    /// The message when there is no root certificate at all.
    no_roots: &'static str,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("hosts", &self.hosts).finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `hosts` (names with an optional `:port`, which is ignored: a
    /// certificate names a host, not a port), verifying other hosts against `roots`;
    /// `no_roots` is the error of a handshake when there is none.
    pub(super) fn new(
        hosts: &[String],
        roots: Roots,
        provider: Arc<CryptoProvider>,
        no_roots: &'static str,
    ) -> Self {
        let hosts = hosts.iter().map(|h| host_name(h)).collect();
        Self { hosts, roots, provider, web_pki: OnceLock::new(), no_roots }
    }

    fn insecure(&self, name: &ServerName<'_>) -> bool {
        if self.hosts.is_empty() {
            return false;
        }
        let name = match name {
            ServerName::DnsName(dns) => dns.as_ref().to_ascii_lowercase(),
            ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
            _ => return false,
        };
        self.hosts.iter().any(|h| *h == name || h == "*")
    }

    /// The web PKI verifier, made the first time.
    fn web_pki(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        let made = self.web_pki.get_or_init(|| {
            let mut roots = self.roots.extra.clone();
            if self.roots.system {
                add_system_roots(&mut roots);
            }
            if roots.is_empty() {
                return Err(self.no_roots.to_owned());
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&self.provider))
                .build()
                .map_err(|e| format!("setting up certificate verification: {e}"))
        });
        made.as_ref().map_err(|e| rustls::Error::General(e.clone()))
    }

    #[cfg(test)]
    pub(super) fn roots_loaded(&self) -> bool {
        self.web_pki.get().is_some()
    }

    fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }
}

/// Adds the system's roots (`SSL_CERT_FILE`, `SSL_CERT_DIR`, or the platform's store).
#[cfg(feature = "native-roots")]
fn add_system_roots(roots: &mut RootCertStore) {
    let native = rustls_native_certs::load_native_certs();
    for e in &native.errors {
        tracing::debug!(error = %e, "loading the system's root certificates");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "system root certificates");
}

/// Without the `native-roots` feature there are none (and `Roots::system` is false).
#[cfg(not(feature = "native-roots"))]
const fn add_system_roots(_roots: &mut RootCertStore) {}

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
        if self.insecure(server_name) {
            tracing::debug!(host = ?server_name, "TLS certificate not verified (insecure host)");
            return Ok(ServerCertVerified::assertion());
        }
        self.web_pki()?.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_port_brackets_and_case() {
        assert_eq!(host_name("Registry.Example:5000"), "registry.example");
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name(" * "), "*");
    }

    #[test]
    fn only_listed_names_are_insecure_and_roots_wait_for_a_verification() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = || Roots { extra: RootCertStore::empty(), system: false };
        let v = Verifier::new(
            &["r.example:443".to_owned(), "::1".to_owned()],
            roots(),
            Arc::clone(&provider),
            "none",
        );
        assert!(v.insecure(&ServerName::try_from("R.example").unwrap()));
        assert!(v.insecure(&ServerName::try_from("::1").unwrap()));
        assert!(!v.insecure(&ServerName::try_from("other.example").unwrap()));
        let all = Verifier::new(&["*".to_owned()], roots(), Arc::clone(&provider), "none");
        assert!(all.insecure(&ServerName::try_from("any.example").unwrap()));
        // No root at all: known at the first verification, and said then.
        assert!(!v.roots_loaded());
        let e = v.web_pki().unwrap_err();
        assert_eq!(e.to_string(), "unexpected error: none");
        assert!(v.roots_loaded());
    }
}
