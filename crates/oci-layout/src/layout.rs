//! [`Layout`]: the operations on an image layout, over any [`Driver`].

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use oci_spec_types::{
    Annotations, Descriptor, Digest, DigestAlgorithm, Document, ImageIndex, ImageLayout, MediaType,
};
use serde::Serialize;

use crate::verify::{self, VerifiedReader};
use crate::{BlobWriter, Directory, Driver, Error, ErrorKind, LayoutFile, Result, Tar, ref_name};

/// The largest `index.json` or `oci-layout` this crate reads (64 MiB).
pub(crate) const MAX_ROOT_FILE: usize = 64 * 1024 * 1024;

/// The bytes of `file` in a new, empty layout.
pub(crate) fn initial_bytes(file: LayoutFile) -> Result<Vec<u8>> {
    match file {
        LayoutFile::ImageLayout => to_json(&ImageLayout::default()),
        LayoutFile::Index => to_json(&ImageIndex::new(Vec::new())),
    }
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::new(ErrorKind::Serialize).with_source(e))
}

/// An OCI image layout, as a directory or a tar archive (or any other [`Driver`]).
///
/// Opening checks `oci-layout` (present, JSON, version `1.0.0`) and `index.json` (an
/// image index). Tags are the `org.opencontainers.image.ref.name` annotations of
/// `index.json`'s descriptors. Blobs stream in and out through fixed buffers.
///
/// ```
/// use oci_layout::Layout;
/// use oci_spec_types::{Descriptor, Document, ImageManifest, MediaType};
///
/// let dir = tempfile::tempdir()?;
/// let layout = Layout::init_dir(dir.path().join("out"))?;
/// let layer = layout.add_blob(&b"layer bytes"[..], MediaType::LAYER_TAR)?;
/// let config = layout.add_blob(&b"{}"[..], MediaType::EMPTY)?;
/// let manifest = Document::new(ImageManifest::new(config, vec![layer]))?; // knows its media type
/// let descriptor = layout.write_document(&manifest)?;
/// layout.tag("v1", descriptor.clone())?;
///
/// let reopened = Layout::open_dir(dir.path().join("out"))?;
/// assert_eq!(reopened.tags()?, ["v1"]);
/// let read = reopened.read_manifest(&reopened.resolve("v1")?)?; // the exact bytes, verified
/// assert_eq!((read.digest(), read.media_type()), (manifest.digest(), &MediaType::IMAGE_MANIFEST));
/// assert!(reopened.fsck()?.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Layout {
    driver: Box<dyn Driver>,
    /// Serializes read-modify-write cycles of `index.json` within this value.
    index_lock: Mutex<()>,
}

impl Layout {
    /// Opens the layout `driver` holds, checking `oci-layout` and `index.json`.
    pub fn open(driver: impl Driver + 'static) -> Result<Self> {
        let layout = Self::wrap(Box::new(driver));
        layout.read_image_layout()?;
        layout.read_index()?;
        Ok(layout)
    }

    /// Creates an empty layout with `driver` ([`Driver::init`]) and commits it.
    pub fn init(driver: impl Driver + 'static) -> Result<Self> {
        driver.init()?;
        driver.commit()?;
        Ok(Self::wrap(Box::new(driver)))
    }

    /// Opens the layout `driver` holds, or creates an empty one when there is none
    /// (nothing at the location, or no `oci-layout` file).
    pub fn open_or_init(driver: impl Driver + 'static) -> Result<Self> {
        if driver.read_file(LayoutFile::ImageLayout)?.is_none() {
            driver.init()?;
            driver.commit()?;
        }
        Self::open(driver)
    }

    fn wrap(driver: Box<dyn Driver>) -> Self {
        Self { driver, index_lock: Mutex::new(()) }
    }

    /// Opens the layout directory at `path`.
    pub fn open_dir(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open(Directory::new(path))
    }

    /// Creates an empty layout directory at `path` (creating the directory as needed).
    pub fn init_dir(path: impl Into<PathBuf>) -> Result<Self> {
        Self::init(Directory::new(path))
    }

    /// Opens the layout directory at `path`, creating an empty one when there is none.
    pub fn open_or_init_dir(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_or_init(Directory::new(path))
    }

    /// Opens the layout archive at `path` (see [`Tar::open`]).
    pub fn open_tar(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open(Tar::open(path)?)
    }

    /// Writes an archive holding an empty layout at `path` (see [`Tar::new`]).
    pub fn init_tar(path: impl Into<PathBuf>) -> Result<Self> {
        Self::init(Tar::new(path)?)
    }

    /// Opens the layout archive at `path`, writing an empty one when there is none.
    pub fn open_or_init_tar(path: impl Into<PathBuf>) -> Result<Self> {
        Self::open_or_init(Tar::new(path)?)
    }

    /// Opens a layout directory or archive, whichever `path` is.
    pub fn open_path(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        if path.is_dir() { Self::open_dir(path) } else { Self::open_tar(path) }
    }

    /// The driver underneath.
    #[must_use]
    pub fn driver(&self) -> &dyn Driver {
        self.driver.as_ref()
    }

    /// Where the layout is (a directory or an archive file).
    #[must_use]
    pub fn location(&self) -> &Path {
        self.driver.location()
    }

    /// Makes every change durable and visible ([`Driver::commit`]): required after
    /// editing a [`Tar`] layout, whose staging archive gets its `index.json` and replaces
    /// the old archive here (a tar layout dropped with changes never committed discards
    /// them, with a warning); a no-op for a directory.
    pub fn commit(&self) -> Result<()> {
        self.driver.commit()
    }

    /// Whether there are changes [`commit`](Self::commit) has not made visible yet (a
    /// tar layout's edits); dropping the layout now would discard them.
    #[must_use]
    pub fn has_uncommitted_changes(&self) -> bool {
        self.driver.has_uncommitted_changes()
    }

    fn root_file(&self, file: LayoutFile) -> Result<Vec<u8>> {
        let path = self.location().join(file.name());
        let Some(bytes) = self.driver.read_file(file)? else {
            let kind = match file {
                LayoutFile::ImageLayout => ErrorKind::NotALayout,
                LayoutFile::Index => ErrorKind::InvalidIndex,
            };
            return Err(Error::new(kind).with_path(path).with_detail(format!("there is no {file} file")));
        };
        if bytes.len() > MAX_ROOT_FILE {
            let kind = match file {
                LayoutFile::ImageLayout => ErrorKind::InvalidLayoutFile,
                LayoutFile::Index => ErrorKind::InvalidIndex,
            };
            return Err(Error::new(kind)
                .with_path(path)
                .with_detail(format!("the file is larger than the limit of {MAX_ROOT_FILE} bytes")));
        }
        Ok(bytes)
    }

    /// The `oci-layout` file; fails unless it is JSON naming version `1.0.0`.
    pub fn read_image_layout(&self) -> Result<ImageLayout> {
        let bytes = self.root_file(LayoutFile::ImageLayout)?;
        let path = || self.location().join(LayoutFile::ImageLayout.name());
        let layout: ImageLayout = serde_json::from_slice(&bytes)
            .map_err(|e| Error::new(ErrorKind::InvalidLayoutFile).with_path(path()).with_source(e))?;
        if !layout.is_supported() {
            return Err(Error::new(ErrorKind::UnsupportedLayoutVersion).with_path(path()).with_detail(
                format!(
                    "imageLayoutVersion is {:?}, this crate reads {:?}",
                    layout.image_layout_version,
                    ImageLayout::VERSION
                ),
            ));
        }
        Ok(layout)
    }

    /// Replaces the `oci-layout` file.
    pub fn write_image_layout(&self, layout: &ImageLayout) -> Result<()> {
        self.driver.write_file(LayoutFile::ImageLayout, &to_json(layout)?)
    }

    /// The bytes of `index.json`, exactly as stored.
    pub fn read_index_bytes(&self) -> Result<Vec<u8>> {
        self.root_file(LayoutFile::Index)
    }

    /// `index.json`, parsed; descriptors of unknown media types are kept as they are.
    pub fn read_index(&self) -> Result<ImageIndex> {
        let bytes = self.root_file(LayoutFile::Index)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(ErrorKind::InvalidIndex).with_path(self.location().join("index.json")).with_source(e)
        })
    }

    /// Replaces `index.json` atomically (compact JSON, unknown fields kept).
    pub fn write_index(&self, index: &ImageIndex) -> Result<()> {
        self.driver.write_file(LayoutFile::Index, &to_json(index)?)
    }

    /// Runs a read-modify-write cycle of `index.json` under this value's lock.
    fn update_index<T>(&self, f: impl FnOnce(&mut ImageIndex) -> Result<T>) -> Result<T> {
        let _guard = self.index_lock.lock().unwrap_or_else(PoisonError::into_inner);
        let _other_processes = self.driver.lock_index()?;
        let mut index = self.read_index()?;
        let out = f(&mut index)?;
        self.write_index(&index)?;
        Ok(out)
    }

    /// Adds `descriptor` to `index.json`. A descriptor with a `ref.name` annotation
    /// replaces every descriptor with the same `ref.name` (a tag moves); one without
    /// replaces an untagged descriptor of the same digest. The `ref.name` must match
    /// the image-spec grammar ([`ErrorKind::InvalidRefName`]).
    pub fn put_manifest_descriptor(&self, descriptor: Descriptor) -> Result<()> {
        let name = descriptor.annotations.ref_name().map(str::to_owned);
        if let Some(name) = &name {
            ref_name::validate(name)?;
        }
        self.update_index(|index| {
            index.manifests.retain(|d| match &name {
                Some(name) => d.annotations.ref_name() != Some(name),
                None => d.annotations.ref_name().is_some() || d.digest != descriptor.digest,
            });
            index.manifests.push(descriptor);
            Ok(())
        })
    }

    /// Tags `descriptor` as `name` in `index.json` (see
    /// [`put_manifest_descriptor`](Self::put_manifest_descriptor)).
    pub fn tag(&self, name: &str, descriptor: Descriptor) -> Result<()> {
        self.put_manifest_descriptor(descriptor.with_annotation(Annotations::REF_NAME, name))
    }

    /// Removes every descriptor tagged `ref_name` from `index.json` and returns them
    /// (none when the tag did not exist).
    pub fn remove_manifest_descriptor(&self, ref_name: &str) -> Result<Vec<Descriptor>> {
        self.update_index(|index| {
            let (removed, kept) =
                index.manifests.drain(..).partition(|d| d.annotations.ref_name() == Some(ref_name));
            index.manifests = kept;
            Ok(removed)
        })
    }

    /// The tags of `index.json`, sorted, without duplicates.
    pub fn tags(&self) -> Result<Vec<String>> {
        let index = self.read_index()?;
        let mut tags: Vec<String> =
            index.manifests.iter().filter_map(|d| d.annotations.ref_name()).map(str::to_owned).collect();
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    /// The descriptor a reference names: a tag of `index.json`, else a digest
    /// (`sha256:…`) of any descriptor reachable from `index.json` (manifests, configs,
    /// layers, as they are referenced). [`ErrorKind::RefNotFound`] otherwise.
    pub fn resolve(&self, reference: &str) -> Result<Descriptor> {
        let index = self.read_index()?;
        if let Some(found) = index.find_ref_name(reference) {
            return Ok(found.clone());
        }
        if let Ok(digest) = Digest::parse(reference) {
            if let Some(found) = index.manifests.iter().find(|d| d.digest == digest) {
                return Ok(found.clone());
            }
            let graph = crate::graph::walk(self)?;
            if let Some(node) = graph.nodes.get(&digest) {
                return Ok(node.descriptor.clone());
            }
        }
        Err(Error::new(ErrorKind::RefNotFound)
            .with_path(self.location())
            .with_detail(format!("no tag or reachable digest {reference:?}")))
    }

    /// Whether the blob is stored.
    pub fn has_blob(&self, digest: &Digest) -> Result<bool> {
        Ok(self.driver.blob_size(digest)?.is_some())
    }

    /// The stored size of a blob, `None` when it is not stored.
    pub fn blob_size(&self, digest: &Digest) -> Result<Option<u64>> {
        self.driver.blob_size(digest)
    }

    /// A streaming reader of a blob that checks its digest as it reads
    /// ([`VerifiedReader`]).
    pub fn blob_reader(&self, digest: &Digest) -> Result<VerifiedReader> {
        Ok(VerifiedReader::new(self.driver.blob_reader(digest)?, digest.clone()))
    }

    /// A whole blob in memory, its digest checked: for manifests and configs; stream
    /// layers with [`blob_reader`](Self::blob_reader).
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut reader = self.blob_reader(digest)?;
        let mut bytes = Vec::with_capacity(usize::try_from(reader.size()).unwrap_or(0).min(MAX_ROOT_FILE));
        reader.read_to_end(&mut bytes).map_err(|e| Error::io(e).with_digest(digest.clone()))?;
        Ok(bytes)
    }

    /// A writer for a new blob (see [`BlobWriter`]).
    pub fn blob_writer(&self, algorithm: &DigestAlgorithm) -> Result<BlobWriter> {
        self.driver.blob_writer(algorithm)
    }

    /// Streams `content` into the blob `expected` describes; fails with
    /// [`ErrorKind::UnexpectedSize`] or [`ErrorKind::UnexpectedDigest`] (storing
    /// nothing) when the content does not match it.
    pub fn write_blob(&self, mut content: impl Read, expected: &Descriptor) -> Result<()> {
        let mut writer = self.driver.blob_writer(&expected.digest.algorithm())?;
        verify::copy(&mut content, &mut writer)
            .map_err(|e| Error::io(e).with_digest(expected.digest.clone()))?;
        writer.commit(expected.size, &expected.digest)
    }

    /// A writer that continues a partly written blob of `size` bytes (see
    /// [`Driver::resumable_blob_writer`]); `None` when the driver keeps none.
    pub fn resumable_blob_writer(&self, digest: &Digest, size: u64) -> Result<Option<BlobWriter>> {
        self.driver.resumable_blob_writer(digest, size)
    }

    /// Streams `content` into a new sha256 blob and returns its descriptor.
    pub fn add_blob(&self, mut content: impl Read, media_type: MediaType) -> Result<Descriptor> {
        let mut writer = self.driver.blob_writer(&DigestAlgorithm::SHA256)?;
        verify::copy(&mut content, &mut writer)?;
        let (digest, size) = writer.finish()?;
        Ok(Descriptor::new(media_type, digest, size))
    }

    /// Stores the exact bytes of `document` as a blob (by the document's digest, its
    /// algorithm included) and returns its descriptor, with the document's media type:
    /// a manifest from a registry or another layout keeps its digest.
    pub fn write_document<T>(&self, document: &Document<T>) -> Result<Descriptor> {
        let descriptor = document.descriptor();
        let mut writer = self.driver.blob_writer(&descriptor.digest.algorithm())?;
        writer.write_all(document.bytes())?;
        writer.commit(descriptor.size, &descriptor.digest)?;
        Ok(descriptor)
    }

    /// The manifest (or index) `descriptor` names, as a [`Document`]: its bytes read and
    /// checked against the descriptor's digest and size, parsed with the descriptor's
    /// media type. A blob that is not one of the four manifest types is an
    /// [`ErrorKind::InvalidManifest`].
    pub fn read_manifest(&self, descriptor: &Descriptor) -> Result<Document> {
        let digest = &descriptor.digest;
        let bytes = self.read_blob(digest)?;
        if bytes.len() as u64 != descriptor.size {
            return Err(Error::new(ErrorKind::UnexpectedSize).with_digest(digest.clone()).with_detail(
                format!("the descriptor says {} bytes, the blob has {}", descriptor.size, bytes.len()),
            ));
        }
        let invalid = |e: Box<dyn std::error::Error + Send + Sync>| {
            Error::new(ErrorKind::InvalidManifest).with_digest(digest.clone()).with_source(e)
        };
        let document =
            Document::manifest(bytes, Some(&descriptor.media_type)).map_err(|e| invalid(e.into()))?;
        document.with_digest_algorithm(&digest.algorithm()).map_err(|e| invalid(e.into()))
    }

    /// Deletes a blob; `false` when it was not stored. References to it are not
    /// checked: see [`gc`](Self::gc) for the safe way.
    pub fn delete_blob(&self, digest: &Digest) -> Result<bool> {
        self.driver.delete_blob(digest)
    }

    /// Deletes every blob not reachable from `index.json` (index -> manifests and
    /// indexes -> configs, layers and subjects, recursively). Refuses
    /// ([`ErrorKind::InvalidManifest`], deleting nothing) when a reachable manifest
    /// cannot be parsed, since what it references is then unknown. Commit a tar layout
    /// afterwards.
    pub fn gc(&self) -> Result<crate::GcReport> {
        crate::gc::gc(self)
    }

    /// Checks the whole layout: every reachable blob present with the size and digest
    /// its descriptors say, every manifest parseable, every stored blob matching its
    /// name, every path under `blobs/` a digest, every tag valid.
    pub fn fsck(&self) -> Result<crate::FsckReport> {
        crate::fsck::fsck(self)
    }

    /// Copies this layout into `dst` blob by blob (streamed, each verified as it is
    /// written), then `oci-layout` and `index.json` byte for byte (replacing `dst`'s),
    /// and commits `dst`. Every digest stays the same; blobs `dst` already had stay.
    /// Fails with [`ErrorKind::InvalidBlobPath`] before copying anything when a path
    /// under `blobs/` is not a digest. To write an archive, [`Tar::export`] is cheaper.
    pub fn copy_to(&self, dst: &Layout) -> Result<()> {
        let listing = self.driver.list_blobs()?;
        if let Some(path) = listing.invalid_paths.first() {
            return Err(Error::new(ErrorKind::InvalidBlobPath)
                .with_path(self.location().join(path))
                .with_detail("not blobs/<algorithm>/<encoded> of a digest"));
        }
        for (digest, size) in &listing.blobs {
            let mut reader = self.driver.blob_reader(digest)?;
            let mut writer = dst.driver.blob_writer(&digest.algorithm())?;
            verify::copy(&mut reader, &mut writer).map_err(|e| Error::io(e).with_digest(digest.clone()))?;
            writer.commit(*size, digest)?;
        }
        for file in [LayoutFile::ImageLayout, LayoutFile::Index] {
            dst.driver.write_file(file, &self.root_file(file)?)?;
        }
        dst.commit()
    }
}
