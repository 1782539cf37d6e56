//! `GET`, `HEAD`, `PUT` and `DELETE /v2/<name>/manifests/<reference>`.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use oci_spec_types::{Descriptor, Digest, ErrorCode, Manifest, MediaType};

use super::{BuiltResponse as _, Query, parse_digest, response};
use crate::body::Body;
use crate::error::ApiError;
use crate::gc::Need;
use crate::state::State;
use crate::storage::ManifestRef;

/// A tag as the distribution-spec allows it: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub(crate) fn is_tag(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A manifest reference of a path: a digest when it has a `:`, else a tag.
fn parse_reference(reference: &str) -> Result<ManifestRef, ApiError> {
    if reference.contains(':') {
        return parse_digest(reference).map(ManifestRef::Digest);
    }
    if !is_tag(reference) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::MANIFEST_INVALID,
            format!("invalid tag {reference:?}"),
        ));
    }
    Ok(ManifestRef::Tag(reference.to_owned()))
}

pub(super) async fn get(
    state: &Arc<State>,
    name: &str,
    reference: &str,
    request: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let wanted = parse_reference(reference)?;
    let (repo, r) = (name.to_owned(), wanted.clone());
    let stored = state.blocking(move |s| Ok(s.storage.manifest(&repo, &r)?)).await?;
    let Some(stored) = stored else { return Err(ApiError::manifest_unknown(reference)) };
    let d = &stored.descriptor;
    let builder = response(StatusCode::OK)
        .header(header::CONTENT_TYPE, d.media_type.as_str())
        .header(header::CONTENT_LENGTH, stored.bytes.len())
        .header("docker-content-digest", d.digest.as_str())
        .header(header::ETAG, format!("\"{}\"", d.digest));
    let body = if request.method() == Method::HEAD { Body::empty() } else { Body::from(stored.bytes) };
    Ok(builder.body(body).unwrap_or_default_response())
}

/// Reads a manifest body: `Content-Length` checked first, then the bytes as they come.
async fn read_body(state: &State, request: Request<Incoming>) -> Result<Bytes, ApiError> {
    let max = state.limits.max_manifest_bytes;
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(ApiError::too_large("the manifest", max, "max_manifest_bytes"));
    }
    let mut body = request.into_body();
    let mut bytes = BytesMut::new();
    loop {
        let frame = match tokio::time::timeout(state.limits.body_stall_timeout, body.frame()).await {
            Err(_) => return Err(ApiError::manifest_invalid("the request body stalled")),
            Ok(None) => return Ok(bytes.freeze()),
            Ok(Some(Err(e))) => {
                return Err(ApiError::manifest_invalid(format!("reading the request body: {e}")));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        if let Ok(data) = frame.into_data() {
            if bytes.len() as u64 + data.len() as u64 > max {
                return Err(ApiError::too_large("the manifest", max, "max_manifest_bytes"));
            }
            bytes.extend_from_slice(&data);
        }
    }
}

pub(super) async fn put(
    state: &Arc<State>,
    name: &str,
    reference: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    let target = parse_reference(reference)?;
    let query = Query::parse(request.uri().query());
    let mut tags: Vec<String> = Vec::new();
    if let ManifestRef::Tag(tag) = &target {
        tags.push(tag.clone());
    }
    for tag in query.all("tag") {
        if !is_tag(tag) {
            return Err(ApiError::manifest_invalid(format!("invalid tag {tag:?} in ?tag=")));
        }
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(MediaType::from)
        .filter(|m| !m.essence().is_empty());
    let bytes = read_body(state, request).await?;
    let manifest = Manifest::from_slice(&bytes, content_type.as_ref())
        .map_err(|e| ApiError::manifest_invalid(format!("invalid manifest: {e}")))?;
    let declared = manifest.media_type();
    let media_type = match &content_type {
        Some(ct) if ct.is_manifest() => {
            let essence = MediaType::from(ct.essence());
            if declares_media_type(&manifest) && declared.essence() != essence.essence() {
                return Err(ApiError::manifest_invalid(format!(
                    "Content-Type {essence} but the manifest says {declared}"
                )));
            }
            essence
        }
        _ => declared,
    };
    let digest = match &target {
        ManifestRef::Digest(expected) => {
            let actual = Digest::compute(&expected.algorithm(), &bytes)
                .map_err(|e| ApiError::digest_invalid(format!("{e}")))?;
            if &actual != expected {
                return Err(ApiError::digest_invalid(format!(
                    "the manifest's digest is {actual}, not {expected}"
                )));
            }
            actual
        }
        ManifestRef::Tag(_) => Digest::sha256(&bytes),
    };
    let descriptor = Descriptor::new(media_type, digest.clone(), bytes.len() as u64);
    let needs = state.sparse.needs(&manifest);
    let subject = manifest.subject().map(|s| s.digest.clone());
    let referrer = subject.as_ref().map(|_| manifest.as_referrer(&descriptor));
    let (repo, stored_tags, d) = (name.to_owned(), tags.clone(), descriptor.clone());
    let subject_for_index = subject.clone();
    state
        .blocking(move |s| {
            if let Some(missing) = s.storage.put_manifest(&repo, &d, &bytes, &stored_tags, &needs)? {
                let (what, digest) = match &missing {
                    Need::Blob(digest) => ("blob", digest),
                    Need::Manifest(digest) => ("manifest", digest),
                };
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::MANIFEST_BLOB_UNKNOWN,
                    format!("the manifest references {what} {digest} that {repo} does not have"),
                ));
            }
            if let (Some(subject), Some(referrer)) = (subject_for_index, referrer) {
                s.referrers.added(&repo, &subject, referrer);
            }
            Ok(())
        })
        .await?;
    let mut builder = response(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/manifests/{digest}"))
        .header(header::CONTENT_LENGTH, 0)
        .header("docker-content-digest", digest.as_str());
    for tag in tags.iter().filter(|t| !matches!(&target, ManifestRef::Tag(own) if own == *t)) {
        builder = builder.header("oci-tag", tag.as_str());
    }
    if let Some(subject) = &subject {
        builder = builder.header("oci-subject", subject.as_str());
    }
    Ok(builder.body(Body::empty()).unwrap_or_default_response())
}

/// Whether the document names its own `mediaType` (read as it was parsed).
fn declares_media_type(manifest: &Manifest) -> bool {
    match manifest {
        Manifest::Image(m) => m.media_type.is_some(),
        Manifest::Index(i) => i.media_type.is_some(),
        _ => false,
    }
}

pub(super) async fn delete(
    state: &Arc<State>,
    name: &str,
    reference: &str,
) -> Result<Response<Body>, ApiError> {
    let target = parse_reference(reference)?;
    let repo = name.to_owned();
    let found = state
        .blocking(move |s| {
            Ok(match &target {
                ManifestRef::Digest(digest) => {
                    let found = s.storage.delete_manifest(&repo, digest)?;
                    if found {
                        s.referrers.removed(&repo, digest);
                    }
                    found
                }
                ManifestRef::Tag(tag) => s.storage.delete_tag(&repo, tag)?,
            })
        })
        .await?;
    if !found {
        return Err(ApiError::manifest_unknown(reference));
    }
    Ok(response(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default_response())
}
