//! Certificates made for one run (by [`oci_test_support::pki`]), written where the peers
//! read them: a test CA and a server certificate it signs for the TLS registry, and the
//! token issuer's self-signed signing certificate, which is the token registry's
//! `rootcertbundle`.

use std::path::{Path, PathBuf};

use oci_test_support::pki::{self, Ca, Usage};

use crate::Result;

/// The names the TLS registry's certificate covers.
pub(crate) const SERVER_NAMES: &[&str] = &["127.0.0.1", "::1", "localhost"];

/// The files written by [`generate`], all PEM.
#[derive(Debug, Clone)]
pub(crate) struct Certs {
    /// The test CA's certificate (what clients trust).
    pub(crate) ca: PathBuf,
    /// The TLS registry's certificate, signed by the CA.
    pub(crate) server_cert: PathBuf,
    /// The TLS registry's private key (PKCS#8).
    pub(crate) server_key: PathBuf,
    /// The token issuer's self-signed signing certificate.
    pub(crate) issuer_cert: PathBuf,
    /// The token issuer's private key (PKCS#8).
    pub(crate) issuer_key: PathBuf,
}

/// Generates the CA, the server certificate and the issuer's signing certificate into `dir`.
pub(crate) fn generate(dir: &Path) -> Result<Certs> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let certs = Certs {
        ca: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server-key.pem"),
        issuer_cert: dir.join("issuer.pem"),
        issuer_key: dir.join("issuer-key.pem"),
    };

    let ca = Ca::new("oci-test CA");
    let server = ca.leaf("oci-test registry", SERVER_NAMES, Usage::Server);
    let issuer = pki::self_signed("oci-test-issuer");
    write(&certs.ca, ca.pem())?;
    write(&certs.server_cert, &server.cert_pem)?;
    write(&certs.server_key, &server.key_pem)?;
    write(&certs.issuer_cert, &issuer.cert_pem)?;
    write(&certs.issuer_key, &issuer.key_pem)?;
    Ok(certs)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

    use super::*;

    #[test]
    fn writes_pem_files_whose_der_round_trips() {
        let dir = crate::workspace::target_dir().join("peers").join("xtask-test-certs");
        let _ = std::fs::remove_dir_all(&dir);
        let certs = generate(&dir).unwrap();
        for path in [&certs.ca, &certs.server_cert, &certs.issuer_cert] {
            let text = std::fs::read_to_string(path).unwrap();
            let der = CertificateDer::from_pem_slice(text.as_bytes()).unwrap();
            assert_eq!(der[0], 0x30, "{} is not a DER SEQUENCE", path.display());
        }
        for path in [&certs.server_key, &certs.issuer_key] {
            let text = std::fs::read_to_string(path).unwrap();
            PrivatePkcs8KeyDer::from_pem_slice(text.as_bytes()).unwrap();
        }
        // The server certificate names the loopback addresses (DER of the IP SANs).
        let server =
            CertificateDer::from_pem_slice(std::fs::read_to_string(&certs.server_cert).unwrap().as_bytes())
                .unwrap();
        assert!(crate::registry::http::find(&server, &[0x87, 4, 127, 0, 0, 1]).is_some());
        assert!(crate::registry::http::find(&server, b"localhost").is_some());
    }

    #[test]
    fn pem_errors_name_what_is_missing() {
        assert_eq!(CertificateDer::from_pem_slice(b"junk").unwrap_err().to_string(), "no items found");
        let unterminated =
            CertificateDer::from_pem_slice(b"-----BEGIN CERTIFICATE-----\nAAAA\n").unwrap_err();
        assert!(unterminated.to_string().contains("missing section end"), "{unterminated}");
    }
}
