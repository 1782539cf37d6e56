//! The directory driver: a layout as files on disk.

use std::fs::{self, File};
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};

use oci_spec_types::{Digest, DigestAlgorithm};
use tempfile::NamedTempFile;

use crate::atomic;
use crate::driver::BlobListing;
use crate::error::IoContext;
use crate::layout::MAX_ROOT_FILE;
use crate::paths::{self, BLOBS_DIR};
use crate::pipeline::PipelinedWriter;
use crate::{BlobReader, BlobSink, BlobWriter, Driver, Error, ErrorKind, IndexLock, LayoutFile, Result};

/// How a [`Directory`] writes its files, and a [`Tar`](crate::Tar) its archive (with
/// `fsync`, the staging archive is flushed before it replaces the old one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteOptions {
    /// Flush every file (and the directory entry of every rename) to disk before it
    /// becomes visible, so a power loss cannot leave a renamed but empty blob. Off by
    /// default, as in go-containerregistry and oras: writes are atomic against a crash
    /// of the process either way, and run at page-cache speed without it.
    pub fsync: bool,
}

impl WriteOptions {
    /// The same options with [`fsync`](Self::fsync) set.
    #[must_use]
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }
}

/// A layout as a directory: `oci-layout`, `index.json` and `blobs/<alg>/<encoded>`.
///
/// Every write is atomic: blobs and the two root files are written to a temporary file
/// in the directory they belong to (named `.tmp-*`, which readers skip) and renamed into
/// place, so a reader sees a blob only complete and `index.json` old or new, never
/// half-written. Two writers of the same blob, in one process or several, both
/// succeed: each renames its own complete copy over the other. Editing `index.json`
/// from several processes at once is not serialized (the last writer wins).
///
/// Blob files that are symbolic links are refused ([`ErrorKind::UnsafeEntry`]): a link
/// could make the layout serve any file of the machine.
#[derive(Debug, Clone)]
pub struct Directory {
    root: PathBuf,
    options: WriteOptions,
}

impl Directory {
    /// The directory at `root` (nothing is read or created yet).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::with_options(root, WriteOptions::default())
    }

    /// The directory at `root`, written as `options` say.
    #[must_use]
    pub fn with_options(root: impl Into<PathBuf>, options: WriteOptions) -> Self {
        Self { root: root.into(), options }
    }

    /// The layout's root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a blob's file.
    #[must_use]
    pub fn blob_file(&self, digest: &Digest) -> PathBuf {
        self.root.join(BLOBS_DIR).join(digest.algorithm_str()).join(digest.encoded())
    }

    /// `blobs/<algorithm>` after checking that neither it nor `blobs` is a symbolic link
    /// or anything but a directory (writes and deletes would land outside the layout);
    /// with whether it exists.
    /// Whether writes are flushed to disk before they appear.
    pub(crate) fn fsync(&self) -> bool {
        self.options.fsync
    }

    pub(crate) fn blob_dir(&self, algorithm: &str) -> Result<(PathBuf, bool)> {
        let blobs = self.root.join(BLOBS_DIR);
        let dir = blobs.join(algorithm);
        for path in [&blobs, &dir] {
            match fs::symlink_metadata(path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(meta) => {
                    let what = if meta.is_symlink() { "a symbolic link" } else { "not a directory" };
                    return Err(Error::new(ErrorKind::UnsafeEntry)
                        .with_path(path)
                        .with_detail(format!("the blob directory is {what}")));
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((dir.clone(), false)),
                Err(e) => return Err(Error::io(e).with_path(path)),
            }
        }
        Ok((dir, true))
    }

    /// The blob's file after checking it is a regular file, with its size; `None` when
    /// there is none.
    fn stat_blob(&self, digest: &Digest) -> Result<Option<(PathBuf, u64)>> {
        let (dir, exists) = self.blob_dir(digest.algorithm_str())?;
        if !exists {
            return Ok(None);
        }
        let path = dir.join(digest.encoded());
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(Some((path, meta.len()))),
            Ok(meta) => {
                let what = if meta.is_symlink() { "a symbolic link" } else { "not a regular file" };
                Err(Error::new(ErrorKind::UnsafeEntry)
                    .with_path(path)
                    .with_detail(format!("the blob is {what}")))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(e).with_path(path)),
        }
    }

    /// Adds the blob `digest` from `source`, a file the caller has verified to hold
    /// exactly that content: hard-linked into `blobs/<alg>/` (the bytes are not copied,
    /// and one copy serves every layout that links it), or copied through a temporary
    /// file where the file system cannot link (another device). A blob already stored
    /// is kept; returns whether this call added it. With [`WriteOptions::fsync`], the
    /// directory entry is flushed before it returns.
    pub fn link_blob(&self, source: &Path, digest: &Digest) -> Result<bool> {
        if self.stat_blob(digest)?.is_some() {
            return Ok(false);
        }
        let (dir, _) = self.blob_dir(digest.algorithm_str())?;
        fs::create_dir_all(&dir).at(&dir)?;
        // Checked again once created: a link swapped in is refused, not written through.
        self.blob_dir(digest.algorithm_str())?;
        let target = dir.join(digest.encoded());
        match fs::hard_link(source, &target) {
            Ok(()) => {
                if self.options.fsync {
                    atomic::sync_dir(&dir)?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::io(e).with_path(source)),
            Err(_) => {
                let mut tmp = atomic::temp_file_in(&dir)?;
                let mut from = File::open(source).at(source)?;
                io::copy(&mut from, tmp.as_file_mut()).at(&target)?;
                atomic::persist(tmp, &target, 0o644, self.options.fsync)?;
                Ok(true)
            }
        }
    }

    fn file_path(&self, file: LayoutFile) -> PathBuf {
        self.root.join(file.name())
    }
}

impl Driver for Directory {
    fn location(&self) -> &Path {
        &self.root
    }

    fn init(&self) -> Result<()> {
        let layout_file = self.file_path(LayoutFile::ImageLayout);
        if layout_file.exists() {
            return Err(Error::new(ErrorKind::AlreadyExists).with_path(layout_file));
        }
        let blobs = self.root.join(BLOBS_DIR);
        fs::create_dir_all(&blobs).at(&blobs)?;
        // index.json first: an `oci-layout` file is what marks a directory as a layout.
        for file in [LayoutFile::Index, LayoutFile::ImageLayout] {
            self.write_file(file, &crate::layout::initial_bytes(file)?)?;
        }
        Ok(())
    }

    fn remove(&self) -> Result<()> {
        let layout_file = self.file_path(LayoutFile::ImageLayout);
        if !layout_file.is_file() {
            return Err(Error::new(ErrorKind::NotALayout)
                .with_path(&self.root)
                .with_detail("no oci-layout file, refusing to delete the directory"));
        }
        fs::remove_dir_all(&self.root).at(&self.root)
    }

    fn read_file(&self, file: LayoutFile) -> Result<Option<Vec<u8>>> {
        let path = self.file_path(file);
        let Some(opened) = open_regular(&path, file.name())? else { return Ok(None) };
        let mut bytes = Vec::new();
        let limit = MAX_ROOT_FILE as u64 + 1;
        opened.take(limit).read_to_end(&mut bytes).at(&path)?;
        Ok(Some(bytes))
    }

    fn write_file(&self, file: LayoutFile, bytes: &[u8]) -> Result<()> {
        fs::create_dir_all(&self.root).at(&self.root)?;
        atomic::write_file(&self.root, file.name(), bytes, file.mode(), self.options.fsync)
    }

    /// An advisory lock (`flock`) on the layout's directory, which every writer of a
    /// directory layout through this crate takes: other processes' tags are not lost.
    /// skopeo and umoci do not take it; their writes stay last-writer-wins.
    fn lock_index(&self) -> Result<IndexLock> {
        #[cfg(unix)]
        {
            let dir = File::open(&self.root).at(&self.root)?;
            rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive)
                .map_err(|e| Error::io(e.into()).with_path(&self.root))?;
            Ok(IndexLock::holding(dir))
        }
        #[cfg(not(unix))]
        Ok(IndexLock::none())
    }

    fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        Ok(self.stat_blob(digest)?.map(|(_, size)| size))
    }

    fn blob_reader(&self, digest: &Digest) -> Result<BlobReader> {
        let not_found =
            || Error::new(ErrorKind::BlobNotFound).with_digest(digest.clone()).with_path(&self.root);
        let Some((path, _)) = self.stat_blob(digest)? else { return Err(not_found()) };
        // Opened without following a link swapped in since: the handle is what is checked.
        let Some(file) = open_regular(&path, "the blob")? else { return Err(not_found()) };
        let size = file.metadata().at(&path)?.len();
        Ok(BlobReader::from_file(file, size))
    }

    fn blob_writer(&self, algorithm: &DigestAlgorithm) -> Result<BlobWriter> {
        let (dir, _) = self.blob_dir(algorithm.as_str())?;
        fs::create_dir_all(&dir).at(&dir)?;
        self.blob_dir(algorithm.as_str())?;
        let tmp = atomic::temp_file_in(&dir)?;
        let sink = DirSink { file: PipelinedWriter::new(tmp), layout: self.clone() };
        BlobWriter::new(algorithm, Box::new(sink))
    }

    /// Keeps a partial blob as `blobs/<alg>/.tmp-partial-<encoded>` (see the
    /// trait's method).
    fn resumable_blob_writer(&self, digest: &Digest, size: u64) -> Result<Option<BlobWriter>> {
        crate::partial::writer(self, digest, size)
    }

    fn delete_blob(&self, digest: &Digest) -> Result<bool> {
        let (dir, exists) = self.blob_dir(digest.algorithm_str())?;
        if !exists {
            return Ok(false);
        }
        let path = dir.join(digest.encoded());
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(e).with_path(path)),
        }
    }

    fn list_blobs(&self) -> Result<BlobListing> {
        let blobs_dir = self.root.join(BLOBS_DIR);
        let mut listing = BlobListing::default();
        if fs::symlink_metadata(&blobs_dir).is_ok_and(|m| !m.is_dir()) {
            return Err(Error::new(ErrorKind::UnsafeEntry)
                .with_path(blobs_dir)
                .with_detail("the blob directory is a symbolic link or not a directory"));
        }
        let algorithms = match fs::read_dir(&blobs_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(Error::io(e).with_path(blobs_dir)),
        };
        for alg_entry in algorithms {
            let alg_entry = alg_entry.at(&blobs_dir)?;
            let alg = alg_entry.file_name().to_string_lossy().into_owned();
            if paths::is_hidden(&alg) {
                continue;
            }
            if !alg_entry.file_type().at(&alg_entry.path())?.is_dir() {
                listing.invalid_paths.push(format!("{BLOBS_DIR}/{alg}"));
                continue;
            }
            let alg_dir = alg_entry.path();
            for blob in fs::read_dir(&alg_dir).at(&alg_dir)? {
                let blob = blob.at(&alg_dir)?;
                let name = blob.file_name().to_string_lossy().into_owned();
                if paths::is_hidden(&name) {
                    continue;
                }
                let meta = fs::symlink_metadata(blob.path()).at(&blob.path())?;
                match paths::digest_of(&alg, &name) {
                    Some(digest) if meta.is_file() => listing.blobs.push((digest, meta.len())),
                    _ => listing.invalid_paths.push(format!("{BLOBS_DIR}/{alg}/{name}")),
                }
            }
        }
        listing.blobs.sort();
        listing.invalid_paths.sort();
        Ok(listing)
    }
}

/// Opens `path` (`what`, for errors) to read it if it is a regular file: not through a
/// symbolic link, and without blocking on a FIFO; `None` when there is no such file.
fn open_regular(path: &Path, what: &str) -> Result<Option<File>> {
    let unsafe_entry = |why: &str| {
        Error::new(ErrorKind::UnsafeEntry).with_path(path).with_detail(format!("{what} is {why}"))
    };
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
        return Err(unsafe_entry("a symbolic link"));
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(unsafe_entry("a symbolic link")),
        Err(e) => return Err(Error::io(e).with_path(path)),
    };
    if !file.metadata().at(path)?.is_file() {
        return Err(unsafe_entry("not a regular file"));
    }
    Ok(Some(file))
}

/// A blob in flight: a `.tmp-*` file in `blobs/<alg>/` written on a helper thread
/// (see [`PipelinedWriter`]), renamed on persist, removed when dropped.
struct DirSink {
    file: PipelinedWriter<NamedTempFile>,
    layout: Directory,
}

impl Write for DirSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobSink for DirSink {
    fn caller_does_not_hash(&mut self) {
        self.file.direct();
    }

    fn persist(self: Box<Self>, digest: &Digest) -> Result<()> {
        let target = self.layout.blob_file(digest);
        let tmp = self.file.finish().map_err(|e| Error::io(e).with_path(&target))?;
        let (dir, _) = self.layout.blob_dir(digest.algorithm_str())?;
        fs::create_dir_all(&dir).at(&dir)?;
        // Checked again once created: a link swapped in is refused, not written through.
        self.layout.blob_dir(digest.algorithm_str())?;
        atomic::persist(tmp, &target, 0o644, self.layout.options.fsync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a name is a temporary file of this crate.
    fn is_temp(name: &str) -> bool {
        name.starts_with(atomic::TEMP_PREFIX)
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = Directory::new(dir.path());
        d.init().unwrap();
        let mut w = d.blob_writer(&DigestAlgorithm::SHA256).unwrap();
        w.write_all(&[7; 1000]).unwrap();
        w.flush().unwrap();
        let alg_dir = dir.path().join("blobs/sha256");
        let names = || -> Vec<String> {
            fs::read_dir(&alg_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        };
        assert!(names().iter().all(|n| is_temp(n)) && names().len() == 1, "{:?}", names());
        assert_eq!(d.list_blobs().unwrap(), BlobListing::default(), "temporary files are not blobs");
        drop(w);
        assert!(names().is_empty());
    }

    #[test]
    fn init_refuses_an_existing_layout_and_remove_a_non_layout() {
        let dir = tempfile::tempdir().unwrap();
        let d = Directory::new(dir.path().join("l"));
        assert_eq!(d.remove().unwrap_err().kind(), ErrorKind::NotALayout);
        d.init().unwrap();
        assert_eq!(d.init().unwrap_err().kind(), ErrorKind::AlreadyExists);
        d.remove().unwrap();
        assert!(!dir.path().join("l").exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_blobs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = Directory::new(dir.path());
        d.init().unwrap();
        let digest = Digest::sha256(b"secret");
        fs::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
        fs::write(dir.path().join("secret"), b"secret").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), d.blob_file(&digest)).unwrap();
        let err = d.blob_reader(&digest).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsafeEntry);
        assert!(err.to_string().ends_with("the blob is a symbolic link"), "{err}");
        assert_eq!(d.list_blobs().unwrap().invalid_paths, [format!("blobs/sha256/{}", digest.encoded())]);
    }
}
