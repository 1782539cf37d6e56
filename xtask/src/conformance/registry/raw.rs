//! Raw requests, for what the client's typed API rightly refuses to send (chunks out of
//! order, content that does not match its digest, digests that do not parse) and for
//! checks of exact statuses and headers: the client's typed API forgives registries
//! (it takes a media type from the body, resumes broken downloads), a check must not.
//! They go through the client's pipeline
//! ([`Client::execute`](oci_distribution::Client::execute)) for authorization (a request
//! answered 401 is sent again once with a token) and the redirects of GET and HEAD; the
//! suite's client never retries, so the status judged is the registry's answer to this
//! one request.

use std::fmt::Write as _;

use bytes::Bytes;
use oci_distribution::http::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderName};
use oci_distribution::http::{HeaderMap, HeaderValue, Method, StatusCode};
use oci_distribution::{Body, Client};
use oci_reference::Repository;
use oci_spec_types::Digest;

use super::data::digest_of;

/// How much of a response body is read (manifests are at most 4 MiB).
const BODY_LIMIT: usize = 8 << 20;

/// A request and its answer.
#[derive(Debug, Clone)]
pub(super) struct Exchange {
    /// The request as shown in messages: method and target (upload state elided).
    pub(super) request: String,
    /// The answer's status.
    pub(super) status: StatusCode,
    /// The answer's headers.
    pub(super) headers: HeaderMap,
    /// The answer's body.
    pub(super) body: Bytes,
    /// Why the body could not be read whole (a registry that announced more than it sent).
    pub(super) body_error: Option<String>,
}

impl Exchange {
    /// The value of header `name`, when present and text.
    #[must_use]
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `<request> -> <status>`, with the start of a textual body.
    #[must_use]
    pub(super) fn describe(&self) -> String {
        let mut out = format!("{} -> {}", self.request, self.status);
        if let Some(e) = &self.body_error {
            let _ = write!(out, " (body unreadable: {e})");
        }
        if !self.body.is_empty() {
            match std::str::from_utf8(&self.body) {
                Ok(text) if text.len() <= 300 => {
                    let _ = write!(out, ": {}", text.trim());
                }
                Ok(text) => {
                    let cut = (0..=300).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                    let _ = write!(out, ": {}...", text[..cut].trim());
                }
                Err(_) => {
                    let _ = write!(out, " ({} bytes)", self.body.len());
                }
            }
        }
        out
    }

    /// `Ok` when the status is one of `expected`; else a message with what was sent
    /// and what came back.
    pub(super) fn expect(&self, expected: &[u16]) -> Result<(), String> {
        if expected.contains(&self.status.as_u16()) {
            return Ok(());
        }
        let list: Vec<String> = expected.iter().map(u16::to_string).collect();
        Err(format!("expected {}, got {}", list.join(" or "), self.describe()))
    }

    /// `Ok` when `Content-Length` is `size`.
    pub(super) fn expect_length(&self, size: u64) -> Result<(), String> {
        match self.header(CONTENT_LENGTH.as_str()) {
            Some(v) if v.trim().parse::<u64>() == Ok(size) => Ok(()),
            other => Err(format!("Content-Length {other:?}, expected {size}: {}", self.describe())),
        }
    }

    /// The `errors` of an error body (`code`, and `detail` when it is a string).
    #[must_use]
    pub(super) fn registry_errors(&self) -> Vec<(String, Option<String>)> {
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&self.body) else { return Vec::new() };
        json["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let code = e["code"].as_str()?.to_owned();
                Some((code, e["detail"].as_str().map(str::to_owned)))
            })
            .collect()
    }

    /// The `Location` header, or an error naming the request.
    pub(super) fn location(&self) -> Result<String, String> {
        self.header("location")
            .map(str::to_owned)
            .ok_or_else(|| format!("no Location in the answer: {}", self.describe()))
    }

    /// `Ok` unless `Docker-Content-Digest` names other content than `bytes` (a digest of
    /// another algorithm is accepted when it is the digest of `bytes`); the `Ok` value
    /// says when that happened.
    pub(super) fn check_digest_header(
        &self,
        expected: &Digest,
        bytes: &[u8],
    ) -> Result<Option<String>, String> {
        let Some(value) = self.header("docker-content-digest") else { return Ok(None) };
        if value == expected.as_str() {
            return Ok(None);
        }
        match Digest::parse(value) {
            Ok(d) if d.algorithm() != expected.algorithm() && digest_of(&d.algorithm(), bytes) == d => {
                Ok(Some(format!(
                    "Docker-Content-Digest named the content's {} digest, not {expected}",
                    d.algorithm()
                )))
            }
            _ => Err(format!("Docker-Content-Digest {value}, expected {expected}: {}", self.describe())),
        }
    }
}

/// A target as shown in messages: path and query, the opaque upload state elided.
#[must_use]
pub(super) fn shown(target: &str) -> String {
    let without_origin = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let Some((path, query)) = without_origin.split_once('?') else { return without_origin.to_owned() };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, v)) if k == "_state" || v.len() > 80 => format!("{k}=..."),
            _ => p.to_owned(),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

/// `target` with `key=value` added to its query.
#[must_use]
pub(super) fn with_query(target: &str, key: &str, value: &str) -> String {
    let sep = if target.contains('?') { '&' } else { '?' };
    format!("{target}{sep}{key}={value}")
}

/// Headers of an upload request: `Content-Type: application/octet-stream`, the length
/// when given, and `Content-Range` when given.
#[must_use]
pub(super) fn octet_stream(len: Option<usize>, range: Option<(usize, usize)>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Some(len) = len {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    }
    if let Some((first, last)) = range {
        if let Ok(v) = HeaderValue::from_str(&format!("{first}-{last}")) {
            headers.insert(CONTENT_RANGE, v);
        }
    }
    headers
}

/// One header.
#[must_use]
pub(super) fn header(name: HeaderName, value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
    headers
}

/// Sends `method target` for `repository` (a `/v2/...` path or an absolute URL on the
/// registry) with `headers` and `body`, and reads the whole answer. An error is a
/// request that got no answer.
pub(super) async fn send(
    client: &Client,
    repository: &Repository,
    method: Method,
    target: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Exchange, String> {
    let actions = match method {
        Method::GET | Method::HEAD => "pull",
        Method::DELETE => "delete",
        _ => "pull,push",
    };
    let scopes = [format!("repository:{}:{actions}", repository.path())];
    let request = format!("{method} {}", shown(target));
    let body = if body.is_empty() { Body::empty() } else { Body::from_bytes(body) };
    let response = client
        .execute(&repository.registry(), method, target, headers, body, &scopes)
        .await
        .map_err(|e| format!("{request}: no answer: {e}"))?;
    let (parts, body) = response.into_parts();
    // Statuses and headers still count when the body breaks off: upstream's checks of a
    // status never read it.
    let (body, body_error) = match body.bytes(BODY_LIMIT).await {
        Ok(body) => (body, None),
        Err(e) => (Bytes::new(), Some(e.to_string())),
    };
    Ok(Exchange { request, status: parts.status, headers: parts.headers, body, body_error })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_shown_without_upload_state() {
        assert_eq!(
            shown("http://127.0.0.1:5000/v2/r/blobs/uploads/u1?_state=abcdef&digest=sha256:00"),
            "/v2/r/blobs/uploads/u1?_state=...&digest=sha256:00"
        );
        assert_eq!(shown("/v2/r/tags/list?last=a"), "/v2/r/tags/list?last=a");
        assert_eq!(shown("https://r.example"), "/");
        assert_eq!(with_query("/v2/x?a=1", "digest", "sha256:0"), "/v2/x?a=1&digest=sha256:0");
        assert_eq!(with_query("/v2/x", "digest", "sha256:0"), "/v2/x?digest=sha256:0");
    }

    #[test]
    fn exchanges_describe_themselves() {
        let mut headers = HeaderMap::new();
        headers.insert("location", HeaderValue::from_static("/v2/r/blobs/sha256:00"));
        let blob = b"content";
        let digest = Digest::sha256(blob);
        headers.insert("docker-content-digest", HeaderValue::from_str(digest.as_str()).unwrap());
        let ok = Exchange {
            request: "PUT /v2/r/blobs/uploads/1".into(),
            status: StatusCode::CREATED,
            headers: headers.clone(),
            body: Bytes::new(),
            body_error: None,
        };
        assert_eq!(ok.expect(&[201]), Ok(()));
        assert_eq!(ok.location().unwrap(), "/v2/r/blobs/sha256:00");
        assert_eq!(
            ok.expect(&[202, 204]).unwrap_err(),
            "expected 202 or 204, got PUT /v2/r/blobs/uploads/1 -> 201 Created"
        );
        assert_eq!(ok.check_digest_header(&digest, blob), Ok(None));
        let sha512 = digest_of(&oci_spec_types::DigestAlgorithm::SHA512, blob);
        assert!(ok.check_digest_header(&sha512, blob).unwrap().unwrap().contains("sha256 digest"));
        assert!(ok.check_digest_header(&Digest::sha256(b"other"), blob).is_err());
        let refused = Exchange {
            body: Bytes::from_static(br#"{"errors":[{"code":"DIGEST_INVALID"}]}"#),
            status: StatusCode::BAD_REQUEST,
            ..ok
        };
        assert_eq!(
            refused.describe(),
            r#"PUT /v2/r/blobs/uploads/1 -> 400 Bad Request: {"errors":[{"code":"DIGEST_INVALID"}]}"#
        );
    }
}
