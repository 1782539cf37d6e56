//! The error type of every layout operation.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec_types::Digest;

/// What went wrong, without the context; see [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An I/O operation failed (the source is the [`io::Error`]).
    Io,
    /// The path holds no image layout: no `oci-layout` file, or nothing at all.
    NotALayout,
    /// [`init`](crate::Layout::init) found a layout already there.
    AlreadyExists,
    /// The `oci-layout` file is not the JSON object the image-spec defines.
    InvalidLayoutFile,
    /// The `oci-layout` file names an `imageLayoutVersion` other than `1.0.0`.
    UnsupportedLayoutVersion,
    /// `index.json` is missing, is not JSON, or is not an image index.
    InvalidIndex,
    /// A blob the operation needs is not in the layout.
    BlobNotFound,
    /// A file under `blobs/` whose path is not `blobs/<algorithm>/<encoded>` of a digest.
    InvalidBlobPath,
    /// The digest algorithm cannot be computed by this build.
    UnsupportedAlgorithm,
    /// Content had another size than the one expected; nothing was stored.
    UnexpectedSize,
    /// Content had another digest than the one expected; nothing was stored.
    UnexpectedDigest,
    /// A blob referenced as a manifest or index is not one (or is too large to be one).
    InvalidManifest,
    /// A value could not be serialized to JSON.
    Serialize,
    /// An `org.opencontainers.image.ref.name` that does not match the image-spec grammar.
    InvalidRefName,
    /// No descriptor in `index.json` (or in the graph, for a digest) matches the reference.
    RefNotFound,
    /// A tar entry or blob file that would be unsafe to serve: an absolute path, a `..`
    /// component, a link, a device or another special file.
    UnsafeEntry,
    /// A tar archive holds the same file twice.
    DuplicateEntry,
    /// A tar archive ends before its last entry does, or has no end-of-archive marker.
    TruncatedArchive,
    /// A tar archive that is not a well-formed tar (bad header checksum, bad number ...).
    InvalidArchive,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Io => "i/o error",
            Self::NotALayout => "not an image layout",
            Self::AlreadyExists => "an image layout already exists",
            Self::InvalidLayoutFile => "invalid oci-layout file",
            Self::UnsupportedLayoutVersion => "unsupported image layout version",
            Self::InvalidIndex => "invalid index.json",
            Self::BlobNotFound => "blob not found",
            Self::InvalidBlobPath => "invalid blob path",
            Self::UnsupportedAlgorithm => "unsupported digest algorithm",
            Self::UnexpectedSize => "unexpected blob size",
            Self::UnexpectedDigest => "unexpected blob digest",
            Self::InvalidManifest => "invalid manifest",
            Self::Serialize => "cannot serialize json",
            Self::InvalidRefName => "invalid ref name",
            Self::RefNotFound => "reference not found",
            Self::UnsafeEntry => "unsafe entry",
            Self::DuplicateEntry => "duplicate entry",
            Self::TruncatedArchive => "truncated archive",
            Self::InvalidArchive => "invalid archive",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed layout operation: a [`kind`](Error::kind), and the context that locates it
/// (the [`path`](Error::path) of the file, the [`digest`](Error::digest) of the blob),
/// a detail, and the underlying error as [`source`](std::error::Error::source).
///
/// `Display` reads `<kind>[ in <path>][ for <digest>][: <detail>]`, lowercase, and
/// leaves the cause to [`source`](std::error::Error::source) (an error reporter prints
/// each cause of the chain once):
///
/// ```
/// use oci_layout::{Error, ErrorKind};
/// use oci_spec_types::Digest;
///
/// let err = Error::new(ErrorKind::UnexpectedSize)
///     .with_digest(Digest::sha256(b"x"))
///     .with_detail("expected 2 bytes, got 1");
/// assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
/// assert_eq!(
///     err.to_string(),
///     "unexpected blob size for sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881: expected 2 bytes, got 1"
/// );
/// ```
pub struct Error {
    kind: ErrorKind,
    path: Option<PathBuf>,
    digest: Option<Digest>,
    detail: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` without context.
    #[must_use]
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, path: None, digest: None, detail: None, source: None }
    }

    /// An [`ErrorKind::Io`] error, unless the I/O error carries one of ours (as the
    /// verifying blob readers do), which is then returned as it was.
    #[must_use]
    pub fn io(err: io::Error) -> Self {
        if err.get_ref().is_some_and(<dyn std::error::Error + Send + Sync>::is::<Self>) {
            if let Some(inner) = err.into_inner() {
                if let Ok(ours) = inner.downcast::<Self>() {
                    return *ours;
                }
            }
            return Self::new(ErrorKind::Io);
        }
        Self::new(ErrorKind::Io).with_source(err)
    }

    /// The same error, about the file at `path`.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The same error, about the blob `digest`.
    #[must_use]
    pub fn with_digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    /// The same error, with a detail for people.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The same error, caused by `source`.
    #[must_use]
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What went wrong.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The file the error is about, when there is one.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The blob the error is about, when there is one.
    #[must_use]
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The detail for people, when there is one.
    #[must_use]
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// This error as an [`io::Error`] (kind `InvalidData` for content errors, `NotFound`
    /// for missing blobs), from which [`Error::io`] gets it back.
    #[must_use]
    pub fn into_io(self) -> io::Error {
        let kind = match self.kind {
            ErrorKind::BlobNotFound | ErrorKind::NotALayout | ErrorKind::RefNotFound => {
                io::ErrorKind::NotFound
            }
            ErrorKind::Io => io::ErrorKind::Other,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, self)
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::io(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(path) = &self.path {
            write!(f, " in {}", path.display())?;
        }
        if let Some(digest) = &self.digest {
            write!(f, " for {digest}")?;
        }
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        // The cause is `source()`'s: reporters that walk the chain print it once.
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(path) = &self.path {
            d.field("path", path);
        }
        if let Some(digest) = &self.digest {
            d.field("digest", &digest.as_str());
        }
        if let Some(detail) = &self.detail {
            d.field("detail", detail);
        }
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The result of layout operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds a path to I/O errors: `fs::read(p).at(p)?`.
pub(crate) trait IoContext<T> {
    /// The error as [`ErrorKind::Io`] (or ours, when it carries one) about `path`.
    fn at(self, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, path: &Path) -> Result<T> {
        self.map_err(|e| {
            let err = Error::io(e);
            if err.path.is_none() { err.with_path(path) } else { err }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_context() {
        let err = Error::io(io::Error::new(io::ErrorKind::NotFound, "gone")).with_path("/l/index.json");
        // The cause is the source's to say, once: `anyhow`-style chains print both.
        assert_eq!(err.to_string(), "i/o error in /l/index.json");
        assert_eq!(std::error::Error::source(&err).map(ToString::to_string).as_deref(), Some("gone"));
        assert_eq!(
            Error::new(ErrorKind::RefNotFound).with_detail("no tag v1").to_string(),
            "reference not found: no tag v1"
        );
    }

    #[test]
    fn ours_survive_a_trip_through_io() {
        let ours = Error::new(ErrorKind::UnexpectedDigest).with_detail("x");
        let io = ours.into_io();
        assert_eq!(io.kind(), io::ErrorKind::InvalidData);
        let back = Error::io(io);
        assert_eq!(back.kind(), ErrorKind::UnexpectedDigest);
        assert_eq!(back.to_string(), "unexpected blob digest: x");
        let plain = Error::io(io::Error::other("disk on fire"));
        assert_eq!(plain.kind(), ErrorKind::Io);
        assert!(std::error::Error::source(&plain).is_some());
    }
}
