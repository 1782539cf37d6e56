//! The storage interface every layout sits on: [`Driver`].

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use oci_spec_types::{Digest, DigestAlgorithm};

use crate::{BlobWriter, LayoutFile, Result};

/// Where a layout's files live: the primitive operations [`Layout`](crate::Layout)
/// builds everything else on (in the spirit of the seed documents' `ImageDriver`:
/// init, remove, readers, writers, blob writers).
///
/// The crate has two implementations, [`Directory`](crate::Directory) and
/// [`Tar`](crate::Tar); others (in memory, over a registry's storage) plug in the same
/// way. The trait is object safe; [`Layout`](crate::Layout) holds a `Box<dyn Driver>`.
///
/// Every method is blocking I/O: see the crate docs for use from async code.
pub trait Driver: fmt::Debug + Send + Sync {
    /// The path of the layout (a directory, or the archive file), for messages.
    fn location(&self) -> &Path;

    /// Creates an empty layout: `blobs/`, `oci-layout` (mode 0444) and an `index.json`
    /// with no manifests (mode 0644). Fails with
    /// [`AlreadyExists`](crate::ErrorKind::AlreadyExists) when a layout is there.
    fn init(&self) -> Result<()>;

    /// Deletes the whole layout. Fails with [`NotALayout`](crate::ErrorKind::NotALayout)
    /// (and deletes nothing) when the location does not hold one.
    fn remove(&self) -> Result<()>;

    /// The bytes of `oci-layout` or `index.json`, `None` when the file does not exist.
    /// At most 64 MiB and one byte are read, so that a huge or endless file (a link to
    /// `/dev/zero`) costs no more: the layout refuses a file of more than 64 MiB.
    fn read_file(&self, file: LayoutFile) -> Result<Option<Vec<u8>>>;

    /// Replaces `oci-layout` or `index.json` atomically: readers see the old bytes or
    /// the new ones, never a mix.
    fn write_file(&self, file: LayoutFile, bytes: &[u8]) -> Result<()>;

    /// The size of a stored blob, `None` when it is not stored.
    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>>;

    /// A streaming reader of a stored blob, as stored (not verified; the verifying reader
    /// is [`Layout::blob_reader`](crate::Layout::blob_reader)).
    /// [`BlobNotFound`](crate::ErrorKind::BlobNotFound) when it is not stored.
    fn blob_reader(&self, digest: &Digest) -> Result<BlobReader>;

    /// A writer for a new blob hashed with `algorithm`: the blob appears only when
    /// [`BlobWriter::commit`] succeeds. Fails with
    /// [`UnsupportedAlgorithm`](crate::ErrorKind::UnsupportedAlgorithm) for an algorithm
    /// this build cannot compute.
    fn blob_writer(&self, algorithm: &DigestAlgorithm) -> Result<BlobWriter>;

    /// A writer for the blob `digest` that keeps what it wrote when dropped without a
    /// commit (a download cut short), and that a later call continues: its
    /// [`bytes_written`](BlobWriter::bytes_written) is where the content goes on, the
    /// bytes before it hashed again so that the commit checks the whole. Bytes past
    /// `size` are dropped. A commit that finds the wrong size or digest removes them.
    /// `None` when this driver keeps no partial blobs, or another writer holds this one's.
    fn resumable_blob_writer(&self, digest: &Digest, size: u64) -> Result<Option<BlobWriter>> {
        let _ = (digest, size);
        Ok(None)
    }

    /// Deletes a blob; `false` when it was not stored.
    fn delete_blob(&self, digest: &Digest) -> Result<bool>;

    /// Every file under `blobs/`: the blobs, and the paths that are not digests.
    fn list_blobs(&self) -> Result<BlobListing>;

    /// Makes every change so far durable and visible to other readers of the location.
    /// A no-op for drivers whose changes are visible at once (a directory); a tar
    /// archive's staging copy is completed and put in place here, see
    /// [`Tar`](crate::Tar).
    fn commit(&self) -> Result<()> {
        Ok(())
    }

    /// Takes the lock that writers of `index.json` in other processes take too, held
    /// until the guard is dropped: [`Layout`](crate::Layout) holds it while it reads,
    /// changes and writes back `index.json`, so that two processes tagging into one
    /// layout keep both tags. None by default (a driver whose files only it writes).
    fn lock_index(&self) -> Result<IndexLock> {
        Ok(IndexLock::none())
    }

    /// Whether there are changes that [`commit`](Self::commit) has not made durable
    /// and visible yet (and that dropping the driver would discard); always `false` for
    /// drivers whose changes are visible at once.
    fn has_uncommitted_changes(&self) -> bool {
        false
    }
}

/// A lock taken by [`Driver::lock_index`], released when dropped.
#[derive(Debug)]
pub struct IndexLock {
    _held: Option<File>,
}

impl IndexLock {
    /// No lock: for drivers that need none.
    #[must_use]
    pub fn none() -> Self {
        Self { _held: None }
    }

    /// A lock that lasts as long as `file` is open (an advisory lock taken on it).
    #[must_use]
    pub fn holding(file: File) -> Self {
        Self { _held: Some(file) }
    }
}

/// What [`Driver::list_blobs`] found under `blobs/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlobListing {
    /// The blobs, with their stored sizes, sorted by digest.
    pub blobs: Vec<(Digest, u64)>,
    /// Paths under `blobs/` (relative to the layout root) that are not
    /// `blobs/<algorithm>/<encoded>` of a digest. Hidden files (`.name`, such as the
    /// temporary files of blob writers in flight) are not listed.
    pub invalid_paths: Vec<String>,
}

/// A streaming reader of one stored blob, which knows the blob's stored size.
pub struct BlobReader {
    inner: Inner,
    size: u64,
}

enum Inner {
    /// A whole file: copies from it can stay in the kernel (`copy_file_range`).
    File(File),
    Boxed(Box<dyn Read + Send>),
}

impl BlobReader {
    /// A reader of `size` bytes from `inner` (for driver implementations).
    #[must_use]
    pub fn new(inner: Box<dyn Read + Send>, size: u64) -> Self {
        Self { inner: Inner::Boxed(inner), size }
    }

    /// A reader of a file that holds exactly the blob, `size` bytes (for driver
    /// implementations): archives are then written from it with in-kernel copies.
    #[must_use]
    pub fn from_file(file: File, size: u64) -> Self {
        Self { inner: Inner::File(file), size }
    }

    /// The stored size of the blob.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The file, when the reader reads a whole file from its current position.
    pub(crate) fn into_file(self) -> Result<File, Self> {
        match self.inner {
            Inner::File(file) => Ok(file),
            Inner::Boxed(_) => Err(self),
        }
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::File(f) => f.read(buf),
            Inner::Boxed(r) => r.read(buf),
        }
    }
}

impl fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobReader").field("size", &self.size).finish_non_exhaustive()
    }
}
