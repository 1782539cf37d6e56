//! Drives an upload session through the states of [`super::state`]: sends the requests,
//! feeds the answers to the transition functions, cancels the session on failure.

use std::future::Future;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use oci_reference::Repository;
use oci_spec_types::Digest;

use super::content::Content;
use super::state::{self, Answer, Session, Started};
use super::{PushOutcome, UploadPolicy, UploadStats};
use crate::api::blobs::{decimal, header};
use crate::progress::Reporter;
use crate::{Body, Error, ErrorKind, Result};

/// How many times in a row (the registry taking no chunk in between) an upload may lose
/// and find its offset again before it gives up.
pub(crate) const MAX_RESYNCS: u32 = 5;

/// Sends one request of an upload and returns what the state machine needs of the answer.
/// The client implements it over its request pipeline; tests script it.
pub(crate) trait Exchanger: Sync {
    /// Sends `method uri` with `headers` and `body`; any status is an answer.
    fn exchange(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Body,
    ) -> impl Future<Output = Result<Answer>> + Send;
}

/// One blob's upload, from an open session to the committed blob.
pub(crate) struct Upload<'a, E> {
    pub(crate) exchanger: &'a E,
    /// The registry's URL the upload started at: every upload URL must stay on its origin.
    pub(crate) origin: &'a Uri,
    /// `/v2/<name>/blobs/<digest>`, to confirm an early accept.
    pub(crate) blob_url: &'a Uri,
    pub(crate) digest: &'a Digest,
    pub(crate) size: u64,
    pub(crate) policy: UploadPolicy,
    pub(crate) content: &'a mut Content,
    pub(crate) reporter: &'a Reporter,
    pub(crate) stats: UploadStats,
    /// Resyncs since the registry last took a chunk: more than [`MAX_RESYNCS`] in a row
    /// end the upload.
    pub(crate) resyncs_in_a_row: u32,
}

fn octet_stream(headers: &mut HeaderMap, len: Option<u64>) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
}

/// Opens a session with `POST url` (a plain start, a mount, or a single POST with
/// `body`); `origin` is the registry's uploads URL, which `Location` must stay on.
pub(crate) async fn start<E: Exchanger>(
    exchanger: &E,
    origin: &Uri,
    digest: &Digest,
    url: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Started> {
    let answer = exchanger.exchange(Method::POST, url, headers, body).await?;
    state::on_post(origin, &answer, digest)
}

/// `DELETE location`, ignoring the outcome: distribution asks for the `delete` action,
/// which a pusher may not have.
pub(crate) async fn cancel<E: Exchanger>(exchanger: &E, location: Uri) {
    let result = exchanger.exchange(Method::DELETE, location.clone(), HeaderMap::new(), Body::empty()).await;
    let status = result.as_ref().map(|a| a.status.as_u16()).ok();
    tracing::debug!(location = %location.path(), ?status, "cancelled an upload");
}

impl<E: Exchanger> Upload<'_, E> {
    /// Tries a mount with `POST url`: the outcome when the registry mounted the blob, or
    /// when it opened a session the content then went into; `None` when the mount
    /// failed with a status (the caller uploads instead).
    pub(crate) async fn try_mount(
        &mut self,
        url: Uri,
        from: Option<&Repository>,
    ) -> Result<Option<PushOutcome>> {
        match start(self.exchanger, self.origin, self.digest, url, HeaderMap::new(), Body::empty()).await {
            Ok(Started::Created) => {
                self.reporter.report(self.size);
                Ok(Some(PushOutcome::Mounted { from: from.cloned() }))
            }
            Ok(Started::Session { location, min_chunk }) => {
                self.stats.mount_session = true;
                if self.policy == UploadPolicy::SinglePost {
                    self.use_policy(UploadPolicy::Monolithic);
                }
                self.run_session(location, min_chunk).await.map(|stats| Some(PushOutcome::Uploaded(stats)))
            }
            Err(e) if e.kind() == ErrorKind::Status => {
                tracing::debug!(error = %e, "the mount failed; uploading");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Opens a session (with the content when the policy is a single POST to
    /// `single_post`) and sends the content.
    pub(crate) async fn start_and_run(mut self, single_post: Uri) -> Result<PushOutcome> {
        let started = if self.policy == UploadPolicy::SinglePost {
            let (body, len) = self.content.whole_body(true)?;
            let mut headers = HeaderMap::new();
            octet_stream(&mut headers, len);
            let started =
                start(self.exchanger, self.origin, self.digest, single_post.clone(), headers, body).await;
            let started = started.map_err(|e| self.explain(e, &Method::POST, &single_post))?;
            self.stats.bytes_sent = self.content.bytes_read();
            started
        } else {
            start(
                self.exchanger,
                self.origin,
                self.digest,
                self.origin.clone(),
                HeaderMap::new(),
                Body::empty(),
            )
            .await?
        };
        match started {
            Started::Created => {
                if !self.content.is_verified() {
                    let what = format!("blob {}: the content sent did not match the descriptor", self.digest);
                    return Err(Error::new(ErrorKind::DigestMismatch, what));
                }
                self.reporter.report(self.size);
                Ok(PushOutcome::Uploaded(self.stats))
            }
            Started::Session { location, min_chunk } => {
                if self.policy == UploadPolicy::SinglePost {
                    // The registry ignored the content and opened a session.
                    self.use_policy(UploadPolicy::Monolithic);
                    self.stats.bytes_sent = 0;
                    if !self.content.can_send_whole() {
                        cancel(self.exchanger, location).await;
                        let what = format!(
                            "{}: the registry opened an upload session instead of taking blob {} in one \
                             request, and a stream cannot be sent again (use another upload policy)",
                            self.origin, self.digest
                        );
                        return Err(Error::new(ErrorKind::InvalidInput, what));
                    }
                }
                self.run_session(location, min_chunk).await.map(PushOutcome::Uploaded)
            }
        }
    }

    /// `error` of a request that sent a stream: the content's verification failure when
    /// that is what stopped the body (the transport only knows the body failed).
    fn explain(&self, error: Error, method: &Method, uri: &Uri) -> Error {
        match self.content.failure() {
            Some((kind, what)) => {
                Error::new(kind, format!("{method} {}: {what}", state::shown(uri))).with_source(error)
            }
            None => error,
        }
    }

    fn use_policy(&mut self, policy: UploadPolicy) {
        self.policy = policy;
        self.stats.policy = policy;
    }

    /// Sends the content into the session at `location` and commits it; on failure the
    /// session is cancelled (best effort) and the error returned.
    async fn run_session(&mut self, location: Uri, min_chunk: Option<u64>) -> Result<UploadStats> {
        let mut current = location.clone();
        match self.drive(location, min_chunk, &mut current).await {
            Ok(()) => {
                self.reporter.report(self.size);
                Ok(self.stats.clone())
            }
            Err(e) => {
                cancel(self.exchanger, current).await;
                Err(e)
            }
        }
    }

    async fn drive(&mut self, location: Uri, min_chunk: Option<u64>, current: &mut Uri) -> Result<()> {
        let buffered = !self.content.can_send_again();
        let chunk = match self.policy {
            UploadPolicy::Chunked { chunk_size } => state::chunk_size(chunk_size, min_chunk, buffered),
            _ => self.size.max(1),
        };
        // A minimum too large to buffer: the stream goes in one PATCH, unbuffered.
        let whole = buffered && min_chunk.is_some_and(|m| m > state::MAX_CHUNK_BUFFER);
        let mut session = Session::Open { location, offset: 0 };
        loop {
            session = match session {
                Session::Committed => {
                    if self.confirm_early_accept().await? {
                        return Ok(());
                    }
                    // Not there after all: the session is still open; ask where it is.
                    Session::Resync { location: current.clone() }
                }
                Session::Resync { location } => {
                    *current = location.clone();
                    self.resync(location).await?
                }
                Session::Open { location, offset } => {
                    *current = location.clone();
                    if offset > self.size {
                        let context = format!(
                            "{}: the registry holds {offset} bytes of {}",
                            state::shown(&location),
                            self.size
                        );
                        return Err(Error::new(ErrorKind::InvalidResponse, context));
                    }
                    if offset == self.size {
                        return self.commit(location, None).await;
                    }
                    match self.policy {
                        UploadPolicy::Monolithic | UploadPolicy::SinglePost if offset == 0 => {
                            let (body, len) = self.content.whole_body(true)?;
                            return self.commit(location, Some((body, len))).await;
                        }
                        UploadPolicy::Streamed | UploadPolicy::Chunked { .. }
                            if offset == 0
                                && self.content.can_send_whole()
                                && (whole || self.policy == UploadPolicy::Streamed) =>
                        {
                            if whole {
                                tracing::debug!(
                                    ?min_chunk,
                                    "a chunk minimum too large to buffer: one streamed PATCH"
                                );
                            }
                            self.patch_whole(location).await?
                        }
                        _ => self.patch_chunk(location, offset, chunk).await?,
                    }
                }
            };
        }
    }

    /// One PATCH with the whole content, without `Content-Range`.
    async fn patch_whole(&mut self, location: Uri) -> Result<Session> {
        let (body, len) = self.content.whole_body(false)?;
        let mut headers = HeaderMap::new();
        octet_stream(&mut headers, len);
        let answer = self.exchanger.exchange(Method::PATCH, location.clone(), headers, body).await;
        let answer = answer.map_err(|e| self.explain(e, &Method::PATCH, &location))?;
        self.stats.patches += 1;
        self.stats.bytes_sent += self.content.bytes_read();
        self.after_patch(&answer, &location, 0, self.size)
    }

    /// One PATCH with the bytes `[offset, offset + chunk)` and their `Content-Range`.
    async fn patch_chunk(&mut self, location: Uri, offset: u64, chunk: u64) -> Result<Session> {
        let data: Bytes = self.content.chunk(offset, chunk).await?;
        let end = offset + data.len() as u64;
        let mut headers = HeaderMap::new();
        octet_stream(&mut headers, Some(data.len() as u64));
        headers.insert(CONTENT_RANGE, header(state::chunk_content_range(offset, end))?);
        if end == self.size && !self.content.is_verified() {
            let context = format!("blob {}: the content does not match the descriptor", self.digest);
            return Err(Error::new(ErrorKind::DigestMismatch, context));
        }
        let answer =
            self.exchanger.exchange(Method::PATCH, location.clone(), headers, Body::from_bytes(data)).await?;
        self.stats.patches += 1;
        self.stats.bytes_sent += end - offset;
        self.after_patch(&answer, &location, offset, end)
    }

    fn after_patch(&mut self, answer: &Answer, location: &Uri, offset: u64, end: u64) -> Result<Session> {
        let next = state::on_patch(self.origin, answer, location, end)?;
        match &next {
            Session::Open { offset: stored, .. } if *stored == end => {
                self.resyncs_in_a_row = 0;
                self.reporter.report(end);
            }
            Session::Open { .. } | Session::Resync { .. } => {
                self.stats.resyncs += 1;
                self.resyncs_in_a_row += 1;
                if self.resyncs_in_a_row > MAX_RESYNCS {
                    let context = format!(
                        "{}: the registry lost track of the upload {} times in a row (last at byte {offset})",
                        answer.context(),
                        self.resyncs_in_a_row
                    );
                    return Err(Error::new(ErrorKind::InvalidResponse, context));
                }
                tracing::debug!(
                    status = answer.status.as_u16(),
                    offset,
                    "the registry disagrees about the upload offset"
                );
            }
            Session::Committed => {}
        }
        Ok(next)
    }

    /// Asks the session's status (`GET location`, `204` with `Range`).
    async fn resync(&mut self, location: Uri) -> Result<Session> {
        let answer =
            self.exchanger.exchange(Method::GET, location.clone(), HeaderMap::new(), Body::empty()).await?;
        state::on_status(self.origin, &answer, &location)
    }

    /// The final `PUT <location>?digest=`, empty or with the whole content.
    async fn commit(&mut self, location: Uri, body: Option<(Body, Option<u64>)>) -> Result<()> {
        let url = state::commit_url(&location, self.digest)?;
        let mut headers = HeaderMap::new();
        let with_data = body.is_some();
        let body = if let Some((body, len)) = body {
            octet_stream(&mut headers, len);
            body
        } else {
            self.content.finish().await?;
            headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
            Body::empty()
        };
        let answer = self.exchanger.exchange(Method::PUT, url.clone(), headers, body).await;
        let answer = answer.map_err(|e| self.explain(e, &Method::PUT, &url))?;
        if with_data {
            self.stats.bytes_sent += self.content.bytes_read();
        }
        state::on_put(&answer, self.digest)?;
        if !self.content.is_verified() {
            let context = format!("{}: the content sent did not match the descriptor", answer.context());
            return Err(Error::new(ErrorKind::DigestMismatch, context));
        }
        Ok(())
    }

    /// A PATCH was answered `201`: the registry says it has the blob; `HEAD` checks it.
    /// `Ok(false)` when it does not have it (some answer every PATCH with 201): the
    /// upload goes on.
    async fn confirm_early_accept(&mut self) -> Result<bool> {
        let answer = self
            .exchanger
            .exchange(Method::HEAD, self.blob_url.clone(), HeaderMap::new(), Body::empty())
            .await?;
        let length = answer.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(decimal);
        if answer.status == StatusCode::NOT_FOUND {
            tracing::debug!(context = %answer.context(), "201 on PATCH, but the blob is not there yet: going on");
            return Ok(false);
        }
        if answer.status != StatusCode::OK || length != Some(self.size) || !self.content.is_verified() {
            let context = format!(
                "{}: the registry accepted the upload early (201 on PATCH) but does not have the blob ({}, {length:?} bytes)",
                answer.context(),
                answer.status
            );
            return Err(Error::new(ErrorKind::InvalidResponse, context));
        }
        self.stats.early_accept = true;
        Ok(true)
    }
}
