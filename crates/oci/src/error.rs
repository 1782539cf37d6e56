//! The facade's error: what failed, where, and the error of the crate below.

use std::fmt;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A location string that does not parse (see [`Location`](crate::Location)).
    InvalidLocation,
    /// The source has no such image, tag or blob.
    NotFound,
    /// Bytes that are not what their digest or size says.
    Integrity,
    /// A manifest that does not parse, or a graph the copy cannot take (a cycle).
    InvalidManifest,
    /// What was asked for cannot be done here (a platform no image of the index has).
    Unsupported,
    /// A registry request failed; the source is the client's error.
    Registry,
    /// A layout operation failed; the source is the layout's error.
    Layout,
    /// Reading or writing a file failed.
    Io,
}

/// An error of the facade: its kind, what was being done, and the cause.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    context: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The facade's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` saying `context`.
    pub fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Self { kind, context: context.into(), source: None }
    }

    /// The same error caused by `source`.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// What was being done.
    #[must_use]
    pub fn context(&self) -> &str {
        &self.context
    }

    /// A registry error while doing `context`; a 404 is [`ErrorKind::NotFound`].
    pub(crate) fn registry(context: impl Into<String>, source: oci_distribution::Error) -> Self {
        let kind = match source.status().map(|s| s.as_u16()) {
            Some(404) => ErrorKind::NotFound,
            _ if matches!(
                source.kind(),
                oci_distribution::ErrorKind::DigestMismatch | oci_distribution::ErrorKind::SizeMismatch
            ) =>
            {
                ErrorKind::Integrity
            }
            _ => ErrorKind::Registry,
        };
        Self::new(kind, context).with_source(source)
    }

    /// A failure that may go away when the operation is started again: a registry
    /// request that failed in a way [`oci_distribution::Error::is_transient`] says is
    /// (a dropped connection, a timeout, 429, 5xx) after its own retries.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        let mut next: Option<&(dyn std::error::Error + 'static)> = self.source.as_deref().map(|e| e as _);
        while let Some(e) = next {
            if let Some(client) = e.downcast_ref::<oci_distribution::Error>() {
                return client.is_transient();
            }
            next = e.source();
        }
        false
    }

    /// A layout error while doing `context`.
    pub(crate) fn layout(context: impl Into<String>, source: oci_layout::Error) -> Self {
        let kind = match source.kind() {
            oci_layout::ErrorKind::BlobNotFound | oci_layout::ErrorKind::RefNotFound => ErrorKind::NotFound,
            oci_layout::ErrorKind::UnexpectedDigest | oci_layout::ErrorKind::UnexpectedSize => {
                ErrorKind::Integrity
            }
            _ => ErrorKind::Layout,
        };
        Self::new(kind, context).with_source(source)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}
