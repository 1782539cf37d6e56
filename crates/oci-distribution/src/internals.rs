//! The parsers of what registries send, as functions of plain values, for the project's
//! fuzz targets and conformance tools (feature `unstable-internals`, no stability
//! promise). Each is the function the client itself calls.

use std::time::{Duration, SystemTime};

use http::Uri;
use http::header::{HeaderMap, HeaderValue, LINK};
use oci_spec_types::{Descriptor, Digest, Document};

/// One parsed link of a `Link` header: its target and its parameters (lowercase names).
pub type Link = (String, Vec<(String, String)>);

/// Parses a `Link` header value; the error says what was expected at which byte.
pub fn parse_link(value: &str) -> Result<Vec<Link>, String> {
    crate::link::parse(value)
        .map(|links| links.into_iter().map(|l| (l.target, l.params)).collect())
        .map_err(|e| e.to_string())
}

/// The next page a list answer's `Link` header `value` names, resolved against
/// `request_uri` (an error for a malformed header or another origin).
pub fn next_page(value: &HeaderValue, request_uri: &Uri) -> crate::Result<Option<Uri>> {
    let mut headers = HeaderMap::new();
    headers.insert(LINK, value.clone());
    crate::link::next_page(&headers, request_uri)
}

/// Parses a `Content-Range` value strictly: `(first, last, complete length)`.
#[must_use]
pub fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    crate::api::blobs::range::parse_content_range(value).map(|r| (r.first, r.last, r.complete))
}

/// The delay a `Retry-After` value asks for, counted from `now`.
#[must_use]
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    crate::retry::parse_retry_after(value, now)
}

/// The instant of an RFC 3339 timestamp (token answers' `issued_at`).
#[must_use]
pub fn parse_rfc3339(value: &str) -> Option<SystemTime> {
    crate::auth::token::parse_rfc3339(value)
}

/// The referrers that the document `found` at `subject`'s fallback tag lists, or
/// `None` when it is not a usable fallback index.
#[must_use]
pub fn fallback_referrers(subject: &Digest, found: &Document) -> Option<Vec<Descriptor>> {
    crate::api::referrers::fallback_entries(subject, found)
}
