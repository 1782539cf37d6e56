//! The client's error: opaque, with a kind, the HTTP status, every `errors[]` entry of
//! the registry's answer and a classification.

use std::fmt;

use http::StatusCode;
use oci_spec_types::{ErrorCode, ErrorInfo, ErrorResponse};

/// What went wrong, broadly. Match on [`Error::kind`] or use the `is_*` helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client was configured with something unusable (a bad CA file, a proxy URL...).
    Config,
    /// Bad input from the caller (an unusable reference, an upload size that overflows...).
    InvalidInput,
    /// Connecting, TLS, or the connection dropped.
    Connect,
    /// A connect or body timeout.
    Timeout,
    /// The registry answered with a status the operation does not accept.
    Status,
    /// The registry's answer is malformed (headers, JSON body, a redirect elsewhere...).
    InvalidResponse,
    /// Content did not hash to the expected digest.
    DigestMismatch,
    /// Content did not have the expected size.
    SizeMismatch,
    /// Something was larger than a limit of the client's configuration (a manifest over
    /// [`ClientOptions::max_manifest_bytes`](crate::ClientOptions), a response body over
    /// what is read of it).
    Limit,
    /// An index has no manifest for the platform asked for.
    PlatformNotFound,
    /// Getting a token or credentials failed.
    Auth,
    /// Reading credentials (docker or podman config, a credential helper) failed.
    Credentials,
    /// Local I/O failed.
    Io,
}

/// An error of the registry client.
///
/// It keeps what the registry said: [`status`](Error::status) and every entry of the
/// JSON error body ([`registry_errors`](Error::registry_errors)), and classifies it
/// ([`is_unknown_resource`](Error::is_unknown_resource), ...). Errors of the libraries
/// underneath are only reachable as [`source`](std::error::Error::source), and
/// `Display` writes the error's own description alone (as hyper's errors do), so that a
/// reporter walking the chain prints each cause once.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    context: String,
    status: Option<StatusCode>,
    registry_errors: Vec<ErrorInfo>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind`; `context` says what was being done (`GET https://r/v2/x/manifests/y`).
    pub(crate) fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                context: context.into(),
                status: None,
                registry_errors: Vec::new(),
                source: None,
            }),
        }
    }

    /// The same error with a cause.
    #[must_use]
    pub(crate) fn with_source(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// An unexpected status from the registry, with the error entries its body carried
    /// (a non-JSON body is kept as the message of an `UNKNOWN` entry, cut to 1 KiB).
    pub(crate) fn from_status(status: StatusCode, body: &[u8], context: impl Into<String>) -> Self {
        let mut e = Self::new(ErrorKind::Status, context);
        e.inner.status = Some(status);
        e.inner.registry_errors = match serde_json::from_slice::<ErrorResponse>(body) {
            Ok(r) => r.errors,
            Err(_) if body.iter().all(u8::is_ascii_whitespace) => Vec::new(),
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(1024)]).trim().to_owned();
                vec![ErrorInfo::new(ErrorCode::from("UNKNOWN"), text)]
            }
        };
        e
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status the registry answered with, when the error is an answer.
    #[must_use]
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// Every entry of the registry's `{"errors": [...]}` body.
    #[must_use]
    pub fn registry_errors(&self) -> &[ErrorInfo] {
        &self.inner.registry_errors
    }

    /// What was being done when the error happened.
    #[must_use]
    pub fn context(&self) -> &str {
        &self.inner.context
    }

    fn has_code(&self, codes: &[&str]) -> bool {
        self.inner.registry_errors.iter().any(|e| codes.contains(&e.code.as_str()))
    }

    /// A blob, manifest, repository or upload that does not exist (404, or an
    /// `*_UNKNOWN` code).
    #[must_use]
    pub fn is_unknown_resource(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
            || self.inner.registry_errors.iter().any(|e| e.code.is_unknown_resource())
    }

    /// Authentication is missing or was refused (401, `UNAUTHORIZED`).
    #[must_use]
    pub fn is_unauthorized(&self) -> bool {
        self.status() == Some(StatusCode::UNAUTHORIZED) || self.has_code(&["UNAUTHORIZED"])
    }

    /// Authenticated, but not allowed (403, `DENIED`).
    #[must_use]
    pub fn is_denied(&self) -> bool {
        self.status() == Some(StatusCode::FORBIDDEN) || self.has_code(&["DENIED"])
    }

    /// The registry does not support the operation (405, `UNSUPPORTED`).
    #[must_use]
    pub fn is_unsupported(&self) -> bool {
        self.status() == Some(StatusCode::METHOD_NOT_ALLOWED) || self.has_code(&["UNSUPPORTED"])
    }

    /// Rate limited (429, `TOOMANYREQUESTS`).
    #[must_use]
    pub fn is_too_many_requests(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS) || self.has_code(&["TOOMANYREQUESTS"])
    }

    /// Content failed verification (digest or size): the bytes are not the ones asked
    /// for. An answer over a configured limit is not one ([`ErrorKind::Limit`]).
    #[must_use]
    pub fn is_verification(&self) -> bool {
        matches!(self.kind(), ErrorKind::DigestMismatch | ErrorKind::SizeMismatch)
    }

    /// A failure that may go away when the same request is sent again: a connection
    /// error (but a certificate the client refuses), a timeout, or 408, 429, 500, 502,
    /// 503, 504.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self.kind() {
            ErrorKind::Connect => !self.is_certificate_refusal(),
            ErrorKind::Timeout => true,
            ErrorKind::Status => {
                self.status().is_some_and(|s| matches!(s.as_u16(), 408 | 429 | 500 | 502 | 503 | 504))
            }
            _ => false,
        }
    }
}

impl Error {
    /// The TLS handshake failed on the server's certificate (untrusted, expired, for
    /// another name), on what the server asked for, or on the client's own setup: the
    /// same answer comes every time.
    fn is_certificate_refusal(&self) -> bool {
        let mut next: Option<&(dyn std::error::Error + 'static)> =
            self.inner.source.as_deref().map(|e| e as _);
        while let Some(e) = next {
            let tls = rustls_error(e);
            if matches!(
                tls,
                Some(
                    rustls::Error::InvalidCertificate(_)
                        | rustls::Error::NoCertificatesPresented
                        | rustls::Error::UnsupportedNameType
                        | rustls::Error::PeerIncompatible(_)
                        // The client's own TLS setup (no root certificate at all).
                        | rustls::Error::General(_)
                )
            ) {
                return true;
            }
            next = e.source();
        }
        false
    }
}

/// The rustls error `e` is, or holds as an `io::Error` (or several, one in the other).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let what = match i.kind {
            ErrorKind::Config => "invalid client configuration",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Connect => "connection failed",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Status => "registry error",
            ErrorKind::InvalidResponse => "invalid response",
            ErrorKind::DigestMismatch => "digest mismatch",
            ErrorKind::SizeMismatch => "size mismatch",
            ErrorKind::Limit => "over a limit",
            ErrorKind::PlatformNotFound => "no manifest for the platform",
            ErrorKind::Auth => "authentication failed",
            ErrorKind::Credentials => "credentials unavailable",
            ErrorKind::Io => "i/o error",
        };
        write!(f, "{what}")?;
        if !i.context.is_empty() {
            write!(f, ": {}", i.context)?;
        }
        if let Some(status) = i.status {
            write!(f, ": {status}")?;
        }
        for e in &i.registry_errors {
            write!(f, "; {e}")?;
        }
        // The cause is `source()`'s, not repeated here: error reporters (anyhow, eyre,
        // the CLI) print the chain, each cause once.
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &i.kind).field("context", &i.context);
        if let Some(s) = i.status {
            d.field("status", &s);
        }
        if !i.registry_errors.is_empty() {
            d.field("registry_errors", &i.registry_errors);
        }
        if let Some(s) = &i.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_registry_error_and_classifies() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"},{"code":"DENIED","message":"no"}]}"#;
        let e = Error::from_status(StatusCode::NOT_FOUND, body, "GET http://r/v2/a/manifests/b");
        assert_eq!(e.kind(), ErrorKind::Status);
        assert_eq!(e.registry_errors().len(), 2);
        assert!(e.is_unknown_resource() && e.is_denied() && !e.is_transient());
        assert_eq!(
            e.to_string(),
            "registry error: GET http://r/v2/a/manifests/b: 404 Not Found; MANIFEST_UNKNOWN: manifest unknown; DENIED: no"
        );
    }

    #[test]
    fn display_leaves_the_cause_to_source() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = Error::new(ErrorKind::Config, "reading the CA bundle /x.pem").with_source(io);
        assert_eq!(e.to_string(), "invalid client configuration: reading the CA bundle /x.pem");
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("no such file"));
        let limit = Error::new(ErrorKind::Limit, "GET x: the manifest is over 4 MiB");
        assert!(!limit.is_verification() && Error::new(ErrorKind::SizeMismatch, "").is_verification());
    }

    #[test]
    fn a_refused_certificate_is_not_transient_however_deep_it_is_wrapped() {
        use std::io::{Error as Io, ErrorKind as IoKind};
        let refusal = || rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let nested = Io::other(Io::new(IoKind::InvalidData, refusal()));
        assert!(!Error::new(ErrorKind::Connect, "GET x").with_source(nested).is_transient());
        assert!(!Error::new(ErrorKind::Connect, "GET x").with_source(refusal()).is_transient());
        let reset = Io::new(IoKind::ConnectionReset, "reset by peer");
        assert!(Error::new(ErrorKind::Connect, "GET x").with_source(reset).is_transient());
        assert!(Error::new(ErrorKind::Connect, "GET x").is_transient());
    }

    #[test]
    fn non_json_bodies_are_kept_short() {
        let e = Error::from_status(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>", "HEAD x");
        assert!(e.is_transient());
        assert_eq!(e.registry_errors()[0].message.as_deref(), Some("<html>bad gateway</html>"));
        let e = Error::from_status(StatusCode::TOO_MANY_REQUESTS, b"  ", "HEAD x");
        assert!(e.registry_errors().is_empty() && e.is_too_many_requests());
    }
}

/// What callers may rely on: the client's types cross threads and tasks, and an error
/// is one pointer wide, so `Result<T, Error>` stays small on every path.
mod assertions {
    use oci_reference::{Reference, Repository};
    use oci_spec_types::Descriptor;

    use crate::{BlobStream, Body, Client, Error, PushOptions};

    const fn send_sync_static<T: Send + Sync + 'static>() {}

    const _: () = {
        send_sync_static::<Client>();
        send_sync_static::<Error>();
        send_sync_static::<BlobStream>();
        assert!(size_of::<Error>() == size_of::<usize>());
        assert!(size_of::<crate::Result<()>>() == size_of::<usize>());
    };

    /// The futures of the client's calls can be spawned on a multi-threaded runtime.
    fn futures_are_send(client: &Client, reference: &Reference, repository: &Repository, blob: &Descriptor) {
        fn send<T: Send>(_: T) {}
        send(client.get_manifest(reference));
        send(client.push_blob(repository, blob, Body::from_bytes(Vec::new()), PushOptions::default()));
    }

    const _: fn(&Client, &Reference, &Repository, &Descriptor) = futures_are_send;
}
