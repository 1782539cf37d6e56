//! Digest validation as go-digest's `Parse` does it, without allocating.
//!
//! The algorithms that are "available" are the ones distribution/reference has at
//! HEAD ([`AVAILABLE`]: sha256 and sha512). go-digest no longer makes sha384 available
//! by default, and distribution/reference does not link BLAKE3, so a reference with such
//! a digest is refused as unsupported, as upstream does, although
//! [`oci_spec_types::Digest`] parses both. Others that match the go-digest grammar are
//! unsupported too.

use oci_spec_types::DigestAlgorithm;

use crate::bytes::hex_run;
use crate::error::{Error, ErrorKind, Part, Reason};

/// The digest algorithms a reference may use.
pub(crate) const AVAILABLE: [DigestAlgorithm; 2] = [DigestAlgorithm::SHA256, DigestAlgorithm::SHA512];

/// Validates `d` as go-digest's `Digest.Validate`, with the same order of checks: the
/// format around the `:`, then for a known algorithm the length and the lowercase hex,
/// for an unknown one the go-digest grammar (invalid format) before unsupported.
/// Offsets are relative to `d`.
pub(crate) fn validate(d: &str) -> Result<(), Error> {
    validate_grammatical(d, false)
}

/// [`validate`], skipping the lowercase hex scan when the caller has already seen
/// that the encoded part is lowercase hex (`lowercase_hex`).
pub(crate) fn validate_grammatical(d: &str, lowercase_hex: bool) -> Result<(), Error> {
    let colon = match d.bytes().position(|b| b == b':') {
        Some(0) => return Err(Error::at(ErrorKind::DigestInvalid, Part::Digest, d, 0)),
        Some(i) if i + 1 < d.len() => i,
        _ => return Err(Error::new(ErrorKind::DigestInvalid, Part::Digest, d.len(), Reason::End)),
    };
    let (algorithm, encoded) = (&d[..colon], &d[colon + 1..]);
    let known = AVAILABLE.iter().find(|a| a.as_str() == algorithm).and_then(DigestAlgorithm::encoded_len);
    let Some(expected) = known else {
        if let Some(bad) = go_digest_grammar_mismatch(d, colon) {
            return Err(Error::at(ErrorKind::DigestInvalid, Part::Digest, d, bad));
        }
        return Err(Error::new(ErrorKind::DigestUnsupported, Part::Digest, 0, Reason::Unsupported));
    };
    if encoded.len() != expected {
        return Err(Error::new(
            ErrorKind::DigestInvalidLength,
            Part::Digest,
            colon + 1 + encoded.len().min(expected),
            Reason::DigestLength { expected, found: encoded.len() },
        ));
    }
    let hex_end = if lowercase_hex { d.len() } else { hex_run(d, colon + 1, false) };
    if hex_end < d.len() {
        return Err(Error::at(ErrorKind::DigestInvalid, Part::Digest, d, hex_end));
    }
    Ok(())
}

/// Where `d` stops matching go-digest's `[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+`,
/// given its first `:`.
fn go_digest_grammar_mismatch(d: &str, colon: usize) -> Option<usize> {
    let b = d.as_bytes();
    let mut after_separator = true;
    for (i, &c) in b[..colon].iter().enumerate() {
        match c {
            b'a'..=b'z' | b'0'..=b'9' => after_separator = false,
            b'.' | b'+' | b'_' | b'-' if !after_separator => after_separator = true,
            _ => return Some(i),
        }
    }
    if after_separator {
        return Some(colon);
    }
    b[colon + 1..]
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'=' | b'_' | b'-')))
        .map(|i| colon + 1 + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    const F64: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    #[test]
    fn checks_in_go_digest_order() {
        let sha512 = format!("sha512:{F64}{F64}");
        let cases: &[(&str, Option<(ErrorKind, usize)>)] = &[
            (&format!("sha256:{F64}"), None),
            (&sha512, None),
            ("sha256:ffff", Some((ErrorKind::DigestInvalidLength, 11))),
            (&format!("sha256:{F64}ff"), Some((ErrorKind::DigestInvalidLength, 71))),
            (&format!("sha256:{}", F64.to_uppercase()), Some((ErrorKind::DigestInvalid, 7))),
            (&format!("invaliddigest:{F64}"), Some((ErrorKind::DigestUnsupported, 0))),
            (&format!("sha384:{F64}{}", &F64[..32]), Some((ErrorKind::DigestUnsupported, 0))),
            (&format!("blake3:{F64}"), Some((ErrorKind::DigestUnsupported, 0))),
            (&format!("SHA256:{F64}"), Some((ErrorKind::DigestInvalid, 0))),
            ("foo-:abc", Some((ErrorKind::DigestInvalid, 4))),
            ("foo:a~c", Some((ErrorKind::DigestInvalid, 5))),
            ("nocolon", Some((ErrorKind::DigestInvalid, 7))),
            (":abc", Some((ErrorKind::DigestInvalid, 0))),
            ("sha256:", Some((ErrorKind::DigestInvalid, 7))),
        ];
        for (input, expected) in cases {
            let got = validate(input).err().map(|e| (e.kind(), e.offset()));
            assert_eq!(got, *expected, "{input:?}");
        }
    }

    #[test]
    fn messages() {
        assert_eq!(
            validate("sha256:ffff").unwrap_err().to_string(),
            "invalid digest length: its algorithm takes 64 hex characters, found 4, at byte 11"
        );
        assert_eq!(validate("md5:abc").unwrap_err().to_string(), "unsupported digest algorithm at byte 0");
    }
}
