//! Errors: the crate's own ([`Error`]), and the spec error a request is answered with
//! (`ApiError`).

use std::error::Error as StdError;
use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use oci_spec_types::{Digest, ErrorCode, ErrorInfo, ErrorResponse};

use crate::body::Body;

/// The result of this crate's fallible operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, broadly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Reading or writing the store's files, or the network.
    Io,
    /// An image layout refused an operation (see the source).
    Layout,
    /// The registry was configured in a way that cannot work.
    Config,
    /// Stored data is not what it should be (a blob that does not hash to its name).
    Corrupt,
    /// The store serves reads only (a write was asked of it).
    ReadOnly,
    /// What was to be removed is in use: a blob that is a manifest of its repository
    /// (remove the manifest instead).
    InUse,
}

/// An error of the registry or its storage, with what was being done.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl Error {
    /// An error of `kind` described by `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), source: None }
    }

    /// An I/O error while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, what).with_source(source)
    }

    /// The same error, caused by `source`.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind of error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn StdError + 'static))
    }
}

impl From<oci_layout::Error> for Error {
    fn from(e: oci_layout::Error) -> Self {
        Self::new(ErrorKind::Layout, "image layout").with_source(e)
    }
}

/// A refusal as the distribution-spec words it: a status, one error entry of the spec's
/// JSON body, and extra headers (`Retry-After`, `Range`, `WWW-Authenticate`).
/// Boxed: it travels in every handler's `Result`.
#[derive(Debug)]
pub(crate) struct ApiError(Box<Refusal>);

#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
    pub(crate) headers: HeaderMap,
}

impl std::ops::Deref for ApiError {
    type Target = Refusal;

    fn deref(&self) -> &Refusal {
        &self.0
    }
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self(Box::new(Refusal { status, code, message: message.into(), headers: HeaderMap::new() }))
    }

    /// The same refusal with a header (values are made by this crate, always valid).
    pub(crate) fn with_header(mut self, name: HeaderName, value: impl fmt::Display) -> Self {
        if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
            self.0.headers.insert(name, value);
        }
        self
    }

    pub(crate) fn blob_unknown(digest: &Digest) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::BLOB_UNKNOWN, format!("blob {digest} is not stored"))
    }

    pub(crate) fn manifest_unknown(reference: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::MANIFEST_UNKNOWN,
            format!("manifest {reference} is not stored"),
        )
    }

    pub(crate) fn name_unknown(name: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NAME_UNKNOWN, format!("repository {name} is not known"))
    }

    pub(crate) fn name_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::NAME_INVALID, message)
    }

    pub(crate) fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::DIGEST_INVALID, message)
    }

    pub(crate) fn upload_unknown() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BLOB_UPLOAD_UNKNOWN,
            "no such upload session (never opened, finished, cancelled or expired)",
        )
    }

    pub(crate) fn upload_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BLOB_UPLOAD_INVALID, message)
    }

    pub(crate) fn size_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::SIZE_INVALID, message)
    }

    pub(crate) fn manifest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::MANIFEST_INVALID, message)
    }

    pub(crate) fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::UNSUPPORTED, message)
    }

    /// 413: `what` is over its limit of `limit` bytes (`setting` names the knob).
    pub(crate) fn too_large(what: &str, limit: u64, setting: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::SIZE_INVALID,
            format!("{what} is over the limit of {limit} bytes (Limits::{setting})"),
        )
    }

    /// 429 with `Retry-After`.
    pub(crate) fn too_many(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::TOOMANYREQUESTS, message)
            .with_header(http::header::RETRY_AFTER, retry_after_secs)
    }

    /// A 500 for a storage failure; the details go to the log, not to the client.
    pub(crate) fn internal(error: &Error) -> Self {
        tracing::error!(error = %DisplayChain(error), "storage failure");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::from("UNKNOWN"), "internal storage error")
    }

    /// The response: the JSON body (none for HEAD, whose length is still given).
    pub(crate) fn into_response(self, head: bool) -> http::Response<Body> {
        let refusal = *self.0;
        let mut body = ErrorResponse::default();
        body.errors.push(ErrorInfo::new(refusal.code, refusal.message));
        let json = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = http::Response::builder()
            .status(refusal.status)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::CONTENT_LENGTH, json.len())
            .body(if head { Body::empty() } else { Body::from(json) })
            .unwrap_or_else(|_| http::Response::new(Body::empty()));
        response.headers_mut().extend(refusal.headers);
        response
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        if matches!(e.kind(), ErrorKind::ReadOnly | ErrorKind::InUse) {
            return Self::unsupported(e.to_string());
        }
        Self::internal(&e)
    }
}

/// An error with each cause after it, for the log.
pub(crate) struct DisplayChain<'a>(pub(crate) &'a (dyn StdError + 'static));

impl fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}
