//! Partial blobs of a directory layout: what a download cut short had written, kept as
//! `blobs/<alg>/.tmp-partial-<encoded>` (hidden from readers, as every `.tmp-*` file)
//! so that the next writer of that blob goes on from there instead of from zero.

use std::fs::{self, File};
use std::io::{self, Seek as _, SeekFrom, Write};
use std::path::PathBuf;

use oci_spec_types::Digest;

use crate::atomic;
use crate::error::IoContext;
use crate::pipeline::PipelinedWriter;
use crate::{BlobSink, BlobWriter, Directory, Error, Result};

/// The name of the partial file of `digest` in its algorithm's directory.
fn partial_name(digest: &Digest) -> String {
    format!("{}partial-{}", atomic::TEMP_PREFIX, digest.encoded())
}

/// The writer of [`Driver::resumable_blob_writer`](crate::Driver::resumable_blob_writer)
/// for a directory: the partial file opened (created when absent), locked against
/// other writers (`None` when one holds it), cut back to `size` when longer, its bytes
/// hashed again, and the writer set to append.
pub(crate) fn writer(layout: &Directory, digest: &Digest, size: u64) -> Result<Option<BlobWriter>> {
    let (dir, _) = layout.blob_dir(digest.algorithm_str())?;
    fs::create_dir_all(&dir).at(&dir)?;
    // Checked again once created: a link swapped in is refused, not written through.
    layout.blob_dir(digest.algorithm_str())?;
    let path = dir.join(partial_name(digest));
    let mut options = fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).mode(0o644);
    }
    let mut file = options.open(&path).at(&path)?;
    if !file.metadata().at(&path)?.is_file() {
        return Err(Error::new(crate::ErrorKind::UnsafeEntry)
            .with_path(&path)
            .with_detail("not a regular file"));
    }
    #[cfg(unix)]
    {
        use rustix::fs::{FlockOperation, flock};
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            return Ok(None);
        }
    }
    if file.metadata().at(&path)?.len() > size {
        file.set_len(0).at(&path)?;
    }
    file.seek(SeekFrom::Start(0)).at(&path)?;
    let prefix = file.try_clone().at(&path)?;
    let sink = PartialSink {
        file: Some(PipelinedWriter::new(file)),
        path,
        target: layout.blob_file(digest),
        fsync: layout.fsync(),
    };
    let writer = BlobWriter::resuming(&digest.algorithm(), Box::new(sink), io::BufReader::new(prefix))?;
    Ok(Some(writer))
}

/// Appends to the partial file; a commit renames it into place, a mismatch removes it,
/// a drop keeps it for the next writer.
struct PartialSink {
    /// Written on a helper thread while the caller hashes (see [`PipelinedWriter`]);
    /// whatever reached the file is a prefix of the blob, which is all a resume needs.
    /// `None` once persisted or discarded.
    file: Option<PipelinedWriter<File>>,
    path: PathBuf,
    target: PathBuf,
    fsync: bool,
}

impl PartialSink {
    fn file(&mut self) -> io::Result<&mut PipelinedWriter<File>> {
        self.file.as_mut().ok_or_else(|| io::Error::other("the partial blob is closed"))
    }
}

impl Write for PartialSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

/// Dropped without a commit (a download cut short): what was handed over reaches the
/// file, for the next writer to go on from.
impl Drop for PartialSink {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let _ = file.finish();
        }
    }
}

impl BlobSink for PartialSink {
    fn caller_does_not_hash(&mut self) {
        if let Some(file) = &mut self.file {
            file.direct();
        }
    }

    fn persist(mut self: Box<Self>, _digest: &Digest) -> Result<()> {
        let file = self.file.take().map(PipelinedWriter::finish).transpose().at(&self.path)?;
        let Some(file) = file else { return Err(Error::io(io::Error::other("the partial blob is closed"))) };
        atomic::set_mode(&file, 0o644, &self.target)?;
        if self.fsync {
            file.sync_all().at(&self.path)?;
        }
        fs::rename(&self.path, &self.target).at(&self.target)?;
        if self.fsync {
            if let Some(parent) = self.target.parent() {
                atomic::sync_dir(parent)?;
            }
        }
        Ok(())
    }

    fn discard(mut self: Box<Self>) {
        self.file = None;
        let _ = fs::remove_file(&self.path);
    }
}
