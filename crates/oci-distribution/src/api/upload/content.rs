//! What a push sends: bytes, or a stream read once and verified as it is read.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use oci_spec_types::{Descriptor, Digest, Verifier};

use crate::body::{BoxStream as BoxBody, Parts};
use crate::progress::Reporter;
use crate::{Body, Error, ErrorKind, Result};

/// Counts and hashes streamed content against a descriptor.
pub(crate) struct Tally {
    digest: Digest,
    size: u64,
    read: u64,
    /// `None` once the digest was checked.
    verifier: Option<Verifier>,
    verified: bool,
    /// The first verification failure: what a request whose body failed reports.
    failure: Option<(ErrorKind, String)>,
    reporter: Arc<Reporter>,
}

impl Tally {
    fn new(descriptor: &Descriptor, reporter: Arc<Reporter>) -> Result<Self> {
        let verifier = descriptor.digest.verifier().map_err(|e| {
            let context = format!("blob {}: cannot be verified by this build", descriptor.digest);
            Error::new(ErrorKind::InvalidInput, context).with_source(e)
        })?;
        let (digest, size) = (descriptor.digest.clone(), descriptor.size);
        let verifier = Some(verifier);
        Ok(Self { digest, size, read: 0, verifier, verified: false, failure: None, reporter })
    }

    /// Takes in the next bytes; an error when they go past the size, or complete the
    /// content with another digest.
    fn feed(&mut self, data: &[u8]) -> Result<()> {
        let result = self.take_in(data);
        self.record(result)
    }

    /// The content ended: an error when it is short or hashes to another digest.
    fn end(&mut self) -> Result<()> {
        let result = self.check_end();
        self.record(result)
    }

    fn record(&mut self, result: Result<()>) -> Result<()> {
        if let Err(e) = &result
            && self.failure.is_none()
        {
            self.failure = Some((e.kind(), e.context().to_owned()));
        }
        result
    }

    fn take_in(&mut self, data: &[u8]) -> Result<()> {
        let len = data.len() as u64;
        if self.read + len > self.size {
            let context = format!(
                "blob {}: the content is longer than the descriptor's {} bytes",
                self.digest, self.size
            );
            return Err(Error::new(ErrorKind::SizeMismatch, context));
        }
        self.read += len;
        if let Some(verifier) = &mut self.verifier {
            verifier.update(data);
        }
        if self.read == self.size {
            self.check()?;
        }
        Ok(())
    }

    fn check_end(&mut self) -> Result<()> {
        if self.read < self.size {
            let what = format!(
                "blob {}: the content ended after {} of the descriptor's {} bytes",
                self.digest, self.read, self.size
            );
            return Err(Error::new(ErrorKind::SizeMismatch, what));
        }
        self.check()
    }

    fn check(&mut self) -> Result<()> {
        let Some(verifier) = self.verifier.take() else {
            return if self.verified { Ok(()) } else { Err(self.mismatch(None)) };
        };
        let actual = verifier.finish();
        self.verified = actual == self.digest;
        if self.verified { Ok(()) } else { Err(self.mismatch(Some(&actual))) }
    }

    fn mismatch(&self, actual: Option<&Digest>) -> Error {
        let actual = actual.map_or_else(String::new, |a| format!(": the content hashes to {a}"));
        Error::new(ErrorKind::DigestMismatch, format!("blob {}{actual}", self.digest))
    }
}

fn lock(tally: &Mutex<Tally>) -> MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A stream body passing through a [`Tally`]: the frame that completes the content is
/// handed on only when the digest matched.
struct VerifyingBody {
    inner: BoxBody,
    tally: Arc<Mutex<Tally>>,
}

impl http_body::Body for VerifyingBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>>>> {
        match ready!(self.inner.as_mut().poll_frame(cx)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let mut tally = lock(&self.tally);
                    if let Err(e) = tally.feed(data) {
                        return Poll::Ready(Some(Err(e)));
                    }
                    tally.reporter.report(tally.read);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => Poll::Ready(Some(Err(e))),
            None => Poll::Ready(lock(&self.tally).end().err().map(Err)),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The content of one push, as the upload driver uses it.
pub(crate) struct Content {
    source: Source,
    size: u64,
}

enum Source {
    /// Verified before anything was sent.
    Bytes(Bytes),
    Stream {
        /// `None` once handed to a request as a whole.
        body: Option<BoxBody>,
        len: Option<u64>,
        tally: Arc<Mutex<Tally>>,
        /// Read from `body` but not yet part of a chunk.
        leftover: Bytes,
        /// The last chunk read, and where it starts: what can be sent again after a resync.
        last_chunk: (u64, Bytes),
    },
}

impl Content {
    /// `content` for `descriptor`: bytes are checked now (size and digest), streams as
    /// they are read; a stream announcing another length than the descriptor's fails now.
    pub(crate) fn new(content: Body, descriptor: &Descriptor, reporter: Arc<Reporter>) -> Result<Self> {
        let size = descriptor.size;
        if let Some(len) = content.len()
            && len != size
        {
            let what = format!(
                "blob {}: the content has {len} bytes, the descriptor says {size}",
                descriptor.digest
            );
            return Err(Error::new(ErrorKind::SizeMismatch, what));
        }
        let mut tally = Tally::new(descriptor, reporter)?;
        let source = match content.into_parts() {
            Parts::Bytes(bytes) => {
                tally.feed(&bytes)?;
                tally.end()?;
                Source::Bytes(bytes)
            }
            Parts::Stream { body, len } => Source::Stream {
                body: Some(body),
                len,
                tally: Arc::new(Mutex::new(tally)),
                leftover: Bytes::new(),
                last_chunk: (0, Bytes::new()),
            },
        };
        Ok(Self { source, size })
    }

    /// Whether the content can be sent more than once (bytes).
    pub(crate) fn can_send_again(&self) -> bool {
        matches!(self.source, Source::Bytes(_))
    }

    /// Whether nothing of the content was read yet, or it can be read again.
    pub(crate) fn can_send_whole(&self) -> bool {
        match &self.source {
            Source::Bytes(_) => true,
            Source::Stream { body, tally, .. } => body.is_some() && lock(tally).read == 0,
        }
    }

    /// Whether all of the content was read and matched the descriptor.
    pub(crate) fn is_verified(&self) -> bool {
        match &self.source {
            Source::Bytes(_) => true,
            Source::Stream { tally, .. } => lock(tally).verified,
        }
    }

    /// Checks that a stream ends where the descriptor says and matched its digest (the
    /// stream is read to its end: an empty blob, or one sent in chunks, has not seen it).
    pub(crate) async fn finish(&mut self) -> Result<()> {
        let Source::Stream { body, tally, .. } = &mut self.source else { return Ok(()) };
        if let Some(stream) = body {
            while let Some(frame) = stream.frame().await {
                if let Ok(data) = frame?.into_data() {
                    lock(tally).feed(&data)?;
                }
            }
            *body = None;
        }
        lock(tally).end()
    }

    /// Why the content failed verification, if it did: a request whose body failed
    /// reports this rather than the transport's view of it.
    pub(crate) fn failure(&self) -> Option<(ErrorKind, String)> {
        match &self.source {
            Source::Bytes(_) => None,
            Source::Stream { tally, .. } => lock(tally).failure.clone(),
        }
    }

    /// How many bytes of a stream were read (bytes content: all of it).
    pub(crate) fn bytes_read(&self) -> u64 {
        match &self.source {
            Source::Bytes(b) => b.len() as u64,
            Source::Stream { tally, .. } => lock(tally).read,
        }
    }

    /// The whole content as one request body, and its length when known (a stream of
    /// unknown length is sent without `Content-Length` unless `announce` asks for the
    /// descriptor's size to be announced).
    pub(crate) fn whole_body(&mut self, announce: bool) -> Result<(Body, Option<u64>)> {
        let size = self.size;
        match &mut self.source {
            Source::Bytes(bytes) => Ok((Body::from_bytes(bytes.clone()), Some(size))),
            Source::Stream { body, len, tally, .. } => {
                let inner =
                    body.take().filter(|_| lock(tally).read == 0).ok_or_else(|| self::consumed(size))?;
                let len = if announce { Some(size) } else { *len };
                let verifying = VerifyingBody { inner, tally: Arc::clone(tally) };
                Ok((Body::from_stream(Box::pin(verifying), len), len))
            }
        }
    }

    /// The piece `[offset, offset + max)` (clipped to the size), for a chunk. A stream is
    /// read on from where it is; the last chunk read can be given again from any offset
    /// inside it (after a resync); anything earlier is gone.
    pub(crate) async fn chunk(&mut self, offset: u64, max: u64) -> Result<Bytes> {
        let end = offset.saturating_add(max).min(self.size);
        let size = self.size;
        match &mut self.source {
            Source::Bytes(bytes) => {
                let (start, end) = (to_usize(offset)?, to_usize(end)?);
                bytes
                    .get(start..end)
                    .map(|_| bytes.slice(start..end))
                    .ok_or_else(|| out_of_range(offset, size))
            }
            Source::Stream { body, tally, leftover, last_chunk, .. } => {
                let read = lock(tally).read - leftover.len() as u64;
                let (start, chunk) = last_chunk;
                let chunk_end = *start + chunk.len() as u64;
                if offset != read {
                    // Only inside the chunk just sent.
                    if offset < *start || offset >= chunk_end {
                        let context = format!(
                            "the registry asks for the content from byte {offset}; a stream cannot go back there"
                        );
                        return Err(Error::new(ErrorKind::InvalidInput, context));
                    }
                    let skip = to_usize(offset - *start)?;
                    let take = to_usize(end.min(chunk_end) - offset)?;
                    return Ok(chunk.slice(skip..skip + take));
                }
                if body.is_none() {
                    return Err(consumed(size));
                }
                let want = to_usize(end - offset)?;
                let next = read_exact(body, tally, leftover, want).await?;
                *last_chunk = (offset, next.clone());
                Ok(next)
            }
        }
    }
}

/// Reads `want` bytes from `body` (after `leftover`), hashing what is read; keeps what
/// goes past `want` in `leftover`. The body is dropped once it ended.
async fn read_exact(
    body: &mut Option<BoxBody>,
    tally: &Mutex<Tally>,
    leftover: &mut Bytes,
    want: usize,
) -> Result<Bytes> {
    if leftover.len() >= want {
        return Ok(leftover.split_to(want));
    }
    let mut buf = BytesMut::with_capacity(want);
    buf.extend_from_slice(leftover);
    *leftover = Bytes::new();
    while buf.len() < want {
        let Some(stream) = body.as_mut() else { break };
        let Some(frame) = stream.frame().await else {
            *body = None;
            lock(tally).end()?;
            break;
        };
        let Ok(mut data) = frame?.into_data() else { continue };
        lock(tally).feed(&data)?;
        let room = want - buf.len();
        if data.len() > room {
            *leftover = data.split_off(room);
        }
        buf.extend_from_slice(&data);
    }
    Ok(buf.freeze())
}

fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, "an offset beyond memory").with_source(e))
}

fn consumed(size: u64) -> Error {
    let context = format!("the stream of {size} bytes was sent already and cannot be sent again");
    Error::new(ErrorKind::InvalidInput, context)
}

fn out_of_range(offset: u64, size: u64) -> Error {
    let context = format!("the registry asks for the content from byte {offset}, past its {size} bytes");
    Error::new(ErrorKind::InvalidResponse, context)
}
