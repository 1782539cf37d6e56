//! Response bodies with a stall timeout: no bytes for too long is an error, however long
//! the whole body takes.

use std::fmt;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::{Error, ErrorKind, Result};

/// The body of a response the client received.
///
/// It yields the bytes as they arrive ([`http_body::Body`]); a read that gets no bytes
/// for the transport's [stall timeout](super::TransportConfig::stall_timeout) fails with
/// an error of kind [`Timeout`](ErrorKind::Timeout), a dropped connection with one of
/// kind [`Connect`](ErrorKind::Connect). Errors name the request ("GET https://...").
pub struct ResponseBody {
    inner: Incoming,
    stall_timeout: Duration,
    /// Armed when a read starts waiting for the network.
    sleep: Pin<Box<Sleep>>,
    waiting: bool,
    /// Method and URL of the request.
    context: Arc<str>,
}

impl ResponseBody {
    pub(super) fn new(inner: Incoming, stall_timeout: Duration, context: Arc<str>) -> Self {
        Self {
            inner,
            stall_timeout,
            sleep: Box::pin(tokio::time::sleep(stall_timeout)),
            waiting: false,
            context,
        }
    }

    /// The method and URL of the request this body answers, as errors name it.
    #[must_use]
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Reads the whole body, failing with an error of kind [`Limit`](ErrorKind::Limit)
    /// as soon as it exceeds `limit` bytes (announced by `Content-Length` or received).
    pub async fn bytes(mut self, limit: usize) -> Result<Bytes> {
        let too_big = |context: &str| {
            Error::new(ErrorKind::Limit, format!("{context}: the response body exceeds {limit} bytes"))
        };
        if self.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
            return Err(too_big(&self.context));
        }
        let mut buf = BytesMut::new();
        while let Some(frame) = self.frame().await {
            let Ok(data) = frame?.into_data() else { continue };
            if buf.len() + data.len() > limit {
                return Err(too_big(&self.context));
            }
            if buf.is_empty() && self.inner.is_end_stream() {
                return Ok(data);
            }
            buf.extend_from_slice(&data);
        }
        Ok(buf.freeze())
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("context", &self.context)
            .field("stall_timeout", &self.stall_timeout)
            .finish_non_exhaustive()
    }
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.waiting = false;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Connect };
                let context = format!("{}: reading the response body", this.context);
                Poll::Ready(Some(Err(Error::new(kind, context).with_source(e))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                if !this.waiting {
                    this.waiting = true;
                    this.sleep.as_mut().reset(Instant::now() + this.stall_timeout);
                }
                match this.sleep.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.waiting = false;
                        let context = format!(
                            "{}: reading the response body: no data for {:?}",
                            this.context, this.stall_timeout
                        );
                        Poll::Ready(Some(Err(Error::new(ErrorKind::Timeout, context))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
