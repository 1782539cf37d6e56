//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (a session, a single-request upload
//! with `?digest=`, or a mount with `?mount=`), then `PATCH`, `PUT`, `GET` (status) and
//! `DELETE` (cancel) on the session's URL.

use std::sync::Arc;

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use oci_spec_types::Digest;

use super::{BuiltResponse as _, Query, check_name, parse_digest, response};
use crate::body::Body;
use crate::error::ApiError;
use crate::sessions::{self, Session};
use crate::state::State;
use crate::storage::UploadInfo;
use crate::{expiry, uploads};

fn session_url(name: &str, id: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// `0-<last byte>`, or `0-0` for an empty session (as distribution sends it).
fn range_of(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

/// `202`/`204` for a session: its URL, what it holds, its id.
fn session_response(state: &State, status: StatusCode, name: &str, id: &str, size: u64) -> Response<Body> {
    response(status)
        .header(header::LOCATION, session_url(name, id))
        .header(header::RANGE, range_of(size))
        .header(header::CONTENT_LENGTH, 0)
        .header("docker-upload-uuid", id)
        .header("oci-chunk-min-length", state.limits.chunk_min_length)
        .body(Body::empty())
        .unwrap_or_default_response()
}

/// `201` for a blob now stored in the repository.
fn created(name: &str, digest: &Digest) -> Response<Body> {
    response(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/blobs/{digest}"))
        .header(header::CONTENT_LENGTH, 0)
        .header("docker-content-digest", digest.as_str())
        .body(Body::empty())
        .unwrap_or_default_response()
}

/// The session, if it exists and has not expired (an expired one is removed now).
async fn open_session(state: &Arc<State>, name: &str, id: &str) -> Result<UploadInfo, ApiError> {
    if !sessions::is_id(id) {
        return Err(ApiError::upload_unknown());
    }
    let (repo, sid) = (name.to_owned(), id.to_owned());
    let info = state
        .blocking(move |s| {
            let Some(info) = s.storage.upload_info(&repo, &sid)? else { return Ok(None) };
            Ok((!expiry::expire_if_idle(s, &info)?).then_some(info))
        })
        .await?;
    info.ok_or_else(ApiError::upload_unknown)
}

/// Refuses a new session past the limits of open sessions.
async fn check_session_limits(state: &Arc<State>, name: &str) -> Result<(), ApiError> {
    let repo = name.to_owned();
    let (per_repo, all) = state
        .blocking(move |s| {
            let open = s.storage.uploads()?;
            Ok((open.iter().filter(|u| u.repository == repo).count(), open.len()))
        })
        .await?;
    let limits = &state.limits;
    if per_repo >= limits.max_uploads_per_repository {
        return Err(ApiError::too_many(
            format!("{per_repo} upload sessions are open in {name} (Limits::max_uploads_per_repository)"),
            10,
        ));
    }
    if all >= limits.max_uploads {
        return Err(ApiError::too_many(format!("{all} upload sessions are open (Limits::max_uploads)"), 10));
    }
    Ok(())
}

/// A `Content-Length` over the session budget is refused before the body is read;
/// the length, when declared.
fn check_declared_length(
    state: &State,
    request: &Request<Incoming>,
    held: u64,
) -> Result<Option<u64>, ApiError> {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let max = state.limits.max_blob_bytes;
    match declared {
        Some(len) if held.saturating_add(len) > max => {
            Err(ApiError::too_large("the upload", max, "max_blob_bytes"))
        }
        _ => Ok(declared),
    }
}

/// A `Content-Range: <first>-<last>` must start where the session ends (416, with the
/// session's `Range`, otherwise); returns the length it announces.
fn check_content_range(
    request: &Request<Incoming>,
    name: &str,
    id: &str,
    size: u64,
) -> Result<Option<u64>, ApiError> {
    let Some(value) = request.headers().get(header::CONTENT_RANGE) else { return Ok(None) };
    let text = value.to_str().unwrap_or("");
    let spec = text.trim().strip_prefix("bytes ").unwrap_or(text.trim());
    let spec = spec.split_once('/').map_or(spec, |(r, _)| r);
    let parsed = spec
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u64>().ok()?, b.trim().parse::<u64>().ok()?)));
    let refuse = |why: String| {
        ApiError::new(StatusCode::RANGE_NOT_SATISFIABLE, oci_spec_types::ErrorCode::BLOB_UPLOAD_INVALID, why)
            .with_header(header::LOCATION, session_url(name, id))
            .with_header(header::RANGE, range_of(size))
            .with_header(http::HeaderName::from_static("docker-upload-uuid"), id)
    };
    match parsed {
        Some((first, last)) if first == size && last >= first => Ok(Some(last - first + 1)),
        Some((first, _)) if first != size => {
            Err(refuse(format!("the chunk starts at {first}, the session holds {size} bytes")))
        }
        _ => Err(refuse(format!("Content-Range {text:?} is not <first>-<last>"))),
    }
}

/// Receives a body into the session (when it has one), then checks a length the
/// `Content-Range` announced.
async fn take_body(
    state: &Arc<State>,
    name: &str,
    id: &str,
    session: &mut Session,
    request: Request<Incoming>,
) -> Result<(), ApiError> {
    let declared = check_declared_length(state, &request, session.size)?;
    let announced = check_content_range(&request, name, id, session.size)?;
    if let (Some(declared), Some(announced)) = (declared, announced) {
        if declared != announced {
            return Err(ApiError::size_invalid(format!(
                "Content-Range announces {announced} bytes, Content-Length {declared}"
            )));
        }
    }
    let before = session.size;
    uploads::receive(state, name, id, session, request.into_body(), state.limits.max_blob_bytes).await?;
    if let Some(len) = announced {
        if session.size - before != len {
            return Err(ApiError::size_invalid(format!(
                "Content-Range announced {len} bytes, the body had {}",
                session.size - before
            )));
        }
    }
    Ok(())
}

/// Checks the session's bytes against `digest` and stores them as that blob.
async fn commit(
    state: &Arc<State>,
    name: &str,
    id: &str,
    session: &mut Session,
    digest: &Digest,
) -> Result<Response<Body>, ApiError> {
    let actual = uploads::digest_of(state, name, id, session, &digest.algorithm()).await?;
    if &actual != digest {
        return Err(ApiError::digest_invalid(format!(
            "the upload's {} bytes have digest {actual}, not {digest}",
            session.size
        )));
    }
    let (repo, sid, d) = (name.to_owned(), id.to_owned(), digest.clone());
    state
        .blocking(move |s| {
            s.storage.upload_commit(&repo, &sid, &d)?;
            s.sessions.remove(&sid);
            Ok(())
        })
        .await?;
    Ok(created(name, digest))
}

pub(super) async fn start(
    state: &Arc<State>,
    name: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(request.uri().query());
    if let Some(mount) = query.get("mount") {
        let digest = parse_digest(mount)?;
        let from = query.get("from").filter(|f| !f.is_empty()).map(str::to_owned);
        if let Some(from) = &from {
            check_name(from)?;
        }
        let (repo, d) = (name.to_owned(), digest.clone());
        let mounted = state.blocking(move |s| Ok(s.storage.mount_blob(from.as_deref(), &repo, &d)?)).await?;
        if mounted {
            return Ok(created(name, &digest));
        }
    }
    let digest = query.get("digest").map(parse_digest).transpose()?;
    check_session_limits(state, name).await?;
    let repo = name.to_owned();
    let id = state.blocking(move |s| Ok(s.storage.upload_start(&repo)?)).await?;
    let Some(digest) = digest else {
        return Ok(session_response(state, StatusCode::ACCEPTED, name, &id, 0));
    };
    let lock = state.sessions.get(&id, 0);
    let mut session = lock.lock().await;
    let result = async {
        take_body(state, name, &id, &mut session, request).await?;
        commit(state, name, &id, &mut session, &digest).await
    }
    .await;
    if result.is_err() {
        // A single-request upload that failed leaves nothing behind.
        let (repo, sid) = (name.to_owned(), id.clone());
        let _ = state.blocking(move |s| Ok(s.storage.upload_cancel(&repo, &sid)?)).await;
        state.sessions.remove(&id);
    }
    result
}

pub(super) async fn status(state: &Arc<State>, name: &str, id: &str) -> Result<Response<Body>, ApiError> {
    let info = open_session(state, name, id).await?;
    let lock = state.sessions.get(id, info.size);
    let size = lock.lock().await.size;
    Ok(session_response(state, StatusCode::NO_CONTENT, name, id, size))
}

pub(super) async fn patch(
    state: &Arc<State>,
    name: &str,
    id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let info = open_session(state, name, id).await?;
    let lock = state.sessions.get(id, info.size);
    let mut session = lock.lock().await;
    take_body(state, name, id, &mut session, request).await?;
    Ok(session_response(state, StatusCode::ACCEPTED, name, id, session.size))
}

pub(super) async fn finish(
    state: &Arc<State>,
    name: &str,
    id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let query = Query::parse(request.uri().query());
    let digest = match query.get("digest") {
        Some(d) => parse_digest(d)?,
        None => return Err(ApiError::digest_invalid("the closing PUT has no ?digest=")),
    };
    let info = open_session(state, name, id).await?;
    let lock = state.sessions.get(id, info.size);
    let mut session = lock.lock().await;
    take_body(state, name, id, &mut session, request).await?;
    commit(state, name, id, &mut session, &digest).await
}

pub(super) async fn cancel(state: &Arc<State>, name: &str, id: &str) -> Result<Response<Body>, ApiError> {
    if !sessions::is_id(id) {
        return Err(ApiError::upload_unknown());
    }
    let (repo, sid) = (name.to_owned(), id.to_owned());
    let found = state
        .blocking(move |s| {
            let found = s.storage.upload_cancel(&repo, &sid)?;
            s.sessions.remove(&sid);
            Ok(found)
        })
        .await?;
    if !found {
        return Err(ApiError::upload_unknown());
    }
    Ok(response(StatusCode::NO_CONTENT)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default_response())
}
