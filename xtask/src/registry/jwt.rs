//! The tokens of the test issuer: JWTs in the form distribution's token auth verifies.
//!
//! Header `{"typ":"JWT","alg":"ES256","x5c":[<base64 DER of the signing cert>]}`, claims
//! `{iss, sub, aud, exp, nbf, iat, jti, access:[{type, name, actions}]}`, signature ECDSA
//! P-256 SHA-256 as raw `r || s` (JWS), all base64url without padding.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;

use super::certs::pem_to_der;
use super::htpasswd::random_hex;
use crate::Result;

/// One entry of a token's `access` claim, parsed from a scope `type:name:action,action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Access {
    /// `repository`, `registry`, ...
    pub(crate) kind: String,
    /// The resource name (`library/alpine`, `catalog`).
    pub(crate) name: String,
    /// `pull`, `push`, `delete`, `*`.
    pub(crate) actions: Vec<String>,
}

impl Access {
    /// Parses a scope `type:name:actions` as the client splits it
    /// ([`split_scope`](oci_distribution::auth::scope::split_scope)).
    pub(crate) fn parse(scope: &str) -> Option<Self> {
        let (kind, name, actions) = oci_distribution::auth::scope::split_scope(scope)?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions = actions.split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect();
        Some(Self { kind: kind.to_owned(), name: name.to_owned(), actions })
    }
}

/// What one token says.
#[derive(Debug, Clone)]
pub(crate) struct Claims<'a> {
    /// `iss`.
    pub(crate) issuer: &'a str,
    /// `sub`: the user, empty for anonymous tokens.
    pub(crate) subject: &'a str,
    /// `aud`: the registry's service name.
    pub(crate) audience: &'a str,
    /// `iat` and `nbf`, Unix seconds.
    pub(crate) issued_at: u64,
    /// `exp - iat`.
    pub(crate) expires_in: u64,
    /// `access`.
    pub(crate) access: &'a [Access],
}

/// Signs tokens with the issuer's key; the certificate travels in the `x5c` header.
#[derive(Debug)]
pub(crate) struct Signer {
    key: EcdsaKeyPair,
    x5c: String,
    rng: SystemRandom,
}

impl Signer {
    /// A signer from a PKCS#8 P-256 private key and its certificate, both PEM.
    pub(crate) fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self> {
        let rng = SystemRandom::new();
        let key_der = pem_to_der(key_pem, "PRIVATE KEY").map_err(|e| format!("the signing key: {e}"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key_der, &rng)
            .map_err(|e| format!("the signing key is not a PKCS#8 P-256 key: {e}"))?;
        let cert_der =
            pem_to_der(cert_pem, "CERTIFICATE").map_err(|e| format!("the signing certificate: {e}"))?;
        Ok(Self { key, x5c: STANDARD.encode(cert_der), rng })
    }

    /// The public key, uncompressed SEC1 (for verifying in tests).
    #[cfg(test)]
    pub(crate) fn public_key(&self) -> &[u8] {
        use ring::signature::KeyPair as _;
        self.key.public_key().as_ref()
    }

    /// A signed compact JWS for `claims`.
    pub(crate) fn sign(&self, claims: &Claims<'_>) -> Result<String> {
        let header = json!({ "typ": "JWT", "alg": "ES256", "x5c": [self.x5c] });
        let access: Vec<_> = claims
            .access
            .iter()
            .map(|a| json!({ "type": a.kind, "name": a.name, "actions": a.actions }))
            .collect();
        let payload = json!({
            "iss": claims.issuer,
            "sub": claims.subject,
            "aud": claims.audience,
            "exp": claims.issued_at + claims.expires_in,
            "nbf": claims.issued_at,
            "iat": claims.issued_at,
            "jti": random_hex(16)?,
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|_| "signing a token failed".to_owned())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
    }
}

/// `secs` (Unix time) as RFC 3339 UTC, e.g. `2024-02-29T12:00:00Z`.
pub(crate) fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's `civil_from_days` for days since 1970-01-01 (non-negative).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use ring::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    use super::*;

    #[test]
    fn scopes_parse_with_ports_and_wildcards() {
        let cases = [
            ("repository:foo/bar:pull,push", Some(("repository", "foo/bar", vec!["pull", "push"]))),
            ("repository:localhost:5000/foo:pull", Some(("repository", "localhost:5000/foo", vec!["pull"]))),
            ("registry:catalog:*", Some(("registry", "catalog", vec!["*"]))),
            ("repository:foo:", Some(("repository", "foo", vec![]))),
            ("repository:foo", None),
            (":foo:pull", None),
            ("nothing", None),
        ];
        for (scope, expected) in cases {
            let expected = expected.map(|(kind, name, actions): (&str, &str, Vec<&str>)| Access {
                kind: kind.into(),
                name: name.into(),
                actions: actions.into_iter().map(Into::into).collect(),
            });
            assert_eq!(Access::parse(scope), expected, "scope {scope}");
        }
    }

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_208_000), "2024-02-29T12:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn tokens_are_verifiable_es256_jws() {
        let dir = crate::workspace::target_dir().join("peers").join("xtask-test-jwt");
        let _ = std::fs::remove_dir_all(&dir);
        let certs = super::super::certs::generate(&dir).unwrap();
        let signer = Signer::from_pem(
            &std::fs::read_to_string(&certs.issuer_key).unwrap(),
            &std::fs::read_to_string(&certs.issuer_cert).unwrap(),
        )
        .unwrap();
        let access = [Access::parse("repository:foo:pull,push").unwrap()];
        let claims = Claims {
            issuer: "iss",
            subject: "oci-test",
            audience: "svc",
            issued_at: 1000,
            expires_in: 300,
            access: &access,
        };
        let token = signer.sign(&claims).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);

        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], "JWT");
        let cert_pem = std::fs::read_to_string(&certs.issuer_cert).unwrap();
        let x5c = STANDARD.decode(header["x5c"][0].as_str().unwrap()).unwrap();
        assert_eq!(x5c, pem_to_der(&cert_pem, "CERTIFICATE").unwrap());

        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            (&claims["iss"], &claims["sub"], &claims["aud"], &claims["iat"], &claims["nbf"], &claims["exp"]),
            (&json!("iss"), &json!("oci-test"), &json!("svc"), &json!(1000), &json!(1000), &json!(1300))
        );
        assert_eq!(
            claims["access"],
            json!([{ "type": "repository", "name": "foo", "actions": ["pull", "push"] }])
        );
        assert_eq!(claims["jti"].as_str().unwrap().len(), 32);

        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(signature.len(), 64, "raw r || s");
        let signing_input = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, signer.public_key())
            .verify(signing_input.as_bytes(), &signature)
            .unwrap();
    }
}
