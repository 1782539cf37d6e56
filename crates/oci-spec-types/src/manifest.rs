//! Image manifests (OCI and Docker schema 2).

use serde::{Deserialize, Serialize};

use crate::{Annotations, Descriptor, Extra, MediaType};

/// An image manifest: a config and layers, or an artifact (image-spec v1.1), or a
/// Docker schema 2 manifest (the same shape with Docker media types).
///
/// ```
/// use oci_spec_types::{Descriptor, ImageManifest, MediaType};
///
/// let layer = Descriptor::for_bytes(MediaType::LAYER_TAR, b"tar bytes");
/// let m = ImageManifest::new(Descriptor::empty(), vec![layer])
///     .with_artifact_type(MediaType::from("application/vnd.example+type"));
/// let bytes = serde_json::to_vec(&m).unwrap();
/// let back: ImageManifest = serde_json::from_slice(&bytes).unwrap();
/// assert_eq!(back, m);
/// assert_eq!(back.effective_artifact_type(), Some(&MediaType::from("application/vnd.example+type")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// `application/vnd.oci.image.manifest.v1+json` (or the Docker schema 2 type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<MediaType>,
    /// The type of an artifact, when this manifest is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<MediaType>,
    /// The configuration blob.
    pub config: Descriptor,
    /// The layers, base first.
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (signatures, SBOMs, attestations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ImageManifest {
    /// An OCI image manifest with `config` and `layers`.
    #[must_use]
    pub fn new(config: Descriptor, layers: Vec<Descriptor>) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(MediaType::IMAGE_MANIFEST),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: Annotations::new(),
            extra: Extra::new(),
        }
    }

    /// The same manifest with an artifact type.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_type = Some(artifact_type);
        self
    }

    /// The same manifest with a subject.
    #[must_use]
    pub fn with_subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The artifact type as the referrers API reports it: `artifactType`, else the
    /// config's media type unless that is the empty placeholder.
    #[must_use]
    pub fn effective_artifact_type(&self) -> Option<&MediaType> {
        self.artifact_type
            .as_ref()
            .or_else(|| (self.config.media_type != MediaType::EMPTY).then_some(&self.config.media_type))
    }

    /// Every descriptor this manifest references: config, then layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Descriptor> {
        std::iter::once(&self.config).chain(&self.layers)
    }
}
