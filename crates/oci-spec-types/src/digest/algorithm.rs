//! Digest algorithms: an open vocabulary with the registered ones as constants.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::{DigestError, DigestErrorKind};

/// A digest algorithm such as `sha256`.
///
/// The vocabulary is open: any name matching the image-spec grammar
/// (`[a-z0-9]+([+._-][a-z0-9]+)*`) is an algorithm, but only the ones listed as
/// constants here have a known encoded length and can be validated; of those, all but
/// [`BLAKE3`](Self::BLAKE3) (without the `blake3` feature) can be computed.
///
/// ```
/// use oci_spec_types::DigestAlgorithm;
///
/// let alg: DigestAlgorithm = "sha512".parse()?;
/// assert_eq!(alg, DigestAlgorithm::SHA512);
/// assert_eq!(alg.encoded_len(), Some(128));
/// assert!("SHA256".parse::<DigestAlgorithm>().is_err());
/// # Ok::<(), oci_spec_types::DigestError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DigestAlgorithm(Cow<'static, str>);

impl DigestAlgorithm {
    /// SHA-256, the canonical algorithm of the OCI specs.
    pub const SHA256: Self = Self(Cow::Borrowed("sha256"));
    /// SHA-512, registered by the image-spec.
    pub const SHA512: Self = Self(Cow::Borrowed("sha512"));
    /// SHA-384: known to go-digest, not registered by the image-spec.
    pub const SHA384: Self = Self(Cow::Borrowed("sha384"));
    /// BLAKE3 with 256-bit output, as go-digest's `blake3` package.
    pub const BLAKE3: Self = Self(Cow::Borrowed("blake3"));
    /// The algorithm used when none is named.
    pub const CANONICAL: Self = Self::SHA256;

    /// The algorithms whose encoded form this crate can validate.
    pub const KNOWN: [Self; 4] = [Self::SHA256, Self::SHA512, Self::SHA384, Self::BLAKE3];

    /// The algorithm's name, as it appears before the `:` of a digest.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An algorithm whose name the caller has already checked against the grammar.
    pub(crate) fn from_checked_name(name: &str) -> Self {
        Self::known(name).unwrap_or_else(|| Self(Cow::Owned(name.to_owned())))
    }

    /// Looks a name up among the known algorithms without allocating.
    pub(crate) fn known(name: &str) -> Option<Self> {
        Self::KNOWN.into_iter().find(|alg| alg.as_str() == name)
    }

    /// The length in characters of the hex-encoded output, for known algorithms.
    #[must_use]
    pub fn encoded_len(&self) -> Option<usize> {
        match self.as_str() {
            "sha256" | "blake3" => Some(64),
            "sha384" => Some(96),
            "sha512" => Some(128),
            _ => None,
        }
    }

    /// Whether the encoded form of this algorithm's digests can be validated
    /// (go-digest's `Available`).
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.encoded_len().is_some()
    }

    /// Whether digests of this algorithm can be computed and verified by this build.
    #[must_use]
    pub fn is_computable(&self) -> bool {
        matches!(self.as_str(), "sha256" | "sha384" | "sha512")
            || (cfg!(feature = "blake3") && *self == Self::BLAKE3)
    }

    /// Selects an algorithm the way a command-line flag does (go-digest's
    /// `Algorithm.Set`): the empty string means [`CANONICAL`](Self::CANONICAL), a known
    /// computable name is accepted, anything else is unsupported.
    pub fn select(name: &str) -> Result<Self, DigestError> {
        if name.is_empty() {
            return Ok(Self::CANONICAL);
        }
        match Self::known(name) {
            Some(alg) if alg.is_computable() => Ok(alg),
            _ => Err(DigestError::new(DigestErrorKind::Unsupported, format!("'{name}' cannot be computed"))),
        }
    }

    /// Validates an encoded digest value for this algorithm, as go-digest's
    /// `Algorithm.Validate`: the length is checked before the characters.
    pub(crate) fn validate_encoded(&self, encoded: &str) -> Result<(), DigestError> {
        let Some(len) = self.encoded_len() else {
            return Err(DigestError::new(
                DigestErrorKind::Unsupported,
                format!("'{self}' is not a known algorithm"),
            ));
        };
        if encoded.len() != len {
            return Err(DigestError::new(
                DigestErrorKind::InvalidLength,
                format!("{self} takes {len} hex characters, found {}", encoded.len()),
            ));
        }
        if let Some(pos) = encoded.bytes().position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(DigestError::new(
                DigestErrorKind::InvalidFormat,
                format!(
                    "{self} takes lowercase hex, found a non-hex character at byte {pos} of the encoded part"
                ),
            ));
        }
        Ok(())
    }
}

/// Whether `name` matches the algorithm grammar `[a-z0-9]+([+._-][a-z0-9]+)*`.
pub(crate) fn is_algorithm_name(name: &str) -> bool {
    let mut prev_sep = true; // the start behaves like a separator: a component must follow
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => prev_sep = false,
            b'+' | b'.' | b'_' | b'-' if !prev_sep => prev_sep = true,
            _ => return false,
        }
    }
    !prev_sep
}

/// Whether `encoded` matches the encoded grammar `[a-zA-Z0-9=_-]+`.
pub(crate) fn is_encoded_grammar(encoded: &str) -> bool {
    !encoded.is_empty()
        && encoded.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'))
}

impl FromStr for DigestAlgorithm {
    type Err = DigestError;

    /// Parses any algorithm name that matches the grammar.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(alg) = Self::known(s) {
            return Ok(alg);
        }
        if is_algorithm_name(s) {
            Ok(Self(Cow::Owned(s.to_owned())))
        } else {
            Err(DigestError::new(
                DigestErrorKind::InvalidFormat,
                format!("'{s}' is not an algorithm name ([a-z0-9]+ joined by one of +._-)"),
            ))
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DigestAlgorithm({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_follow_the_grammar() {
        for (name, ok) in [
            ("sha256", true),
            ("sha256-test", true),
            ("sha256_384", true),
            ("a+b.c_d-e", true),
            ("sha256-", false),
            ("-", false),
            ("", false),
            ("SHA256", false),
            ("sha25*", false),
            ("a__b", false),
        ] {
            assert_eq!(is_algorithm_name(name), ok, "{name:?}");
        }
    }

    #[test]
    fn select_behaves_like_a_flag() {
        assert_eq!(DigestAlgorithm::select("").unwrap(), DigestAlgorithm::SHA256);
        assert_eq!(DigestAlgorithm::select("sha512").unwrap(), DigestAlgorithm::SHA512);
        let err = DigestAlgorithm::select("bean").unwrap_err();
        assert_eq!(err.kind(), DigestErrorKind::Unsupported);
        assert_eq!(err.to_string(), "unsupported digest algorithm: 'bean' cannot be computed");
    }
}
