//! Content digests (`<algorithm>:<encoded>`), exactly as go-digest and the image-spec
//! define them, and a streaming digester.

mod algorithm;
mod digester;

use std::fmt;
use std::str::FromStr;

pub use algorithm::DigestAlgorithm;
pub use digester::{Digester, Verifier};

/// A validated content digest such as `sha256:e3b0c442…`.
///
/// A `Digest` that exists is valid: its algorithm matches the grammar, and when the
/// algorithm is known (sha256, sha512, sha384, blake3) its encoded part has the right
/// length in lowercase hex. Digests of unknown algorithms that match the grammar parse,
/// as the image-spec asks, but cannot be verified; [`Digest::parse_strict`] refuses
/// them, as go-digest's `Parse` does.
///
/// ```
/// use oci_spec_types::{Digest, DigestAlgorithm};
///
/// let d = Digest::compute(&DigestAlgorithm::SHA256, b"hello world")?;
/// assert_eq!(d.as_str(), "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
/// assert_eq!(d.encoded(), &d.as_str()[7..]);
/// assert_eq!(d, d.as_str().parse()?);
///
/// let err = "sha256:abc".parse::<Digest>().unwrap_err();
/// assert_eq!(err.to_string(), "invalid checksum digest length: sha256 takes 64 hex characters, found 3");
/// # Ok::<(), oci_spec_types::DigestError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    repr: Box<str>,
    colon: usize,
}

impl Digest {
    /// Parses a digest, accepting unknown algorithms that match the grammar.
    pub fn parse(s: &str) -> Result<Self, DigestError> {
        Self::parse_with(s, false)
    }

    /// Parses a digest as go-digest's `Parse` does: unknown algorithms are refused
    /// with [`DigestErrorKind::Unsupported`].
    pub fn parse_strict(s: &str) -> Result<Self, DigestError> {
        Self::parse_with(s, true)
    }

    fn parse_with(s: &str, strict: bool) -> Result<Self, DigestError> {
        let colon = match s.find(':') {
            Some(i) if i > 0 && i + 1 < s.len() => i,
            _ => {
                return Err(DigestError::new(
                    DigestErrorKind::InvalidFormat,
                    "expected <algorithm>:<encoded>".to_owned(),
                ));
            }
        };
        let (alg, encoded) = (&s[..colon], &s[colon + 1..]);
        if let Some(known) = DigestAlgorithm::known(alg) {
            known.validate_encoded(encoded)?;
        } else {
            if !algorithm::is_algorithm_name(alg) || !algorithm::is_encoded_grammar(encoded) {
                return Err(DigestError::new(
                    DigestErrorKind::InvalidFormat,
                    "does not match <algorithm>:<encoded> ([a-z0-9]+ joined by +._- , then [a-zA-Z0-9=_-]+)"
                        .to_owned(),
                ));
            }
            if strict {
                return Err(DigestError::new(
                    DigestErrorKind::Unsupported,
                    format!("'{alg}' is not a known algorithm"),
                ));
            }
        }
        Ok(Self { repr: s.into(), colon })
    }

    /// Builds a digest from an algorithm and an encoded value, validating both.
    pub fn new(algorithm: &DigestAlgorithm, encoded: &str) -> Result<Self, DigestError> {
        Self::parse(&format!("{algorithm}:{encoded}"))
    }

    /// Computes the digest of `bytes`.
    pub fn compute(algorithm: &DigestAlgorithm, bytes: &[u8]) -> Result<Self, DigestError> {
        let mut d = Digester::new(algorithm)?;
        d.update(bytes);
        Ok(d.finalize())
    }

    /// The sha256 digest of `bytes`, the canonical digest of the OCI specs.
    #[must_use]
    pub fn sha256(bytes: &[u8]) -> Self {
        let mut d = Digester::sha256();
        d.update(bytes);
        d.finalize()
    }

    /// The algorithm part, before the `:`.
    #[must_use]
    pub fn algorithm(&self) -> DigestAlgorithm {
        DigestAlgorithm::from_checked_name(&self.repr[..self.colon])
    }

    /// The algorithm's name, without allocating.
    #[must_use]
    pub fn algorithm_str(&self) -> &str {
        &self.repr[..self.colon]
    }

    /// The encoded part, after the `:`.
    #[must_use]
    pub fn encoded(&self) -> &str {
        &self.repr[self.colon + 1..]
    }

    /// The whole digest, `<algorithm>:<encoded>`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.repr
    }

    /// Whether this build can verify content against this digest.
    #[must_use]
    pub fn is_verifiable(&self) -> bool {
        self.algorithm().is_computable()
    }

    /// A [`Verifier`] that checks streamed content against this digest.
    pub fn verifier(&self) -> Result<Verifier, DigestError> {
        Verifier::new(self.clone())
    }

    /// Whether `bytes` hash to this digest.
    pub fn verify(&self, bytes: &[u8]) -> Result<bool, DigestError> {
        let mut v = self.verifier()?;
        v.update(bytes);
        Ok(v.verified())
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Digest {
    type Error = DigestError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.repr
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.repr)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.repr)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(format_args!("digest {s:?}: {e}")))
    }
}

/// What is wrong with a digest string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestErrorKind {
    /// Not `<algorithm>:<encoded>`, or bad characters (go-digest `ErrDigestInvalidFormat`).
    InvalidFormat,
    /// The encoded part has the wrong length for its algorithm (`ErrDigestInvalidLength`).
    InvalidLength,
    /// The algorithm is not known or cannot be computed (`ErrDigestUnsupported`).
    Unsupported,
}

impl DigestErrorKind {
    /// The message go-digest gives for this kind.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::InvalidFormat => "invalid checksum digest format",
            Self::InvalidLength => "invalid checksum digest length",
            Self::Unsupported => "unsupported digest algorithm",
        }
    }
}

/// A digest that failed to parse or an algorithm that cannot be used.
///
/// The message starts with go-digest's message for the kind, then says what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestError {
    kind: DigestErrorKind,
    detail: String,
}

impl DigestError {
    pub(crate) fn new(kind: DigestErrorKind, detail: String) -> Self {
        Self { kind, detail }
    }

    /// What kind of problem this is.
    #[must_use]
    pub fn kind(&self) -> DigestErrorKind {
        self.kind
    }
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.message(), self.detail)
    }
}

impl std::error::Error for DigestError {}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn error_precedence_follows_go_digest() {
        use DigestErrorKind::*;
        let cases: &[(&str, Option<DigestErrorKind>, Option<DigestErrorKind>)] = &[
            // input, lenient result, strict result
            ("", Some(InvalidFormat), Some(InvalidFormat)),
            (":", Some(InvalidFormat), Some(InvalidFormat)),
            ("sha256:", Some(InvalidFormat), Some(InvalidFormat)),
            (":abc", Some(InvalidFormat), Some(InvalidFormat)),
            ("sha256:abc", Some(InvalidLength), Some(InvalidLength)),
            (&format!("sha256::{E}"), Some(InvalidLength), Some(InvalidLength)),
            (&format!("sha256:{}", E.to_uppercase()), Some(InvalidFormat), Some(InvalidFormat)),
            (&format!("SHA256:{E}"), Some(InvalidFormat), Some(InvalidFormat)),
            ("foo:abc", None, Some(Unsupported)),
            ("foo__bar:abc", Some(InvalidFormat), Some(InvalidFormat)),
            ("foo:ab c", Some(InvalidFormat), Some(InvalidFormat)),
            (&format!("sha256:{E}"), None, None),
        ];
        for (input, lenient, strict) in cases {
            assert_eq!(Digest::parse(input).err().map(|e| e.kind()), *lenient, "parse {input:?}");
            assert_eq!(Digest::parse_strict(input).err().map(|e| e.kind()), *strict, "strict {input:?}");
        }
    }

    #[test]
    fn parts_and_round_trip() {
        let s = format!("sha256:{E}");
        let d: Digest = s.parse().unwrap();
        assert_eq!(d.algorithm(), DigestAlgorithm::SHA256);
        assert_eq!(d.algorithm_str(), "sha256");
        assert_eq!(d.encoded(), E);
        assert_eq!(d.to_string(), s);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), d);
        let unknown: Digest =
            "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8".parse().unwrap();
        assert_eq!(unknown.algorithm().as_str(), "multihash+base58");
        assert!(!unknown.is_verifiable());
        assert_eq!(unknown.verify(b"").unwrap_err().kind(), DigestErrorKind::Unsupported);
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            Digest::parse("nocolon").unwrap_err().to_string(),
            "invalid checksum digest format: expected <algorithm>:<encoded>"
        );
        let upper = format!("sha256:{}", E.to_uppercase());
        assert_eq!(
            Digest::parse(&upper).unwrap_err().to_string(),
            "invalid checksum digest format: sha256 takes lowercase hex, found a non-hex character at byte 0 of the encoded part"
        );
        let err = serde_json::from_str::<Digest>("\"sha256:00\"").unwrap_err().to_string();
        assert!(err.starts_with("digest \"sha256:00\": invalid checksum digest length"), "{err}");
    }
}
