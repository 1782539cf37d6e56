//! Upload sessions: bytes stream from the request body to the store on a blocking
//! thread that hashes them as it writes (one pass, in every upload form), and become a
//! blob only once their size and digest are checked.

use std::io::{Read as _, Write};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use oci_spec_types::{Digest, DigestAlgorithm, Digester};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::sessions::Session;
use crate::state::State;
use crate::{Error, ErrorKind};

/// Streams `body` into the session `id` from `session.size`, hashing as it writes, and
/// moves the session forward by what was written, even when the body fails midway (a
/// client resumes from the `Range` it is then told). At most `max_total` bytes in the
/// session.
pub(crate) async fn receive(
    state: &State,
    repository: &str,
    id: &str,
    session: &mut Session,
    body: Incoming,
    max_total: u64,
) -> Result<(), ApiError> {
    let storage = state.storage.clone();
    let (repo, sid, offset) = (repository.to_owned(), id.to_owned(), session.size);
    let mut hasher = session.hasher.take();
    let (tx, mut rx) = mpsc::channel::<Bytes>(8);
    let writer = tokio::task::spawn_blocking(move || {
        let mut out = storage.upload_writer(&repo, &sid, offset)?;
        let mut written = 0u64;
        let mut failure = None;
        while let Some(chunk) = rx.blocking_recv() {
            if let Err(e) = out.write_all(&chunk) {
                failure = Some(Error::io(format!("writing upload session {sid}"), e));
                break;
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            written += chunk.len() as u64;
        }
        if failure.is_none() {
            if let Err(e) = out.flush() {
                failure = Some(Error::io(format!("writing upload session {sid}"), e));
                // What reached the file is unknown: the hash must be recomputed.
                hasher = None;
            }
        }
        Ok::<_, Error>((written, hasher, failure))
    });
    let sent = pump(state, body, &tx, offset, max_total).await;
    drop(tx);
    let (written, hasher, failure) = match writer.await {
        Ok(result) => result?,
        Err(e) => return Err(Error::new(ErrorKind::Io, "the upload writer failed").with_source(e).into()),
    };
    session.size = offset + written;
    session.hasher = hasher;
    if let Some(failure) = failure {
        return Err(failure.into());
    }
    sent
}

/// Forwards the body's data frames to the writer, within the stall timeout and the
/// session's byte budget.
async fn pump(
    state: &State,
    mut body: Incoming,
    tx: &mpsc::Sender<Bytes>,
    offset: u64,
    max_total: u64,
) -> Result<(), ApiError> {
    let mut total = offset;
    loop {
        let frame = match tokio::time::timeout(state.limits.body_stall_timeout, body.frame()).await {
            Err(_) => return Err(ApiError::upload_invalid("the request body stalled")),
            Ok(None) => return Ok(()),
            Ok(Some(Err(e))) => {
                return Err(ApiError::upload_invalid(format!("reading the request body: {e}")));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > max_total {
            return Err(ApiError::too_large("the upload", max_total, "max_blob_bytes"));
        }
        if tx.send(data).await.is_err() {
            // The writer stopped; its error is the one reported.
            return Ok(());
        }
    }
}

/// The digest of the session's bytes with `algorithm`: from the hash kept as they
/// arrived, or (after a restart, or for another algorithm than sha256) by reading them
/// once.
pub(crate) async fn digest_of(
    state: &State,
    repository: &str,
    id: &str,
    session: &mut Session,
    algorithm: &DigestAlgorithm,
) -> Result<Digest, ApiError> {
    if session.hasher.as_ref().is_some_and(|h| &h.algorithm() == algorithm) {
        if let Some(hasher) = session.hasher.take() {
            return Ok(hasher.finalize());
        }
    }
    let storage = state.storage.clone();
    let (repo, sid, algorithm) = (repository.to_owned(), id.to_owned(), algorithm.clone());
    let digest = tokio::task::spawn_blocking(move || {
        let mut hasher = Digester::new(&algorithm)
            .map_err(|e| ApiError::digest_invalid(format!("{algorithm} cannot be computed: {e}")))?;
        let mut reader = storage.upload_reader(&repo, &sid)?;
        let mut buf = vec![0; 256 * 1024];
        loop {
            let n =
                reader.read(&mut buf).map_err(|e| Error::io(format!("reading upload session {sid}"), e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok::<_, ApiError>(hasher.finalize())
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Io, "hashing an upload failed").with_source(e))??;
    Ok(digest)
}
