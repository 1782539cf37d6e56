//! Blob writers and readers for async code: chunks cross a bounded channel to and from
//! a blocking thread that hashes and does the I/O.

use std::io::{Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use oci_spec_types::Digest;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::joined;
use crate::verify::COPY_BUFFER;
use crate::{BlobWriter, Error, ErrorKind, Result};

/// How many chunks may wait between the async side and the blocking thread.
const CHANNEL_CHUNKS: usize = 8;

enum Message {
    Chunk(Bytes),
    Commit { size: u64, digest: Digest, reply: oneshot::Sender<Result<(Digest, u64)>> },
    Finish { reply: oneshot::Sender<Result<(Digest, u64)>> },
}

/// A blob being written from async code (see
/// [`AsyncLayout::blob_writer`](super::AsyncLayout::blob_writer)): the async
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
    pub(super) fn spawn(writer: BlobWriter) -> Self {
        let (tx, mut rx) = mpsc::channel::<Message>(CHANNEL_CHUNKS);
        let written = writer.bytes_written();
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
        Self { tx, task: Some(task), written }
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

    /// How many bytes were handed over so far (for a writer that continues a partial
    /// blob, counting those it started with).
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

    /// Discards what was written and returns once the temporary file is gone (dropping
    /// the writer discards it too, in the background).
    pub async fn abort(mut self) -> Result<()> {
        let task = self.task.take();
        drop(self);
        match task {
            Some(task) => task.await.map_err(joined)?,
            None => Ok(()),
        }
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

/// A blob streamed to async code (see
/// [`AsyncLayout::blob_reader`](super::AsyncLayout::blob_reader)), in chunks or as a
/// [`tokio::io::AsyncRead`]; a digest mismatch is an error at the end.
#[derive(Debug)]
pub struct AsyncBlobReader {
    rx: mpsc::Receiver<Result<Bytes>>,
    size: u64,
    pending: Bytes,
}

impl AsyncBlobReader {
    /// Streams `reader` from a blocking thread.
    pub(super) fn spawn(mut reader: impl Read + Send + 'static, size: u64) -> Self {
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
        Self { rx, size, pending: Bytes::new() }
    }

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
