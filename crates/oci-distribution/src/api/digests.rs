//! Digests of content the endpoints send or receive: computed, verified, pinned in a
//! reference.

use oci_reference::{Reference, Repository};
use oci_spec_types::{Digest, DigestAlgorithm};

use crate::{Error, ErrorKind, Result};

/// `repository` at `digest`.
pub(super) fn pinned(repository: &Repository, digest: &Digest) -> Result<Reference> {
    repository
        .with_digest(digest)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("{repository} at {digest}")).with_source(e))
}

/// The digest of `bytes` with `algorithm`.
pub(super) fn compute(algorithm: &DigestAlgorithm, bytes: &[u8], context: &str) -> Result<Digest> {
    Digest::compute(algorithm, bytes).map_err(|e| {
        Error::new(ErrorKind::InvalidInput, format!("{context}: cannot compute a {algorithm} digest"))
            .with_source(e)
    })
}

/// Fails unless `bytes` hash to `expected`.
pub(super) fn verify(expected: &Digest, bytes: &[u8], context: &str) -> Result<()> {
    let actual = compute(&expected.algorithm(), bytes, context)?;
    if &actual == expected {
        return Ok(());
    }
    let why = format!("{context}: the content hashes to {actual}, not {expected}");
    Err(Error::new(ErrorKind::DigestMismatch, why))
}
