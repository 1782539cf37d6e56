//! Tokens: JWTs in the form distribution's token auth verifies, signed and checked here.
//!
//! Header `{"typ":"JWT","alg":"ES256"[,"x5c":[<base64 DER of the signing cert>]]}`,
//! claims `{iss, sub, aud, exp, nbf, iat, jti, access:[{type, name, actions}]}`, an ECDSA
//! P-256 SHA-256 signature as raw `r || s` (JWS), all base64url without padding.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use serde_json::json;

use crate::{Error, ErrorKind, Result};

/// One entry of a token's `access` claim: a scope `type:name:action,action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `repository`, `registry`, ...
    pub kind: String,
    /// The resource (`library/alpine`, `catalog`).
    pub name: String,
    /// `pull`, `push`, `delete`, `*`.
    pub actions: Vec<String>,
}

impl Access {
    /// Parses a scope: the type runs to the first `:`, the actions follow the last one
    /// (a name may hold a `host:port`); `None` when a part is missing.
    #[must_use]
    pub fn parse(scope: &str) -> Option<Self> {
        let (kind, rest) = scope.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let actions = actions.split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect();
        Some(Self { kind: kind.to_owned(), name: name.to_owned(), actions })
    }

    /// Whether this entry grants `action` on `kind:name` (`*` grants every action).
    #[must_use]
    pub fn grants(&self, kind: &str, name: &str, action: &str) -> bool {
        self.kind == kind && self.name == name && self.actions.iter().any(|a| a == action || a == "*")
    }
}

/// What a token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `iss`.
    pub issuer: String,
    /// `sub`: the user, empty for anonymous tokens.
    pub subject: String,
    /// `aud`: the registry's service name.
    pub audience: String,
    /// `iat` and `nbf`, Unix seconds.
    pub issued_at: u64,
    /// `exp - iat`.
    pub expires_in: u64,
    /// `access`.
    pub access: Vec<Access>,
}

/// Signs tokens (and checks its own) with a P-256 key; a certificate, when given,
/// travels in the `x5c` header for registries that trust it (distribution's
/// `rootcertbundle`).
#[derive(Debug)]
pub struct Signer {
    key: EcdsaKeyPair,
    x5c: Option<String>,
    rng: SystemRandom,
}

fn crypto(what: &str) -> Error {
    Error::new(ErrorKind::Config, what)
}

impl Signer {
    /// A signer with a new random key (the registry's own tokens).
    pub fn generate() -> Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| crypto("generating a token signing key failed"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| crypto("loading the generated signing key failed"))?;
        Ok(Self { key, x5c: None, rng })
    }

    /// A signer from a PKCS#8 P-256 private key and its certificate, both PEM.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self> {
        let rng = SystemRandom::new();
        let key_der = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| crypto(&format!("the signing key: {e}")))?;
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key_der.secret_pkcs8_der(), &rng)
                .map_err(|e| crypto(&format!("the signing key is not a PKCS#8 P-256 key: {e}")))?;
        let cert_der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
            .map_err(|e| crypto(&format!("the signing certificate: {e}")))?;
        Ok(Self { key, x5c: Some(STANDARD.encode(cert_der.as_ref())), rng })
    }

    /// The public key, uncompressed SEC1.
    #[must_use]
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// A signed compact JWS for `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let header = match &self.x5c {
            Some(x5c) => json!({ "typ": "JWT", "alg": "ES256", "x5c": [x5c] }),
            None => json!({ "typ": "JWT", "alg": "ES256" }),
        };
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
            .map_err(|_| crypto("signing a token failed"))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref())))
    }

    /// The claims of a token this signer made, checked: signature, `nbf` and `exp`
    /// against `now` (Unix seconds). Why not otherwise.
    pub fn verify(&self, token: &str, now: u64) -> std::result::Result<Claims, String> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a compact JWS".into());
        };
        let decode =
            |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| "a part is not base64url".to_owned());
        let head: serde_json::Value = serde_json::from_slice(&decode(header)?).map_err(|_| "a bad header")?;
        if head["alg"] != "ES256" {
            return Err(format!("algorithm {} is not ES256", head["alg"]));
        }
        let signing_input = &token[..header.len() + 1 + payload.len()];
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.public_key())
            .verify(signing_input.as_bytes(), &decode(signature)?)
            .map_err(|_| "the signature does not verify".to_owned())?;
        let claims: serde_json::Value =
            serde_json::from_slice(&decode(payload)?).map_err(|_| "bad claims")?;
        let number = |key: &str| claims[key].as_u64().ok_or_else(|| format!("no {key} claim"));
        let (exp, nbf, iat) = (number("exp")?, number("nbf")?, number("iat")?);
        if now >= exp {
            return Err("the token has expired".into());
        }
        if now + 60 < nbf {
            return Err("the token is not valid yet".into());
        }
        let text = |key: &str| claims[key].as_str().unwrap_or_default().to_owned();
        let access = claims["access"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| Access {
                        kind: e["type"].as_str().unwrap_or_default().to_owned(),
                        name: e["name"].as_str().unwrap_or_default().to_owned(),
                        actions: e["actions"]
                            .as_array()
                            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Claims {
            issuer: text("iss"),
            subject: text("sub"),
            audience: text("aud"),
            issued_at: iat,
            expires_in: exp.saturating_sub(iat),
            access,
        })
    }
}

/// `n` random bytes from the system's generator, hex-encoded (`2 * n` characters).
pub fn random_hex(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    SystemRandom::new().fill(&mut bytes).map_err(|_| crypto("the system random generator failed"))?;
    Ok(bytes.iter().fold(String::with_capacity(2 * n), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    }))
}

/// `secs` (Unix time) as RFC 3339 UTC, e.g. `2024-02-29T12:00:00Z`.
#[must_use]
pub fn rfc3339(secs: u64) -> String {
    oci_spec_types::Timestamp::from_unix_seconds(i64::try_from(secs).unwrap_or(i64::MAX)).as_str().to_owned()
}

#[cfg(test)]
mod tests {
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
        let all = Access::parse("registry:catalog:*").unwrap_or_else(|| unreachable!());
        assert!(all.grants("registry", "catalog", "*") && all.grants("registry", "catalog", "pull"));
        assert!(!all.grants("repository", "catalog", "pull"));
    }

    #[test]
    fn dates_format_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_208_000), "2024-02-29T12:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn tokens_are_es256_jws_that_verify_until_they_expire() {
        let signer = Signer::generate().unwrap_or_else(|e| panic!("{e}"));
        let claims = Claims {
            issuer: "iss".into(),
            subject: "oci-test".into(),
            audience: "svc".into(),
            issued_at: 1000,
            expires_in: 300,
            access: Access::parse("repository:foo:pull,push").into_iter().collect(),
        };
        let token = signer.sign(&claims).unwrap_or_else(|e| panic!("{e}"));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |p: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap_or_default()).unwrap_or_default()
        };
        assert_eq!(decode(parts[0]), json!({ "typ": "JWT", "alg": "ES256" }));
        let payload = decode(parts[1]);
        assert_eq!(
            (&payload["iat"], &payload["nbf"], &payload["exp"]),
            (&json!(1000), &json!(1000), &json!(1300))
        );
        assert_eq!(
            payload["access"],
            json!([{ "type": "repository", "name": "foo", "actions": ["pull", "push"] }])
        );
        assert_eq!(payload["jti"].as_str().map(str::len), Some(32));
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).map(|s| s.len()).ok(), Some(64), "raw r || s");
        assert_eq!(signer.verify(&token, 1000), Ok(claims.clone()));
        assert_eq!(signer.verify(&token, 1300), Err("the token has expired".to_owned()));
        assert_eq!(signer.verify(&token, 940), Ok(claims), "a minute of leeway before nbf");
        assert_eq!(signer.verify(&token, 939), Err("the token is not valid yet".to_owned()));
        let other = Signer::generate().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(other.verify(&token, 1000), Err("the signature does not verify".to_owned()));
    }
}
