//! Writing blobs: hashed while written, stored only when size and digest match.

use std::fmt;
use std::io::{self, Write};

use oci_spec_types::{Digest, DigestAlgorithm, Digester};

use crate::{Error, ErrorKind, Result};

/// The storage side of a [`BlobWriter`], for [`Driver`](crate::Driver) implementations:
/// it keeps the bytes somewhere invisible to readers until
/// [`persist`](BlobSink::persist) publishes them; dropping it without persisting must
/// discard them.
pub trait BlobSink: Write + Send {
    /// Publishes what was written as the blob `digest`, atomically: readers never see a
    /// partial blob. The writer has already checked size and digest.
    fn persist(self: Box<Self>, digest: &Digest) -> Result<()>;

    /// Told by [`BlobWriter::without_hashing`], before anything is written, that the
    /// writer does no work of its own between writes: a sink that overlaps its writes
    /// with the caller's hashing on a helper thread gains nothing then, and may write
    /// directly. Does nothing by default.
    fn caller_does_not_hash(&mut self) {}

    /// Told that what was written is not the blob (wrong size or digest): a sink that
    /// keeps its bytes when dropped (a partial blob, see
    /// [`Driver::resumable_blob_writer`](crate::Driver::resumable_blob_writer)) removes
    /// them here. Does nothing by default: dropping the sink discards.
    fn discard(self: Box<Self>) {}
}

/// A blob being written: an [`io::Write`] that hashes everything it stores, and
/// publishes the blob only on a successful [`commit`](BlobWriter::commit).
///
/// Dropping a writer without committing discards what it wrote. With the crate's
/// drivers, two writers of the same blob at once both succeed and leave one correct
/// copy: in a directory each writes its own temporary file and renames it into place;
/// in a [`Tar`](crate::Tar) the second to commit finds the blob stored and drops its
/// bytes.
///
/// ```
/// use std::io::Write;
/// use oci_layout::{ErrorKind, Layout};
/// use oci_spec_types::{Digest, DigestAlgorithm};
///
/// let dir = tempfile::tempdir()?;
/// let layout = Layout::init_dir(dir.path())?;
///
/// let mut w = layout.blob_writer(&DigestAlgorithm::SHA256)?;
/// w.write_all(b"hello")?;
/// let err = w.commit(5, &Digest::sha256(b"other")).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);
/// assert!(!layout.has_blob(&Digest::sha256(b"hello"))?); // nothing left behind
///
/// let mut w = layout.blob_writer(&DigestAlgorithm::SHA256)?;
/// w.write_all(b"hello")?;
/// w.commit(5, &Digest::sha256(b"hello"))?;
/// assert_eq!(layout.read_blob(&Digest::sha256(b"hello"))?, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BlobWriter {
    sink: Box<dyn BlobSink>,
    digester: Digester,
    /// Whether what is written is hashed (see [`BlobWriter::without_hashing`]).
    hashing: bool,
    written: u64,
}

impl BlobWriter {
    /// A writer that hashes with `algorithm` and stores into `sink` (for driver
    /// implementations). Fails with [`ErrorKind::UnsupportedAlgorithm`] when this build
    /// cannot compute `algorithm`.
    pub fn new(algorithm: &DigestAlgorithm, sink: Box<dyn BlobSink>) -> Result<Self> {
        let digester = Digester::new(algorithm).map_err(|e| {
            Error::new(ErrorKind::UnsupportedAlgorithm).with_detail(algorithm.to_string()).with_source(e)
        })?;
        Ok(Self { sink, digester, hashing: true, written: 0 })
    }

    /// A writer that continues the bytes `prefix` holds (already in `sink`): they are
    /// hashed first, so that [`commit`](Self::commit) checks the whole blob, and counted
    /// in [`bytes_written`](Self::bytes_written).
    pub fn resuming(
        algorithm: &DigestAlgorithm,
        sink: Box<dyn BlobSink>,
        mut prefix: impl io::Read,
    ) -> Result<Self> {
        let mut writer = Self::new(algorithm, sink)?;
        let mut buf = vec![0; crate::verify::COPY_BUFFER];
        loop {
            let n = match prefix.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(e)),
            };
            writer.took(&buf[..n]);
        }
        Ok(writer)
    }

    /// The same writer, not hashing what it writes: for content whose digest the
    /// caller checks itself while streaming it (a registry client verifying a download),
    /// which would otherwise be hashed twice. [`commit`](Self::commit) then checks the
    /// size and the digest's algorithm but trusts the digest: commit only after the
    /// caller's own check passed. [`finish`](Self::finish) fails, as there is no digest
    /// to publish under. Call it before writing anything.
    ///
    /// ```
    /// use std::io::Write;
    /// use oci_layout::Layout;
    /// use oci_spec_types::{Digest, DigestAlgorithm};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let layout = Layout::init_dir(dir.path())?;
    /// let mut w = layout.blob_writer(&DigestAlgorithm::SHA256)?.without_hashing();
    /// w.write_all(b"hello")?; // bytes a verifying download handed out
    /// w.commit(5, &Digest::sha256(b"hello"))?;
    /// assert_eq!(layout.read_blob(&Digest::sha256(b"hello"))?, b"hello");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn without_hashing(mut self) -> Self {
        self.hashing = false;
        self.sink.caller_does_not_hash();
        self
    }

    /// Counts (and hashes, unless turned off) bytes the sink took.
    fn took(&mut self, bytes: &[u8]) {
        self.written += bytes.len() as u64;
        if self.hashing {
            self.digester.update(bytes);
        }
    }

    /// The algorithm the content is hashed with.
    #[must_use]
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.digester.algorithm()
    }

    /// How many bytes were written so far.
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Publishes the blob if exactly `size` bytes with digest `expected` were written.
    /// Otherwise fails with [`ErrorKind::UnexpectedSize`] (checked first) or
    /// [`ErrorKind::UnexpectedDigest`] and leaves nothing behind. A writer
    /// [`without_hashing`](Self::without_hashing) takes the digest on trust.
    pub fn commit(mut self, size: u64, expected: &Digest) -> Result<()> {
        self.sink.flush().map_err(|e| Error::io(e).with_digest(expected.clone()))?;
        let written = self.bytes_written();
        if written != size {
            self.sink.discard();
            return Err(Error::new(ErrorKind::UnexpectedSize)
                .with_digest(expected.clone())
                .with_detail(format!("expected {size} bytes, got {written}")));
        }
        let algorithm = self.algorithm();
        if expected.algorithm() != algorithm {
            return Err(Error::new(ErrorKind::UnexpectedDigest)
                .with_digest(expected.clone())
                .with_detail(format!("the writer computes {algorithm} digests")));
        }
        let actual = self.hashing.then(|| self.digester.finalize());
        if let Some(actual) = actual
            && &actual != expected
        {
            self.sink.discard();
            return Err(Error::new(ErrorKind::UnexpectedDigest)
                .with_digest(expected.clone())
                .with_detail(format!("got {actual}")));
        }
        self.sink.persist(expected)
    }

    /// Publishes the blob under the digest of whatever was written, and returns that
    /// digest and the size. A writer [`without_hashing`](Self::without_hashing) has no
    /// digest: it fails with [`ErrorKind::UnexpectedDigest`] and stores nothing.
    pub fn finish(mut self) -> Result<(Digest, u64)> {
        if !self.hashing {
            return Err(Error::new(ErrorKind::UnexpectedDigest)
                .with_detail("a writer without hashing has no digest: commit it with the expected one"));
        }
        self.sink.flush()?;
        let size = self.bytes_written();
        let digest = self.digester.finalize();
        self.sink.persist(&digest)?;
        Ok((digest, size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.sink.write(buf)?;
        self.took(&buf[..n]);
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.sink.write_all(buf)?;
        self.took(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

impl fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobWriter")
            .field("algorithm", &self.algorithm())
            .field("written", &self.bytes_written())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A sink that records what happened to it.
    #[derive(Default, Clone)]
    struct Recorder(Arc<Mutex<(Vec<u8>, Option<Digest>)>>);

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().0.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl BlobSink for Recorder {
        fn persist(self: Box<Self>, digest: &Digest) -> Result<()> {
            self.0.lock().unwrap().1 = Some(digest.clone());
            Ok(())
        }
    }

    #[test]
    fn size_is_checked_before_digest_and_nothing_is_persisted() {
        let rec = Recorder::default();
        let mut w = BlobWriter::new(&DigestAlgorithm::SHA256, Box::new(rec.clone())).unwrap();
        w.write_all(b"abc").unwrap();
        let err = w.commit(4, &Digest::sha256(b"zzz")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
        assert!(err.to_string().ends_with(": expected 4 bytes, got 3"), "{err}");
        assert_eq!(rec.0.lock().unwrap().1, None);
    }

    #[test]
    fn any_computable_algorithm() {
        let rec = Recorder::default();
        let mut w = BlobWriter::new(&DigestAlgorithm::SHA512, Box::new(rec.clone())).unwrap();
        w.write_all(b"abc").unwrap();
        let expected = Digest::compute(&DigestAlgorithm::SHA512, b"abc").unwrap();
        w.commit(3, &expected).unwrap();
        assert_eq!(rec.0.lock().unwrap().1, Some(expected));
        let err = BlobWriter::new(&"md5".parse().unwrap(), Box::new(rec)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
    }

    #[test]
    fn without_hashing_checks_size_and_algorithm_and_trusts_the_digest() {
        let rec = Recorder::default();
        let mut w =
            BlobWriter::new(&DigestAlgorithm::SHA256, Box::new(rec.clone())).unwrap().without_hashing();
        w.write_all(b"abc").unwrap();
        assert_eq!(w.bytes_written(), 3);
        let err = w.commit(4, &Digest::sha256(b"abc")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
        let mut w =
            BlobWriter::new(&DigestAlgorithm::SHA256, Box::new(rec.clone())).unwrap().without_hashing();
        w.write_all(b"abc").unwrap();
        let sha512 = Digest::compute(&DigestAlgorithm::SHA512, b"abc").unwrap();
        assert_eq!(w.commit(3, &sha512).unwrap_err().kind(), ErrorKind::UnexpectedDigest);
        assert_eq!(rec.0.lock().unwrap().1, None);
        let mut w =
            BlobWriter::new(&DigestAlgorithm::SHA256, Box::new(rec.clone())).unwrap().without_hashing();
        w.write_all(b"abc").unwrap();
        let err = w.finish().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);
        assert!(err.to_string().ends_with("commit it with the expected one"), "{err}");
        let mut w =
            BlobWriter::new(&DigestAlgorithm::SHA256, Box::new(rec.clone())).unwrap().without_hashing();
        w.write_all(b"abc").unwrap();
        let trusted = Digest::sha256(b"the caller vouches for this");
        w.commit(3, &trusted).unwrap();
        assert_eq!(rec.0.lock().unwrap().1, Some(trusted));
    }

    #[test]
    fn wrong_algorithm_is_a_digest_mismatch() {
        let mut w = BlobWriter::new(&DigestAlgorithm::SHA512, Box::new(Recorder::default())).unwrap();
        w.write_all(b"abc").unwrap();
        let err = w.commit(3, &Digest::sha256(b"abc")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);
        assert!(err.to_string().ends_with("the writer computes sha512 digests"), "{err}");
    }
}
