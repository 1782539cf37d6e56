//! Writing an archive: one temporary file beside the target, appended to one entry at
//! a time with deterministic headers, sealed with `index.json` and the end-of-archive
//! marker, then renamed over the target.
//!
//! The file is always `oci-layout`, `blobs/`, then the blobs, each preceded by the
//! `blobs/<alg>/` directory entry when it is the first of its algorithm. Positions are
//! explicit (positioned writes, or a cursor moved under the driver's lock), so readers
//! can serve the entries already appended by offset while more are written.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::tar::{EntryType, Header};
use oci_spec_types::{Digest, DigestAlgorithm};
use tempfile::NamedTempFile;

use super::index::{BLOCK, BLOCK_LEN, Span};
use crate::atomic;
use crate::error::IoContext;
use crate::paths::{BLOBS_DIR, blob_path};
use crate::verify::COPY_BUFFER;
use crate::{Error, ErrorKind, LayoutFile, Result};

/// Where the bytes of an appended blob come from.
pub(crate) enum Source<'a> {
    /// A file, read from its current position: the kernel copies it
    /// (`copy_file_range`, a reflink where the file system has them).
    File(&'a File),
    /// Any reader, copied through a fixed buffer.
    Reader(&'a mut dyn Read),
}

/// Room at the end of an archive for a blob whose digest and size are not known yet: a
/// blob writer streams the bytes to [`data_at`](Self::data_at), and
/// [`ArchiveFile::complete`] writes the header in front of them once they are known.
#[derive(Debug)]
pub(crate) struct Reservation {
    /// The end of the archive before the reservation: a rollback truncates back to it.
    rollback: u64,
    /// The `blobs/<alg>/` entry written for it (the first blob of its algorithm).
    dir: Option<String>,
    header_at: u64,
    header_len: u64,
    /// Where the blob's bytes go.
    pub(crate) data_at: u64,
}

/// An archive being written: a temporary file (`.tmp-*`) beside its target, removed
/// when dropped unless [`persist`](Self::persist)ed.
pub(crate) struct ArchiveFile {
    tmp: NamedTempFile,
    /// The same open file, shared with readers of the entries already appended.
    file: Arc<File>,
    target: PathBuf,
    /// Where the next entry goes.
    end: u64,
    /// The length of the `oci-layout` entry (0 when there is none).
    head_len: u64,
    /// The algorithms whose `blobs/<alg>/` entry is written.
    dirs: BTreeSet<String>,
}

impl ArchiveFile {
    /// A new archive for `target` holding `oci-layout` (when given) and `blobs/`.
    pub(crate) fn create(target: &Path, image_layout: Option<&[u8]>) -> Result<Self> {
        let tmp = atomic::temp_file_in(parent_dir(target))?;
        let file = Arc::new(tmp.as_file().try_clone().at(target)?);
        let mut out =
            Self { tmp, file, target: target.to_owned(), end: 0, head_len: 0, dirs: BTreeSet::new() };
        if let Some(bytes) = image_layout {
            out.append(&file_entry(LayoutFile::ImageLayout.name(), bytes)).at(target)?;
        }
        out.head_len = out.end;
        out.append(&entry_header(&format!("{BLOBS_DIR}/"), EntryType::Directory, 0, 0o755)).at(target)?;
        Ok(out)
    }

    /// The open file, for readers of the entries appended so far.
    pub(crate) fn file(&self) -> &Arc<File> {
        &self.file
    }

    /// The archive this one will replace.
    pub(crate) fn target(&self) -> &Path {
        &self.target
    }

    /// A handle on the file positioned at the start of `span`, for a kernel copy. It
    /// shares its position with every handle of the file: only holders of the driver's
    /// lock use one.
    pub(crate) fn file_at(&self, span: Span) -> Result<File> {
        let mut file = self.file.try_clone().at(&self.target)?;
        file.seek(SeekFrom::Start(span.offset)).at(&self.target)?;
        Ok(file)
    }

    /// Appends the blob `digest` of exactly `size` bytes; on failure the archive is as
    /// it was before.
    pub(crate) fn append_blob(&mut self, digest: &Digest, source: Source<'_>, size: u64) -> Result<Span> {
        let rollback = self.end;
        let mut dir = None;
        match self.try_append_blob(digest, source, size, &mut dir) {
            Ok(span) => Ok(span),
            Err(e) => {
                let _ = self.truncate(rollback, dir.as_deref());
                Err(Error::io(e).with_digest(digest.clone()))
            }
        }
    }

    fn try_append_blob(
        &mut self,
        digest: &Digest,
        source: Source<'_>,
        size: u64,
        dir: &mut Option<String>,
    ) -> io::Result<Span> {
        *dir = self.ensure_dir(digest.algorithm_str())?;
        let header = entry_header(&blob_path(digest), EntryType::Regular, size, 0o644);
        let data_at = self.end + header.len() as u64;
        write_all_at(&self.file, &header, self.end)?;
        let copied = match source {
            Source::File(src) => {
                let mut out = &*self.file;
                out.seek(SeekFrom::Start(data_at))?;
                io::copy(&mut src.take(size), &mut out)?
            }
            Source::Reader(src) => copy_at(src, &self.file, data_at, size)?,
        };
        if copied != size {
            return Err(Error::new(ErrorKind::UnexpectedSize)
                .with_detail(format!("the source ended after {copied} of {size} bytes"))
                .into_io());
        }
        self.pad(data_at + size)?;
        Ok(Span { offset: data_at, size })
    }

    /// Reserves the end of the archive for a blob of `algorithm` being streamed (see
    /// [`Reservation`]); `None` when the algorithm's digests have no fixed length, so
    /// that the header's length is not known in advance. Nothing else may be appended
    /// until the reservation is completed or rolled back.
    pub(crate) fn reserve(&mut self, algorithm: &DigestAlgorithm) -> Result<Option<Reservation>> {
        let Some(len) = algorithm.encoded_len() else { return Ok(None) };
        let placeholder = format!("{BLOBS_DIR}/{}/{}", algorithm.as_str(), "0".repeat(len));
        let header_len = entry_header(&placeholder, EntryType::Regular, 0, 0o644).len() as u64;
        let rollback = self.end;
        let dir = self.ensure_dir(algorithm.as_str()).at(&self.target)?;
        let header_at = self.end;
        Ok(Some(Reservation { rollback, dir, header_at, header_len, data_at: header_at + header_len }))
    }

    /// Completes a reservation whose `size` bytes are written: the header goes in front
    /// of them, the padding after. On failure, roll the reservation back.
    pub(crate) fn complete(&mut self, reservation: &Reservation, digest: &Digest, size: u64) -> Result<Span> {
        let name = blob_path(digest);
        let header = entry_header(&name, EntryType::Regular, size, 0o644);
        if header.len() as u64 != reservation.header_len {
            return Err(Error::new(ErrorKind::Io)
                .with_path(&self.target)
                .with_digest(digest.clone())
                .with_detail(format!("the header of {name} does not fit the space reserved for it")));
        }
        write_all_at(&self.file, &header, reservation.header_at).at(&self.target)?;
        self.pad(reservation.data_at + size).at(&self.target)?;
        Ok(Span { offset: reservation.data_at, size })
    }

    /// Undoes a reservation: the archive is as it was before it, byte for byte.
    pub(crate) fn roll_back(&mut self, reservation: &Reservation) -> Result<()> {
        self.truncate(reservation.rollback, reservation.dir.as_deref()).at(&self.target)
    }

    /// Replaces the `oci-layout` entry in place when the new one has the same length;
    /// `false` (nothing written) when it has not, and the archive must be rebuilt.
    pub(crate) fn rewrite_head(&mut self, image_layout: &[u8]) -> Result<bool> {
        let entry = file_entry(LayoutFile::ImageLayout.name(), image_layout);
        if self.head_len == 0 || entry.len() as u64 != self.head_len {
            return Ok(false);
        }
        write_all_at(&self.file, &entry, 0).at(&self.target)?;
        Ok(true)
    }

    /// Appends `index.json` and the end-of-archive marker (without counting them as
    /// entries: [`unseal`](Self::unseal) takes them off again), sets the archive's mode
    /// and flushes it to disk with `fsync`.
    pub(crate) fn seal(&mut self, index: &[u8], fsync: bool) -> Result<()> {
        let mut tail = file_entry(LayoutFile::Index.name(), index);
        tail.resize(tail.len() + 2 * BLOCK_LEN, 0);
        write_all_at(&self.file, &tail, self.end).at(&self.target)?;
        self.file.set_len(self.end + tail.len() as u64).at(&self.target)?;
        atomic::set_mode(&self.file, 0o644, &self.target)?;
        if fsync {
            self.file.sync_all().at(&self.target)?;
        }
        Ok(())
    }

    /// Takes off what [`seal`](Self::seal) appended.
    pub(crate) fn unseal(&mut self) -> Result<()> {
        self.file.set_len(self.end).at(&self.target)
    }

    /// Puts the sealed archive in place of its target, atomically; on failure, gives it
    /// back.
    ///
    /// On Linux the two files are swapped (`renameat2(RENAME_EXCHANGE)`) and the old
    /// one, now under the temporary name, is removed: a plain rename over an existing
    /// file makes ext4 start writing the whole new file out before it returns
    /// (`auto_da_alloc`, about 0.4 s per GiB), which a swap does not. Where the swap is
    /// not available (no target yet, another file system or system), it is a rename.
    pub(crate) fn persist(self) -> std::result::Result<(), Box<(Self, Error)>> {
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{CWD, RenameFlags, renameat_with};
            if renameat_with(CWD, self.tmp.path(), CWD, &self.target, RenameFlags::EXCHANGE).is_ok() {
                // The new archive is in place: the commit succeeded. Failing to remove
                // the old one leaves a hidden temporary file, not a wrong archive.
                let _ = self.tmp.close();
                return Ok(());
            }
        }
        let Self { tmp, file, target, end, head_len, dirs } = self;
        match tmp.persist(&target) {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = Error::io(e.error).with_path(&target);
                Err(Box::new((Self { tmp: e.file, file, target, end, head_len, dirs }, err)))
            }
        }
    }

    /// Writes a whole entry at the end.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        write_all_at(&self.file, bytes, self.end)?;
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Writes `blobs/<alg>/` unless it is written; returns the algorithm if it was not.
    fn ensure_dir(&mut self, algorithm: &str) -> io::Result<Option<String>> {
        if self.dirs.contains(algorithm) {
            return Ok(None);
        }
        self.append(&entry_header(&format!("{BLOBS_DIR}/{algorithm}/"), EntryType::Directory, 0, 0o755))?;
        self.dirs.insert(algorithm.to_owned());
        Ok(Some(algorithm.to_owned()))
    }

    /// Zeros from `data_end` to the next block boundary, which becomes the end.
    fn pad(&mut self, data_end: u64) -> io::Result<()> {
        let padded = data_end.div_ceil(BLOCK) * BLOCK;
        let zeros = [0u8; BLOCK_LEN];
        write_all_at(&self.file, &zeros[..usize::try_from(padded - data_end).unwrap_or(0)], data_end)?;
        self.file.set_len(padded)?; // drops anything a longer attempt left beyond it
        self.end = padded;
        Ok(())
    }

    fn truncate(&mut self, end: u64, dir: Option<&str>) -> io::Result<()> {
        if let Some(dir) = dir {
            self.dirs.remove(dir);
        }
        self.end = end;
        self.file.set_len(end)
    }
}

/// The directory a target lives in (`.` for a bare file name).
pub(crate) fn parent_dir(target: &Path) -> &Path {
    match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Copies exactly `size` bytes (or fewer, if `src` ends first) to `dst` at `at`;
/// returns the bytes copied. Each write ends on a multiple of the buffer's size in
/// `dst` (the data after a tar header rarely starts on one), so that the kernel fills
/// its large page-cache folios whole.
fn copy_at(src: &mut dyn Read, dst: &File, at: u64, size: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut done = 0;
    while done < size {
        let to_boundary = COPY_BUFFER - usize::try_from((at + done) % COPY_BUFFER as u64).unwrap_or(0);
        let want = usize::try_from(size - done).unwrap_or(usize::MAX).min(to_boundary);
        let n = match src.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        write_all_at(dst, &buf[..n], at + done)?;
        done += n as u64;
    }
    Ok(done)
}

/// One positioned write of all of `buf`.
pub(crate) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut offset) = (buf, offset);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_write(file, buf, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A regular file's entry: header, data, padding.
pub(crate) fn file_entry(name: &str, data: &[u8]) -> Vec<u8> {
    let mut out = entry_header(name, EntryType::Regular, data.len() as u64, 0o644);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(BLOCK_LEN) * BLOCK_LEN, 0);
    out
}

/// The header blocks of an entry, deterministic: ustar, mtime 0, uid and gid 0, no user
/// or group names, `mode`; a name longer than ustar holds gets a PAX `path` record
/// first. Their length depends only on the name's length.
pub(crate) fn entry_header(name: &str, entry_type: EntryType, size: u64, mode: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOCK_LEN);
    let mut header = base_header(entry_type, size, mode);
    let name_field = &mut header.as_old_mut().name;
    if name.len() <= name_field.len() {
        name_field[..name.len()].copy_from_slice(name.as_bytes());
    } else if header.set_path(name).is_err() {
        // Neither the name field nor prefix + name holds it: a PAX record does.
        let record = pax_record("path", name);
        let short: String =
            format!("PaxHeaders/{}", name.rsplit('/').next().unwrap_or(name)).chars().take(99).collect();
        let mut pax = base_header(EntryType::XHeader, record.len() as u64, 0o644);
        pax.as_old_mut().name[..short.len()].copy_from_slice(short.as_bytes());
        pax.set_cksum();
        out.extend_from_slice(pax.as_bytes());
        out.extend_from_slice(&record);
        out.resize(out.len().div_ceil(BLOCK_LEN) * BLOCK_LEN, 0);
        let truncated = &name.as_bytes()[..header.as_old().name.len()];
        header.as_old_mut().name.copy_from_slice(truncated);
    }
    header.set_cksum();
    out.extend_from_slice(header.as_bytes());
    out
}

fn base_header(entry_type: EntryType, size: u64, mode: u32) -> Header {
    let mut header = Header::new_ustar();
    header.set_entry_type(entry_type);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// One PAX record, `"<length> <key>=<value>\n"`, whose length counts its own digits.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let base = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = base + 1;
    while len.to_string().len() + base != len {
        len = base + len.to_string().len();
    }
    format!("{len} {key}={value}\n").into_bytes()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read as _;

    use super::*;

    #[test]
    fn pax_records_count_their_own_length() {
        let r = pax_record("path", "x");
        assert_eq!(r, b"9 path=x\n");
        let long = "a".repeat(93);
        let r = pax_record("path", &long);
        assert_eq!(r.len(), 103);
        assert!(r.starts_with(b"103 path="));
    }

    #[test]
    fn long_names_survive_the_tar_crate() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a.tar");
        let mut out = ArchiveFile::create(&target, None).unwrap();
        let digest = Digest::compute(&DigestAlgorithm::SHA512, b"hello").unwrap();
        let reservation = out.reserve(&DigestAlgorithm::SHA512).unwrap().unwrap();
        write_all_at(out.file(), b"hello", reservation.data_at).unwrap();
        out.complete(&reservation, &digest, 5).unwrap();
        out.seal(b"{}", false).unwrap();
        out.persist().map_err(|b| b.1).unwrap();
        let bytes = std::fs::read(&target).unwrap();
        assert_eq!(bytes.len() % 512, 0);
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let mut content = String::new();
            entry.read_to_string(&mut content).unwrap();
            let h = entry.header();
            assert_eq!((h.mtime().unwrap(), h.uid().unwrap(), h.gid().unwrap()), (0, 0, 0));
            assert_eq!(h.username_bytes(), Some(&b""[..]));
            seen.push((
                String::from_utf8(entry.path_bytes().into_owned()).unwrap(),
                h.mode().unwrap(),
                content,
            ));
        }
        assert_eq!(
            seen,
            [
                ("blobs/".to_owned(), 0o755, String::new()),
                ("blobs/sha512/".to_owned(), 0o755, String::new()),
                (blob_path(&digest), 0o644, "hello".to_owned()),
                ("index.json".to_owned(), 0o644, "{}".to_owned())
            ]
        );
    }

    #[test]
    fn short_sources_and_rollbacks_leave_the_archive_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = ArchiveFile::create(&dir.path().join("a.tar"), Some(b"{}")).unwrap();
        let before = std::fs::read(out.tmp.path()).unwrap();
        let err = out.append_blob(&Digest::sha256(b"abcd"), Source::Reader(&mut &b"abc"[..]), 4).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
        assert_eq!(std::fs::read(out.tmp.path()).unwrap(), before);
        let reservation = out.reserve(&DigestAlgorithm::SHA256).unwrap().unwrap();
        write_all_at(out.file(), b"partial", reservation.data_at).unwrap();
        out.roll_back(&reservation).unwrap();
        assert_eq!(std::fs::read(out.tmp.path()).unwrap(), before);
        assert!(out.dirs.is_empty(), "the directory entry went too");
    }

    #[test]
    fn the_head_is_rewritten_in_place_only_at_the_same_length() {
        let dir = tempfile::tempdir().unwrap();
        let mut out = ArchiveFile::create(&dir.path().join("a.tar"), Some(b"{\"a\":1}")).unwrap();
        assert!(out.rewrite_head(b"{\"b\":2}").unwrap());
        assert!(!out.rewrite_head(&[b' '; 600]).unwrap());
        let bytes = std::fs::read(out.tmp.path()).unwrap();
        assert_eq!(&bytes[512..519], b"{\"b\":2}");
        let mut headless = ArchiveFile::create(&dir.path().join("b.tar"), None).unwrap();
        assert!(!headless.rewrite_head(b"{}").unwrap());
    }
}
