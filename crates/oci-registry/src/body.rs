//! Response bodies: bytes in memory, or a file streamed from a blocking thread.

use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::mpsc;

/// How much of a blob one read takes (and one frame carries).
const CHUNK: usize = 256 * 1024;

/// A response body.
#[derive(Debug)]
pub(crate) struct Body(Inner);

#[derive(Debug)]
enum Inner {
    Full(Option<Bytes>),
    Stream { rx: mpsc::Receiver<io::Result<Bytes>>, remaining: u64 },
}

impl Body {
    pub(crate) fn empty() -> Self {
        Self(Inner::Full(None))
    }

    /// `len` bytes of `reader`, read on tokio's blocking pool a chunk at a time while the
    /// connection takes them (a slow client holds one thread, never the blob).
    pub(crate) fn from_reader(mut reader: Box<dyn Read + Send>, len: u64) -> Self {
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            let mut left = len;
            while left > 0 {
                let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
                let mut buf = vec![0; want];
                let read = match reader.read(&mut buf) {
                    Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the blob file ended early")),
                    Ok(n) => Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let item = read.map(|n| {
                    buf.truncate(n);
                    left -= n as u64;
                    Bytes::from(buf)
                });
                let failed = item.is_err();
                if tx.blocking_send(item).is_err() || failed {
                    return;
                }
            }
        });
        Self(Inner::Stream { rx, remaining: len })
    }
}

#[cfg(feature = "faults")]
impl Body {
    /// `len` bytes as `rx` delivers them (an error ends the body, and the connection).
    pub(crate) fn from_channel(rx: mpsc::Receiver<io::Result<Bytes>>, len: u64) -> Self {
        Self(Inner::Stream { rx, remaining: len })
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Inner::Full(Some(Bytes::from(bytes)).filter(|b| !b.is_empty())))
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self(Inner::Full(Some(bytes).filter(|b| !b.is_empty())))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        match &mut self.0 {
            Inner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Inner::Stream { rx, remaining } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        *remaining -= chunk.len() as u64;
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                    Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the blob reader stopped early",
                    )))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Full(bytes) => bytes.is_none(),
            Inner::Stream { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Inner::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Inner::Stream { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}
