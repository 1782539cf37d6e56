//! One image layout served read-only as one repository: a layout tar (`oci-archive`,
//! `docker save` output) or a directory a user already has, left exactly as it is.
//! Reads work as on any repository; every write is refused (405 `UNSUPPORTED`).

use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;

use oci_layout::Layout;
use oci_spec_types::{Descriptor, Digest};

use super::entries::plain;
use super::{BlobRead, ManifestRef, Storage, StoredManifest, UploadInfo};
use crate::gc::{GcOptions, GcReport, Need};
use crate::{Error, ErrorKind, Result};

/// A layout (tar or directory) served as the one repository `name`, read-only.
#[derive(Debug)]
pub struct ReadOnlyLayout {
    name: String,
    layout: Layout,
}

impl ReadOnlyLayout {
    /// Serves the layout at `path` (a tar file or a directory) as repository `name`.
    pub fn open(path: impl Into<PathBuf>, name: &str) -> Result<Self> {
        oci_reference::validate_repository(name)
            .map_err(|e| Error::new(ErrorKind::Config, format!("repository name {name:?}: {e}")))?;
        Ok(Self { name: name.to_owned(), layout: Layout::open_path(path)? })
    }

    fn refuse<T>(&self) -> Result<T> {
        Err(Error::new(ErrorKind::ReadOnly, format!("{} is served read-only", self.name)))
    }

    fn is(&self, repository: &str) -> bool {
        repository == self.name
    }
}

/// A forward-only reader that seeks by reading ahead (a blob inside a tar file).
struct Forward<R> {
    inner: R,
    at: u64,
}

impl<R: Read> Read for Forward<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl<R: Read> Seek for Forward<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(target) = to else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "only forward seeks from the start"));
        };
        if target < self.at {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "no seeking back"));
        }
        let skipped = io::copy(&mut (&mut self.inner).take(target - self.at), &mut io::sink())?;
        self.at += skipped;
        Ok(self.at)
    }
}

impl Storage for ReadOnlyLayout {
    fn repositories(&self) -> Result<Vec<String>> {
        Ok(vec![self.name.clone()])
    }

    fn repository_exists(&self, repository: &str) -> Result<bool> {
        Ok(self.is(repository))
    }

    fn blob_size(&self, repository: &str, digest: &Digest) -> Result<Option<u64>> {
        if !self.is(repository) {
            return Ok(None);
        }
        Ok(self.layout.blob_size(digest)?)
    }

    fn blob_reader(&self, repository: &str, digest: &Digest) -> Result<Option<(Box<dyn BlobRead>, u64)>> {
        if !self.is(repository) || self.layout.blob_size(digest)?.is_none() {
            return Ok(None);
        }
        let reader = self.layout.driver().blob_reader(digest)?;
        let size = reader.size();
        Ok(Some((Box::new(Forward { inner: reader, at: 0 }), size)))
    }

    fn delete_blob(&self, _: &str, _: &Digest) -> Result<bool> {
        self.refuse()
    }

    fn mount_blob(&self, _: Option<&str>, _: &str, _: &Digest) -> Result<bool> {
        self.refuse()
    }

    fn upload_start(&self, _: &str) -> Result<String> {
        self.refuse()
    }

    fn upload_info(&self, _: &str, _: &str) -> Result<Option<UploadInfo>> {
        Ok(None)
    }

    fn upload_writer(&self, _: &str, _: &str, _: u64) -> Result<Box<dyn io::Write + Send>> {
        self.refuse()
    }

    fn upload_reader(&self, _: &str, _: &str) -> Result<Box<dyn Read + Send>> {
        self.refuse()
    }

    fn upload_commit(&self, _: &str, _: &str, _: &Digest) -> Result<()> {
        self.refuse()
    }

    fn upload_cancel(&self, _: &str, _: &str) -> Result<bool> {
        Ok(false)
    }

    fn uploads(&self) -> Result<Vec<UploadInfo>> {
        Ok(Vec::new())
    }

    fn manifest(&self, repository: &str, reference: &ManifestRef) -> Result<Option<StoredManifest>> {
        if !self.is(repository) {
            return Ok(None);
        }
        let index = self.layout.read_index()?;
        let found = match reference {
            ManifestRef::Tag(tag) => index.find_ref_name(tag),
            ManifestRef::Digest(digest) => index.manifests.iter().find(|d| &d.digest == digest),
        };
        // A child of an index in the layout is a manifest too.
        let found = match (found, reference) {
            (Some(found), _) => Some(found.clone()),
            (None, ManifestRef::Digest(digest)) => {
                self.layout.resolve(digest.as_str()).ok().filter(|d| d.media_type.is_manifest())
            }
            (None, ManifestRef::Tag(_)) => None,
        };
        let Some(found) = found else { return Ok(None) };
        let bytes = self.layout.read_blob(&found.digest)?;
        Ok(Some(StoredManifest { descriptor: plain(&found), bytes: bytes.into() }))
    }

    fn put_manifest(
        &self,
        _: &str,
        _: &Descriptor,
        _: &[u8],
        _: &[String],
        _: &[Need],
    ) -> Result<Option<Need>> {
        self.refuse()
    }

    fn delete_manifest(&self, _: &str, _: &Digest) -> Result<bool> {
        self.refuse()
    }

    fn delete_tag(&self, _: &str, _: &str) -> Result<bool> {
        self.refuse()
    }

    fn tags(&self, repository: &str) -> Result<Option<Vec<String>>> {
        if !self.is(repository) {
            return Ok(None);
        }
        Ok(Some(self.layout.tags()?))
    }

    fn manifests(&self, repository: &str) -> Result<Vec<Descriptor>> {
        if !self.is(repository) {
            return Ok(Vec::new());
        }
        Ok(self.layout.read_index()?.manifests.iter().map(plain).collect())
    }

    fn gc(&self, _: &GcOptions) -> Result<GcReport> {
        Ok(GcReport::default())
    }
}
