//! Streaming digest computation and verification.

use std::fmt::Write as _;
use std::io;

use sha2::Digest as _;

use super::{Digest, DigestAlgorithm, DigestError, DigestErrorKind};

enum State {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    #[cfg(feature = "blake3")]
    Blake3(Box<blake3::Hasher>),
}

/// Computes a digest over content fed in pieces.
///
/// Built on the `sha2` crate, which uses the CPU's SHA extensions when it has them.
/// It is also an [`io::Write`], so `io::copy` can feed it.
///
/// ```
/// use oci_spec_types::{Digester, DigestAlgorithm};
///
/// let mut d = Digester::new(&DigestAlgorithm::SHA512)?;
/// d.update(b"hello ");
/// d.update(b"world");
/// assert_eq!(d.bytes_written(), 11);
/// assert!(d.finalize().as_str().starts_with("sha512:309ecc48"));
/// # Ok::<(), oci_spec_types::DigestError>(())
/// ```
pub struct Digester {
    state: State,
    written: u64,
}

impl Digester {
    /// A digester for `algorithm`; fails when this build cannot compute it.
    pub fn new(algorithm: &DigestAlgorithm) -> Result<Self, DigestError> {
        let state = match algorithm.as_str() {
            "sha256" => State::Sha256(sha2::Sha256::new()),
            "sha384" => State::Sha384(sha2::Sha384::new()),
            "sha512" => State::Sha512(sha2::Sha512::new()),
            #[cfg(feature = "blake3")]
            "blake3" => State::Blake3(Box::new(blake3::Hasher::new())),
            _ => {
                return Err(DigestError::new(
                    DigestErrorKind::Unsupported,
                    format!("'{algorithm}' cannot be computed by this build"),
                ));
            }
        };
        Ok(Self { state, written: 0 })
    }

    /// A sha256 digester.
    #[must_use]
    pub fn sha256() -> Self {
        Self { state: State::Sha256(sha2::Sha256::new()), written: 0 }
    }

    /// Feeds more content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.written += bytes.len() as u64;
        match &mut self.state {
            State::Sha256(h) => h.update(bytes),
            State::Sha384(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
            #[cfg(feature = "blake3")]
            State::Blake3(h) => {
                h.update(bytes);
            }
        }
    }

    /// How many bytes were fed so far.
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The algorithm being computed.
    #[must_use]
    pub fn algorithm(&self) -> DigestAlgorithm {
        match self.state {
            State::Sha256(_) => DigestAlgorithm::SHA256,
            State::Sha384(_) => DigestAlgorithm::SHA384,
            State::Sha512(_) => DigestAlgorithm::SHA512,
            #[cfg(feature = "blake3")]
            State::Blake3(_) => DigestAlgorithm::BLAKE3,
        }
    }

    /// The digest of everything fed.
    #[must_use]
    pub fn finalize(self) -> Digest {
        let alg = self.algorithm();
        let bytes: Vec<u8> = match self.state {
            State::Sha256(h) => h.finalize().to_vec(),
            State::Sha384(h) => h.finalize().to_vec(),
            State::Sha512(h) => h.finalize().to_vec(),
            #[cfg(feature = "blake3")]
            State::Blake3(h) => h.finalize().as_bytes().to_vec(),
        };
        let mut repr = String::with_capacity(alg.as_str().len() + 1 + bytes.len() * 2);
        repr.push_str(alg.as_str());
        repr.push(':');
        for b in bytes {
            let _ = write!(repr, "{b:02x}");
        }
        Digest { colon: alg.as_str().len(), repr: repr.into_boxed_str() }
    }
}

impl io::Write for Digester {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digester")
            .field("algorithm", &self.algorithm())
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// Checks streamed content against an expected digest.
///
/// ```
/// use oci_spec_types::Digest;
///
/// let expected = Digest::sha256(b"layer");
/// let mut v = expected.verifier()?;
/// v.update(b"lay");
/// v.update(b"er");
/// assert!(v.verified());
/// # Ok::<(), oci_spec_types::DigestError>(())
/// ```
#[derive(Debug)]
pub struct Verifier {
    expected: Digest,
    digester: Digester,
}

impl Verifier {
    /// A verifier for `expected`; fails when its algorithm cannot be computed.
    pub fn new(expected: Digest) -> Result<Self, DigestError> {
        let digester = Digester::new(&expected.algorithm())?;
        Ok(Self { expected, digester })
    }

    /// Feeds more content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.digester.update(bytes);
    }

    /// How many bytes were fed so far.
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.digester.bytes_written()
    }

    /// The digest the content should have.
    #[must_use]
    pub fn expected(&self) -> &Digest {
        &self.expected
    }

    /// Finishes and returns the digest actually computed, for error messages.
    #[must_use]
    pub fn finish(self) -> Digest {
        self.digester.finalize()
    }

    /// Finishes and says whether the content matched.
    #[must_use]
    pub fn verified(self) -> bool {
        let expected = self.expected.clone();
        self.finish() == expected
    }
}

impl io::Write for Verifier {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(
            Digest::sha256(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            Digest::compute(&DigestAlgorithm::SHA512, b"{}").unwrap().as_str(),
            "sha512:27c74670adb75075fad058d5ceaf7b20c4e7786c83bae8a32f626f9782af34c9a33c2046ef60fd2a7878d378e29fec851806bbd9a67878f3a9f1cda4830763fd"
        );
        let d384 = Digest::compute(&DigestAlgorithm::SHA384, b"abc").unwrap();
        assert_eq!(d384.encoded().len(), 96);
        assert_eq!(Digest::parse(d384.as_str()).unwrap(), d384);
    }

    #[test]
    fn pieces_equal_whole() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut d = Digester::sha256();
        for chunk in data.chunks(333) {
            d.update(chunk);
        }
        assert_eq!(d.bytes_written(), 10_000);
        assert_eq!(d.finalize(), Digest::sha256(&data));
        let mut v = Digest::sha256(&data).verifier().unwrap();
        v.update(&data[..9_999]);
        assert!(!v.verified());
    }

    #[cfg(feature = "blake3")]
    #[test]
    fn blake3_is_computed_with_the_feature() {
        let d = Digest::compute(&DigestAlgorithm::BLAKE3, b"abc").unwrap();
        assert_eq!(d.as_str(), "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
    }

    #[cfg(not(feature = "blake3"))]
    #[test]
    fn blake3_parses_but_is_not_computed_without_the_feature() {
        let digest = "blake3:6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";
        let parsed = Digest::parse(digest).unwrap();
        let e = Digester::new(&parsed.algorithm()).unwrap_err();
        assert_eq!(e.to_string(), "unsupported digest algorithm: 'blake3' cannot be computed by this build");
        assert!(parsed.verifier().is_err());
    }
}
