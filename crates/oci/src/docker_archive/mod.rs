//! `docker save` archives (`docker-archive:FILE[:REF]`): read as one image, and written
//! so that `docker load` (and skopeo) take them.
//!
//! Such an archive has no manifest: `manifest.json` lists, per image, its config file,
//! its layer files in order and the names it is loaded as (`RepoTags`). Reading makes
//! an OCI image manifest of them: the config as an image config, each layer as a tar
//! (gzip when its bytes say so), digests computed over the files as stored (so each
//! layer is read once when the archive is opened). That manifest is the source's root;
//! its digest is its own, as with every tool that reads these archives.

mod write;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use oci_reference::Reference;
use oci_spec_types::{Descriptor, Digest, DigestAlgorithm, Digester, Document, ImageManifest, MediaType};
use serde::Deserialize;
use tokio::sync::mpsc;

pub(crate) use self::write::ArchiveWriter;
use crate::{Error, ErrorKind, Result};

/// The part of `manifest.json` an image is read from.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A regular file of the archive: where its bytes start, and how many.
#[derive(Debug, Clone, Copy)]
struct Span {
    offset: u64,
    size: u64,
}

/// One image of a `docker save` archive, opened for reading.
#[derive(Debug)]
pub(crate) struct DockerArchive {
    path: PathBuf,
    /// The image manifest made of it, and its bytes.
    manifest: Descriptor,
    manifest_bytes: Bytes,
    /// Where each blob (the config, the layers) is in the archive.
    blobs: HashMap<Digest, Span>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidManifest, format!("docker-archive:{}: {why}", path.display()))
}

fn io_error(path: &Path, e: io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("reading docker-archive:{}", path.display())).with_source(e)
}

impl DockerArchive {
    /// Opens the image `reference` names (one of `RepoTags`), or the archive's only
    /// image when no name is given. Blocking: it hashes every layer.
    pub(crate) fn open(path: &Path, reference: Option<&Reference>) -> Result<Self> {
        let spans = index(path)?;
        let read = |name: &str| -> Result<Vec<u8>> {
            let span = spans
                .get(name.trim_start_matches("./"))
                .ok_or_else(|| invalid(path, format!("no file {name}")))?;
            let mut bytes = Vec::new();
            section(path, *span)?.read_to_end(&mut bytes).map_err(|e| io_error(path, e))?;
            Ok(bytes)
        };
        let entries: Vec<Entry> = serde_json::from_slice(&read("manifest.json")?)
            .map_err(|e| invalid(path, format!("manifest.json: {e}")))?;
        let entry = pick(path, entries, reference)?;
        let config_bytes = read(&entry.config)?;
        let config = Descriptor::for_bytes(MediaType::IMAGE_CONFIG, &config_bytes);
        let mut blobs = HashMap::new();
        let config_span = spans[entry.config.trim_start_matches("./")];
        blobs.insert(config.digest.clone(), config_span);
        let mut layers = Vec::new();
        for name in &entry.layers {
            let span = *spans
                .get(name.trim_start_matches("./"))
                .ok_or_else(|| invalid(path, format!("no layer file {name}")))?;
            let (digest, gzip) = hash(path, span)?;
            let media_type = if gzip { MediaType::LAYER_TAR_GZIP } else { MediaType::LAYER_TAR };
            layers.push(Descriptor::new(media_type, digest.clone(), span.size));
            blobs.insert(digest, span);
        }
        let document = Document::new(ImageManifest::new(config, layers))
            .map_err(|e| invalid(path, format!("the image manifest: {e}")))?;
        let (manifest, manifest_bytes) = (document.descriptor(), document.bytes().clone());
        Ok(Self { path: path.to_owned(), manifest, manifest_bytes, blobs })
    }

    /// The image manifest made of the archive.
    pub(crate) fn root(&self) -> &Descriptor {
        &self.manifest
    }

    /// The manifest's bytes, when `digest` is its.
    pub(crate) fn manifest(&self, digest: &Digest) -> Option<Bytes> {
        (digest == &self.manifest.digest).then(|| self.manifest_bytes.clone())
    }

    /// The size of the blob `digest`, when the archive has it.
    pub(crate) fn blob_size(&self, digest: &Digest) -> Option<u64> {
        self.blobs.get(digest).map(|s| s.size)
    }

    /// The blob's bytes, streamed from a blocking thread in chunks.
    pub(crate) fn read_blob(&self, digest: &Digest) -> Result<mpsc::Receiver<Result<Bytes>>> {
        let span = *self.blobs.get(digest).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                format!("docker-archive:{}: no blob {digest}", self.path.display()),
            )
        })?;
        let mut reader = section(&self.path, span)?;
        let path = self.path.clone();
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            loop {
                let mut buf = vec![0; 256 << 10];
                let item = match reader.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(Bytes::from(buf))
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(io_error(&path, e)),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        Ok(rx)
    }
}

/// The image `reference` names, or the only one.
fn pick(path: &Path, mut entries: Vec<Entry>, reference: Option<&Reference>) -> Result<Entry> {
    let names = |e: &Entry| e.repo_tags.clone().unwrap_or_default();
    match reference {
        None if entries.len() == 1 => Ok(entries.remove(0)),
        None => Err(invalid(path, format!("{} images: name one (docker-archive:FILE:NAME)", entries.len()))),
        Some(wanted) => {
            let all: Vec<String> = entries.iter().flat_map(names).collect();
            entries
                .into_iter()
                .find(|e| names(e).iter().any(|n| Reference::parse(n).is_ok_and(|r| &r == wanted)))
                .ok_or_else(|| invalid(path, format!("no image named {wanted} (it has {})", all.join(", "))))
        }
    }
}

/// Every regular file of the archive, by name (without a leading `./`).
fn index(path: &Path) -> Result<HashMap<String, Span>> {
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let mut archive = tar::Archive::new(file);
    let mut spans = HashMap::new();
    for entry in archive.entries().map_err(|e| io_error(path, e))? {
        let entry = entry.map_err(|e| io_error(path, e))?;
        if entry.header().entry_type().is_file() {
            let name = entry
                .path()
                .map_err(|e| io_error(path, e))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            spans.insert(name, Span { offset: entry.raw_file_position(), size: entry.size() });
        }
    }
    Ok(spans)
}

/// A reader of one file of the archive.
fn section(path: &Path, span: Span) -> Result<io::Take<File>> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    file.seek(SeekFrom::Start(span.offset)).map_err(|e| io_error(path, e))?;
    Ok(file.take(span.size))
}

/// The sha256 digest of a file of the archive, and whether it is gzip.
fn hash(path: &Path, span: Span) -> Result<(Digest, bool)> {
    let mut reader = section(path, span)?;
    let mut digester = Digester::new(&DigestAlgorithm::SHA256).map_err(|e| invalid(path, e))?;
    let mut buf = vec![0; 256 << 10];
    let mut first = None;
    loop {
        let n = reader.read(&mut buf).map_err(|e| io_error(path, e))?;
        if n == 0 {
            break;
        }
        first.get_or_insert_with(|| buf[..n.min(2)].to_vec());
        digester.update(&buf[..n]);
    }
    Ok((digester.finalize(), first.is_some_and(|b| b == [0x1f, 0x8b])))
}

/// Opens an archive to read on the blocking pool.
pub(crate) async fn open(path: &Path, reference: Option<&Reference>) -> Result<Arc<DockerArchive>> {
    let (path, reference) = (path.to_owned(), reference.cloned());
    tokio::task::spawn_blocking(move || DockerArchive::open(&path, reference.as_ref()).map(Arc::new))
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("reading a docker archive: {e}")))?
}
