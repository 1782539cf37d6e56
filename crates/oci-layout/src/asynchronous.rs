//! The async API (feature `tokio`): the blocking core behind `spawn_blocking`, and blob
//! writers and readers that stream chunk by chunk through bounded channels.

use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use oci_spec_types::{Descriptor, Digest, DigestAlgorithm, ImageIndex, MediaType};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::verify::COPY_BUFFER;
use crate::{BlobWriter, Error, ErrorKind, FsckReport, GcReport, Layout, Result};

/// How many chunks may wait between the async side and the blocking thread.
const CHANNEL_CHUNKS: usize = 8;

/// A [`Layout`] for async code: every operation runs on tokio's blocking pool
/// (`spawn_blocking`), so the runtime's worker threads never wait on the disk. Cheap
/// to clone (an `Arc` inside).
///
/// ```
/// use oci_layout::{AsyncLayout, Layout};
/// use oci_spec_types::{Digest, DigestAlgorithm};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let layout = AsyncLayout::new(Layout::init_dir(dir.path())?);
/// let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await?;
/// for chunk in [&b"hello "[..], b"world"] {
///     w.write_chunk(chunk.to_vec()).await?; // e.g. frames of an HTTP body
/// }
/// let digest = Digest::sha256(b"hello world");
/// w.commit(11, digest.clone()).await?;
/// assert_eq!(layout.read_blob(digest).await?, b"hello world");
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

    /// The blocking layout; call it only from blocking contexts.
    #[must_use]
    pub fn blocking_layout(&self) -> &Arc<Layout> {
        &self.inner
    }

    /// Runs `f` on the blocking pool: the boundary every other method goes through,
    /// for any operation of [`Layout`] without an async twin here.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&Layout) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let layout = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&layout)).await.map_err(joined)?
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

    /// [`Layout::write_json_blob`] (serialized here, written on the blocking pool).
    pub async fn write_json_blob(&self, value: &impl Serialize, media_type: MediaType) -> Result<Descriptor> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::new(ErrorKind::Serialize).with_source(e))?;
        self.blocking(move |l| l.add_blob(&bytes[..], media_type)).await
    }

    /// [`Layout::commit`].
    pub async fn commit(&self) -> Result<()> {
        self.blocking(Layout::commit).await
    }

    /// [`Layout::gc`].
    pub async fn gc(&self) -> Result<GcReport> {
        self.blocking(Layout::gc).await
    }

    /// [`Layout::fsck`].
    pub async fn fsck(&self) -> Result<FsckReport> {
        self.blocking(Layout::fsck).await
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

    /// A reader streaming a blob (its digest checked) from a blocking thread.
    pub async fn blob_reader(&self, digest: Digest) -> Result<AsyncBlobReader> {
        let mut reader = self.blocking(move |l| l.blob_reader(&digest)).await?;
        let size = reader.size();
        let (tx, rx) = mpsc::channel::<Result<Bytes>>(CHANNEL_CHUNKS / 2);
        tokio::task::spawn_blocking(move || {
            loop {
                let mut buf = vec![0u8; COPY_BUFFER];
                let item = match reader.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(Bytes::from(buf))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(Error::io(e)),
                };
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        Ok(AsyncBlobReader { rx, size, pending: Bytes::new() })
    }
}

fn joined(e: tokio::task::JoinError) -> Error {
    Error::new(ErrorKind::Io).with_detail("the blocking task failed").with_source(e)
}

enum Message {
    Chunk(Bytes),
    Commit { size: u64, digest: Digest, reply: oneshot::Sender<Result<(Digest, u64)>> },
    Finish { reply: oneshot::Sender<Result<(Digest, u64)>> },
}

/// A blob being written from async code (see [`AsyncLayout::blob_writer`]): the async
/// twin of [`BlobWriter`](crate::BlobWriter). At most a few chunks wait in memory
/// between the caller and the blocking thread (back-pressure); dropping it without
/// committing discards what was written.
#[derive(Debug)]
pub struct AsyncBlobWriter {
    tx: mpsc::Sender<Message>,
    task: Option<JoinHandle<Result<()>>>,
    written: u64,
}

impl AsyncBlobWriter {
    /// Starts the blocking thread that feeds `writer`.
    fn spawn(writer: BlobWriter) -> Self {
        let (tx, mut rx) = mpsc::channel::<Message>(CHANNEL_CHUNKS);
        let task = tokio::task::spawn_blocking(move || {
            let mut writer = writer;
            while let Some(message) = rx.blocking_recv() {
                match message {
                    Message::Chunk(bytes) => writer.write_all(&bytes)?,
                    Message::Commit { size, digest, reply } => {
                        let _ = reply.send(writer.commit(size, &digest).map(|()| (digest, size)));
                        return Ok(());
                    }
                    Message::Finish { reply } => {
                        let _ = reply.send(writer.finish());
                        return Ok(());
                    }
                }
            }
            Ok(()) // dropped without commit: the writer discards its temporary file
        });
        Self { tx, task: Some(task), written: 0 }
    }

    /// Hands one chunk to the writer (no copy for `Bytes` or `Vec<u8>`).
    pub async fn write_chunk(&mut self, chunk: impl Into<Bytes>) -> Result<()> {
        let chunk = chunk.into();
        let len = chunk.len() as u64;
        if self.tx.send(Message::Chunk(chunk)).await.is_err() {
            return Err(self.failure().await);
        }
        self.written += len;
        Ok(())
    }

    /// Hands a copy of `bytes` to the writer.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        self.write_chunk(Bytes::copy_from_slice(bytes)).await
    }

    /// How many bytes were handed over so far.
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// [`BlobWriter::commit`](crate::BlobWriter::commit): publishes the blob if it has
    /// `size` bytes and digest `expected`, else fails and leaves nothing behind.
    pub async fn commit(mut self, size: u64, expected: Digest) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.finish_with(Message::Commit { size, digest: expected, reply }, answer).await.map(|_| ())
    }

    /// [`BlobWriter::finish`](crate::BlobWriter::finish): publishes the blob under the
    /// digest of what was written; returns the digest and the size.
    pub async fn finish(mut self) -> Result<(Digest, u64)> {
        let (reply, answer) = oneshot::channel();
        self.finish_with(Message::Finish { reply }, answer).await
    }

    async fn finish_with(
        &mut self,
        message: Message,
        answer: oneshot::Receiver<Result<(Digest, u64)>>,
    ) -> Result<(Digest, u64)> {
        if self.tx.send(message).await.is_err() {
            return Err(self.failure().await);
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(self.failure().await),
        }
    }

    /// The error that ended the blocking side.
    async fn failure(&mut self) -> Error {
        match self.task.take() {
            Some(task) => match task.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => Error::new(ErrorKind::Io).with_detail("the blob writer has already finished"),
                Err(e) => joined(e),
            },
            None => Error::new(ErrorKind::Io).with_detail("the blob writer has already failed"),
        }
    }
}

/// A blob streamed to async code (see [`AsyncLayout::blob_reader`]), in chunks or as
/// a [`tokio::io::AsyncRead`]; a digest mismatch is an error at the end.
#[derive(Debug)]
pub struct AsyncBlobReader {
    rx: mpsc::Receiver<Result<Bytes>>,
    size: u64,
    pending: Bytes,
}

impl AsyncBlobReader {
    /// The stored size of the blob.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The next chunk, `None` at the end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        if !self.pending.is_empty() {
            return Ok(Some(std::mem::take(&mut self.pending)));
        }
        self.rx.recv().await.transpose()
    }
}

impl tokio::io::AsyncRead for AsyncBlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.pending.is_empty() {
            match ready!(self.rx.poll_recv(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(e.into_io())),
                Some(Ok(bytes)) => self.pending = bytes,
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}
