//! The tar driver: a layout as one archive file.

mod index;
mod write;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use oci_spec_types::{Digest, DigestAlgorithm};
use tempfile::TempDir;

use self::index::Archive;
use self::write::{Contents, write_archive};
use crate::atomic::TEMP_PREFIX;
use crate::driver::BlobListing;
use crate::error::IoContext;
use crate::paths::blob_path;
use crate::{
    BlobReader, BlobWriter, Directory, Driver, Error, ErrorKind, Layout, LayoutFile, Result, WriteOptions,
};

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
/// **Writing** is copy-on-write. Changes (blobs, `index.json`, deletions) are staged in
/// a hidden temporary directory beside the archive (`.tmp-*`) and are visible through
/// this driver at once; [`commit`](Driver::commit) then streams a new archive into a
/// temporary file beside the old one and renames it over the old one. Until then
/// the old archive is untouched, and dropping the driver without committing discards
/// the changes. The new archive is deterministic: `oci-layout`, `blobs/`, the blobs
/// sorted by digest, then `index.json` last, with ustar headers of mtime 0, uid and gid
/// 0, no user or group names, mode 0644 (files) and 0755 (directories): the same
/// content always gives the same bytes. Files that are not part of a layout (such as
/// `manifest.json`) are not carried over.
///
/// The cost: each commit rewrites the whole archive (every stored byte is copied once
/// more, without hashing), and a blob written before a commit is written twice (to
/// staging, then into the archive). Batch edits into one commit; to turn another
/// layout into an archive, [`Tar::export`] streams it in one pass.
pub struct Tar {
    path: PathBuf,
    options: WriteOptions,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The committed archive, when there is one.
    archive: Option<Archive>,
    /// Changes not yet committed.
    staging: Option<Staging>,
}

struct Staging {
    /// Removed (with everything in it) when dropped.
    _dir: TempDir,
    /// Staged blobs and root files.
    store: Directory,
    /// Archive blobs deleted since the last commit.
    deleted: BTreeSet<Digest>,
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
        Ok(Self { path, options, state: Mutex::new(State { archive, staging: None }) })
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
    /// `path` in one streaming pass (temporary file, then rename; an existing file is
    /// replaced only when the new one is complete). The digests do not change.
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
        let mut open = |d: &Digest| driver.blob_reader(d);
        write_archive(
            path,
            Contents { image_layout, index, blobs: listing.blobs, open: &mut open },
            options.fsync,
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The staging area, created on first use.
    fn staging<'a>(&self, state: &'a mut State) -> Result<&'a mut Staging> {
        if let Some(staging) = state.staging.take() {
            return Ok(state.staging.insert(staging));
        }
        let parent = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = tempfile::Builder::new().prefix(TEMP_PREFIX).tempdir_in(parent).at(parent)?;
        let store = Directory::with_options(dir.path(), WriteOptions::default());
        Ok(state.staging.insert(Staging { _dir: dir, store, deleted: BTreeSet::new() }))
    }

    fn not_found(&self, digest: &Digest) -> Error {
        Error::new(ErrorKind::BlobNotFound).with_path(&self.path).with_digest(digest.clone())
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

impl State {
    /// The blob's size and whether it is staged, looking at staging first.
    fn find_blob(&self, digest: &Digest) -> Result<Option<(u64, bool)>> {
        if let Some(staging) = &self.staging {
            if let Some(size) = staging.store.blob_size(digest)? {
                return Ok(Some((size, true)));
            }
            if staging.deleted.contains(digest) {
                return Ok(None);
            }
        }
        let span = self.archive.as_ref().and_then(|a| a.get(&blob_path(digest)));
        Ok(span.map(|s| (s.size, false)))
    }

    fn blob_reader(&self, digest: &Digest) -> Result<Option<BlobReader>> {
        match self.find_blob(digest)? {
            None => Ok(None),
            Some((_, true)) => self.staging.as_ref().map(|s| s.store.blob_reader(digest)).transpose(),
            Some((_, false)) => {
                Ok(self.archive.as_ref().and_then(|a| Some(a.reader(a.get(&blob_path(digest))?))))
            }
        }
    }

    /// Like [`State::blob_reader`], for a commit: archive blobs come as a handle on the
    /// archive positioned at the blob (the commit copies exactly the blob's size from
    /// it, in the kernel), which only a commit holding the lock may use.
    fn commit_source(&self, digest: &Digest) -> Result<Option<BlobReader>> {
        match self.find_blob(digest)? {
            Some((size, false)) => {
                let found = self.archive.as_ref().and_then(|a| Some((a, a.get(&blob_path(digest))?)));
                found.map(|(a, span)| Ok(BlobReader::from_file(a.file_at(span)?, size))).transpose()
            }
            _ => self.blob_reader(digest),
        }
    }

    fn read_file(&self, file: LayoutFile) -> Result<Option<Vec<u8>>> {
        if let Some(staging) = &self.staging {
            if let Some(bytes) = staging.store.read_file(file)? {
                return Ok(Some(bytes));
            }
        }
        match &self.archive {
            Some(archive) => archive.get(file.name()).map(|span| archive.read(span)).transpose(),
            None => Ok(None),
        }
    }

    fn list_blobs(&self) -> Result<BlobListing> {
        let mut listing = self.archive.as_ref().map(Archive::list_blobs).unwrap_or_default();
        if let Some(staging) = &self.staging {
            let staged = staging.store.list_blobs()?;
            listing.blobs.retain(|(d, _)| {
                !staging.deleted.contains(d) && staged.blobs.binary_search_by(|(s, _)| s.cmp(d)).is_err()
            });
            listing.blobs.extend(staged.blobs);
            listing.blobs.sort();
            listing.invalid_paths.extend(staged.invalid_paths);
        }
        Ok(listing)
    }
}

impl Driver for Tar {
    fn location(&self) -> &Path {
        &self.path
    }

    fn init(&self) -> Result<()> {
        let mut state = self.lock();
        if state.archive.is_some()
            || state.read_file(LayoutFile::ImageLayout)?.is_some()
            || self.path.exists()
        {
            return Err(Error::new(ErrorKind::AlreadyExists).with_path(&self.path));
        }
        let staging = self.staging(&mut state)?;
        for file in [LayoutFile::ImageLayout, LayoutFile::Index] {
            staging.store.write_file(file, &crate::layout::initial_bytes(file)?)?;
        }
        Ok(())
    }

    fn remove(&self) -> Result<()> {
        let mut state = self.lock();
        let is_layout =
            state.archive.as_ref().is_some_and(|a| a.get(LayoutFile::ImageLayout.name()).is_some());
        if !is_layout {
            return Err(Error::new(ErrorKind::NotALayout)
                .with_path(&self.path)
                .with_detail("no archive with an oci-layout file, refusing to delete"));
        }
        std::fs::remove_file(&self.path).at(&self.path)?;
        *state = State::default();
        Ok(())
    }

    fn read_file(&self, file: LayoutFile) -> Result<Option<Vec<u8>>> {
        self.lock().read_file(file)
    }

    fn write_file(&self, file: LayoutFile, bytes: &[u8]) -> Result<()> {
        let mut state = self.lock();
        self.staging(&mut state)?.store.write_file(file, bytes)
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        Ok(self.lock().find_blob(digest)?.map(|(size, _)| size))
    }

    fn blob_reader(&self, digest: &Digest) -> Result<BlobReader> {
        self.lock().blob_reader(digest)?.ok_or_else(|| self.not_found(digest))
    }

    fn blob_writer(&self, algorithm: &DigestAlgorithm) -> Result<BlobWriter> {
        let mut state = self.lock();
        self.staging(&mut state)?.store.blob_writer(algorithm)
    }

    fn delete_blob(&self, digest: &Digest) -> Result<bool> {
        let mut state = self.lock();
        let in_archive = state.archive.as_ref().is_some_and(|a| a.get(&blob_path(digest)).is_some());
        if !in_archive && state.staging.is_none() {
            return Ok(false); // nothing to stage: the next commit stays a no-op
        }
        let staging = self.staging(&mut state)?;
        let staged = staging.store.delete_blob(digest)?;
        let newly_deleted = in_archive && staging.deleted.insert(digest.clone());
        Ok(staged || newly_deleted)
    }

    fn list_blobs(&self) -> Result<BlobListing> {
        self.lock().list_blobs()
    }

    /// Writes the staged changes into a new archive and renames it over the old one
    /// (see the type's docs); a no-op when nothing is staged.
    fn commit(&self) -> Result<()> {
        let mut state = self.lock();
        if state.staging.is_none() {
            return Ok(());
        }
        let missing = |file: LayoutFile| {
            Error::new(ErrorKind::NotALayout)
                .with_path(&self.path)
                .with_detail(format!("there is no {file} file"))
        };
        let image_layout =
            state.read_file(LayoutFile::ImageLayout)?.ok_or_else(|| missing(LayoutFile::ImageLayout))?;
        let index = state.read_file(LayoutFile::Index)?.ok_or_else(|| missing(LayoutFile::Index))?;
        let listing = state.list_blobs()?;
        let snapshot: &State = &state;
        let mut open = |d: &Digest| snapshot.commit_source(d)?.ok_or_else(|| self.not_found(d));
        let contents = Contents { image_layout, index, blobs: listing.blobs, open: &mut open };
        write_archive(&self.path, contents, self.options.fsync)?;
        let archive = Archive::open(&self.path)?;
        *state = State { archive: Some(archive), staging: None };
        Ok(())
    }
}

impl fmt::Debug for Tar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("Tar")
            .field("path", &self.path)
            .field("indexed", &state.archive.is_some())
            .field("staged", &state.staging.is_some())
            .finish_non_exhaustive()
    }
}
