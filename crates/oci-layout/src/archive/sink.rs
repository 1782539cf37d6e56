//! Blob writers of a tar layout: streaming into the end of the staging archive, or,
//! when another writer is there, into a temporary file of their own.

use std::fs::File;
use std::io::{self, Write};
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use oci_spec_types::{Digest, DigestAlgorithm};
use tempfile::NamedTempFile;

use super::session::State;
use super::write::{parent_dir, write_all_at};
use crate::atomic;
use crate::pipeline::PipelinedWriter;
use crate::{BlobSink, BlobWriter, Error, ErrorKind, Result};

/// What a tar driver and its blob writers share.
pub(super) struct Shared {
    pub(super) path: std::path::PathBuf,
    state: Mutex<State>,
}

impl Shared {
    pub(super) fn new(path: std::path::PathBuf, state: State) -> Self {
        Self { path, state: Mutex::new(state) }
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A writer for a new blob of `algorithm` in the layout `shared` holds. The first
/// writer streams straight into the end of the staging archive (its header is written
/// in front of the bytes on commit); a writer created while that one is busy writes a
/// temporary file beside the archive, appended (by the kernel) when it commits.
pub(super) fn blob_writer(shared: &Arc<Shared>, algorithm: &DigestAlgorithm) -> Result<BlobWriter> {
    let mut state = shared.lock();
    let id = state.next_writer_id();
    let (mode, starts_at) = match state.reserve_tail(id, algorithm, &shared.path)? {
        Some(data_at) => (Mode::Tail, data_at),
        None => (Mode::Own(atomic::temp_file_in(parent_dir(&shared.path))?), 0),
    };
    drop(state);
    let out = Out { shared: Arc::clone(shared), id, mode };
    // The blob's bytes start after a 512-byte header, rarely on a page boundary: writes
    // cut on the archive's own chunk boundaries fill the page cache's large folios whole
    // (about three times faster than writes that straddle them).
    BlobWriter::new(algorithm, Box::new(TarSink { out: PipelinedWriter::starting_at(out, starts_at) }))
}

/// A blob in flight, written on a helper thread (see [`PipelinedWriter`]).
struct TarSink {
    out: PipelinedWriter<Out>,
}

impl Write for TarSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl BlobSink for TarSink {
    fn persist(self: Box<Self>, digest: &Digest) -> Result<()> {
        let out = self.out.finish().map_err(|e| Error::io(e).with_digest(digest.clone()))?;
        out.persist(digest).map_err(|e| if e.digest().is_none() { e.with_digest(digest.clone()) } else { e })
    }
}

/// Where a writer's bytes go. Dropping it unpersisted discards them: the staging
/// archive is truncated back to where the blob started, or the temporary file removed.
struct Out {
    shared: Arc<Shared>,
    id: u64,
    mode: Mode,
}

enum Mode {
    /// The end of the staging archive, while the driver's state says so: a commit of
    /// the layout can move the bytes to a temporary file (`State::evicted`) instead.
    Tail,
    /// A temporary file of its own.
    Own(NamedTempFile),
    /// Persisted.
    Done,
}

impl Out {
    fn persist(mut self, digest: &Digest) -> Result<()> {
        let mode = mem::replace(&mut self.mode, Mode::Done);
        let target = self.shared.path.as_path();
        let mut state = self.shared.lock();
        let own = match mode {
            Mode::Tail => {
                if let Some(staging) = state.tail_of(self.id) {
                    return staging.complete_tail(digest);
                }
                state.evicted.remove(&self.id).ok_or_else(|| gone().with_path(target))?
            }
            Mode::Own(tmp) => tmp,
            Mode::Done => return Err(gone().with_path(target)),
        };
        state.add_spilled(digest, own, target)
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Mode::Tail = self.mode {
            let mut state = self.shared.lock();
            if let Some(staging) = state.tail_of(self.id) {
                let file: &File = staging.file.file();
                if let Some(tail) = &mut staging.tail {
                    write_all_at(file, buf, tail.reservation.data_at + tail.written)?;
                    tail.written += buf.len() as u64;
                    return Ok(());
                }
            }
            let own = state.evicted.remove(&self.id).ok_or_else(|| gone().into_io())?;
            self.mode = Mode::Own(own);
        }
        match &mut self.mode {
            Mode::Own(tmp) => tmp.write_all(buf),
            _ => Err(gone().into_io()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if let Mode::Tail = self.mode {
            let mut state = self.shared.lock();
            match state.tail_of(self.id) {
                Some(staging) => staging.abandon_tail(),
                None => drop(state.evicted.remove(&self.id)),
            }
        }
    }
}

/// The error of a writer whose staging archive went away (the layout was removed).
fn gone() -> Error {
    Error::new(ErrorKind::Io)
        .with_detail("the blob writer's staging archive is gone (the layout was removed)")
}
