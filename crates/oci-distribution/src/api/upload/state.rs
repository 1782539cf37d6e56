//! The upload state machine as pure functions: each takes the registry's answer to one
//! request and says where the session stands next. No I/O here; the driver
//! ([`super::driver`]) sends the requests.
//!
//! ```text
//!            POST                         PATCH (202/204)
//!   Start ─────────► Open{location, 0} ─────────────► Open{location', offset + len}
//!     │ 201 (mount,     │  ▲   │ 416, or 4xx without Range        │ all bytes sent
//!     │  single POST)   │  │   ▼                                  ▼
//!     │                 │  │  Resync{location} ── GET 204+Range ─►┘ (Open at the server's offset)
//!     │                 │  └── 4xx with Location + Range (Open at the server's offset)
//!     ▼                 │ PATCH 201 (early accept)        PUT ?digest= (201/204)
//!  Committed ◄──────────┴─────────────────────────────────────────────
//! ```
//!
//! Every new `Location` is resolved against the URL of the request it answers and must
//! stay on the registry's origin (scheme, host, port): an upload URL elsewhere would send
//! the content and the credentials to another host (GHSA-jxpm-75mh-9fp7).

use bytes::Bytes;
use http::header::LOCATION;
use http::{HeaderMap, Method, StatusCode, Uri};
use oci_spec_types::Digest;

use crate::api::blobs::decimal;
use crate::api::headers::DOCKER_CONTENT_DIGEST;
use crate::{Error, ErrorKind, Result};

/// The response header with the digest the registry computed.
/// The response header with the smallest chunk the registry accepts (distribution-spec 1.1).
pub(crate) const OCI_CHUNK_MIN_LENGTH: &str = "oci-chunk-min-length";
/// The largest `OCI-Chunk-Min-Length` honoured with chunks of streamed content, which
/// are buffered: a registry that asks for more gets the content in one streamed `PATCH`
/// instead, so that no header makes a push allocate more than this per chunk. Chunks of
/// bytes are slices of them and honour any minimum.
pub(crate) const MAX_CHUNK_BUFFER: u64 = 64 << 20;

/// What the driver needs of one response.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) method: Method,
    /// The URL the request went to; `Location` is resolved against it.
    pub(crate) url: Uri,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// The beginning of the body: what an error reports.
    pub(crate) body: Bytes,
}

impl Answer {
    /// `METHOD url`, for errors.
    pub(crate) fn context(&self) -> String {
        format!("{} {}", self.method, shown(&self.url))
    }

    /// The answer as an error of kind [`Status`](ErrorKind::Status).
    pub(crate) fn error(&self) -> Error {
        Error::from_status(self.status, &self.body, self.context())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
    }

    fn invalid(&self, why: impl std::fmt::Display) -> Error {
        Error::new(ErrorKind::InvalidResponse, format!("{}: {why}", self.context()))
    }
}

/// What opening an upload (a `POST`, with or without `mount`, `digest` and a body) led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Started {
    /// `202`: a session at `location`, whose chunks must be at least `min_chunk` bytes.
    Session { location: Uri, min_chunk: Option<u64> },
    /// `201`: the blob is in the repository (mounted, or uploaded by a single POST).
    Created,
}

/// Where an upload session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Session {
    /// The session at `location` holds the first `offset` bytes.
    Open { location: Uri, offset: u64 },
    /// The registry disagreed about the offset: `GET location` tells where it is.
    Resync { location: Uri },
    /// The registry holds the whole blob.
    Committed,
}

/// The answer to a `POST /v2/<name>/blobs/uploads/` (`origin` is that URL).
pub(crate) fn on_post(origin: &Uri, answer: &Answer, digest: &Digest) -> Result<Started> {
    match answer.status {
        StatusCode::CREATED => {
            check_digest_header(answer, digest)?;
            Ok(Started::Created)
        }
        StatusCode::ACCEPTED => {
            let location =
                answer.header(LOCATION.as_str()).ok_or_else(|| answer.invalid("202 without a Location"))?;
            let location = resolve_location(origin, answer, location)?;
            let min_chunk = answer.header(OCI_CHUNK_MIN_LENGTH).and_then(decimal);
            Ok(Started::Session { location, min_chunk })
        }
        _ => Err(answer.error()),
    }
}

/// The answer to a `PATCH` of the bytes up to `end` (exclusive) sent to `location`.
///
/// `202` or `204`: the bytes are stored; the offset is the one the client counted (a
/// `Range` in a success is not trusted: ECR's stays at the first chunk boundary). `201`:
/// the registry committed early (ECR). `416`, or another 4xx with `Location` and `Range`:
/// the registry holds another amount; with `Range` the session goes on there, otherwise
/// its status must be asked.
pub(crate) fn on_patch(origin: &Uri, answer: &Answer, location: &Uri, end: u64) -> Result<Session> {
    match answer.status {
        StatusCode::ACCEPTED | StatusCode::NO_CONTENT => {
            Ok(Session::Open { location: next_location(origin, answer, location)?, offset: end })
        }
        StatusCode::CREATED => Ok(Session::Committed),
        status if status.is_client_error() => {
            let range = answer.header("range");
            let has_location = answer.headers.contains_key(LOCATION);
            if let (Some(range), true) = (range, has_location) {
                let offset =
                    upload_offset(range).ok_or_else(|| answer.invalid(format!("bad Range {range:?}")))?;
                return Ok(Session::Open { location: next_location(origin, answer, location)?, offset });
            }
            if status == StatusCode::RANGE_NOT_SATISFIABLE {
                return Ok(Session::Resync { location: next_location(origin, answer, location)? });
            }
            Err(answer.error())
        }
        _ => Err(answer.error()),
    }
}

/// The answer to `GET <location>`, the upload's status: `204` with `Range: 0-<last>`
/// (no `Range`: nothing stored yet).
pub(crate) fn on_status(origin: &Uri, answer: &Answer, location: &Uri) -> Result<Session> {
    if !matches!(answer.status, StatusCode::NO_CONTENT | StatusCode::ACCEPTED | StatusCode::OK) {
        return Err(answer.error());
    }
    let offset = match answer.header("range") {
        None => 0,
        Some(range) => upload_offset(range).ok_or_else(|| answer.invalid(format!("bad Range {range:?}")))?,
    };
    Ok(Session::Open { location: next_location(origin, answer, location)?, offset })
}

/// The answer to the final `PUT <location>?digest=<digest>`: `201` (or `204`), with
/// `Docker-Content-Digest`, when present, equal to `digest`.
pub(crate) fn on_put(answer: &Answer, digest: &Digest) -> Result<()> {
    match answer.status {
        StatusCode::CREATED | StatusCode::NO_CONTENT => check_digest_header(answer, digest),
        _ => Err(answer.error()),
    }
}

/// An error when the answer's `Docker-Content-Digest` names another digest than `digest`.
///
/// A digest of another algorithm is not a disagreement: registries name a blob by their
/// canonical algorithm (distribution 2.8 answers an upload committed as
/// `?digest=sha512:...`, which it verified, with the content's sha256).
pub(crate) fn check_digest_header(answer: &Answer, digest: &Digest) -> Result<()> {
    match answer.header(DOCKER_CONTENT_DIGEST) {
        Some(got) if Digest::parse(got).is_ok_and(|h| h.algorithm() != digest.algorithm()) => {
            tracing::debug!(header = got, %digest, "{}: Docker-Content-Digest of another algorithm", answer.context());
            Ok(())
        }
        Some(got) if got != digest.as_str() => Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("{}: the registry stored {got} instead of {digest}", answer.context()),
        )),
        _ => Ok(()),
    }
}

/// `uri` for errors: without its query, where upload URLs carry state tokens and
/// storage URLs signatures.
pub(crate) fn shown(uri: &Uri) -> String {
    match uri.query() {
        Some(_) => format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map_or("", |a| a.as_str()),
            uri.path()
        ),
        None => uri.to_string(),
    }
}

/// The answer's `Location` resolved, or `current` when it has none.
pub(crate) fn next_location(origin: &Uri, answer: &Answer, current: &Uri) -> Result<Uri> {
    match answer.header(LOCATION.as_str()) {
        Some(location) => resolve_location(origin, answer, location),
        None => Ok(current.clone()),
    }
}

/// `location` resolved against the URL of the request `answer` answers; refused unless it
/// is on `origin`'s origin.
pub(crate) fn resolve_location(origin: &Uri, answer: &Answer, location: &str) -> Result<Uri> {
    let resolved = crate::url::resolve(&answer.url, location)?;
    if !crate::url::same_origin(origin, &resolved) {
        let origin_host = origin.authority().map_or("", |a| a.as_str());
        return Err(answer.invalid(format!(
            "refusing the upload location {location:?}: it leaves the registry {}://{origin_host}",
            origin.scheme_str().unwrap_or(""),
        )));
    }
    Ok(resolved)
}

/// The offset after the bytes an upload `Range` header (`0-<last>`, or `bytes=0-<last>`)
/// says are stored: `last + 1`, except `0-0`, which distribution also sends for an empty
/// session and is read as nothing stored. Anything not starting at 0 is `None`.
pub(crate) fn upload_offset(range: &str) -> Option<u64> {
    let range = range.trim();
    let range = range.strip_prefix("bytes=").unwrap_or(range);
    let (first, last) = range.split_once('-')?;
    if decimal(first)? != 0 {
        return None;
    }
    match decimal(last)? {
        0 => Some(0),
        last => last.checked_add(1),
    }
}

/// The size of each chunk: what the caller asked for, at least the registry's minimum
/// (taken up to [`MAX_CHUNK_BUFFER`] when chunks are `buffered`), and at least one byte.
pub(crate) fn chunk_size(requested: u64, min_chunk: Option<u64>, buffered: bool) -> u64 {
    let cap = if buffered { MAX_CHUNK_BUFFER } else { u64::MAX };
    requested.max(min_chunk.unwrap_or(0).min(cap)).max(1)
}

/// `Content-Range` of a chunk `[start, end)`: `<start>-<end - 1>`, without the `bytes `
/// of RFC 9110 (distribution expects none, ACR refuses it).
pub(crate) fn chunk_content_range(start: u64, end: u64) -> String {
    format!("{start}-{}", end.saturating_sub(1))
}

/// `location` with `digest=<digest>` added to its query, keeping what is there
/// (distribution's `_state`).
pub(crate) fn commit_url(location: &Uri, digest: &Digest) -> Result<Uri> {
    let path = location.path();
    let path_and_query = match location.query() {
        Some(query) if !query.is_empty() => format!("{path}?{query}&digest={digest}"),
        _ => format!("{path}?digest={digest}"),
    };
    let mut parts = location.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().map_err(|e| {
        Error::new(ErrorKind::InvalidResponse, format!("adding the digest to {}", shown(location)))
            .with_source(e)
    })?);
    Uri::from_parts(parts).map_err(|e| {
        Error::new(ErrorKind::InvalidResponse, format!("adding the digest to {}", shown(location)))
            .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://r.example:5000/v2/a/b/blobs/uploads/";

    fn u(s: &str) -> Uri {
        s.parse().unwrap()
    }

    fn answer(method: Method, url: &str, status: u16, headers: &[(&str, &str)]) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        Answer {
            method,
            url: u(url),
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from_static(br#"{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"x"}]}"#),
        }
    }

    type Case<'a, T> = (u16, Vec<(&'a str, &'a str)>, Result<T, ErrorKind>);

    fn digest() -> Digest {
        Digest::sha256(b"blob")
    }

    #[test]
    fn post_answers() {
        let d = digest();
        let session = |location: &str, min_chunk| Ok(Started::Session { location: u(location), min_chunk });
        let cases: Vec<Case<'_, Started>> = vec![
            (
                202,
                vec![("location", "/v2/a/b/blobs/uploads/1?_state=s")],
                session("https://r.example:5000/v2/a/b/blobs/uploads/1?_state=s", None),
            ),
            (
                202,
                vec![("location", "1"), ("oci-chunk-min-length", "1048576")],
                session("https://r.example:5000/v2/a/b/blobs/uploads/1", Some(1 << 20)),
            ),
            (
                202,
                vec![("location", "https://R.example:5000/up/2"), ("oci-chunk-min-length", "x")],
                session("https://R.example:5000/up/2", None),
            ),
            (202, vec![], Err(ErrorKind::InvalidResponse)),
            (202, vec![("location", "https://evil.example/up")], Err(ErrorKind::InvalidResponse)),
            (202, vec![("location", "http://r.example:5000/up")], Err(ErrorKind::InvalidResponse)),
            (202, vec![("location", "//r.example:5001/up")], Err(ErrorKind::InvalidResponse)),
            (201, vec![], Ok(Started::Created)),
            (201, vec![("docker-content-digest", d.as_str())], Ok(Started::Created)),
            (201, vec![("docker-content-digest", "sha256:00")], Err(ErrorKind::DigestMismatch)),
            (401, vec![], Err(ErrorKind::Status)),
            (404, vec![("location", "/x")], Err(ErrorKind::Status)),
        ];
        for (status, headers, want) in cases {
            let a = answer(Method::POST, ORIGIN, status, &headers);
            let got = on_post(&u(ORIGIN), &a, &d).map_err(|e| e.kind());
            assert_eq!(got, want, "{status} {headers:?}");
        }
        let refused = on_post(
            &u(ORIGIN),
            &answer(Method::POST, ORIGIN, 202, &[("location", "https://evil.example/up")]),
            &d,
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "invalid response: POST https://r.example:5000/v2/a/b/blobs/uploads/: refusing the upload location \
             \"https://evil.example/up\": it leaves the registry https://r.example:5000"
        );
    }

    #[test]
    fn patch_answers() {
        let here = u("https://r.example:5000/v2/a/b/blobs/uploads/1?_state=a");
        let open = |location: &str, offset| Ok(Session::Open { location: u(location), offset });
        let same = "https://r.example:5000/v2/a/b/blobs/uploads/1?_state=a";
        let cases: Vec<Case<'_, Session>> = vec![
            (202, vec![], open(same, 100)),
            // A success's Range is not trusted (ECR's stays at the first chunk boundary).
            (
                202,
                vec![("location", "?_state=b"), ("range", "0-49")],
                open("https://r.example:5000/v2/a/b/blobs/uploads/1?_state=b", 100),
            ),
            (
                204,
                vec![("location", "https://r.example:5000/gcr/next")],
                open("https://r.example:5000/gcr/next", 100),
            ),
            (201, vec![], Ok(Session::Committed)),
            (416, vec![], Ok(Session::Resync { location: here.clone() })),
            (
                416,
                vec![("location", "/v2/a/b/blobs/uploads/1?_state=c")],
                Ok(Session::Resync { location: u("https://r.example:5000/v2/a/b/blobs/uploads/1?_state=c") }),
            ),
            (416, vec![("location", "/v2/x"), ("range", "0-63")], open("https://r.example:5000/v2/x", 64)),
            (
                400,
                vec![("location", "/v2/x"), ("range", "bytes=0-63")],
                open("https://r.example:5000/v2/x", 64),
            ),
            (400, vec![("range", "0-63")], Err(ErrorKind::Status)),
            (400, vec![("location", "/v2/x"), ("range", "5-63")], Err(ErrorKind::InvalidResponse)),
            (416, vec![("location", "https://evil.example/x")], Err(ErrorKind::InvalidResponse)),
            (202, vec![("location", "https://evil.example/x")], Err(ErrorKind::InvalidResponse)),
            (404, vec![], Err(ErrorKind::Status)),
            (500, vec![("location", "/v2/x"), ("range", "0-63")], Err(ErrorKind::Status)),
        ];
        for (status, headers, want) in cases {
            let a = answer(Method::PATCH, same, status, &headers);
            let got = on_patch(&u(ORIGIN), &a, &here, 100).map_err(|e| e.kind());
            assert_eq!(got, want, "{status} {headers:?}");
        }
    }

    #[test]
    fn status_and_put_answers() {
        let here = u("https://r.example:5000/v2/a/b/blobs/uploads/1");
        let at = |offset| Ok(Session::Open { location: here.clone(), offset });
        for (status, headers, want) in [
            (204, vec![("range", "0-1023")], at(1024)),
            (204, vec![("range", "0-0")], at(0)),
            (204, vec![], at(0)),
            (204, vec![("range", "bogus")], Err(ErrorKind::InvalidResponse)),
            (404, vec![], Err(ErrorKind::Status)),
        ] {
            let a = answer(Method::GET, "https://r.example:5000/v2/a/b/blobs/uploads/1", status, &headers);
            assert_eq!(on_status(&u(ORIGIN), &a, &here).map_err(|e| e.kind()), want, "{status} {headers:?}");
        }
        let d = digest();
        for (status, headers, want) in [
            (201, vec![], Ok(())),
            (204, vec![("docker-content-digest", d.as_str())], Ok(())),
            (201, vec![("docker-content-digest", "sha256:0")], Err(ErrorKind::DigestMismatch)),
            (202, vec![], Err(ErrorKind::Status)),
            (400, vec![], Err(ErrorKind::Status)),
        ] {
            let a = answer(Method::PUT, "https://r.example:5000/x?digest=y", status, &headers);
            assert_eq!(on_put(&a, &d).map_err(|e| e.kind()), want, "{status} {headers:?}");
        }
        // distribution 2.8 names a blob committed as sha512 by its sha256.
        let sha512 = Digest::compute(&oci_spec_types::DigestAlgorithm::SHA512, b"blob").unwrap();
        let canonical = vec![("docker-content-digest", d.as_str())];
        assert!(on_put(&answer(Method::PUT, "https://r.example:5000/x", 201, &canonical), &sha512).is_ok());
        let e = on_put(&answer(Method::PUT, "https://r.example:5000/x", 400, &[]), &d).unwrap_err();
        assert_eq!(e.registry_errors()[0].code.as_str(), "BLOB_UPLOAD_INVALID");
        assert_eq!(
            e.to_string(),
            "registry error: PUT https://r.example:5000/x: 400 Bad Request; BLOB_UPLOAD_INVALID: x"
        );
    }

    #[test]
    fn upload_ranges_offsets_and_chunks() {
        for (range, want) in [
            ("0-0", Some(0)),
            ("0-1", Some(2)),
            ("0-1048575", Some(1 << 20)),
            ("bytes=0-99", Some(100)),
            (" 0-9 ", Some(10)),
            ("1-9", None),
            ("0-", None),
            ("0--1", None),
            ("bytes 0-9/10", None),
            ("0-18446744073709551615", None),
        ] {
            assert_eq!(upload_offset(range), want, "{range:?}");
        }
        assert_eq!(chunk_size(256 << 10, None, true), 256 << 10);
        assert_eq!(chunk_size(256 << 10, Some(5 << 20), true), 5 << 20);
        assert_eq!(chunk_size(8 << 20, Some(5 << 20), true), 8 << 20);
        assert_eq!(chunk_size(1, Some(u64::MAX), true), MAX_CHUNK_BUFFER);
        assert_eq!(chunk_size(1, Some(u64::MAX), false), u64::MAX);
        assert_eq!(chunk_size(0, None, true), 1);
        assert_eq!(chunk_content_range(0, 1024), "0-1023");
        assert_eq!(chunk_content_range(1024, 1025), "1024-1024");
    }

    #[test]
    fn commit_urls_keep_the_query() {
        let d = digest();
        for (location, want) in [
            ("https://r/v2/a/blobs/uploads/1", format!("https://r/v2/a/blobs/uploads/1?digest={d}")),
            ("https://r/v2/a/blobs/uploads/1?", format!("https://r/v2/a/blobs/uploads/1?digest={d}")),
            (
                "http://r:5000/v2/a/blobs/uploads/1?_state=abc%3D&x=1",
                format!("http://r:5000/v2/a/blobs/uploads/1?_state=abc%3D&x=1&digest={d}"),
            ),
        ] {
            assert_eq!(commit_url(&u(location), &d).unwrap().to_string(), want);
        }
    }
}
