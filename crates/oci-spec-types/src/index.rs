//! Image indexes (OCI) and manifest lists (Docker).

use serde::{Deserialize, Serialize};

use crate::{Annotations, Descriptor, Extra, MediaType, Platform};

/// An image index: manifests for several platforms, or any set of manifests; the
/// `index.json` of an image layout; the Docker manifest list has the same shape.
///
/// ```
/// use oci_spec_types::{Descriptor, ImageIndex, MediaType, Platform};
///
/// let amd64 = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"a")
///     .with_platform("linux/amd64".parse()?);
/// let arm = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"b")
///     .with_platform("linux/arm/v6".parse()?);
/// let index = ImageIndex::new(vec![amd64.clone(), arm.clone()]);
/// assert_eq!(index.select(&"linux/x86_64".parse()?), Some(&amd64));
/// assert_eq!(index.select(&"linux/armhf".parse()?), Some(&arm)); // v7 runs v6
/// assert_eq!(index.select(&"linux/s390x".parse()?), None);
/// # Ok::<(), oci_spec_types::platform::PlatformError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageIndex {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.index.v1+json` (or the Docker manifest list type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// The type of an artifact, when this index is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<MediaType>,
    /// The manifests.
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ImageIndex {
    /// An OCI image index of `manifests`.
    #[must_use]
    pub fn new(manifests: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(MediaType::IMAGE_INDEX),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: Annotations::new(),
            extra: Extra::new(),
        }
    }

    /// The manifest to run on `platform`: an exact match (after normalization) if
    /// there is one, else the best compatible one (an older variant), first in index
    /// order among equals. Entries without a platform are never selected.
    #[must_use]
    pub fn select(&self, platform: &Platform) -> Option<&Descriptor> {
        self.manifests
            .iter()
            .filter_map(|d| Some((platform.rank(d.platform.as_ref()?)?, d)))
            .min_by_key(|(rank, _)| *rank)
            .map(|(_, d)| d)
    }

    /// Every manifest whose platform a machine of `platform` runs, best first.
    #[must_use]
    pub fn compatible(&self, platform: &Platform) -> Vec<&Descriptor> {
        let mut found: Vec<_> =
            self.manifests.iter().filter_map(|d| Some((platform.rank(d.platform.as_ref()?)?, d))).collect();
        found.sort_by_key(|(rank, _)| *rank);
        found.into_iter().map(|(_, d)| d).collect()
    }

    /// The descriptor tagged `name` by `org.opencontainers.image.ref.name`
    /// (the tags of an image layout's `index.json`).
    #[must_use]
    pub fn find_ref_name(&self, name: &str) -> Option<&Descriptor> {
        self.manifests.iter().find(|d| d.annotations.ref_name() == Some(name))
    }
}
