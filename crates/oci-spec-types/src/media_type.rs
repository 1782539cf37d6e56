//! Media types: an open vocabulary with the OCI and Docker ones as constants.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A media type such as `application/vnd.oci.image.manifest.v1+json`.
///
/// The vocabulary is open (like `http::Method`): documents in the wild carry any
/// string, so deserialization keeps whatever it finds, and [`MediaType::is_valid`] tells
/// whether it matches the RFC 6838 grammar the image-spec schema asks for. Parsing with
/// [`FromStr`] refuses strings that do not.
///
/// ```
/// use oci_spec_types::MediaType;
///
/// let mt: MediaType = "application/vnd.oci.image.manifest.v1+json".parse()?;
/// assert_eq!(mt, MediaType::IMAGE_MANIFEST);
/// assert!(mt.is_manifest());
/// let header = MediaType::from("application/vnd.docker.distribution.manifest.v2+json; charset=utf-8");
/// assert_eq!(header.essence(), MediaType::DOCKER_MANIFEST.as_str());
/// assert!("application".parse::<MediaType>().is_err());
/// # Ok::<(), oci_spec_types::MediaTypeError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaType(Cow<'static, str>);

macro_rules! media_types {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        impl MediaType {
            $($(#[$doc])* pub const $name: Self = Self(Cow::Borrowed($value));)*
        }
    };
}

media_types! {
    /// An OCI content descriptor.
    DESCRIPTOR = "application/vnd.oci.descriptor.v1+json";
    /// The `oci-layout` file of an image layout.
    LAYOUT_HEADER = "application/vnd.oci.layout.header.v1+json";
    /// An OCI image manifest.
    IMAGE_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    /// An OCI image index.
    IMAGE_INDEX = "application/vnd.oci.image.index.v1+json";
    /// An OCI image configuration.
    IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json";
    /// The empty JSON document `{}` used as a placeholder config or layer.
    EMPTY = "application/vnd.oci.empty.v1+json";
    /// An uncompressed OCI layer.
    LAYER_TAR = "application/vnd.oci.image.layer.v1.tar";
    /// A gzip-compressed OCI layer.
    LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// A zstd-compressed OCI layer.
    LAYER_TAR_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// An uncompressed non-distributable OCI layer (deprecated by the image-spec).
    LAYER_NONDISTRIBUTABLE_TAR = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    /// A gzip-compressed non-distributable OCI layer (deprecated by the image-spec).
    LAYER_NONDISTRIBUTABLE_TAR_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    /// A zstd-compressed non-distributable OCI layer (deprecated by the image-spec).
    LAYER_NONDISTRIBUTABLE_TAR_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
    /// A Docker image manifest, schema 2.
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    /// A Docker manifest list.
    DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// A Docker schema 1 manifest (read-only legacy).
    DOCKER_MANIFEST_V1 = "application/vnd.docker.distribution.manifest.v1+json";
    /// A signed Docker schema 1 manifest (read-only legacy).
    DOCKER_MANIFEST_V1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    /// A Docker image configuration.
    DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
    /// A gzip-compressed Docker layer.
    DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// A Docker layer to be fetched from its `urls` (foreign layer).
    DOCKER_FOREIGN_LAYER_GZIP = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    /// A Docker plugin configuration.
    DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json";
    /// Arbitrary bytes.
    OCTET_STREAM = "application/octet-stream";
    /// Plain JSON (registries answer errors and lists with it).
    JSON = "application/json";
}

/// The manifest media types a client accepts, most specific first.
pub const MANIFEST_ACCEPT: [MediaType; 4] = [
    MediaType::IMAGE_MANIFEST,
    MediaType::IMAGE_INDEX,
    MediaType::DOCKER_MANIFEST,
    MediaType::DOCKER_MANIFEST_LIST,
];

impl MediaType {
    /// The media type as written, parameters included.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The type and subtype without parameters or surrounding white space
    /// (`application/json; charset=utf-8` -> `application/json`).
    #[must_use]
    pub fn essence(&self) -> &str {
        self.0.split(';').next().unwrap_or_default().trim()
    }

    /// Whether the essence matches `other`'s essence, ignoring ASCII case.
    #[must_use]
    pub fn matches(&self, other: &MediaType) -> bool {
        self.essence().eq_ignore_ascii_case(other.essence())
    }

    /// Whether the media type matches the image-spec grammar:
    /// `^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$`.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        is_valid_media_type(&self.0)
    }

    /// An OCI image manifest or a Docker schema 2 manifest.
    #[must_use]
    pub fn is_image_manifest(&self) -> bool {
        self.matches(&Self::IMAGE_MANIFEST) || self.matches(&Self::DOCKER_MANIFEST)
    }

    /// An OCI image index or a Docker manifest list.
    #[must_use]
    pub fn is_index(&self) -> bool {
        self.matches(&Self::IMAGE_INDEX) || self.matches(&Self::DOCKER_MANIFEST_LIST)
    }

    /// Any of the four manifest types a registry serves (OCI and Docker, image and index).
    #[must_use]
    pub fn is_manifest(&self) -> bool {
        self.is_image_manifest() || self.is_index()
    }

    /// A Docker (not OCI) media type.
    #[must_use]
    pub fn is_docker(&self) -> bool {
        self.essence().starts_with("application/vnd.docker.")
    }

    /// A layer media type (OCI or Docker, any compression).
    #[must_use]
    pub fn is_layer(&self) -> bool {
        let e = self.essence();
        e.starts_with("application/vnd.oci.image.layer.")
            || e.starts_with("application/vnd.docker.image.rootfs.")
    }
}

fn is_valid_media_type(s: &str) -> bool {
    media_type_problem(s).is_none()
}

/// What is wrong with `s` as a media type, if anything.
fn media_type_problem(s: &str) -> Option<MediaTypeErrorKind> {
    fn part(p: &str) -> bool {
        let b = p.as_bytes();
        (1..=127).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b[1..].iter().all(|&c| c.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&c))
    }
    match s.split_once('/') {
        None => Some(MediaTypeErrorKind::MissingSlash),
        Some((t, _)) if !part(t) => Some(MediaTypeErrorKind::Type),
        Some((_, st)) if !part(st) => Some(MediaTypeErrorKind::Subtype),
        Some(_) => None,
    }
}

/// A string that is not a media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaTypeError {
    input: String,
    kind: MediaTypeErrorKind,
}

/// Which part of a media type is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaTypeErrorKind {
    /// There is no `/` between type and subtype.
    MissingSlash,
    /// The type, before the `/`.
    Type,
    /// The subtype, after the `/`.
    Subtype,
}

impl MediaTypeError {
    /// Which part is wrong.
    #[must_use]
    pub fn kind(&self) -> MediaTypeErrorKind {
        self.kind
    }
}

impl fmt::Display for MediaTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid media type {:?}: expected type/subtype, each 1 to 127 of [A-Za-z0-9!#$&^_.+-] starting with a letter or digit",
            self.input
        )
    }
}

impl std::error::Error for MediaTypeError {}

impl FromStr for MediaType {
    type Err = MediaTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match media_type_problem(s) {
            None => Ok(Self::from(s)),
            Some(kind) => Err(MediaTypeError { input: s.to_owned(), kind }),
        }
    }
}

impl From<&str> for MediaType {
    /// Keeps any string, as a header or document carried it (see [`MediaType::is_valid`]).
    fn from(s: &str) -> Self {
        Self(Cow::Owned(s.to_owned()))
    }
}

impl From<String> for MediaType {
    /// Keeps any string, as a header or document carried it (see [`MediaType::is_valid`]).
    fn from(s: String) -> Self {
        Self(Cow::Owned(s))
    }
}

impl AsRef<str> for MediaType {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for MediaType {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for MediaType {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaType({})", self.0)
    }
}

impl serde::Serialize for MediaType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for MediaType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_matches_the_schema_pattern() {
        let long = "1".repeat(127);
        for (s, ok) in [
            ("application/json", true),
            ("a/b", true),
            (&format!("{long}/{long}") as &str, true),
            (&format!("1{long}/bar"), false),
            (&format!("foo/1{long}"), false),
            ("application", false),
            (".foo/bar", false),
            ("foo/.bar", false),
            ("", false),
            ("a/b/c", false),
            ("application/json; charset=utf-8", false),
        ] {
            assert_eq!(s.parse::<MediaType>().is_ok(), ok, "{s:?}");
        }
        for (s, kind) in [
            ("application", MediaTypeErrorKind::MissingSlash),
            (".foo/bar", MediaTypeErrorKind::Type),
            ("application/json; charset=utf-8", MediaTypeErrorKind::Subtype),
        ] {
            assert_eq!(s.parse::<MediaType>().unwrap_err().kind(), kind, "{s:?}");
        }
    }

    #[test]
    fn classification() {
        assert!(MediaType::DOCKER_MANIFEST_LIST.is_index());
        assert!(MediaType::DOCKER_MANIFEST_LIST.is_docker());
        assert!(!MediaType::IMAGE_CONFIG.is_manifest());
        assert!(MediaType::LAYER_TAR_ZSTD.is_layer());
        assert!(MediaType::from("Application/VND.OCI.image.index.v1+json").is_index());
        assert_eq!(
            "x".parse::<MediaType>().unwrap_err().to_string(),
            "invalid media type \"x\": expected type/subtype, each 1 to 127 of [A-Za-z0-9!#$&^_.+-] starting with a letter or digit"
        );
    }
}
