//! Parsed documents that keep the exact bytes they came from.

use std::fmt;
use std::ops::Deref;

use serde::Serialize;
use serde::de::DeserializeOwned;

use bytes::Bytes;

use crate::{
    Descriptor, Digest, DigestAlgorithm, DigestError, ImageConfig, ImageIndex, ImageLayout, ImageManifest,
    MediaType, Platform,
};

/// Any of the four manifest types a registry serves: OCI or Docker, image or index.
// Both variants are large; boxing one would only make users write `Box` patterns.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Manifest {
    /// An image manifest (OCI, or Docker schema 2).
    Image(ImageManifest),
    /// An index (OCI, or a Docker manifest list).
    Index(ImageIndex),
}

impl Manifest {
    /// Parses manifest bytes. The kind comes from `content_type` when it names a
    /// manifest type, else from the document's `mediaType`, else from its shape
    /// (`manifests` makes an index). Docker schema 1 is refused as unsupported.
    ///
    /// ```
    /// use oci_spec_types::{Manifest, MediaType};
    ///
    /// let body = br#"{"schemaVersion":2,"manifests":[]}"#;
    /// let m = Manifest::from_slice(body, None)?;
    /// assert!(matches!(m, Manifest::Index(_)));
    /// let err = Manifest::from_slice(body, Some(&MediaType::DOCKER_MANIFEST_V1)).unwrap_err();
    /// assert_eq!(err.to_string(), "unsupported manifest media type application/vnd.docker.distribution.manifest.v1+json");
    /// # Ok::<(), oci_spec_types::DocumentError>(())
    /// ```
    pub fn from_slice(bytes: &[u8], content_type: Option<&MediaType>) -> Result<Self, DocumentError> {
        let value = serde_json::from_slice(bytes).map_err(|e| DocumentError::json("manifest", e))?;
        Self::from_value(value, content_type)
    }

    /// Like [`Manifest::from_slice`], from parsed JSON.
    pub fn from_value(
        value: serde_json::Value,
        content_type: Option<&MediaType>,
    ) -> Result<Self, DocumentError> {
        let declared = match value.get("mediaType") {
            Some(serde_json::Value::String(s)) => Some(MediaType::from(s.as_str())),
            _ => None,
        };
        let header = content_type.filter(|ct| !ct.matches(&MediaType::JSON) && !ct.essence().is_empty());
        for mt in header.into_iter().chain(declared.as_ref()) {
            if !mt.is_manifest() {
                return Err(DocumentError::unsupported(mt));
            }
        }
        if let (Some(h), Some(d)) = (header, declared.as_ref()) {
            if h.is_index() != d.is_index() {
                return Err(DocumentError {
                    kind: DocumentErrorKind::MediaTypeMismatch,
                    what: "manifest",
                    detail: format!("the content type says {h} but the document says {d}"),
                    source: None,
                });
            }
        }
        if value.get("schemaVersion").and_then(serde_json::Value::as_u64) == Some(1) {
            return Err(DocumentError::unsupported(&MediaType::DOCKER_MANIFEST_V1));
        }
        let is_index = match header.or(declared.as_ref()) {
            Some(mt) => mt.is_index(),
            None => value.get("manifests").is_some(),
        };
        if is_index {
            serde_json::from_value(value).map(Self::Index).map_err(|e| DocumentError::json("image index", e))
        } else {
            serde_json::from_value(value)
                .map(Self::Image)
                .map_err(|e| DocumentError::json("image manifest", e))
        }
    }

    /// The media type the document declares, or the OCI default for its kind.
    #[must_use]
    pub fn media_type(&self) -> MediaType {
        match self {
            Self::Image(m) => m.media_type.clone().unwrap_or(MediaType::IMAGE_MANIFEST),
            Self::Index(i) => i.media_type.clone().unwrap_or(MediaType::IMAGE_INDEX),
        }
    }

    /// The subject, when the manifest refers to another.
    #[must_use]
    pub fn subject(&self) -> Option<&Descriptor> {
        match self {
            Self::Image(m) => m.subject.as_ref(),
            Self::Index(i) => i.subject.as_ref(),
        }
    }

    /// How the referrers API (and a fallback tag's index) lists this manifest, stored
    /// as `descriptor`: its media type, digest and size, its `artifactType` (for an
    /// image without one, its config's media type, as the distribution-spec says) and
    /// its annotations.
    ///
    /// ```
    /// use oci_spec_types::{Descriptor, Document, ImageManifest, Manifest, MediaType};
    ///
    /// let config = Descriptor::for_bytes(MediaType::from("application/vnd.example.sig"), b"{}");
    /// let signature = Document::new(ImageManifest::new(config, vec![]))?;
    /// let listed = Manifest::Image(signature.value().clone()).as_referrer(&signature.descriptor());
    /// assert_eq!(listed.artifact_type, Some(MediaType::from("application/vnd.example.sig")));
    /// assert_eq!(&listed.digest, signature.digest());
    /// # Ok::<(), oci_spec_types::DocumentError>(())
    /// ```
    #[must_use]
    pub fn as_referrer(&self, descriptor: &Descriptor) -> Descriptor {
        let mut d =
            Descriptor::new(descriptor.media_type.clone(), descriptor.digest.clone(), descriptor.size);
        match self {
            Self::Image(m) => {
                d.artifact_type = m.artifact_type.clone().or_else(|| Some(m.config.media_type.clone()));
                d.annotations.clone_from(&m.annotations);
            }
            Self::Index(i) => {
                d.artifact_type.clone_from(&i.artifact_type);
                d.annotations.clone_from(&i.annotations);
            }
        }
        d
    }

    /// Every descriptor the manifest references (config and layers, or manifests).
    #[must_use]
    pub fn references(&self) -> Vec<&Descriptor> {
        match self {
            Self::Image(m) => m.blobs().collect(),
            Self::Index(i) => i.manifests.iter().collect(),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Manifest {
    /// Deserializes by shape, as [`Manifest::from_slice`] without a content type.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Self::from_value(value, None).map_err(serde::de::Error::custom)
    }
}

/// Whether two manifests, addressed by their digests, may be the same image on
/// `platform` (or on any platform when `None`): their digests are equal, or they
/// share an image manifest (an index entry for the platform, or the image itself).
///
/// ```
/// use oci_spec_types::{manifests_maybe_equal, Descriptor, Digest, ImageIndex, ImageManifest, Manifest, MediaType};
///
/// let image = ImageManifest::new(Descriptor::empty(), vec![]);
/// let image_digest = Digest::sha256(&serde_json::to_vec(&image).unwrap());
/// let entry = Descriptor::new(MediaType::IMAGE_MANIFEST, image_digest.clone(), 100)
///     .with_platform("linux/amd64".parse()?);
/// let index = Manifest::Index(ImageIndex::new(vec![entry]));
/// let index_digest = Digest::sha256(b"the index bytes");
/// let image = Manifest::Image(image);
/// assert!(manifests_maybe_equal((&index_digest, &index), (&image_digest, &image), Some(&"linux/amd64".parse()?)));
/// assert!(!manifests_maybe_equal((&index_digest, &index), (&image_digest, &image), Some(&"linux/arm64".parse()?)));
/// # Ok::<(), oci_spec_types::platform::PlatformError>(())
/// ```
#[must_use]
pub fn manifests_maybe_equal(
    a: (&Digest, &Manifest),
    b: (&Digest, &Manifest),
    platform: Option<&Platform>,
) -> bool {
    if a.0 == b.0 {
        return true;
    }
    let images = |(digest, manifest): (&Digest, &Manifest)| -> Vec<Digest> {
        match manifest {
            Manifest::Image(_) => vec![digest.clone()],
            Manifest::Index(index) => index
                .manifests
                .iter()
                .filter(|d| match (platform, &d.platform) {
                    (None, _) => true,
                    (Some(want), Some(have)) => want.compatible(have),
                    (Some(_), None) => false,
                })
                .map(|d| d.digest.clone())
                .collect(),
        }
    };
    let left = images(a);
    images(b).iter().any(|d| left.contains(d))
}

/// A document value that names its own media type, as [`Document`] records it.
///
/// Manifests and indexes say it in their `mediaType` field (or have the OCI type of
/// their kind); the other image-spec documents have one media type each.
pub trait Typed {
    /// The media type of the document as it stands.
    fn media_type(&self) -> MediaType;

    /// The subject the document refers to (a manifest's or an index's), if any.
    fn subject(&self) -> Option<&Descriptor> {
        None
    }
}

impl Typed for Manifest {
    fn media_type(&self) -> MediaType {
        Manifest::media_type(self)
    }

    fn subject(&self) -> Option<&Descriptor> {
        Manifest::subject(self)
    }
}

impl Typed for ImageManifest {
    fn media_type(&self) -> MediaType {
        self.media_type.clone().unwrap_or(MediaType::IMAGE_MANIFEST)
    }

    fn subject(&self) -> Option<&Descriptor> {
        self.subject.as_ref()
    }
}

impl Typed for ImageIndex {
    fn media_type(&self) -> MediaType {
        self.media_type.clone().unwrap_or(MediaType::IMAGE_INDEX)
    }

    fn subject(&self) -> Option<&Descriptor> {
        self.subject.as_ref()
    }
}

impl Typed for ImageConfig {
    /// [`MediaType::IMAGE_CONFIG`]; a Docker configuration is given its type with
    /// [`Document::with_media_type`].
    fn media_type(&self) -> MediaType {
        MediaType::IMAGE_CONFIG
    }
}

impl Typed for ImageLayout {
    fn media_type(&self) -> MediaType {
        MediaType::LAYOUT_HEADER
    }
}

impl Typed for Descriptor {
    fn media_type(&self) -> MediaType {
        MediaType::DESCRIPTOR
    }
}

/// A parsed document together with the exact bytes it was parsed from (or serialized
/// to), their media type and their digest: a digest is always computed over bytes that
/// were received or written, never over re-serialized JSON.
///
/// It is the one type for "a manifest as it travels": a registry client returns one
/// from a manifest GET and takes one for a PUT, an image layout writes and reads them,
/// so a manifest moves from any source to any destination with its bytes, digest and
/// media type unchanged. The parameter defaults to [`Manifest`] (any of the four
/// manifest types).
///
/// ```
/// use oci_spec_types::{Descriptor, Document, ImageManifest, Manifest, MediaType};
///
/// let bytes = br#"{ "schemaVersion": 2, "config": {"mediaType": "application/vnd.oci.empty.v1+json",
///     "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2}, "layers": [] }"#;
/// let doc = Document::<ImageManifest>::from_slice(bytes.to_vec())?;
/// assert_eq!(doc.bytes(), &bytes[..]); // white space and all
/// assert_eq!(doc.digest(), &oci_spec_types::Digest::sha256(bytes));
/// assert_eq!(doc.media_type(), &MediaType::IMAGE_MANIFEST);
/// assert_eq!(doc.config.size, 2); // derefs to the parsed manifest
///
/// // Built from a value: serialized once, its media type from the value.
/// let built = Document::new(ImageManifest::new(Descriptor::empty(), vec![]))?;
/// let any: Document = built.clone().into(); // any manifest type, same bytes
/// assert_eq!((any.digest(), any.descriptor().size), (built.digest(), built.size()));
/// assert!(matches!(any.value(), Manifest::Image(_)));
/// # Ok::<(), oci_spec_types::DocumentError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<T = Manifest> {
    value: T,
    bytes: Bytes,
    media_type: MediaType,
    digest: Digest,
}

impl<T: DeserializeOwned + Typed> Document<T> {
    /// Parses `bytes`, keeping them and their sha256 digest; the media type is the
    /// value's own ([`Typed`]).
    pub fn from_slice(bytes: impl Into<Bytes>) -> Result<Self, DocumentError> {
        let bytes = bytes.into();
        let value: T = serde_json::from_slice(&bytes).map_err(|e| {
            DocumentError::json(std::any::type_name::<T>().rsplit("::").next().unwrap_or("document"), e)
        })?;
        let digest = Digest::sha256(&bytes);
        let media_type = value.media_type();
        Ok(Self { value, bytes, media_type, digest })
    }
}

impl Document<Manifest> {
    /// Parses any manifest (see [`Manifest::from_slice`]), keeping its bytes and their
    /// sha256 digest. The media type is `content_type` when it names a manifest type
    /// (a registry's `Content-Type`, a descriptor's `mediaType`), else the document's
    /// `mediaType`, else the OCI type of its kind.
    ///
    /// ```
    /// use oci_spec_types::{Document, MediaType};
    ///
    /// let bare = br#"{"schemaVersion":2,"manifests":[]}"#;
    /// let doc = Document::manifest(&bare[..], Some(&MediaType::DOCKER_MANIFEST_LIST))?;
    /// assert_eq!(doc.media_type(), &MediaType::DOCKER_MANIFEST_LIST);
    /// let doc = Document::manifest(&bare[..], Some(&MediaType::JSON))?;
    /// assert_eq!(doc.media_type(), &MediaType::IMAGE_INDEX);
    /// # Ok::<(), oci_spec_types::DocumentError>(())
    /// ```
    pub fn manifest(
        bytes: impl Into<Bytes>,
        content_type: Option<&MediaType>,
    ) -> Result<Self, DocumentError> {
        let bytes = bytes.into();
        // A content type that names no manifest type (`application/json`) says nothing;
        // schema 1 is passed on so that it is refused as such.
        let hint = content_type.filter(|h| h.is_manifest() || h.essence().contains(".manifest.v1+"));
        let value = Manifest::from_slice(&bytes, hint)?;
        let digest = Digest::sha256(&bytes);
        let media_type = hint.map_or_else(|| value.media_type(), |h| MediaType::from(h.essence()));
        Ok(Self { value, bytes, media_type, digest })
    }
}

impl<T: Serialize + Typed> Document<T> {
    /// Serializes `value` once and keeps those bytes (compact JSON), their sha256
    /// digest and the value's media type.
    pub fn new(value: T) -> Result<Self, DocumentError> {
        let bytes = Bytes::from(serde_json::to_vec(&value).map_err(|e| DocumentError::json("document", e))?);
        let digest = Digest::sha256(&bytes);
        let media_type = value.media_type();
        Ok(Self { value, bytes, media_type, digest })
    }
}

impl<T> Document<T> {
    /// The parsed value.
    #[must_use]
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The exact bytes.
    #[must_use]
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The media type the document travels with.
    #[must_use]
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The digest of the bytes (sha256 unless [`with_digest_algorithm`](Self::with_digest_algorithm) chose another).
    #[must_use]
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The size of the bytes.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// A descriptor of the document: media type, digest, size.
    #[must_use]
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(self.media_type.clone(), self.digest.clone(), self.size())
    }

    /// The same document, travelling with another media type (a Docker configuration
    /// is `application/vnd.docker.container.image.v1+json`).
    #[must_use]
    pub fn with_media_type(mut self, media_type: MediaType) -> Self {
        self.media_type = media_type;
        self
    }

    /// The same document with its digest computed with `algorithm` (a registry or a
    /// descriptor that addresses it by sha512). Fails for an algorithm this build
    /// cannot compute.
    pub fn with_digest_algorithm(mut self, algorithm: &DigestAlgorithm) -> Result<Self, DigestError> {
        if &self.digest.algorithm() != algorithm {
            self.digest = Digest::compute(algorithm, &self.bytes)?;
        }
        Ok(self)
    }

    /// The value and the bytes.
    #[must_use]
    pub fn into_parts(self) -> (T, Bytes) {
        (self.value, self.bytes)
    }

    /// The same bytes, media type and digest with `f` applied to the value (to view an
    /// image manifest as any [`Manifest`], say).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Document<U> {
        Document { value: f(self.value), bytes: self.bytes, media_type: self.media_type, digest: self.digest }
    }
}

impl<T> Deref for Document<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl From<Document<ImageManifest>> for Document<Manifest> {
    fn from(doc: Document<ImageManifest>) -> Self {
        doc.map(Manifest::Image)
    }
}

impl From<Document<ImageIndex>> for Document<Manifest> {
    fn from(doc: Document<ImageIndex>) -> Self {
        doc.map(Manifest::Index)
    }
}

/// What went wrong with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentErrorKind {
    /// Not JSON, or JSON of the wrong shape or types.
    Json,
    /// A media type this crate does not parse as a manifest.
    UnsupportedMediaType,
    /// The content type and the document's `mediaType` disagree.
    MediaTypeMismatch,
}

/// A document that could not be parsed.
#[derive(Debug)]
pub struct DocumentError {
    kind: DocumentErrorKind,
    what: &'static str,
    detail: String,
    source: Option<serde_json::Error>,
}

impl DocumentError {
    pub(crate) fn json(what: &'static str, e: serde_json::Error) -> Self {
        Self { kind: DocumentErrorKind::Json, what, detail: e.to_string(), source: Some(e) }
    }

    fn unsupported(media_type: &MediaType) -> Self {
        Self {
            kind: DocumentErrorKind::UnsupportedMediaType,
            what: "manifest",
            detail: media_type.to_string(),
            source: None,
        }
    }

    /// What kind of problem this is.
    #[must_use]
    pub fn kind(&self) -> DocumentErrorKind {
        self.kind
    }
}

impl fmt::Display for DocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DocumentErrorKind::Json => write!(f, "invalid {}: {}", self.what, self.detail),
            DocumentErrorKind::UnsupportedMediaType => {
                write!(f, "unsupported {} media type {}", self.what, self.detail)
            }
            DocumentErrorKind::MediaTypeMismatch => {
                write!(f, "inconsistent {}: {}", self.what, self.detail)
            }
        }
    }
}

impl std::error::Error for DocumentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_comes_from_header_then_body_then_shape() {
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        assert!(matches!(Manifest::from_slice(image, None).unwrap(), Manifest::Image(_)));
        assert!(matches!(
            Manifest::from_slice(image, Some(&MediaType::DOCKER_MANIFEST)).unwrap(),
            Manifest::Image(_)
        ));
        let err = Manifest::from_slice(image, Some(&MediaType::IMAGE_INDEX)).unwrap_err();
        assert_eq!(err.kind(), DocumentErrorKind::Json, "{err}");
        let declared =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let err = Manifest::from_slice(declared, Some(&MediaType::IMAGE_MANIFEST)).unwrap_err();
        assert_eq!(err.kind(), DocumentErrorKind::MediaTypeMismatch);
        assert_eq!(
            err.to_string(),
            "inconsistent manifest: the content type says application/vnd.oci.image.manifest.v1+json but the document says application/vnd.oci.image.index.v1+json"
        );
        let json_header = Manifest::from_slice(declared, Some(&MediaType::JSON)).unwrap();
        assert_eq!(json_header.media_type(), MediaType::IMAGE_INDEX);
        let err = Manifest::from_slice(b"{", None).unwrap_err();
        assert!(err.to_string().starts_with("invalid manifest: EOF"), "{err}");
        let v1 = br#"{"schemaVersion":1,"name":"x","fsLayers":[]}"#;
        assert_eq!(
            Manifest::from_slice(v1, None).unwrap_err().kind(),
            DocumentErrorKind::UnsupportedMediaType
        );
    }
}
