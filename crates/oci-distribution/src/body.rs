//! Request bodies: replayable bytes, or a stream that can be sent only once.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use tokio::io::AsyncRead;

use crate::{Error, ErrorKind};

pub(crate) type BoxStream = Pin<Box<dyn http_body::Body<Data = Bytes, Error = Error> + Send + 'static>>;

/// How much a reader-backed stream reads at a time.
const READ_SIZE: usize = 128 * 1024;
/// The largest frame a body of bytes hands the connection at a time (slices, not
/// copies), so that sending a large body shows progress as it goes.
const BYTES_FRAME: usize = 256 * 1024;

/// The body of a request the client sends, and the content of a blob to push.
///
/// Bytes can be sent again: a retry, a re-authentication after `401`, or a chunked
/// upload going on from the registry's offset after it lost track. A stream (any
/// [`http_body::Body`], an [`AsyncRead`]) is read once, through bounded buffers, so a
/// request with a stream body is never sent again once sent; a push hashes it as it is
/// read and sends the piece that completes it only once the digest matched.
///
/// ```
/// use bytes::Bytes;
/// use oci_distribution::Body;
///
/// let bytes = Body::from_bytes(&b"layer"[..]);
/// assert!(bytes.is_replayable() && bytes.len() == Some(5));
/// let file = Body::from_reader(std::io::Cursor::new(vec![0u8; 1024]), Some(1024));
/// assert!(!file.is_replayable());
/// // Any body whose errors convert into a boxed error: a pull's `BlobStream`, hyper's
/// // `Incoming`, `http_body_util` bodies.
/// let full = http_body_util::Full::new(Bytes::from_static(b"xy"));
/// assert_eq!(Body::from_body(full, None).len(), None);
/// ```
pub struct Body {
    kind: Kind,
    /// Told each time the connection takes a frame.
    activity: Option<Arc<Activity>>,
}

/// When a request last made progress: when it started, or when the connection last
/// took a frame of its body. The transport's response timeout counts from it.
#[derive(Debug)]
pub(crate) struct Activity {
    last: Mutex<tokio::time::Instant>,
}

impl Activity {
    /// Activity now.
    pub(crate) fn now() -> Arc<Self> {
        Arc::new(Self { last: Mutex::new(tokio::time::Instant::now()) })
    }

    /// The moment of the last progress.
    pub(crate) fn last(&self) -> tokio::time::Instant {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = tokio::time::Instant::now();
    }
}

enum Kind {
    Empty,
    /// `None` once sent.
    Full(Option<Bytes>),
    Stream {
        body: BoxStream,
        len: Option<u64>,
    },
}

/// A body taken apart, for the upload driver.
pub(crate) enum Parts {
    /// Bytes in memory (none for an empty body).
    Bytes(Bytes),
    /// A stream of `len` bytes when known.
    Stream { body: BoxStream, len: Option<u64> },
}

impl Body {
    /// No body.
    #[must_use]
    pub fn empty() -> Self {
        Self { kind: Kind::Empty, activity: None }
    }

    /// A body of `bytes`; replayable.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self { kind: Kind::Full(Some(bytes.into())), activity: None }
    }

    /// A body streamed from `body`, of `len` bytes when known; sent at most once. A
    /// [`BlobStream`](crate::BlobStream) from a pull is such a body: pushing it copies a
    /// blob without holding it.
    ///
    /// Errors of `body` that are this crate's [`Error`] keep their kind; others become
    /// errors of kind [`Io`](ErrorKind::Io) with the error as their source.
    pub fn from_body<B>(body: B, len: Option<u64>) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let body = body.map_err(|e| {
            let e: Box<dyn std::error::Error + Send + Sync> = e.into();
            match e.downcast::<Error>() {
                Ok(ours) => *ours,
                Err(other) => Error::new(ErrorKind::Io, "reading the body").with_source(other),
            }
        });
        Self::from_stream(Box::pin(body), len)
    }

    /// A body read from `reader` (a file, a pipe), of `len` bytes when known; sent at
    /// most once.
    pub fn from_reader<R>(reader: R, len: Option<u64>) -> Self
    where
        R: AsyncRead + Send + 'static,
    {
        Self::from_stream(Box::pin(ReaderBody { reader: Box::pin(reader), done: false }), len)
    }

    pub(crate) fn from_stream(body: BoxStream, len: Option<u64>) -> Self {
        Self { kind: Kind::Stream { body, len }, activity: None }
    }

    /// A copy for sending again, unless the body is a stream.
    #[must_use]
    pub fn try_clone(&self) -> Option<Self> {
        match &self.kind {
            Kind::Empty => Some(Self::empty()),
            Kind::Full(bytes) => Some(Self { kind: Kind::Full(bytes.clone()), activity: None }),
            Kind::Stream { .. } => None,
        }
    }

    /// Whether the body can be sent again (bytes can, streams cannot).
    #[must_use]
    pub fn is_replayable(&self) -> bool {
        !matches!(self.kind, Kind::Stream { .. })
    }

    /// The length in bytes, when known.
    #[must_use]
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Full(bytes) => Some(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream { len, .. } => *len,
        }
    }

    /// Whether the body is known to be empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The same body, telling `activity` each time a frame of it is taken.
    pub(crate) fn watched(mut self, activity: Arc<Activity>) -> Self {
        self.activity = Some(activity);
        self
    }

    pub(crate) fn into_parts(self) -> Parts {
        match self.kind {
            Kind::Empty => Parts::Bytes(Bytes::new()),
            Kind::Full(bytes) => Parts::Bytes(bytes.unwrap_or_default()),
            Kind::Stream { body, len } => Parts::Stream { body, len },
        }
    }
}

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self::from_bytes(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self::from_bytes(bytes)
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Self::from_bytes(bytes)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Empty => f.write_str("Body::Empty"),
            Kind::Full(b) => write!(f, "Body::Bytes({} bytes)", b.as_ref().map_or(0, Bytes::len)),
            Kind::Stream { len, .. } => write!(f, "Body::Stream({len:?})"),
        }
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let frame = match &mut self.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(slot) => Poll::Ready(match slot.take().filter(|b| !b.is_empty()) {
                Some(mut bytes) if bytes.len() > BYTES_FRAME => {
                    let first = bytes.split_to(BYTES_FRAME);
                    *slot = Some(bytes);
                    Some(Ok(Frame::data(first)))
                }
                other => other.map(|b| Ok(Frame::data(b))),
            }),
            Kind::Stream { body, .. } => body.as_mut().poll_frame(cx),
        };
        if let (Poll::Ready(Some(Ok(_))), Some(activity)) = (&frame, &self.activity) {
            activity.touch();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Empty => true,
            Kind::Full(bytes) => bytes.as_ref().is_none_or(Bytes::is_empty),
            Kind::Stream { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Stream { body, len: None } => body.size_hint(),
            _ => self.len().map_or_else(SizeHint::default, SizeHint::with_exact),
        }
    }
}

/// Adapts an [`AsyncRead`] into a body of `READ_SIZE` frames.
struct ReaderBody {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    done: bool,
}

impl http_body::Body for ReaderBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let mut buf = BytesMut::zeroed(READ_SIZE);
        let mut read = tokio::io::ReadBuf::new(&mut buf);
        let result = ready!(self.reader.as_mut().poll_read(cx, &mut read));
        let n = read.filled().len();
        match result {
            Err(e) => Poll::Ready(Some(Err(Error::new(ErrorKind::Io, "reading the body").with_source(e)))),
            Ok(()) if n == 0 => {
                self.done = true;
                Poll::Ready(None)
            }
            Ok(()) => {
                buf.truncate(n);
                Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    #[tokio::test]
    async fn bytes_replay_and_streams_do_not() {
        let body = Body::from_bytes(&b"abc"[..]);
        let copy = body.try_clone().unwrap();
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        assert_eq!(copy.len(), Some(3));
        assert_eq!(copy.collect().await.unwrap().to_bytes(), "abc");
        let stream = Body::from_body(http_body_util::Full::new(Bytes::from_static(b"xy")), None);
        assert!(stream.try_clone().is_none() && !stream.is_replayable());
        assert_eq!(stream.size_hint().exact(), Some(2));
        assert_eq!(stream.collect().await.unwrap().to_bytes(), "xy");
        // A body with an error type of its own: the error is the source.
        let e = Body::from_body(Failing, None).collect().await.unwrap_err();
        assert_eq!((e.kind(), e.to_string().as_str()), (ErrorKind::Io, "i/o error: reading the body"));
        assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "the disk is gone");
    }

    /// A body whose first frame fails with an `io::Error`.
    struct Failing;

    impl http_body::Body for Failing {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Ready(Some(Err(std::io::Error::other("the disk is gone"))))
        }
    }
}
