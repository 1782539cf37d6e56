//! Content descriptors: what a manifest, index or layout points at.

use serde::{Deserialize, Serialize};

use crate::{Annotations, Digest, Extra, MediaType, Platform};

/// A content descriptor: the media type, digest and size of a blob or manifest,
/// with the optional fields of image-spec v1.1.
///
/// ```
/// use oci_spec_types::{Descriptor, Digest, MediaType};
///
/// let config = b"{}";
/// let d = Descriptor::new(MediaType::EMPTY, Digest::sha256(config), 2).with_data(config.to_vec());
/// let json = serde_json::to_string(&d).unwrap();
/// assert_eq!(
///     json,
///     r#"{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}"#
/// );
/// assert_eq!(serde_json::from_str::<Descriptor>(&json).unwrap(), d);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Descriptor {
    /// The media type of the referenced content.
    pub media_type: MediaType,
    /// The digest of the referenced content.
    pub digest: Digest,
    /// The size of the referenced content in bytes.
    pub size: u64,
    /// URLs from which the content may also be downloaded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    /// Arbitrary metadata.
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
    /// The content itself, embedded (base64 in JSON).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "base64_bytes")]
    pub data: Option<Vec<u8>>,
    /// The type of an artifact when the descriptor points at an artifact manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<MediaType>,
    /// The platform the referenced manifest is for (in an index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Fields this version of the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Descriptor {
    /// A descriptor with the three required fields.
    #[must_use]
    pub fn new(media_type: MediaType, digest: Digest, size: u64) -> Self {
        Self {
            media_type,
            digest,
            size,
            urls: Vec::new(),
            annotations: Annotations::new(),
            data: None,
            artifact_type: None,
            platform: None,
            extra: Extra::new(),
        }
    }

    /// A descriptor of `bytes` (sha256 digest, exact size).
    #[must_use]
    pub fn for_bytes(media_type: MediaType, bytes: &[u8]) -> Self {
        Self::new(media_type, Digest::sha256(bytes), bytes.len() as u64)
    }

    /// The descriptor of the empty JSON document `{}`, the placeholder config and
    /// layer of artifacts.
    #[must_use]
    pub fn empty() -> Self {
        Self::for_bytes(MediaType::EMPTY, b"{}").with_data(b"{}".to_vec())
    }

    /// The same descriptor with embedded data.
    #[must_use]
    pub fn with_data(mut self, data: Vec<u8>) -> Self {
        self.data = Some(data);
        self
    }

    /// The same descriptor with an annotation added.
    #[must_use]
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key, value);
        self
    }

    /// The same descriptor with a platform.
    #[must_use]
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// The same descriptor with an artifact type.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_type = Some(artifact_type);
        self
    }

    /// Whether embedded data, if any, has the descriptor's size and digest.
    /// `None` when there is no data or the digest algorithm cannot be computed.
    #[must_use]
    pub fn data_matches(&self) -> Option<bool> {
        let data = self.data.as_ref()?;
        let ok = self.digest.verify(data).ok()?;
        Some(ok && data.len() as u64 == self.size)
    }
}

/// Serde for `Option<Vec<u8>>` as standard base64 with padding, as Go's `[]byte`.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)] // serde's `with` hands us `&Option<T>`
    pub(super) fn serialize<S: Serializer>(data: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match data {
            Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        STANDARD
            .decode(text.as_bytes())
            .map(Some)
            .map_err(|e| serde::de::Error::custom(format_args!("data is not standard base64: {e}")))
    }
}
