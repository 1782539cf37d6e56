//! Certificates made for a test run (rcgen on ring, ECDSA P-256, valid 2020 to 2100 so
//! that any plausible clock accepts them): a CA ([`Ca`]), the server and client
//! certificates it signs ([`Ca::leaf`]), and self-signed signing certificates
//! ([`self_signed`]), as PEM.
//!
//! ```
//! use oci_test_support::pki::{Ca, Usage};
//!
//! let ca = Ca::new("test CA");
//! let server = ca.leaf("registry", &["127.0.0.1", "localhost"], Usage::Server);
//! assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! assert!(server.key_pem.contains("PRIVATE KEY"));
//! ```

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, date_time_ymd,
};

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server (`serverAuth`).
    Server,
    /// A TLS client (`clientAuth`).
    Client,
}

/// A certificate and its private key (PKCS#8), as PEM.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

/// A certificate authority of the test run.
pub struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("pem", &self.pem).finish_non_exhaustive()
    }
}

impl Ca {
    /// A new CA named `common_name`.
    ///
    /// # Panics
    /// When rcgen cannot make a key or sign (it can always, with ring).
    #[must_use]
    pub fn new(common_name: &str) -> Self {
        let key = new_key();
        let mut params = params(common_name, &[]);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let pem = params.self_signed(&key).expect("a self-signed CA").pem();
        Self { pem, issuer: Issuer::new(params, key) }
    }

    /// The CA's certificate: what clients trust.
    #[must_use]
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A certificate for `names` (DNS names, or IP addresses as text), signed by the CA.
    ///
    /// # Panics
    /// When a name is neither a DNS name nor an IP address.
    #[must_use]
    pub fn leaf(&self, common_name: &str, names: &[&str], usage: Usage) -> Leaf {
        let key = new_key();
        let mut params = params(common_name, names);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer).expect("a certificate signed by the CA");
        Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
    }
}

/// A self-signed certificate named `common_name`, for signing (a token issuer's).
///
/// # Panics
/// When rcgen cannot make a key or sign (it can always, with ring).
#[must_use]
pub fn self_signed(common_name: &str) -> Leaf {
    let key = new_key();
    let mut params = params(common_name, &[]);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    Leaf { cert_pem: cert.pem(), key_pem: key.serialize_pem() }
}

fn new_key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("an ECDSA P-256 key")
}

fn params(common_name: &str, names: &[&str]) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let mut params = CertificateParams::new(names).expect("DNS names or IP addresses");
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2100, 1, 1);
    params
}
