//! A blob download that verifies while it streams and resumes after a dropped
//! connection.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf as _, Bytes};
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body::{Body as _, Frame, SizeHint};
use oci_spec_types::{Digest, Verifier};

use super::range::{ContentRange, parse_content_range, range_from};
use crate::progress::Reporter;
use crate::transport::ResponseBody;
use crate::{Body, Client, Error, ErrorKind, Result};

/// The delay before a resume; doubled for each resume in a row that brought nothing,
/// at most 2 s.
const RESUME_BACKOFF: Duration = Duration::from_millis(200);

/// The content of a blob, as it arrives from the registry.
///
/// Every byte is hashed as it passes, and the size is enforced: a chunk that would go
/// past the expected size fails at once with an error of kind
/// [`SizeMismatch`](ErrorKind::SizeMismatch), and the chunk that completes the blob is
/// only handed out once the digest matched; otherwise that read fails with an error of
/// kind [`DigestMismatch`](ErrorKind::DigestMismatch). A caller that writes chunks
/// somewhere and commits after the end of the stream therefore never commits a bad
/// blob. When the size is not known (neither given nor announced by `Content-Length`),
/// the last chunk read is held back until the end of the body, for the same reason.
///
/// When the connection drops or stalls, the download goes on where it stopped with a
/// `GET` carrying `Range: bytes=<offset>-`; the registry (or its storage) must answer
/// `206` with a `Content-Range` starting exactly there. The digest state is kept across
/// reconnects. It resumes as long as attempts bring bytes: it gives up after
/// [`PullOptions::max_resumes`](super::PullOptions) attempts in a row that brought none,
/// and after ten times as many resumes in all.
///
/// Read it with [`next_chunk`](Self::next_chunk), as an [`http_body::Body`], or as a
/// [`tokio::io::AsyncRead`].
pub struct BlobStream {
    client: Client,
    uri: Uri,
    scopes: Vec<String>,
    digest: Digest,
    size: Option<u64>,
    /// `None` once the digest was checked.
    verifier: Option<Verifier>,
    /// Bytes received and hashed.
    received: u64,
    /// `received` when the current response started.
    resumed_at: u64,
    resumes: u32,
    /// Resumes in a row after which no byte arrived.
    idle_resumes: u32,
    max_resumes: u32,
    state: State,
    /// With an unknown size: the last chunk, handed out once the next one (or the end) came.
    held: Option<Bytes>,
    /// What an `AsyncRead` caller has not read yet of the current chunk.
    unread: Bytes,
    reporter: Reporter,
}

/// What a download needs to go on after a dropped connection.
pub(crate) struct Download {
    pub(crate) client: Client,
    /// The blob's URL on the registry (a resume asks the registry again, which may
    /// redirect to storage with a fresh signature).
    pub(crate) uri: Uri,
    pub(crate) scopes: Vec<String>,
    pub(crate) digest: Digest,
    pub(crate) size: Option<u64>,
    pub(crate) max_resumes: u32,
    pub(crate) reporter: Reporter,
}

enum State {
    Reading(ResponseBody),
    /// Every byte was delivered: the body must end without more data.
    Draining(ResponseBody),
    /// A task, so that the stream stays `Sync` (a boxed future is not).
    Reconnecting(Reconnect),
    Done,
}

/// A reconnect running as a task, cancelled when the stream is dropped.
struct Reconnect(tokio::task::JoinHandle<Result<ResponseBody>>);

impl Drop for Reconnect {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl BlobStream {
    /// A stream over the body of `response`, the `200` answer to `GET download.uri`.
    /// Fails when the announced length contradicts the expected size, or for an empty
    /// blob whose digest is not the expected one.
    pub(crate) fn new(download: Download, response: http::Response<ResponseBody>) -> Result<Self> {
        let Download { client, uri, scopes, digest, size, max_resumes, mut reporter } = download;
        let verifier = digest.verifier().map_err(|e| {
            Error::new(ErrorKind::InvalidInput, format!("GET {uri}: cannot verify blob {digest}"))
                .with_source(e)
        })?;
        let announced = content_length(response.headers());
        let size = match (size, announced) {
            (Some(want), Some(got)) if want != got => {
                let context = format!(
                    "GET {uri}: blob {digest} should have {want} bytes, the response announces {got}"
                );
                return Err(Error::new(ErrorKind::SizeMismatch, context));
            }
            (Some(want), _) => Some(want),
            (None, announced) => announced,
        };
        reporter.set_total(size);
        let mut stream = Self {
            client,
            uri,
            scopes,
            digest,
            size,
            verifier: Some(verifier),
            received: 0,
            resumed_at: 0,
            resumes: 0,
            idle_resumes: 0,
            max_resumes,
            state: State::Reading(response.into_body()),
            held: None,
            unread: Bytes::new(),
            reporter,
        };
        stream.reporter.report(0);
        if stream.size == Some(0) {
            stream.check_digest()?;
            stream.state = take_body(&mut stream.state).map_or(State::Done, State::Draining);
        }
        Ok(stream)
    }

    /// The digest the content is verified against.
    #[must_use]
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The blob's size: the one given, or the one the registry announced; `None` when
    /// neither is known.
    #[must_use]
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// How many bytes arrived so far (including a chunk held back for verification).
    #[must_use]
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// How many times the download resumed after a dropped or stalled connection.
    #[must_use]
    pub fn resumes(&self) -> u32 {
        self.resumes
    }

    /// The next chunk of content; `Ok(None)` after the last one, which is only handed out
    /// once size and digest matched.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await.transpose()
    }

    /// The whole content, verified, when it is at most `limit` bytes (an error of kind
    /// [`Limit`](ErrorKind::Limit) otherwise). For small blobs such as image
    /// configurations; stream large ones.
    pub async fn bytes(mut self, limit: usize) -> Result<Bytes> {
        let limit_u64 = u64::try_from(limit).unwrap_or(u64::MAX);
        let too_big = |this: &Self| {
            Error::new(ErrorKind::Limit, format!("{}: larger than {limit} bytes", this.context()))
        };
        if self.size.is_some_and(|size| size > limit_u64) {
            return Err(too_big(&self));
        }
        let mut out = bytes::BytesMut::new();
        while let Some(chunk) = self.next_chunk().await? {
            if out.len() + chunk.len() > limit {
                return Err(too_big(&self));
            }
            if out.is_empty() && self.is_end_stream() {
                return Ok(chunk);
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// The rest of a blob from byte `offset` on: `GET` with `Range: bytes=<offset>-`,
    /// answered with a `206` that starts there (checked). The bytes before `offset` are
    /// the caller's, so the stream cannot check the digest: it checks the size and
    /// resumes as any download does, and the caller checks the digest of the whole.
    pub(crate) async fn from_offset(download: Download, offset: u64) -> Result<Self> {
        let context = format!("GET {} (blob {})", download.uri, download.digest);
        let body = reconnect(
            &download.client,
            download.uri.clone(),
            &download.scopes,
            offset,
            download.size,
            &context,
        )
        .await?;
        let Download { client, uri, scopes, digest, size, max_resumes, mut reporter } = download;
        reporter.set_total(size);
        let stream = Self {
            client,
            uri,
            scopes,
            digest,
            size,
            verifier: None,
            received: offset,
            resumed_at: offset,
            resumes: 0,
            idle_resumes: 0,
            max_resumes,
            state: State::Reading(body),
            held: None,
            unread: Bytes::new(),
            reporter,
        };
        stream.reporter.report(offset);
        Ok(stream)
    }

    fn context(&self) -> String {
        format!("GET {} (blob {})", self.uri, self.digest)
    }

    /// Finishes the digest; an error when it is not the expected one.
    fn check_digest(&mut self) -> Result<()> {
        let Some(verifier) = self.verifier.take() else { return Ok(()) };
        let actual = verifier.finish();
        if actual == self.digest {
            return Ok(());
        }
        let context = format!("{}: the content hashes to {actual}", self.context());
        Err(Error::new(ErrorKind::DigestMismatch, context))
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Bytes>>> {
        self.state = State::Done;
        self.held = None;
        Poll::Ready(Some(Err(error)))
    }

    /// Takes in `data` from the network: hashes and counts it, and says what to hand out.
    fn accept(&mut self, data: Bytes) -> Result<Option<Bytes>> {
        let len = data.len() as u64;
        if let Some(size) = self.size
            && self.received + len > size
        {
            let context = format!("{}: more than the expected {size} bytes", self.context());
            return Err(Error::new(ErrorKind::SizeMismatch, context));
        }
        self.received += len;
        if let Some(verifier) = &mut self.verifier {
            verifier.update(&data);
        }
        self.reporter.report(self.received);
        if self.size.is_none() {
            return Ok(self.held.replace(data));
        }
        if self.size == Some(self.received) {
            self.check_digest()?;
            self.state = take_body(&mut self.state).map_or(State::Done, State::Draining);
        }
        Ok(Some(data))
    }

    /// The end of a body: the blob is complete (unknown size), or the connection was cut.
    fn at_end(&mut self) -> Result<Option<Bytes>> {
        match self.size {
            None => {
                self.check_digest()?;
                self.state = State::Done;
                Ok(self.held.take())
            }
            Some(size) => {
                let context =
                    format!("{}: the body ended after {} of {size} bytes", self.context(), self.received);
                Err(Error::new(ErrorKind::Connect, context))
            }
        }
    }

    /// Starts a reconnect after `error` when that is allowed; `Err` (the error, with what
    /// stopped the resume) otherwise.
    fn try_resume(&mut self, error: Error) -> Result<()> {
        let cut = matches!(error.kind(), ErrorKind::Connect | ErrorKind::Timeout);
        let idle = if self.received > self.resumed_at { 0 } else { self.idle_resumes + 1 };
        let spent = idle > self.max_resumes || self.resumes >= self.max_resumes.saturating_mul(10);
        if !cut || spent {
            if cut && self.resumes > 0 {
                let context = format!("{}: gave up after {} resumes", self.context(), self.resumes);
                return Err(Error::new(error.kind(), context).with_source(error));
            }
            return Err(error);
        }
        tracing::debug!(uri = %self.uri, offset = self.received, error = %error, "resuming a blob download");
        // A resume after one that brought bytes waits the least; idle ones back off.
        let delay =
            RESUME_BACKOFF.saturating_mul(1 << idle.saturating_sub(1).min(4)).min(Duration::from_secs(2));
        self.resumes += 1;
        self.idle_resumes = idle;
        self.resumed_at = self.received;
        let (client, uri, scopes) = (self.client.clone(), self.uri.clone(), self.scopes.clone());
        let (offset, size, context) = (self.received, self.size, self.context());
        self.state = State::Reconnecting(Reconnect(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            reconnect(&client, uri, &scopes, offset, size, &context).await
        })));
        Ok(())
    }

    /// The next piece of content, as `next_chunk` returns it.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes>>> {
        loop {
            match &mut self.state {
                State::Done => return Poll::Ready(None),
                State::Reconnecting(task) => match ready!(Pin::new(&mut task.0).poll(cx)) {
                    Ok(Ok(body)) => self.state = State::Reading(body),
                    Ok(Err(e)) => return self.fail(e),
                    Err(e) => {
                        return self
                            .fail(Error::new(ErrorKind::Connect, "resuming the download").with_source(e));
                    }
                },
                State::Draining(body) => match ready!(Pin::new(body).poll_frame(cx)) {
                    Some(Ok(frame)) if frame.data_ref().is_none_or(Bytes::is_empty) => {}
                    Some(Ok(_)) => {
                        let context = format!("{}: more than the expected bytes", self.context());
                        return self.fail(Error::new(ErrorKind::SizeMismatch, context));
                    }
                    // The end, or a failure after all content was verified, which does not matter.
                    None | Some(Err(_)) => self.state = State::Done,
                },
                State::Reading(body) => {
                    let outcome = match ready!(Pin::new(body).poll_frame(cx)) {
                        Some(Ok(frame)) => match frame.into_data() {
                            Ok(data) if !data.is_empty() => self.accept(data),
                            _ => Ok(None),
                        },
                        Some(Err(e)) => self.try_resume(e).map(|()| None),
                        None => match self.at_end() {
                            Err(e) => self.try_resume(e).map(|()| None),
                            done => done,
                        },
                    };
                    match outcome {
                        Ok(Some(data)) => return Poll::Ready(Some(Ok(data))),
                        Ok(None) if matches!(self.state, State::Done) => return Poll::Ready(None),
                        Ok(None) => {}
                        Err(e) => return self.fail(e),
                    }
                }
            }
        }
    }
}

/// Sends `GET uri` with `Range: bytes=<offset>-` and checks that the answer continues
/// exactly at `offset`.
async fn reconnect(
    client: &Client,
    uri: Uri,
    scopes: &[String],
    offset: u64,
    size: Option<u64>,
    context: &str,
) -> Result<ResponseBody> {
    let mut headers = HeaderMap::new();
    headers.insert(RANGE, range_from(offset)?);
    let response = client.send(Method::GET, uri, headers, Body::empty(), scopes).await?;
    let context = format!("{context}: resuming at byte {offset}");
    if response.status() == StatusCode::OK {
        let why = "the server ignored Range (200 instead of 206)";
        return Err(Error::new(ErrorKind::InvalidResponse, format!("{context}: {why}")));
    }
    let response = Client::expect(response, &[StatusCode::PARTIAL_CONTENT], &context).await?;
    let value = response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let range = parse_content_range(value).ok_or_else(|| {
        Error::new(ErrorKind::InvalidResponse, format!("{context}: bad or missing Content-Range {value:?}"))
    })?;
    check_resumed_range(range, offset, size, content_length(response.headers())).map_err(|why| {
        Error::new(ErrorKind::InvalidResponse, format!("{context}: Content-Range {value:?} {why}"))
    })?;
    Ok(response.into_body())
}

/// Whether a `206` answer's range continues a download at `offset` to the end of a blob
/// of `size` bytes (when known), with a body of `content_length` bytes (when announced).
pub(crate) fn check_resumed_range(
    range: ContentRange,
    offset: u64,
    size: Option<u64>,
    content_length: Option<u64>,
) -> std::result::Result<(), &'static str> {
    if range.first != offset {
        return Err("does not start at the offset asked for");
    }
    if let Some(size) = size
        && (range.last.checked_add(1) != Some(size) || range.complete.is_some_and(|c| c != size))
    {
        return Err("does not end at the blob's size");
    }
    if content_length.is_some_and(|len| Some(len) != range.len()) {
        return Err("disagrees with Content-Length");
    }
    Ok(())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(super::range::decimal)
}

fn take_body(state: &mut State) -> Option<ResponseBody> {
    match std::mem::replace(state, State::Done) {
        State::Reading(body) | State::Draining(body) => Some(body),
        _ => None,
    }
}

impl fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStream")
            .field("uri", &self.uri)
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field("received", &self.received)
            .field("resumes", &self.resumes)
            .finish_non_exhaustive()
    }
}

impl http_body::Body for BlobStream {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>>>> {
        self.get_mut().poll_chunk(cx).map(|chunk| chunk.map(|r| r.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.state, State::Done) && self.held.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.size {
            Some(size) => SizeHint::with_exact(size.saturating_sub(self.received)),
            None => SizeHint::default(),
        }
    }
}

impl tokio::io::AsyncRead for BlobStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        while this.unread.is_empty() {
            match ready!(this.poll_chunk(cx)) {
                Some(Ok(chunk)) => this.unread = chunk,
                Some(Err(e)) => return Poll::Ready(Err(io::Error::other(e))),
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = this.unread.len().min(buf.remaining());
        buf.put_slice(&this.unread[..n]);
        this.unread.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_ranges_must_continue_exactly() {
        let r = |first, last, complete| ContentRange { first, last, complete };
        assert_eq!(check_resumed_range(r(100, 199, Some(200)), 100, Some(200), Some(100)), Ok(()));
        assert_eq!(check_resumed_range(r(100, 199, None), 100, Some(200), None), Ok(()));
        assert_eq!(check_resumed_range(r(100, 149, Some(150)), 100, None, None), Ok(()));
        for (range, why) in [
            (r(0, 199, Some(200)), "does not start at the offset asked for"),
            (r(99, 199, Some(200)), "does not start at the offset asked for"),
            (r(100, 149, Some(200)), "does not end at the blob's size"),
            (r(100, 199, Some(300)), "does not end at the blob's size"),
        ] {
            assert_eq!(check_resumed_range(range, 100, Some(200), None), Err(why), "{range:?}");
        }
        assert_eq!(
            check_resumed_range(r(100, 199, Some(200)), 100, Some(200), Some(99)),
            Err("disagrees with Content-Length")
        );
        // A registry that claims the range runs to the last u64: refused, never an overflow.
        let end = u64::MAX;
        assert_eq!(
            check_resumed_range(r(100, end, None), 100, Some(200), None),
            Err("does not end at the blob's size")
        );
        assert_eq!(
            check_resumed_range(r(0, end, None), 0, None, Some(end)),
            Err("disagrees with Content-Length")
        );
        assert_eq!(check_resumed_range(r(1, end, None), 1, None, Some(end)), Ok(()));
    }
}
