//! Which references of a pushed manifest must already be in its repository.

use oci_spec_types::Manifest;

use crate::gc::Need;

/// Whether a manifest may name content its repository does not have. By default it may
/// not: a `PUT` of an image whose config or layer is missing, or of an index whose child
/// is missing, is refused with `MANIFEST_BLOB_UNKNOWN`. Layers with `urls`
/// (non-distributable) are never required.
///
/// A sparse repository is what a partial copy leaves (an index with the platforms a
/// mirror chose), and what the conformance suite's sparse data set pushes. Its layout
/// then names content it lacks, which `fsck` reports; pulls of what is present work.
///
/// ```
/// use oci_registry::{Registry, Sparse};
///
/// let builder = Registry::builder().sparse(Sparse::Indexes);
/// # drop(builder);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sparse {
    /// Every blob of an image and every child of an index must be present.
    #[default]
    Refused,
    /// An index may name children the repository lacks (as distribution allows with
    /// `validation.manifests.indexes.platforms`); an image still needs every blob.
    Indexes,
    /// Images may lack blobs too: nothing a manifest names is required.
    All,
}

impl Sparse {
    /// What `manifest` needs its repository to hold before it is stored.
    pub(crate) fn needs(self, manifest: &Manifest) -> Vec<Need> {
        match (manifest, self) {
            (Manifest::Image(m), Self::Refused | Self::Indexes) => {
                m.blobs().filter(|d| d.urls.is_empty()).map(|d| Need::Blob(d.digest.clone())).collect()
            }
            (Manifest::Index(i), Self::Refused) => {
                i.manifests.iter().map(|d| Need::Manifest(d.digest.clone())).collect()
            }
            _ => Vec::new(),
        }
    }
}
