//! Request bodies: replayable bytes, or a stream that can be sent only once.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};

use crate::Error;

type BoxStream = Pin<Box<dyn http_body::Body<Data = Bytes, Error = Error> + Send + 'static>>;

/// The body of a request the client sends.
///
/// Bytes can be sent again (a retry, a re-authentication after 401); a stream can be
/// sent only once, so a request with a stream body is never retried once sent.
pub struct Body {
    kind: Kind,
}

enum Kind {
    Empty,
    Full(Option<Bytes>),
    Stream { body: BoxStream, len: Option<u64> },
}

impl Body {
    /// No body.
    #[must_use]
    pub fn empty() -> Self {
        Self { kind: Kind::Empty }
    }

    /// A body of `bytes`; replayable.
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        Self { kind: Kind::Full(Some(bytes.into())) }
    }

    /// A streamed body of `len` bytes when known; sent at most once.
    pub fn stream<B>(body: B, len: Option<u64>) -> Self
    where
        B: http_body::Body<Data = Bytes, Error = Error> + Send + 'static,
    {
        Self { kind: Kind::Stream { body: Box::pin(body), len } }
    }

    /// A copy for sending again, unless the body is a stream.
    #[must_use]
    pub fn try_clone(&self) -> Option<Self> {
        match &self.kind {
            Kind::Empty => Some(Self::empty()),
            Kind::Full(bytes) => Some(Self { kind: Kind::Full(bytes.clone()) }),
            Kind::Stream { .. } => None,
        }
    }

    /// Whether the body can be sent again.
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
        match &mut self.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Full(bytes) => {
                Poll::Ready(bytes.take().filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b))))
            }
            Kind::Stream { body, .. } => body.as_mut().poll_frame(cx),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn bytes_replay_and_streams_do_not() {
        let body = Body::from_bytes(&b"abc"[..]);
        let copy = body.try_clone().unwrap();
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
        assert_eq!(copy.len(), Some(3));
        assert_eq!(copy.collect().await.unwrap().to_bytes(), "abc");
        let stream = Body::stream(
            http_body_util::Full::new(Bytes::from_static(b"xy")).map_err(|never| match never {}),
            None,
        );
        assert!(stream.try_clone().is_none() && !stream.is_replayable());
        assert_eq!(stream.size_hint().exact(), Some(2));
        assert_eq!(stream.collect().await.unwrap().to_bytes(), "xy");
    }
}
