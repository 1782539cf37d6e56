//! Reading an archive: its entries indexed once, files served by offset.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::tar::EntryType;
use oci_spec_types::Digest;

use crate::driver::BlobListing;
use crate::error::IoContext;
use crate::paths::{self, BLOBS_DIR};
use crate::{BlobReader, Error, ErrorKind, Result};

/// The tar block size.
pub(crate) const BLOCK: u64 = 512;
/// The tar block size, for buffers.
pub(crate) const BLOCK_LEN: usize = 512;

/// Where a regular file's content sits in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

/// An archive whose entries were read once: every regular file by its cleaned name.
#[derive(Debug)]
pub(crate) struct Archive {
    path: PathBuf,
    /// The file indexed; kept open, so readers are unaffected when a commit renames a
    /// new archive over the path.
    file: Arc<File>,
    files: BTreeMap<String, Span>,
}

impl Archive {
    /// Indexes the archive at `path`, refusing unsafe, duplicate and truncated entries.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).at(path)?;
        let len = file.metadata().at(path)?.len();
        let fail = |kind, detail: String| Error::new(kind).with_path(path).with_detail(detail);
        if len == 0 {
            return Err(fail(ErrorKind::NotALayout, "the archive is an empty file".to_owned()));
        }
        let mut magic = [0u8; 2];
        if read_at(&file, &mut magic, 0).at(path)? == 2 && magic == [0x1f, 0x8b] {
            return Err(fail(ErrorKind::InvalidArchive, "gzip-compressed; decompress it first".to_owned()));
        }
        check_extension_headers(&file, path)?;
        let mut files = BTreeMap::new();
        let mut dirs = BTreeSet::new();
        let mut end = 0u64;
        let mut last = String::from("the archive's start");
        let mut tar = tar::Archive::new(&file);
        for entry in tar.entries_with_seek().map_err(|e| archive_error(path, &last, e))? {
            let mut entry = entry.map_err(|e| archive_error(path, &last, e))?;
            let raw = String::from_utf8(entry.path_bytes().into_owned()).map_err(|_| {
                fail(ErrorKind::InvalidArchive, format!("an entry after {last} has a name that is not UTF-8"))
            })?;
            let (offset, size) = (entry.raw_file_position(), entry.size());
            end = offset.checked_add(size).map(|e| e.div_ceil(BLOCK) * BLOCK).ok_or_else(|| {
                fail(ErrorKind::InvalidArchive, format!("entry {raw:?} has an impossible size"))
            })?;
            last = format!("entry {raw:?}");
            let name = paths::clean_entry_name(&raw)
                .map_err(|why| fail(ErrorKind::UnsafeEntry, format!("entry {raw:?} has {why}")))?;
            let entry_type = entry.header().entry_type();
            match entry_type {
                EntryType::Regular | EntryType::Continuous => {
                    if is_pax_sparse(&mut entry) {
                        return Err(fail(ErrorKind::UnsafeEntry, format!("entry {raw:?} is a sparse file")));
                    }
                    if name.is_empty() || dirs.contains(&name) || files.contains_key(&name) {
                        return Err(fail(ErrorKind::DuplicateEntry, format!("entry {raw:?} appears twice")));
                    }
                    files.insert(name, Span { offset, size });
                }
                EntryType::Directory => {
                    if files.contains_key(&name) {
                        return Err(fail(
                            ErrorKind::DuplicateEntry,
                            format!("entry {raw:?} is a file and a directory"),
                        ));
                    }
                    dirs.insert(name);
                }
                EntryType::XGlobalHeader => {}
                other => {
                    let what = describe(other, &entry);
                    return Err(fail(ErrorKind::UnsafeEntry, format!("entry {raw:?} is {what}")));
                }
            }
        }
        // The crate stops at a zero block or at the end of the file; only the first is a
        // complete archive (it also seeks past data without reading, so data cut short
        // shows here too).
        let mut trailer = [0u8; BLOCK_LEN];
        let got = read_full_at(&file, &mut trailer, end).at(path)?;
        if got < trailer.len() {
            let detail = if end > len {
                format!("{last} ends at byte {end}, past the end of the {len}-byte file")
            } else {
                format!("no end-of-archive marker after {last}")
            };
            return Err(fail(ErrorKind::TruncatedArchive, detail));
        }
        Ok(Self { path: path.to_owned(), file: Arc::new(file), files })
    }

    /// The span of the regular file `name` (cleaned), if the archive has one.
    pub(crate) fn get(&self, name: &str) -> Option<Span> {
        self.files.get(name).copied()
    }

    /// A small file: its first `limit` bytes at most (nothing is allocated for the rest
    /// of what its header declares).
    pub(crate) fn read(&self, span: Span, limit: usize) -> Result<Vec<u8>> {
        let len = usize::try_from(span.size).unwrap_or(usize::MAX).min(limit);
        let mut bytes = vec![0u8; len];
        let got = read_full_at(&self.file, &mut bytes, span.offset).at(&self.path)?;
        if got != len {
            return Err(Error::new(ErrorKind::TruncatedArchive).with_path(&self.path));
        }
        Ok(bytes)
    }

    /// A handle on the archive positioned at the start of `span`, for a copy by the
    /// kernel. It shares its position with the other handles of the file: only holders
    /// of the driver's lock use one (every other reader reads by offset).
    pub(crate) fn file_at(&self, span: Span) -> Result<File> {
        let mut file = self.file.try_clone().at(&self.path)?;
        file.seek(SeekFrom::Start(span.offset)).at(&self.path)?;
        Ok(file)
    }

    /// A streaming reader of a span.
    pub(crate) fn reader(&self, span: Span) -> BlobReader {
        span_reader(&self.file, span)
    }

    /// The blobs, in the order of the archive.
    pub(crate) fn blobs_in_order(&self) -> Vec<(Digest, Span)> {
        let mut blobs: Vec<(Digest, Span)> = self
            .list_blobs()
            .blobs
            .into_iter()
            .filter_map(|(digest, _)| self.get(&paths::blob_path(&digest)).map(|span| (digest, span)))
            .collect();
        blobs.sort_by_key(|(_, span)| span.offset);
        blobs
    }

    /// The blobs under `blobs/`, and the files there that are not blobs.
    pub(crate) fn list_blobs(&self) -> BlobListing {
        let mut listing = BlobListing::default();
        let prefix = format!("{BLOBS_DIR}/");
        for (name, span) in self.files.range(prefix.clone()..) {
            let Some(rest) = name.strip_prefix(&prefix) else { break };
            if rest.rsplit('/').next().is_some_and(paths::is_hidden) {
                continue;
            }
            match rest.split_once('/').and_then(|(alg, enc)| paths::digest_of(alg, enc)) {
                Some(digest) => listing.blobs.push((digest, span.size)),
                None => listing.invalid_paths.push(name.clone()),
            }
        }
        listing.blobs.sort();
        listing
    }
}

/// The largest GNU long-name or PAX extension header taken in (1 MiB; a path needs at
/// most 4 KiB): the tar crate reads each one whole into memory.
pub(crate) const MAX_EXTENSION_HEADER: u64 = 1024 * 1024;

/// Refuses extension headers larger than [`MAX_EXTENSION_HEADER`], with one pass over
/// the raw headers (data is seeked past, not read); the file is left at its start.
/// Errors of the archive's structure are left to the indexing pass, which names them.
fn check_extension_headers(file: &File, path: &Path) -> Result<()> {
    let mut tar = tar::Archive::new(file);
    let entries = tar.entries_with_seek().map_err(|e| archive_error(path, "the archive's start", e))?;
    for entry in entries.raw(true) {
        let Ok(entry) = entry else { break };
        let kind = entry.header().entry_type();
        let what = match kind {
            EntryType::GNULongName | EntryType::GNULongLink => "GNU long name",
            EntryType::XHeader | EntryType::XGlobalHeader => "PAX",
            _ => continue,
        };
        if entry.size() > MAX_EXTENSION_HEADER {
            let detail = format!(
                "a {what} header of {} bytes at byte {} (the limit is {MAX_EXTENSION_HEADER})",
                entry.size(),
                entry.raw_header_position()
            );
            return Err(Error::new(ErrorKind::InvalidArchive).with_path(path).with_detail(detail));
        }
    }
    let mut file = file;
    file.seek(SeekFrom::Start(0)).at(path)?;
    Ok(())
}

/// Classifies the tar crate's errors: running out of bytes is truncation.
fn archive_error(path: &Path, last: &str, e: io::Error) -> Error {
    let msg = e.to_string();
    let truncated =
        e.kind() == io::ErrorKind::UnexpectedEof || msg.contains("entire block") || msg.contains("EOF");
    let (kind, detail) = if truncated {
        (ErrorKind::TruncatedArchive, format!("the file ends inside the header after {last}"))
    } else {
        (ErrorKind::InvalidArchive, format!("after {last}"))
    };
    Error::new(kind).with_path(path).with_detail(detail).with_source(e)
}

/// Whether PAX records mark the entry as a GNU sparse file (its data is then a map).
fn is_pax_sparse<R: Read>(entry: &mut tar::Entry<'_, R>) -> bool {
    match entry.pax_extensions() {
        Ok(Some(exts)) => exts.flatten().any(|ext| ext.key_bytes().starts_with(b"GNU.sparse")),
        Ok(None) => false,
        Err(_) => true,
    }
}

fn describe<R: Read>(entry_type: EntryType, entry: &tar::Entry<'_, R>) -> String {
    let target = || {
        entry.link_name_bytes().map(|t| format!(" to {:?}", String::from_utf8_lossy(&t))).unwrap_or_default()
    };
    match entry_type {
        EntryType::Symlink => format!("a symbolic link{}", target()),
        EntryType::Link => format!("a hard link{}", target()),
        EntryType::Char => "a character device".to_owned(),
        EntryType::Block => "a block device".to_owned(),
        EntryType::Fifo => "a fifo".to_owned(),
        EntryType::GNUSparse => "a sparse file".to_owned(),
        other => format!("of unsupported type {:?}", char::from(other.as_byte())),
    }
}

/// A streaming reader of `span` of a shared file, by position.
pub(crate) fn span_reader(file: &Arc<File>, span: Span) -> BlobReader {
    let reader = SpanReader { file: Arc::clone(file), pos: span.offset, end: span.offset + span.size };
    BlobReader::new(Box::new(reader), span.size)
}

/// Reads a range of a shared file by position, without moving a shared cursor.
struct SpanReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for SpanReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end - self.pos).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = read_at(&self.file, &mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive is shorter than its index",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// One positioned read.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

/// Positioned reads until `buf` is full or the file ends; returns the bytes read.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match read_at(file, &mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::write::{ArchiveFile, Source};

    #[test]
    fn lists_blobs_and_serves_them_by_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let mut out = ArchiveFile::create(&path, None).unwrap();
        let good = Digest::sha256(b"good");
        let other = Digest::sha256(b"other");
        out.append_blob(&other, Source::Reader(&mut &b"other"[..]), 5).unwrap();
        out.append_blob(&good, Source::Reader(&mut &b"good"[..]), 4).unwrap();
        out.seal(b"{}", false).unwrap();
        out.persist().map_err(|b| b.1).unwrap();
        // Files that are not blobs, added by hand before the end marker.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.truncate(bytes.len() - 1024);
        for name in ["blobs/sha256/bad", "blobs/sha256/.hidden", "blobs/x", "other"] {
            bytes.extend(crate::archive::write::file_entry(name, b"x"));
        }
        bytes.extend([0u8; 1024]);
        std::fs::write(&path, &bytes).unwrap();

        let archive = Archive::open(&path).unwrap();
        let listing = archive.list_blobs();
        let mut sorted = vec![(good.clone(), 4), (other.clone(), 5)];
        sorted.sort();
        assert_eq!(listing.blobs, sorted);
        assert_eq!(listing.invalid_paths, ["blobs/sha256/bad", "blobs/x"]);
        // blobs/, blobs/sha256/, then each blob's header and data block.
        let span = archive.get(&crate::blob_path(&good)).unwrap();
        assert_eq!(span, Span { offset: 5 * 512, size: 4 });
        let order: Vec<Digest> = archive.blobs_in_order().into_iter().map(|(d, _)| d).collect();
        assert_eq!(order, [other, good]);
        let mut content = String::new();
        archive.reader(span).read_to_string(&mut content).unwrap();
        assert_eq!(content, "good");
        assert_eq!(archive.read(span, 100).unwrap(), b"good");
        assert_eq!(archive.read(span, 2).unwrap(), b"go");
    }
}
