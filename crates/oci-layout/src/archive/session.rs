//! The state of a tar driver: the committed archive, and the changes since, which
//! live in a staging archive beside it until a commit renames it over the target.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use oci_spec_types::Digest;
use tempfile::NamedTempFile;

use super::index::{Archive, Span, span_reader};
use super::write::{ArchiveFile, Reservation, Source, parent_dir};
use crate::atomic;
use crate::driver::BlobListing;
use crate::error::IoContext;
use crate::layout::MAX_ROOT_FILE;
use crate::paths::blob_path;
use crate::{BlobReader, Error, ErrorKind, LayoutFile, Result};

/// Everything a tar driver knows, behind its lock.
#[derive(Default)]
pub(super) struct State {
    /// The committed archive, when there is one.
    pub(super) archive: Option<Archive>,
    /// Changes not committed yet.
    pub(super) session: Option<Session>,
    /// The temporary files of blob writers that were streaming into a staging archive
    /// when a commit took it away (see [`Staging::evict`]), by writer: each writer
    /// takes its file back and goes on writing there.
    pub(super) evicted: HashMap<u64, NamedTempFile>,
    next_writer: u64,
}

/// The changes since the last commit.
#[derive(Default)]
pub(super) struct Session {
    image_layout: Option<Vec<u8>>,
    index: Option<Vec<u8>>,
    /// Blobs of the committed archive deleted before the staging archive existed (it
    /// leaves them out).
    deleted: BTreeSet<Digest>,
    /// Created when the first blob is written, or by the commit.
    staging: Option<Staging>,
}

/// The staging archive and what it holds.
pub(super) struct Staging {
    pub(super) file: ArchiveFile,
    /// Every blob entry, in archive order; deleted ones are dead until a rebuild.
    blobs: Vec<Staged>,
    /// Index into `blobs` of each digest's latest entry.
    by_digest: HashMap<Digest, usize>,
    /// Blobs committed by writers that had their own temporary file while another
    /// writer was streaming at the end of the archive: appended when it is done.
    pending: Vec<Pending>,
    /// The writer streaming at the end of the archive.
    pub(super) tail: Option<Tail>,
    /// The `oci-layout` entry is not the session's (it changed length).
    head_stale: bool,
}

struct Staged {
    digest: Digest,
    span: Span,
    live: bool,
}

struct Pending {
    digest: Digest,
    size: u64,
    /// Removed when dropped.
    _tmp: NamedTempFile,
    file: Arc<File>,
}

/// A blob writer streaming into the end of the staging archive.
pub(super) struct Tail {
    pub(super) id: u64,
    pub(super) reservation: Reservation,
    /// The bytes it has written so far.
    pub(super) written: u64,
}

/// Where a blob is.
enum Found<'a> {
    Archive(&'a Archive, Span),
    Staged(&'a Arc<File>, Span),
    Pending(&'a Pending),
}

impl State {
    /// The state of a driver whose committed archive is `archive`.
    pub(super) fn new(archive: Option<Archive>) -> Self {
        Self { archive, ..Self::default() }
    }

    pub(super) fn next_writer_id(&mut self) -> u64 {
        self.next_writer += 1;
        self.next_writer
    }

    fn find(&self, digest: &Digest) -> Option<Found<'_>> {
        if let Some(session) = &self.session {
            if let Some(staging) = &session.staging {
                if let Some(span) = staging.live_span(digest) {
                    return Some(Found::Staged(staging.file.file(), span));
                }
                return staging.pending.iter().find(|p| &p.digest == digest).map(Found::Pending);
            }
            if session.deleted.contains(digest) {
                return None;
            }
        }
        let archive = self.archive.as_ref()?;
        archive.get(&blob_path(digest)).map(|span| Found::Archive(archive, span))
    }

    pub(super) fn blob_size(&self, digest: &Digest) -> Option<u64> {
        self.find(digest).map(|found| match found {
            Found::Archive(_, span) | Found::Staged(_, span) => span.size,
            Found::Pending(p) => p.size,
        })
    }

    pub(super) fn blob_reader(&self, digest: &Digest) -> Option<BlobReader> {
        self.find(digest).map(|found| match found {
            Found::Archive(archive, span) => archive.reader(span),
            Found::Staged(file, span) => span_reader(file, span),
            Found::Pending(p) => span_reader(&p.file, Span { offset: 0, size: p.size }),
        })
    }

    pub(super) fn read_file(&self, file: LayoutFile) -> Result<Option<Vec<u8>>> {
        if let Some(session) = &self.session {
            return Ok(match file {
                LayoutFile::ImageLayout => session.image_layout.clone(),
                LayoutFile::Index => session.index.clone(),
            });
        }
        read_archive_file(self.archive.as_ref(), file)
    }

    pub(super) fn list_blobs(&self) -> BlobListing {
        // Paths that are not blobs stay listed until a commit drops them.
        let mut listing = self.archive.as_ref().map(Archive::list_blobs).unwrap_or_default();
        if let Some(session) = &self.session {
            match &session.staging {
                Some(staging) => {
                    let live =
                        staging.blobs.iter().filter(|b| b.live).map(|b| (b.digest.clone(), b.span.size));
                    listing.blobs = live.collect();
                    listing.blobs.extend(staging.pending.iter().map(|p| (p.digest.clone(), p.size)));
                    listing.blobs.sort();
                }
                None => listing.blobs.retain(|(d, _)| !session.deleted.contains(d)),
            }
        }
        listing
    }

    fn session(&mut self) -> Result<&mut Session> {
        open_session(self.archive.as_ref(), &mut self.session)
    }

    /// Whether `init` would overwrite something.
    pub(super) fn has_layout(&self) -> bool {
        self.archive.is_some() || self.session.as_ref().is_some_and(|s| s.image_layout.is_some())
    }

    pub(super) fn write_file(&mut self, file: LayoutFile, bytes: &[u8]) -> Result<()> {
        let session = self.session()?;
        match file {
            LayoutFile::Index => session.index = Some(bytes.to_vec()),
            LayoutFile::ImageLayout => {
                session.image_layout = Some(bytes.to_vec());
                if let Some(staging) = &mut session.staging {
                    staging.head_stale = !staging.file.rewrite_head(bytes)?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn delete_blob(&mut self, digest: &Digest) -> Result<bool> {
        let in_archive = self.archive.as_ref().is_some_and(|a| a.get(&blob_path(digest)).is_some());
        if self.session.is_none() && !in_archive {
            return Ok(false); // nothing to record: the next commit stays a no-op
        }
        let session = self.session()?;
        if let Some(staging) = &mut session.staging {
            return Ok(staging.delete(digest));
        }
        Ok(in_archive && session.deleted.insert(digest.clone()))
    }

    /// The staging archive, created (from the committed archive) when there is none.
    fn staging(&mut self, target: &Path) -> Result<&mut Staging> {
        let archive = self.archive.as_ref();
        let Session { image_layout, deleted, staging, .. } = open_session(archive, &mut self.session)?;
        open_staging(staging, image_layout.as_deref(), deleted, archive, target)
    }

    /// Reserves the end of the staging archive for writer `id` of `algorithm` and
    /// returns where its bytes start in the archive; `None` when another writer streams
    /// there (or the algorithm does not allow it): the writer then writes its own
    /// temporary file.
    pub(super) fn reserve_tail(
        &mut self,
        id: u64,
        algorithm: &oci_spec_types::DigestAlgorithm,
        target: &Path,
    ) -> Result<Option<u64>> {
        let busy = self.session.as_ref().and_then(|s| s.staging.as_ref()).is_some_and(|s| s.tail.is_some());
        if busy || algorithm.encoded_len().is_none() {
            return Ok(None);
        }
        let staging = self.staging(target)?;
        staging.drain_pending()?;
        let Some(reservation) = staging.file.reserve(algorithm)? else { return Ok(None) };
        let data_at = reservation.data_at;
        staging.tail = Some(Tail { id, reservation, written: 0 });
        Ok(Some(data_at))
    }

    /// The staging archive, if writer `id` streams into its end.
    pub(super) fn tail_of(&mut self, id: u64) -> Option<&mut Staging> {
        let staging = self.session.as_mut()?.staging.as_mut()?;
        staging.tail.as_ref().is_some_and(|t| t.id == id).then_some(staging)
    }

    /// Adds the blob `digest` a writer wrote to its own temporary file `tmp`: appended
    /// now, or pending while another writer streams at the end. Nothing is added when
    /// the blob is already there.
    pub(super) fn add_spilled(&mut self, digest: &Digest, tmp: NamedTempFile, target: &Path) -> Result<()> {
        let in_archive = self.archive.as_ref().is_some_and(|a| a.get(&blob_path(digest)).is_some());
        let session = self.session()?;
        match &mut session.staging {
            Some(staging) if staging.has(digest) => return Ok(()),
            None if in_archive && !session.deleted.contains(digest) => return Ok(()),
            _ => {}
        }
        let mut file = tmp.as_file().try_clone().at(target)?;
        let size = file.seek(SeekFrom::End(0)).at(target)?;
        file.seek(SeekFrom::Start(0)).at(target)?;
        let staging = self.staging(target)?;
        if staging.tail.is_some() {
            staging.pending.push(Pending { digest: digest.clone(), size, _tmp: tmp, file: Arc::new(file) });
            return Ok(());
        }
        let span = staging.file.append_blob(digest, Source::File(&file), size)?;
        staging.push(digest.clone(), span);
        Ok(())
    }

    /// Writes the session's changes as the new archive (see [`Tar`](super::Tar)); a
    /// no-op without changes. On failure the committed archive is untouched and the
    /// session stays.
    pub(super) fn commit(&mut self, target: &Path, fsync: bool) -> Result<()> {
        let archive = self.archive.as_ref();
        let Some(Session { image_layout, index, deleted, staging: slot }) = &mut self.session else {
            return Ok(());
        };
        let missing = |file: LayoutFile| {
            Error::new(ErrorKind::NotALayout)
                .with_path(target)
                .with_detail(format!("there is no {file} file"))
        };
        let head = image_layout.as_deref().ok_or_else(|| missing(LayoutFile::ImageLayout))?;
        let index = index.as_deref().ok_or_else(|| missing(LayoutFile::Index))?;
        let mut staging = match slot.take() {
            Some(staging) => staging,
            None => Staging::from_archive(Some(head), deleted, archive, target)?,
        };
        if let Err(e) = staging.seal(head, index, &mut self.evicted, fsync) {
            *slot = Some(staging);
            return Err(e);
        }
        if let Err(failed) = staging.file.persist() {
            let (file, e) = *failed;
            staging.file = file;
            let _ = staging.file.unseal();
            *slot = Some(staging);
            return Err(e);
        }
        self.session = None;
        self.archive = None;
        self.archive = Some(Archive::open(target)?);
        if fsync {
            atomic::sync_dir(parent_dir(target))?;
        }
        Ok(())
    }
}

/// The session, started (from the committed archive's root files) when there is none.
fn open_session<'a>(archive: Option<&Archive>, slot: &'a mut Option<Session>) -> Result<&'a mut Session> {
    if let Some(session) = slot.take() {
        return Ok(slot.insert(session));
    }
    let session = Session {
        image_layout: read_archive_file(archive, LayoutFile::ImageLayout)?,
        index: read_archive_file(archive, LayoutFile::Index)?,
        ..Session::default()
    };
    Ok(slot.insert(session))
}

/// The staging archive of a session, created when there is none.
fn open_staging<'a>(
    slot: &'a mut Option<Staging>,
    image_layout: Option<&[u8]>,
    deleted: &mut BTreeSet<Digest>,
    archive: Option<&Archive>,
    target: &Path,
) -> Result<&'a mut Staging> {
    if let Some(staging) = slot.take() {
        return Ok(slot.insert(staging));
    }
    let staging = Staging::from_archive(image_layout, deleted, archive, target)?;
    Ok(slot.insert(staging))
}

impl Staging {
    /// A new staging archive: `oci-layout`, `blobs/`, then a copy (by the kernel) of
    /// every blob of the committed archive not `deleted`, in the archive's order.
    fn from_archive(
        image_layout: Option<&[u8]>,
        deleted: &mut BTreeSet<Digest>,
        archive: Option<&Archive>,
        target: &Path,
    ) -> Result<Self> {
        let mut staging = Self::new(ArchiveFile::create(target, image_layout)?);
        if let Some(archive) = archive {
            for (digest, span) in archive.blobs_in_order() {
                if !deleted.contains(&digest) {
                    let source = archive.file_at(span)?;
                    let copied = staging.file.append_blob(&digest, Source::File(&source), span.size)?;
                    staging.push(digest, copied);
                }
            }
        }
        deleted.clear();
        Ok(staging)
    }

    fn new(file: ArchiveFile) -> Self {
        Self {
            file,
            blobs: Vec::new(),
            by_digest: HashMap::new(),
            pending: Vec::new(),
            tail: None,
            head_stale: false,
        }
    }

    fn live_span(&self, digest: &Digest) -> Option<Span> {
        let staged = &self.blobs[*self.by_digest.get(digest)?];
        staged.live.then_some(staged.span)
    }

    /// Whether the blob is staged (in the archive or pending).
    pub(super) fn has(&self, digest: &Digest) -> bool {
        self.live_span(digest).is_some() || self.pending.iter().any(|p| &p.digest == digest)
    }

    pub(super) fn push(&mut self, digest: Digest, span: Span) {
        self.by_digest.insert(digest.clone(), self.blobs.len());
        self.blobs.push(Staged { digest, span, live: true });
    }

    fn delete(&mut self, digest: &Digest) -> bool {
        if let Some(&i) = self.by_digest.get(digest) {
            if self.blobs[i].live {
                self.blobs[i].live = false; // its bytes go at the next rebuild
                return true;
            }
        }
        let before = self.pending.len();
        self.pending.retain(|p| &p.digest != digest);
        self.pending.len() != before
    }

    /// Appends the pending blobs while no writer streams at the end. One that fails
    /// stays pending (and readable), for the next attempt.
    pub(super) fn drain_pending(&mut self) -> Result<()> {
        while self.tail.is_none() && !self.pending.is_empty() {
            let p = &self.pending[0];
            (&*p.file).seek(SeekFrom::Start(0)).at(self.file.target())?;
            let span = self.file.append_blob(&p.digest, Source::File(&p.file), p.size)?;
            let done = self.pending.remove(0);
            self.push(done.digest, span);
        }
        Ok(())
    }

    /// Completes the tail writer's blob `digest`: its header is written in front of
    /// the bytes it streamed, or, when the blob is already staged, the bytes are
    /// dropped (the archive is truncated back).
    pub(super) fn complete_tail(&mut self, digest: &Digest) -> Result<()> {
        let Some(tail) = self.tail.take() else { return Ok(()) };
        let result = if self.has(digest) {
            self.file.roll_back(&tail.reservation)
        } else {
            match self.file.complete(&tail.reservation, digest, tail.written) {
                Ok(span) => {
                    self.push(digest.clone(), span);
                    Ok(())
                }
                Err(e) => {
                    let _ = self.file.roll_back(&tail.reservation);
                    Err(e)
                }
            }
        };
        // Pending blobs that cannot be appended now stay pending; the commit retries.
        let _ = self.drain_pending();
        result
    }

    /// Drops what the tail writer streamed: the archive is as before its reservation.
    pub(super) fn abandon_tail(&mut self) {
        if let Some(tail) = self.tail.take() {
            let _ = self.file.roll_back(&tail.reservation);
            let _ = self.drain_pending();
        }
    }

    /// Moves the tail writer's bytes out of the archive into a temporary file of its
    /// own (recorded in `evicted` for the writer to take back), so that the
    /// archive can be finished while it goes on writing.
    fn evict(&mut self, evicted: &mut HashMap<u64, NamedTempFile>) -> Result<()> {
        let Some(tail) = &self.tail else { return Ok(()) };
        let mut spill = atomic::temp_file_in(parent_dir(self.file.target()))?;
        let span = Span { offset: tail.reservation.data_at, size: tail.written };
        let source = self.file.file_at(span)?;
        let copied = std::io::copy(&mut std::io::Read::take(&source, span.size), spill.as_file_mut())
            .at(spill.path())?;
        if copied != span.size {
            return Err(Error::new(ErrorKind::TruncatedArchive)
                .with_path(self.file.target())
                .with_detail("the staging archive is shorter than a blob written into it"));
        }
        self.file.roll_back(&tail.reservation)?;
        if let Some(tail) = self.tail.take() {
            evicted.insert(tail.id, spill);
        }
        Ok(())
    }

    /// Makes the archive complete for a commit: the tail writer evicted, the pending
    /// blobs appended, a rebuild when entries are dead or `oci-layout` changed length,
    /// then `index.json` and the end marker (see [`ArchiveFile::seal`]).
    fn seal(
        &mut self,
        image_layout: &[u8],
        index: &[u8],
        evicted: &mut HashMap<u64, NamedTempFile>,
        fsync: bool,
    ) -> Result<()> {
        self.evict(evicted)?;
        self.drain_pending()?;
        if self.head_stale || self.blobs.iter().any(|b| !b.live) {
            *self = self.rebuilt(Some(image_layout))?;
        }
        let sealed = self.file.seal(index, fsync);
        if sealed.is_err() {
            let _ = self.file.unseal();
        }
        sealed
    }

    /// A new staging archive with `image_layout` first and only the live blobs.
    fn rebuilt(&self, image_layout: Option<&[u8]>) -> Result<Self> {
        let mut new = Self::new(ArchiveFile::create(self.file.target(), image_layout)?);
        for staged in self.blobs.iter().filter(|b| b.live) {
            let source = self.file.file_at(staged.span)?;
            let span = new.file.append_blob(&staged.digest, Source::File(&source), staged.span.size)?;
            new.push(staged.digest.clone(), span);
        }
        Ok(new)
    }
}

fn read_archive_file(archive: Option<&Archive>, file: LayoutFile) -> Result<Option<Vec<u8>>> {
    match archive {
        // One byte more than the layout takes: enough for it to refuse a larger file.
        Some(archive) => {
            archive.get(file.name()).map(|span| archive.read(span, MAX_ROOT_FILE + 1)).transpose()
        }
        None => Ok(None),
    }
}
