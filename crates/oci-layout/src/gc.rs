//! Garbage collection: deleting the blobs a layout's graph does not reach.

use oci_spec_types::Digest;

use crate::graph;
use crate::{Error, ErrorKind, Layout, Result};

/// What [`Layout::gc`] deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// The blobs deleted, sorted.
    pub removed: Vec<Digest>,
    /// Their total size in bytes.
    pub bytes_freed: u64,
}

/// Deletes every stored blob the graph does not reach; refuses when a manifest cannot
/// be followed (what it references is unknown, so nothing is garbage for sure).
pub(crate) fn gc(layout: &Layout) -> Result<GcReport> {
    let graph = graph::walk(layout)?;
    if let Some(unfollowed) = graph.unfollowed.first() {
        return Err(Error::new(ErrorKind::InvalidManifest)
            .with_path(layout.location())
            .with_detail(format!("refusing to collect garbage: {}", unfollowed.detail))
            .with_digest(unfollowed.digest.clone()));
    }
    let listing = layout.driver().list_blobs()?;
    let mut report = GcReport::default();
    for (digest, size) in listing.blobs {
        if !graph.nodes.contains_key(&digest) && layout.driver().delete_blob(&digest)? {
            report.removed.push(digest);
            report.bytes_freed += size;
        }
    }
    Ok(report)
}
