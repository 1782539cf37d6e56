//! The response headers the endpoints read: text values, the `Content-Type` essence,
//! `Docker-Content-Digest`, `OCI-Subject`.

use http::HeaderMap;
use http::header::CONTENT_TYPE;
use oci_spec_types::{Digest, MediaType};

/// The header registries put the digest of a manifest or blob in.
pub(super) const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";
/// The header a registry with the referrers API answers a manifest PUT with when the
/// manifest has a subject.
pub(super) const OCI_SUBJECT: &str = "oci-subject";

/// The value of header `name`, when it is text.
pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// The essence of `Content-Type` (`type/subtype`, parameters dropped).
pub(super) fn content_type(headers: &HeaderMap) -> Option<MediaType> {
    header_str(headers, CONTENT_TYPE.as_str()).map(|ct| MediaType::from(MediaType::from(ct).essence()))
}

/// `Docker-Content-Digest`, when present: parsed, or the text that does not parse.
pub(super) fn docker_content_digest(headers: &HeaderMap) -> Option<Result<Digest, String>> {
    let value = header_str(headers, DOCKER_CONTENT_DIGEST)?;
    Some(Digest::parse(value).map_err(|_| value.to_owned()))
}
