//! The tar driver: a layout as one archive file.

mod index;
mod session;
mod sink;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec_types::{Digest, DigestAlgorithm};

use self::index::Archive;
use self::session::State;
use self::sink::Shared;
use self::write::{ArchiveFile, Source, parent_dir};
use crate::atomic;
use crate::driver::BlobListing;
use crate::error::IoContext;
use crate::{BlobReader, BlobWriter, Driver, Error, ErrorKind, Layout, LayoutFile, Result, WriteOptions};

/// A layout as one tar archive, as `skopeo`'s `oci-archive:` and `docker save` write
/// them.
///
/// **Reading** indexes the archive once (each regular file's name, offset and size) and
/// serves every file by seeking to its offset, so opening is cheap and blobs stream.
/// Names may carry a `./` prefix. The index refuses, with a clear error, entries that
/// are absolute or hold `..` ([`ErrorKind::UnsafeEntry`]), links, devices, fifos and
/// sparse files ([`ErrorKind::UnsafeEntry`]), a file that appears twice
/// ([`ErrorKind::DuplicateEntry`]), and an archive cut short or without its
/// end-of-archive marker ([`ErrorKind::TruncatedArchive`]). Other files (such as the
/// `manifest.json` of `docker save`) are tolerated and ignored.
///
/// **Writing** goes to a *staging archive*: a hidden temporary file beside the archive
/// (`.tmp-*`, same directory), which [`commit`](Driver::commit) completes with
/// `index.json` and the end-of-archive marker, flushes to disk when
/// [`WriteOptions::fsync`] says so, and puts in place of the archive. Until then the
/// archive is untouched, and **dropping the driver without committing discards every
/// change** (the staging archive and every other temporary file are removed), with a
/// warning through `tracing` naming the archive; [`Layout::has_uncommitted_changes`]
/// tells whether a commit is due. Changes are visible through this
/// driver at once: the staging archive's entries are indexed by offset as they are
/// appended, and `index.json` waits in memory.
///
/// - A blob writer streams its bytes straight into the end of the staging archive
///   while it hashes them, after room for the header; when the blob commits, the
///   header (with the final name and size) is written in front of them. A commit that
///   fails (size or digest mismatch) or a writer dropped truncates the staging archive
///   back to where the entry started, so it is left as it was, byte for byte. Each
///   byte of a blob is thus written once.
/// - Only one writer streams into the archive at a time. A writer created while
///   another one is there (rare: concurrent writers) writes a temporary file of its
///   own, appended by the kernel (`copy_file_range`) when it commits, or as soon as the
///   other writer is done; its blob is readable meanwhile. Committing the layout while
///   a writer is still streaming moves its bytes to such a file: the writer goes on
///   and its blob lands in the next commit.
/// - A blob already stored (committed or staged) is not stored twice: the second copy
///   is dropped when it commits. To replace a damaged blob, delete it first.
/// - Editing an archive that has content copies its `oci-layout` and blobs (skipping
///   deleted ones; by the kernel) into the staging archive the first time a blob is
///   written or at the commit: one full copy per editing session. Deleting a blob that
///   is already in the staging archive, or replacing `oci-layout` by one of another
///   length, makes the commit copy the staging archive once more, without them.
///
/// A commit swaps the new archive with the old one (`renameat2(RENAME_EXCHANGE)` on
/// Linux, else a rename over it) and removes the old one: renamed over a file, the new
/// one would be written out by ext4 before the rename returns (`auto_da_alloc`, about
/// 0.4 s per GiB); swapped, it is written back later like any file. Without `fsync`,
/// as in a [`Directory`](crate::Directory), a power loss soon after a commit can thus
/// leave the archive's data unwritten; a crash of the process cannot.
///
/// The archive is deterministic: `oci-layout`, `blobs/`, then the blobs in the order
/// they were first committed (each algorithm's `blobs/<alg>/` entry before its first
/// blob), then `index.json` last, with ustar headers of mtime 0, uid and gid 0, no user
/// or group names, mode 0644 (files) and 0755 (directories). The same writes in the
/// same order give the same bytes; [`Tar::export`] writes the blobs sorted by digest,
/// so an export depends only on the content. Files that are not part of a layout (such
/// as `manifest.json`, or paths under `blobs/` that are not digests) are not carried
/// over by a commit.
pub struct Tar {
    shared: Arc<Shared>,
    options: WriteOptions,
}

impl Tar {
    /// The archive at `path`, indexed when it exists (a file that is not a readable
    /// archive is an error); when it does not, the driver starts empty and
    /// [`Driver::init`] and [`Driver::commit`] create it.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self> {
        Self::with_options(path, WriteOptions::default())
    }

    /// Like [`Tar::new`], writing as `options` say (`fsync` applies to the archive and
    /// its rename).
    pub fn with_options(path: impl Into<PathBuf>, options: WriteOptions) -> Result<Self> {
        let path = path.into();
        let archive = if path.exists() { Some(Archive::open(&path)?) } else { None };
        let state = State::new(archive);
        Ok(Self { shared: Arc::new(Shared::new(path, state)), options })
    }

    /// The archive at `path`, which must exist ([`ErrorKind::NotALayout`] otherwise).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if !path.exists() {
            return Err(Error::new(ErrorKind::NotALayout).with_path(path).with_detail("no such file"));
        }
        Self::new(path)
    }

    /// Writes every blob and both root files of `layout` as a deterministic archive at
    /// `path` in one streaming pass, blobs sorted by digest (temporary file, then
    /// rename; an existing file is replaced only when the new one is complete). The
    /// digests do not change; blobs stored as files are copied by the kernel.
    pub fn export(layout: &Layout, path: impl AsRef<Path>) -> Result<()> {
        Self::export_with_options(layout, path, WriteOptions::default())
    }

    /// Like [`Tar::export`], writing as `options` say.
    pub fn export_with_options(layout: &Layout, path: impl AsRef<Path>, options: WriteOptions) -> Result<()> {
        let path = path.as_ref();
        let driver = layout.driver();
        let listing = driver.list_blobs()?;
        if let Some(bad) = listing.invalid_paths.first() {
            return Err(Error::new(ErrorKind::InvalidBlobPath)
                .with_path(driver.location().join(bad))
                .with_detail("not blobs/<algorithm>/<encoded> of a digest"));
        }
        let image_layout = required(driver, LayoutFile::ImageLayout)?;
        let index = required(driver, LayoutFile::Index)?;
        let mut out = ArchiveFile::create(path, Some(&image_layout))?;
        for (digest, size) in &listing.blobs {
            match driver.blob_reader(digest)?.into_file() {
                Ok(file) => out.append_blob(digest, Source::File(&file), *size)?,
                Err(mut reader) => out.append_blob(digest, Source::Reader(&mut reader), *size)?,
            };
        }
        out.seal(&index, options.fsync)?;
        out.persist().map_err(|failed| failed.1)?;
        if options.fsync {
            atomic::sync_dir(parent_dir(path))?;
        }
        Ok(())
    }

    fn not_found(&self, digest: &Digest) -> Error {
        Error::new(ErrorKind::BlobNotFound).with_path(&self.shared.path).with_digest(digest.clone())
    }
}

/// A root file that must exist to write an archive.
fn required(driver: &dyn Driver, file: LayoutFile) -> Result<Vec<u8>> {
    driver.read_file(file)?.ok_or_else(|| {
        Error::new(ErrorKind::NotALayout)
            .with_path(driver.location())
            .with_detail(format!("there is no {file} file"))
    })
}

impl Driver for Tar {
    fn location(&self) -> &Path {
        &self.shared.path
    }

    fn init(&self) -> Result<()> {
        let mut state = self.shared.lock();
        if state.has_layout() || self.shared.path.exists() {
            return Err(Error::new(ErrorKind::AlreadyExists).with_path(&self.shared.path));
        }
        for file in [LayoutFile::ImageLayout, LayoutFile::Index] {
            state.write_file(file, &crate::layout::initial_bytes(file)?)?;
        }
        Ok(())
    }

    fn remove(&self) -> Result<()> {
        let mut state = self.shared.lock();
        let is_layout =
            state.archive.as_ref().is_some_and(|a| a.get(LayoutFile::ImageLayout.name()).is_some());
        if !is_layout {
            return Err(Error::new(ErrorKind::NotALayout)
                .with_path(&self.shared.path)
                .with_detail("no archive with an oci-layout file, refusing to delete"));
        }
        std::fs::remove_file(&self.shared.path).at(&self.shared.path)?;
        state.archive = None;
        state.session = None;
        Ok(())
    }

    fn read_file(&self, file: LayoutFile) -> Result<Option<Vec<u8>>> {
        self.shared.lock().read_file(file)
    }

    fn write_file(&self, file: LayoutFile, bytes: &[u8]) -> Result<()> {
        self.shared.lock().write_file(file, bytes)
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        Ok(self.shared.lock().blob_size(digest))
    }

    fn blob_reader(&self, digest: &Digest) -> Result<BlobReader> {
        self.shared.lock().blob_reader(digest).ok_or_else(|| self.not_found(digest))
    }

    fn blob_writer(&self, algorithm: &DigestAlgorithm) -> Result<BlobWriter> {
        sink::blob_writer(&self.shared, algorithm)
    }

    fn delete_blob(&self, digest: &Digest) -> Result<bool> {
        self.shared.lock().delete_blob(digest)
    }

    fn list_blobs(&self) -> Result<BlobListing> {
        Ok(self.shared.lock().list_blobs())
    }

    /// Completes the staging archive and puts it in place of the archive (see the type's
    /// docs); a no-op when nothing changed. On failure the archive is untouched and
    /// the changes stay staged.
    fn commit(&self) -> Result<()> {
        self.shared.lock().commit(&self.shared.path, self.options.fsync)
    }

    fn has_uncommitted_changes(&self) -> bool {
        self.shared.lock().session.is_some()
    }
}

/// Dropping an archive with changes discards them: said out loud, since it is rarely
/// meant.
impl Drop for Tar {
    fn drop(&mut self) {
        if self.has_uncommitted_changes() {
            tracing::warn!(
                archive = %self.shared.path.display(),
                "a tar layout was dropped with changes that were never committed; they are discarded \
                 (call Layout::commit to keep them)"
            );
        }
    }
}

impl fmt::Debug for Tar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Tar")
            .field("path", &self.shared.path)
            .field("indexed", &state.archive.is_some())
            .field("staged", &state.session.is_some())
            .finish_non_exhaustive()
    }
}
