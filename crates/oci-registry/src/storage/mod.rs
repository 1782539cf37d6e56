//! Where a registry keeps repositories, blobs, manifests and upload sessions: one
//! [`Storage`] trait, on disk ([`DiskStorage`]: a directory of OCI image layouts) or in
//! memory ([`MemoryStorage`], for tests).
//!
//! Every method is blocking; the server calls them on tokio's blocking pool. Names
//! and digests reach a store already checked (a repository name matches the
//! distribution grammar, a digest is well formed), and content already verified: a
//! store never hashes what it is given, except to recover an upload after a restart.

mod disk;
mod entries;
mod memory;
mod read_only;

use std::fmt;
use std::io::{Read, Seek, Write};
use std::time::SystemTime;

use bytes::Bytes;
use oci_spec_types::{Descriptor, Digest};

pub use disk::DiskStorage;
pub use memory::MemoryStorage;
pub use read_only::ReadOnlyLayout;

use crate::Result;
use crate::gc::{GcOptions, GcReport, Need};

/// A reader of a stored blob that can seek (range requests).
pub trait BlobRead: Read + Seek + Send {}
impl<T: Read + Seek + Send> BlobRead for T {}

/// What a manifest request names: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    /// A tag of the repository.
    Tag(String),
    /// A manifest by digest.
    Digest(Digest),
}

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(tag) => f.write_str(tag),
            Self::Digest(digest) => write!(f, "{digest}"),
        }
    }
}

/// A stored manifest: its descriptor (media type, digest, size) and exact bytes.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// Media type, digest and size of the bytes.
    pub descriptor: Descriptor,
    /// The bytes as they were pushed.
    pub bytes: Bytes,
}

/// An open upload session.
#[derive(Debug, Clone)]
pub struct UploadInfo {
    /// The repository it uploads into.
    pub repository: String,
    /// Its id (the last segment of its URL).
    pub id: String,
    /// The bytes received so far.
    pub size: u64,
    /// When bytes last arrived (or it was opened).
    pub modified: SystemTime,
}

/// A registry's storage. See the module docs for the contract every method keeps.
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Every repository, sorted lexically.
    fn repositories(&self) -> Result<Vec<String>>;

    /// Whether the repository exists (has been pushed to, or was there at start).
    fn repository_exists(&self, repository: &str) -> Result<bool>;

    /// The size of a blob of the repository, `None` when it has none of that digest.
    fn blob_size(&self, repository: &str, digest: &Digest) -> Result<Option<u64>>;

    /// A reader of a blob of the repository and its size.
    fn blob_reader(&self, repository: &str, digest: &Digest) -> Result<Option<(Box<dyn BlobRead>, u64)>>;

    /// Removes a blob from the repository; whether it was there. A blob that is a
    /// manifest of the repository is refused with [`ErrorKind::InUse`](crate::ErrorKind::InUse)
    /// (the manifest is deleted as a manifest).
    fn delete_blob(&self, repository: &str, digest: &Digest) -> Result<bool>;

    /// Makes a blob stored elsewhere a blob of `repository` without copying it: from
    /// repository `from`, or (with `None`) from wherever this store holds it. Whether
    /// the blob was found (and is now in `repository`).
    fn mount_blob(&self, from: Option<&str>, repository: &str, digest: &Digest) -> Result<bool>;

    /// Opens an upload session into `repository`, outside every repository until it
    /// is committed; returns its id.
    fn upload_start(&self, repository: &str) -> Result<String>;

    /// The session, `None` when there is none of that id for that repository.
    fn upload_info(&self, repository: &str, id: &str) -> Result<Option<UploadInfo>>;

    /// A writer that appends to the session from `offset` (bytes past it, from a
    /// request that failed midway, are dropped first).
    fn upload_writer(&self, repository: &str, id: &str, offset: u64) -> Result<Box<dyn Write + Send>>;

    /// The session's bytes so far, from the start.
    fn upload_reader(&self, repository: &str, id: &str) -> Result<Box<dyn Read + Send>>;

    /// Makes the session's bytes the blob `digest` of the repository (the caller has
    /// verified them) and ends the session. A blob of `digest` that is already
    /// stored is kept. On disk, the blob is durable when this returns.
    fn upload_commit(&self, repository: &str, id: &str, digest: &Digest) -> Result<()>;

    /// Ends a session and removes its bytes; whether it existed.
    fn upload_cancel(&self, repository: &str, id: &str) -> Result<bool>;

    /// Every open session.
    fn uploads(&self) -> Result<Vec<UploadInfo>>;

    /// A manifest by tag or digest.
    fn manifest(&self, repository: &str, reference: &ManifestRef) -> Result<Option<StoredManifest>>;

    /// Stores a manifest's bytes under its descriptor and points `tags` at it (a tag
    /// moves); the repository is created if needed. The caller has verified the bytes.
    /// `needs` are checked under the lock a collection takes, and the first one missing
    /// is returned instead, with nothing stored (see [`crate::gc`]).
    fn put_manifest(
        &self,
        repository: &str,
        descriptor: &Descriptor,
        bytes: &[u8],
        tags: &[String],
        needs: &[Need],
    ) -> Result<Option<Need>>;

    /// Removes a manifest and every tag pointing at it; whether it was stored.
    fn delete_manifest(&self, repository: &str, digest: &Digest) -> Result<bool>;

    /// Removes a tag (not the manifest); whether it existed.
    fn delete_tag(&self, repository: &str, tag: &str) -> Result<bool>;

    /// The repository's tags, sorted lexically; `None` when it does not exist.
    fn tags(&self, repository: &str) -> Result<Option<Vec<String>>>;

    /// The descriptor of every manifest of the repository (each digest once).
    fn manifests(&self, repository: &str) -> Result<Vec<Descriptor>>;

    /// Collects garbage (see [`crate::gc`]).
    fn gc(&self, options: &GcOptions) -> Result<GcReport>;
}

/// The refusal to delete the blob `digest` of `repository`: it is one of its manifests.
fn manifest_in_use(repository: &str, digest: &oci_spec_types::Digest) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::InUse,
        format!("{digest} is a manifest of {repository}: delete it through /manifests/, not as a blob"),
    )
}
