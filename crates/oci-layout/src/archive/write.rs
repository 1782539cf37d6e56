//! Writing an archive: deterministic headers, `oci-layout` first, blobs sorted,
//! `index.json` last, into a temporary file renamed over the target when complete.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use ::tar::{EntryType, Header};
use oci_spec_types::Digest;

use super::index::{BLOCK, BLOCK_LEN};
use crate::atomic;
use crate::error::IoContext;
use crate::paths::{BLOBS_DIR, blob_path};
use crate::verify::COPY_BUFFER;
use crate::{BlobReader, Error, ErrorKind, LayoutFile, Result};

/// Everything an archive is written from.
pub(crate) struct Contents<'a> {
    /// `oci-layout`, as stored.
    pub(crate) image_layout: Vec<u8>,
    /// `index.json`, as stored.
    pub(crate) index: Vec<u8>,
    /// The blobs and their sizes, sorted by digest.
    pub(crate) blobs: Vec<(Digest, u64)>,
    /// Opens a blob for reading.
    pub(crate) open: &'a mut dyn FnMut(&Digest) -> Result<BlobReader>,
}

/// Writes `contents` as an archive at `target`: through a temporary file in the same
/// directory, renamed over `target` only once complete (and flushed to disk first
/// with `fsync`). On failure the temporary file is removed and `target` is untouched.
pub(crate) fn write_archive(target: &Path, contents: Contents<'_>, fsync: bool) -> Result<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Contents { image_layout, index, blobs, open } = contents;
    let mut tmp = atomic::temp_file_in(dir)?;
    let mut out = ArchiveWriter::new(BufWriter::with_capacity(COPY_BUFFER, tmp.as_file_mut()));
    out.file(LayoutFile::ImageLayout.name(), &mut &image_layout[..], image_layout.len() as u64).at(target)?;
    out.directory(BLOBS_DIR).at(target)?;
    let algorithms: BTreeSet<&str> = blobs.iter().map(|(d, _)| d.algorithm_str()).collect();
    for alg in algorithms {
        out.directory(&format!("{BLOBS_DIR}/{alg}")).at(target)?;
        for (digest, size) in blobs.iter().filter(|(d, _)| d.algorithm_str() == alg) {
            let reader = (open)(digest)?;
            out.blob(&blob_path(digest), reader, *size)
                .map_err(|e| Error::io(e).with_digest(digest.clone()))?;
        }
    }
    out.file(LayoutFile::Index.name(), &mut &index[..], index.len() as u64).at(target)?;
    out.finish().at(target)?;
    atomic::persist(tmp, target, 0o644, fsync)
}

/// A tar stream with deterministic headers: ustar, mtime 0, uid and gid 0, no user or
/// group names, mode 0644 for files and 0755 for directories; names longer than ustar
/// holds get a PAX `path` record.
pub(crate) struct ArchiveWriter<W: Write> {
    out: W,
}

impl<W: Write> ArchiveWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out }
    }

    /// A directory entry (`name/`).
    pub(crate) fn directory(&mut self, name: &str) -> io::Result<()> {
        self.header(&format!("{name}/"), EntryType::Directory, 0, 0o755)
    }

    /// A regular file of exactly `size` bytes read from `content`.
    pub(crate) fn file(&mut self, name: &str, content: &mut dyn Read, size: u64) -> io::Result<()> {
        self.header(name, EntryType::Regular, size, 0o644)?;
        let mut buf = vec![0u8; COPY_BUFFER];
        let mut left = size;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let n = match content.read(&mut buf[..want]) {
                Ok(0) => {
                    return Err(Error::new(ErrorKind::UnexpectedSize)
                        .with_detail(format!(
                            "{name}: the source ended after {} of {size} bytes",
                            size - left
                        ))
                        .into_io());
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        self.pad(size)
    }

    /// The end-of-archive marker (two zero blocks); returns the output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK_LEN])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = size % BLOCK;
        if rem != 0 {
            let zeros = [0u8; BLOCK_LEN];
            self.out.write_all(&zeros[..usize::try_from(BLOCK - rem).unwrap_or(0)])?;
        }
        Ok(())
    }

    fn header(&mut self, name: &str, entry_type: EntryType, size: u64, mode: u32) -> io::Result<()> {
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
            self.out.write_all(pax.as_bytes())?;
            self.out.write_all(&record)?;
            self.pad(record.len() as u64)?;
            let truncated = &name.as_bytes()[..header.as_old().name.len()];
            header.as_old_mut().name.copy_from_slice(truncated);
        }
        header.set_cksum();
        self.out.write_all(header.as_bytes())
    }
}

impl ArchiveWriter<BufWriter<&mut File>> {
    /// A blob of exactly `size` bytes: copied by the kernel (`copy_file_range`, a
    /// reflink where the file system has them) when the reader is a file, else through
    /// the buffer.
    fn blob(&mut self, name: &str, source: BlobReader, size: u64) -> io::Result<()> {
        match source.into_file() {
            Ok(file) => {
                self.header(name, EntryType::Regular, size, 0o644)?;
                self.out.flush()?;
                let copied = io::copy(&mut file.take(size), self.out.get_mut())?;
                if copied != size {
                    return Err(Error::new(ErrorKind::UnexpectedSize)
                        .with_detail(format!("{name}: the source ended after {copied} of {size} bytes"))
                        .into_io());
                }
                self.pad(size)
            }
            Err(mut reader) => self.file(name, &mut reader, size),
        }
    }
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
mod tests {
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
        let long = format!("blobs/sha512/{}", "ab".repeat(64));
        let mut w = ArchiveWriter::new(Vec::new());
        w.directory("blobs").unwrap();
        w.file(&long, &mut &b"hello"[..], 5).unwrap();
        w.file("index.json", &mut &b"{}"[..], 2).unwrap();
        let bytes = w.finish().unwrap();
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
                (long, 0o644, "hello".to_owned()),
                ("index.json".to_owned(), 0o644, "{}".to_owned())
            ]
        );
    }

    #[test]
    fn short_sources_fail() {
        let mut w = ArchiveWriter::new(Vec::new());
        let err = w.file("x", &mut &b"abc"[..], 4).unwrap_err();
        assert_eq!(Error::io(err).kind(), ErrorKind::UnexpectedSize);
    }
}
