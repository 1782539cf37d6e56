//! The async API (feature `tokio`): the blocking core behind `spawn_blocking`, and blob
//! writers and readers that stream chunk by chunk through bounded channels.
//!
//! [`AsyncLayout`] has an async twin of every operation of [`Layout`]; blob content
//! goes in and out as [`AsyncRead`] streams and chunks.

mod blobs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci_spec_types::{Descriptor, Digest, DigestAlgorithm, Document, ImageIndex, ImageLayout, MediaType};
use tokio::io::{AsyncRead, AsyncReadExt as _};

pub use self::blobs::{AsyncBlobReader, AsyncBlobWriter};
use crate::verify::COPY_BUFFER;
use crate::{Error, ErrorKind, FsckReport, GcReport, Layout, Result};

/// A [`Layout`] for async code: every operation runs on tokio's blocking pool
/// (`spawn_blocking`), so the runtime's worker threads never wait on the disk. Cheap
/// to clone (an `Arc` inside). Each method of [`Layout`] has its twin here, blob
/// content coming in as an [`AsyncRead`] and going out as an [`AsyncBlobReader`].
///
/// ```
/// use oci_layout::AsyncLayout;
/// use oci_spec_types::{Digest, DigestAlgorithm, Document, ImageManifest, MediaType};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let layout = AsyncLayout::init_dir(dir.path().join("out")).await?;
/// let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await?;
/// for chunk in [&b"hello "[..], b"world"] {
///     w.write_chunk(chunk.to_vec()).await?; // e.g. frames of an HTTP body
/// }
/// let digest = Digest::sha256(b"hello world");
/// w.commit(11, digest.clone()).await?;
/// assert_eq!(layout.read_blob(digest).await?, b"hello world");
///
/// let config = layout.add_blob(&b"{}"[..], MediaType::EMPTY).await?; // any AsyncRead
/// let manifest = Document::new(ImageManifest::new(config, vec![]))?;
/// layout.tag("v1", layout.write_document(manifest.clone()).await?).await?;
/// let read = layout.read_manifest(layout.resolve("v1").await?).await?;
/// assert_eq!(read.digest(), manifest.digest());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncLayout {
    inner: Arc<Layout>,
}

impl AsyncLayout {
    /// Wraps a layout opened (or created) with the blocking API.
    #[must_use]
    pub fn new(layout: Layout) -> Self {
        Self { inner: Arc::new(layout) }
    }

    /// Opens (or creates) a layout on the blocking pool: opening a tar layout reads
    /// the whole archive's headers.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> oci_layout::Result<()> {
    /// # let dir = tempfile::tempdir().map_err(oci_layout::Error::io)?;
    /// # let path = dir.path().join("x.tar");
    /// let layout = oci_layout::AsyncLayout::open_with(move || oci_layout::Layout::open_or_init_tar(path)).await?;
    /// assert!(layout.tags().await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn open_with<F>(open: F) -> Result<Self>
    where
        F: FnOnce() -> Result<Layout> + Send + 'static,
    {
        let layout = tokio::task::spawn_blocking(open).await.map_err(joined)??;
        Ok(Self::new(layout))
    }

    /// [`Layout::open_dir`].
    pub async fn open_dir(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        Self::open_with(move || Layout::open_dir(path)).await
    }

    /// [`Layout::init_dir`].
    pub async fn init_dir(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        Self::open_with(move || Layout::init_dir(path)).await
    }

    /// [`Layout::open_or_init_dir`].
    pub async fn open_or_init_dir(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        Self::open_with(move || Layout::open_or_init_dir(path)).await
    }

    /// [`Layout::open_tar`].
    pub async fn open_tar(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        Self::open_with(move || Layout::open_tar(path)).await
    }

    /// [`Layout::init_tar`].
    pub async fn init_tar(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        Self::open_with(move || Layout::init_tar(path)).await
    }

    /// [`Layout::open_or_init_tar`].
    pub async fn open_or_init_tar(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        Self::open_with(move || Layout::open_or_init_tar(path)).await
    }

    /// [`Layout::open_path`].
    pub async fn open_path(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        Self::open_with(move || Layout::open_path(path)).await
    }

    /// The blocking layout; call it only from blocking contexts.
    #[must_use]
    pub fn blocking_layout(&self) -> &Arc<Layout> {
        &self.inner
    }

    /// Runs `f` on the blocking pool: the boundary every other method goes through.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Layout) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let layout = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&layout)).await.map_err(joined)?
    }

    /// [`Layout::location`].
    #[must_use]
    pub fn location(&self) -> &Path {
        self.inner.location()
    }

    /// [`Layout::has_uncommitted_changes`].
    #[must_use]
    pub fn has_uncommitted_changes(&self) -> bool {
        self.inner.has_uncommitted_changes()
    }

    /// [`Layout::commit`].
    pub async fn commit(&self) -> Result<()> {
        self.blocking(Layout::commit).await
    }

    /// [`Layout::read_image_layout`].
    pub async fn read_image_layout(&self) -> Result<ImageLayout> {
        self.blocking(Layout::read_image_layout).await
    }

    /// [`Layout::write_image_layout`].
    pub async fn write_image_layout(&self, layout: ImageLayout) -> Result<()> {
        self.blocking(move |l| l.write_image_layout(&layout)).await
    }

    /// [`Layout::read_index_bytes`].
    pub async fn read_index_bytes(&self) -> Result<Vec<u8>> {
        self.blocking(Layout::read_index_bytes).await
    }

    /// [`Layout::read_index`].
    pub async fn read_index(&self) -> Result<ImageIndex> {
        self.blocking(Layout::read_index).await
    }

    /// [`Layout::write_index`].
    pub async fn write_index(&self, index: ImageIndex) -> Result<()> {
        self.blocking(move |l| l.write_index(&index)).await
    }

    /// [`Layout::put_manifest_descriptor`].
    pub async fn put_manifest_descriptor(&self, descriptor: Descriptor) -> Result<()> {
        self.blocking(move |l| l.put_manifest_descriptor(descriptor)).await
    }

    /// [`Layout::tag`].
    pub async fn tag(&self, name: impl Into<String>, descriptor: Descriptor) -> Result<()> {
        let name = name.into();
        self.blocking(move |l| l.tag(&name, descriptor)).await
    }

    /// [`Layout::remove_manifest_descriptor`].
    pub async fn remove_manifest_descriptor(&self, ref_name: impl Into<String>) -> Result<Vec<Descriptor>> {
        let ref_name = ref_name.into();
        self.blocking(move |l| l.remove_manifest_descriptor(&ref_name)).await
    }

    /// [`Layout::tags`].
    pub async fn tags(&self) -> Result<Vec<String>> {
        self.blocking(Layout::tags).await
    }

    /// [`Layout::resolve`].
    pub async fn resolve(&self, reference: impl Into<String>) -> Result<Descriptor> {
        let reference = reference.into();
        self.blocking(move |l| l.resolve(&reference)).await
    }

    /// [`Layout::has_blob`].
    pub async fn has_blob(&self, digest: Digest) -> Result<bool> {
        self.blocking(move |l| l.has_blob(&digest)).await
    }

    /// [`Layout::blob_size`].
    pub async fn blob_size(&self, digest: Digest) -> Result<Option<u64>> {
        self.blocking(move |l| l.blob_size(&digest)).await
    }

    /// [`Layout::delete_blob`].
    pub async fn delete_blob(&self, digest: Digest) -> Result<bool> {
        self.blocking(move |l| l.delete_blob(&digest)).await
    }

    /// [`Layout::read_blob`]: for manifests and configs.
    pub async fn read_blob(&self, digest: Digest) -> Result<Vec<u8>> {
        self.blocking(move |l| l.read_blob(&digest)).await
    }

    /// [`Layout::read_manifest`].
    pub async fn read_manifest(&self, descriptor: Descriptor) -> Result<Document> {
        self.blocking(move |l| l.read_manifest(&descriptor)).await
    }

    /// [`Layout::write_document`].
    pub async fn write_document<T: Send + 'static>(&self, document: Document<T>) -> Result<Descriptor> {
        self.blocking(move |l| l.write_document(&document)).await
    }

    /// [`Layout::write_blob`]: streams `content` into the blob `expected` describes,
    /// which it must match (else nothing is stored).
    pub async fn write_blob(
        &self,
        content: impl AsyncRead + Send + Unpin,
        expected: Descriptor,
    ) -> Result<()> {
        let mut writer = self.blob_writer(expected.digest.algorithm()).await?;
        feed(&mut writer, content).await?;
        writer.commit(expected.size, expected.digest).await
    }

    /// [`Layout::add_blob`]: streams `content` into a new sha256 blob and returns its
    /// descriptor.
    pub async fn add_blob(
        &self,
        content: impl AsyncRead + Send + Unpin,
        media_type: MediaType,
    ) -> Result<Descriptor> {
        let mut writer = self.blob_writer(DigestAlgorithm::SHA256).await?;
        feed(&mut writer, content).await?;
        let (digest, size) = writer.finish().await?;
        Ok(Descriptor::new(media_type, digest, size))
    }

    /// [`Layout::gc`].
    pub async fn gc(&self) -> Result<GcReport> {
        self.blocking(Layout::gc).await
    }

    /// [`Layout::fsck`].
    pub async fn fsck(&self) -> Result<FsckReport> {
        self.blocking(Layout::fsck).await
    }

    /// [`Layout::copy_to`].
    pub async fn copy_to(&self, dst: &AsyncLayout) -> Result<()> {
        let dst = Arc::clone(&dst.inner);
        self.blocking(move |l| l.copy_to(&dst)).await
    }

    /// A writer fed chunk by chunk from async code: hashing and writing happen on a
    /// blocking thread while the caller produces the next chunk.
    pub async fn blob_writer(&self, algorithm: DigestAlgorithm) -> Result<AsyncBlobWriter> {
        let writer = self.blocking(move |l| l.blob_writer(&algorithm)).await?;
        Ok(AsyncBlobWriter::spawn(writer))
    }

    /// [`blob_writer`](Self::blob_writer) for content whose digest the caller checks
    /// itself while streaming it, such as a verified registry download: the bytes are
    /// not hashed a second time, and the commit trusts the digest (see
    /// [`BlobWriter::without_hashing`](crate::BlobWriter::without_hashing)). Commit only
    /// once the caller's check passed.
    pub async fn blob_writer_without_hashing(&self, algorithm: DigestAlgorithm) -> Result<AsyncBlobWriter> {
        let writer = self.blocking(move |l| l.blob_writer(&algorithm)).await?;
        Ok(AsyncBlobWriter::spawn(writer.without_hashing()))
    }

    /// A writer that continues a partly written blob of `size` bytes (see
    /// [`Driver::resumable_blob_writer`](crate::Driver::resumable_blob_writer)): its
    /// [`bytes_written`](AsyncBlobWriter::bytes_written) is where the content goes on.
    /// With `verified` (the caller checks the digest while streaming) a writer that
    /// starts from zero does not hash again. `None` when the driver keeps no partial
    /// blobs or another writer holds this one.
    pub async fn resumable_blob_writer(
        &self,
        digest: Digest,
        size: u64,
        verified: bool,
    ) -> Result<Option<AsyncBlobWriter>> {
        let writer = self
            .blocking(move |l| {
                Ok(l.resumable_blob_writer(&digest, size)?
                    .map(|w| if verified && w.bytes_written() == 0 { w.without_hashing() } else { w }))
            })
            .await?;
        Ok(writer.map(AsyncBlobWriter::spawn))
    }

    /// A reader streaming a blob as stored, **not** checked against its digest, for a
    /// consumer that checks it itself (a registry client pushing it hashes what it
    /// sends): one hash per byte, not two.
    pub async fn blob_reader_unverified(&self, digest: Digest) -> Result<AsyncBlobReader> {
        let reader = self.blocking(move |l| l.driver().blob_reader(&digest)).await?;
        let size = reader.size();
        Ok(AsyncBlobReader::spawn(reader, size))
    }

    /// A reader streaming a blob (its digest checked) from a blocking thread.
    pub async fn blob_reader(&self, digest: Digest) -> Result<AsyncBlobReader> {
        let reader = self.blocking(move |l| l.blob_reader(&digest)).await?;
        let size = reader.size();
        Ok(AsyncBlobReader::spawn(reader, size))
    }
}

/// Hands all of `content` to `writer`, chunk by chunk.
async fn feed(writer: &mut AsyncBlobWriter, mut content: impl AsyncRead + Unpin) -> Result<()> {
    loop {
        let mut buf = vec![0u8; COPY_BUFFER];
        let n = content.read(&mut buf).await.map_err(Error::io)?;
        if n == 0 {
            return Ok(());
        }
        buf.truncate(n);
        writer.write_chunk(buf).await?;
    }
}

fn joined(e: tokio::task::JoinError) -> Error {
    Error::new(ErrorKind::Io).with_detail("the blocking task failed").with_source(e)
}
