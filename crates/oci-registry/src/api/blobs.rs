//! `GET`, `HEAD` and `DELETE /v2/<name>/blobs/<digest>`: whole blobs and byte ranges.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::sync::Arc;

use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use super::{BuiltResponse as _, parse_digest, response};
use crate::Error;
use crate::body::Body;
use crate::error::ApiError;
use crate::state::State;

/// A byte range asked for, resolved against the blob's size: `start..end` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// Resolves a `Range: bytes=...` header against `size`: `Ok(None)` when it asks for no
/// range this server serves (then the whole blob is sent, as RFC 9110 allows), `Err`
/// when the range cannot be satisfied (416).
pub(crate) fn resolve_range(header: &str, size: u64) -> Result<Option<ByteRange>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Ok(None) };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| s.parse::<u64>().map_err(|_| ());
    match (first.is_empty(), last.is_empty()) {
        (true, true) => Ok(None),
        (true, false) => {
            let n = number(last)?;
            if n == 0 || size == 0 {
                return Err(());
            }
            Ok(Some(ByteRange { start: size.saturating_sub(n), end: size }))
        }
        (false, _) => {
            let start = number(first)?;
            let end = if last.is_empty() { size } else { number(last)?.saturating_add(1).min(size) };
            if start >= size || start >= end {
                return Err(());
            }
            Ok(Some(ByteRange { start, end }))
        }
    }
}

pub(super) async fn get(
    state: &Arc<State>,
    name: &str,
    digest: &str,
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let digest = parse_digest(digest)?;
    let head = request.method() == Method::HEAD;
    let range_header = request.headers().get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (repo, d) = (name.to_owned(), digest.clone());
    let opened = state
        .blocking(move |s| {
            if head {
                return Ok(s.storage.blob_size(&repo, &d)?.map(|size| (None, size)));
            }
            Ok(s.storage.blob_reader(&repo, &d)?.map(|(reader, size)| (Some(reader), size)))
        })
        .await?;
    let Some((reader, size)) = opened else { return Err(ApiError::blob_unknown(&digest)) };
    let range = match range_header.as_deref().map(|h| resolve_range(h, size)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(range))) => Some(range),
        Some(Err(())) => {
            return Ok(response(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{size}"))
                .header(header::CONTENT_LENGTH, 0)
                .header("docker-content-digest", digest.as_str())
                .body(Body::empty())
                .unwrap_or_default_response());
        }
    };
    let (status, start, len) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r.start, r.end - r.start),
        None => (StatusCode::OK, 0, size),
    };
    let mut builder = response(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, len)
        .header(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"))
        .header("docker-content-digest", digest.as_str())
        .header(header::ETAG, format!("\"{digest}\""));
    if let Some(r) = range {
        builder = builder.header(header::CONTENT_RANGE, format!("bytes {}-{}/{size}", r.start, r.end - 1));
    }
    let body = match reader {
        None => Body::empty(),
        Some(mut reader) => {
            if start > 0 {
                reader
                    .seek(SeekFrom::Start(start))
                    .map_err(|e| ApiError::from(Error::io(format!("seeking in blob {digest}"), e)))?;
            }
            Body::from_reader(Box::new(reader.take(len)), len)
        }
    };
    Ok(builder.body(body).unwrap_or_default_response())
}

pub(super) async fn delete(state: &Arc<State>, name: &str, digest: &str) -> Result<Response<Body>, ApiError> {
    let digest = parse_digest(digest)?;
    let (repo, d) = (name.to_owned(), digest.clone());
    let deleted = state.blocking(move |s| Ok(s.storage.delete_blob(&repo, &d)?)).await?;
    if !deleted {
        return Err(ApiError::blob_unknown(&digest));
    }
    Ok(response(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default_response())
}
