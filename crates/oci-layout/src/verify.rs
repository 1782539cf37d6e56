//! Reading blobs with their digest checked as they stream, and copying with a fixed buffer.

use std::fmt;
use std::io::{self, Read, Write};

use oci_spec_types::{Digest, Verifier};

use crate::{BlobReader, Error, ErrorKind};

/// The buffer every streaming copy of this crate uses: blobs never sit whole in memory.
pub(crate) const COPY_BUFFER: usize = 256 * 1024;

/// Copies `reader` to `writer` through one fixed buffer; returns the bytes copied.
pub(crate) fn copy(reader: &mut dyn Read, writer: &mut dyn Write) -> io::Result<u64> {
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        writer.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// A blob reader that checks the content against the blob's digest as it streams:
/// the read that reaches the end fails (`io::ErrorKind::InvalidData`, carrying an
/// [`Error`] of kind [`ErrorKind::UnexpectedDigest`] or [`ErrorKind::UnexpectedSize`])
/// when the stored bytes do not match. Digests of algorithms this build cannot compute
/// are not checked.
pub struct VerifiedReader {
    inner: BlobReader,
    digest: Digest,
    verifier: Option<Verifier>,
    read: u64,
    done: bool,
}

impl VerifiedReader {
    pub(crate) fn new(inner: BlobReader, digest: Digest) -> Self {
        let verifier = digest.verifier().ok();
        Self { inner, digest, verifier, read: 0, done: false }
    }

    /// The stored size of the blob.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.inner.size()
    }

    /// The digest the content is checked against.
    #[must_use]
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    fn check_end(&mut self) -> io::Result<()> {
        self.done = true;
        if self.read != self.inner.size() {
            return Err(Error::new(ErrorKind::UnexpectedSize)
                .with_digest(self.digest.clone())
                .with_detail(format!("the blob is {} bytes, {} could be read", self.inner.size(), self.read))
                .into_io());
        }
        if let Some(verifier) = self.verifier.take() {
            let actual = verifier.finish();
            if actual != self.digest {
                return Err(Error::new(ErrorKind::UnexpectedDigest)
                    .with_digest(self.digest.clone())
                    .with_detail(format!("the stored content hashes to {actual}"))
                    .into_io());
            }
        }
        Ok(())
    }
}

impl Read for VerifiedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.check_end()?;
            return Ok(0);
        }
        self.read += n as u64;
        if let Some(v) = &mut self.verifier {
            v.update(&buf[..n]);
        }
        Ok(n)
    }
}

impl fmt::Debug for VerifiedReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedReader")
            .field("digest", &self.digest.as_str())
            .field("size", &self.inner.size())
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &'static [u8], size: u64) -> BlobReader {
        BlobReader::new(Box::new(bytes), size)
    }

    #[test]
    fn reports_mismatches_at_the_end() {
        let mut ok = VerifiedReader::new(reader(b"abc", 3), Digest::sha256(b"abc"));
        let mut out = Vec::new();
        ok.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");

        let mut bad = VerifiedReader::new(reader(b"abd", 3), Digest::sha256(b"abc"));
        let err = bad.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(Error::io(err).kind(), ErrorKind::UnexpectedDigest);

        let mut short = VerifiedReader::new(reader(b"ab", 3), Digest::sha256(b"abc"));
        let err = Error::io(short.read_to_end(&mut Vec::new()).unwrap_err());
        assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
        assert!(err.to_string().ends_with("the blob is 3 bytes, 2 could be read"), "{err}");
    }

    #[test]
    fn copy_moves_everything() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let mut out = Vec::new();
        assert_eq!(copy(&mut &data[..], &mut out).unwrap(), 1_000_000);
        assert_eq!(out, data);
    }
}
