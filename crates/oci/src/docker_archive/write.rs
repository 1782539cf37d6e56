//! Writing a `docker save` archive: the copy fills an OCI layout tar beside the file
//! (its blobs under `blobs/sha256/`), and the finish writes the archive as that layout
//! plus the `manifest.json` that `docker load` reads (as `docker save` itself writes
//! since Docker 25), then puts it in place at once.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use oci_reference::Reference;
use oci_spec_types::{Descriptor, ImageManifest};
use serde::Serialize;

use crate::location::LayoutRef;
use crate::{Error, ErrorKind, Location, Result};

/// A docker archive being written; the staging layout is removed when dropped.
#[derive(Debug)]
pub(crate) struct ArchiveWriter {
    path: PathBuf,
    staging: PathBuf,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Entry<'a> {
    config: String,
    repo_tags: &'a [String],
    layers: Vec<String>,
}

fn blob_name(d: &Descriptor) -> String {
    format!("blobs/{}/{}", d.digest.algorithm_str(), d.digest.encoded())
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("writing docker-archive:{}", path.display())).with_source(e)
}

impl ArchiveWriter {
    /// A writer of the archive `path`.
    pub(crate) fn new(path: &Path) -> Self {
        let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let staging =
            path.with_file_name(format!(".{name}.tmp-layout-{}-{}.tar", std::process::id(), nanos()));
        Self { path: path.to_owned(), staging }
    }

    /// The layout tar the copy writes into.
    pub(crate) fn staging(&self) -> Location {
        Location::Archive { path: self.staging.clone(), image: LayoutRef::None }
    }

    /// The names the image is loaded as: `reference` (as `docker images` shows it).
    pub(crate) fn repo_tags(reference: Option<&Reference>) -> Vec<String> {
        reference.map(|r| vec![r.familiar_string().to_owned()]).unwrap_or_default()
    }

    /// Writes the archive of `image` (its manifest, whose blobs the staging layout
    /// holds) loaded as `repo_tags`, and removes the staging layout.
    pub(crate) async fn finish(
        self,
        image: ImageManifest,
        repo_tags: Vec<String>,
        fsync: bool,
    ) -> Result<()> {
        tokio::task::spawn_blocking(move || self.write(&image, &repo_tags, fsync))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("writing a docker archive: {e}")))?
    }

    fn write(&self, image: &ImageManifest, repo_tags: &[String], fsync: bool) -> Result<()> {
        let path = &self.path;
        let entry = Entry {
            config: blob_name(&image.config),
            repo_tags,
            layers: image.layers.iter().map(blob_name).collect(),
        };
        let manifest = serde_json::to_vec(&[entry])
            .map_err(|e| Error::new(ErrorKind::Io, format!("docker-archive:{}: {e}", path.display())))?;
        let out_path = path.with_file_name(format!(
            ".{}.tmp-{}-{}",
            path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            std::process::id(),
            nanos()
        ));
        let written = (|| -> std::io::Result<()> {
            let out = File::create(&out_path)?;
            let mut builder = tar::Builder::new(out);
            let mut staged = tar::Archive::new(File::open(&self.staging)?);
            for entry in staged.entries()? {
                let entry = entry?;
                let header = entry.header().clone();
                builder.append(&header, entry)?;
            }
            let mut header = tar::Header::new_ustar();
            header.set_size(manifest.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, "manifest.json", manifest.as_slice())?;
            let mut out = builder.into_inner()?;
            out.flush()?;
            if fsync {
                out.sync_all()?;
            }
            std::fs::rename(&out_path, path)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&out_path);
            return Err(io_error(path, e));
        }
        Ok(())
    }
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.staging);
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}
