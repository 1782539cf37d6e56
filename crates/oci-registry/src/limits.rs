//! What one client, or all of them, may make the registry hold, and the answer past it.

use std::time::Duration;

/// The registry's limits. Each has a default no ordinary use meets; past one a request
/// gets the status and spec error of the table in the crate docs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest blob, and the most bytes one upload session may receive (413).
    pub max_blob_bytes: u64,
    /// The largest manifest (413), checked against `Content-Length` before the body is read.
    pub max_manifest_bytes: u64,
    /// Open upload sessions per repository (429 with `Retry-After`).
    pub max_uploads_per_repository: usize,
    /// Open upload sessions in all (429 with `Retry-After`).
    pub max_uploads: usize,
    /// A session with no bytes for this long is removed with its bytes (then 404
    /// `BLOB_UPLOAD_UNKNOWN`).
    pub upload_idle_expiry: Duration,
    /// The largest page of tags, catalog or referrers a client can ask for with `n`; a
    /// larger `n` is cut to it, with a `Link` to the rest.
    pub max_page_entries: usize,
    /// The page size when a client gives no `n` (0: everything up to `max_page_entries`).
    pub default_page_entries: usize,
    /// The largest request head (request line and headers; 431 past it).
    pub max_header_bytes: usize,
    /// A request body that sends nothing for this long is abandoned (the connection
    /// closes; a session keeps the bytes it had, a manifest is not stored).
    pub body_stall_timeout: Duration,
    /// The `OCI-Chunk-Min-Length` advertised to clients of chunked uploads.
    pub chunk_min_length: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_blob_bytes: 64 << 30,
            max_manifest_bytes: 4 << 20,
            max_uploads_per_repository: 256,
            max_uploads: 4096,
            upload_idle_expiry: Duration::from_secs(3600),
            max_page_entries: 10_000,
            default_page_entries: 0,
            max_header_bytes: 64 << 10,
            body_stall_timeout: Duration::from_secs(60),
            chunk_min_length: 64 << 10,
        }
    }
}
