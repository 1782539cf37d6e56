//! OCI image-spec and distribution-spec types.
//!
//! Every document of image-spec v1.1 ([`Descriptor`], [`ImageManifest`],
//! [`ImageIndex`], [`ImageConfig`], [`ImageLayout`], [`Platform`]), the
//! distribution-spec bodies ([`TagList`], [`RepositoryList`], [`ErrorResponse`] with
//! its [`ErrorCode`] vocabulary), [`Digest`] exactly as go-digest, open [`MediaType`]
//! and [`Annotations`] vocabularies, and [`validate`](validate::validate), which
//! agrees with the image-spec's own validator.
//!
//! Documents have public fields and constructors; unknown JSON fields survive a round
//! trip (in each type's `extra`), annotations are ordered maps, and a [`Document`]
//! keeps the exact bytes a manifest came from, so digests are only ever computed over
//! bytes received or written.
//!
//! ```
//! use oci_spec_types::{Descriptor, Digest, Document, ImageConfig, ImageManifest, Manifest, MediaType, Platform};
//!
//! // Build an image: a config and one layer, each described by its bytes.
//! let config = ImageConfig::new(&"linux/amd64".parse::<Platform>()?);
//! let config_bytes = serde_json::to_vec(&config)?;
//! let layer = b"pretend this is a gzipped tar";
//! let manifest = ImageManifest::new(
//!     Descriptor::for_bytes(MediaType::IMAGE_CONFIG, &config_bytes),
//!     vec![Descriptor::for_bytes(MediaType::LAYER_TAR_GZIP, layer)],
//! );
//! let doc = Document::new(manifest)?;             // serialized once; digest over those bytes
//!
//! // Read it back the way a client does: bytes plus the Content-Type header.
//! let parsed = Document::manifest(doc.bytes().clone(), Some(&MediaType::IMAGE_MANIFEST))?;
//! assert_eq!(parsed.digest(), doc.digest());
//! let Manifest::Image(m) = parsed.value() else { unreachable!() };
//! assert!(m.layers[0].digest.verify(layer)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//! - `blake3`: compute and verify BLAKE3 digests. Without it they still parse and
//!   validate, but [`Digester::new`] refuses them.
//!
//! # Errors
//! Each parser has its own error type: [`DigestError`] (with go-digest's three kinds
//! and messages), [`MediaTypeError`], [`platform::PlatformError`], [`TimestampError`],
//! [`DocumentError`] (JSON that is not the document, or an unsupported manifest type)
//! and [`validate::ValidationError`] (every rule broken, with its JSON path).

pub mod annotations;
pub mod config;
pub mod descriptor;
pub mod digest;
pub mod distribution;
pub mod document;
pub mod index;
pub mod layout;
pub mod manifest;
pub mod media_type;
pub mod platform;
pub mod time;
pub mod validate;

pub use annotations::Annotations;
pub use config::{ExecConfig, History, ImageConfig, RootFs};
pub use descriptor::Descriptor;
pub use digest::{Digest, DigestAlgorithm, DigestError, DigestErrorKind, Digester, Verifier};
pub use distribution::{ErrorCode, ErrorInfo, ErrorResponse, RepositoryList, TagList};
pub use document::{Document, DocumentError, DocumentErrorKind, Manifest, Typed, manifests_maybe_equal};
pub use index::ImageIndex;
pub use layout::ImageLayout;
pub use manifest::ImageManifest;
pub use media_type::{MANIFEST_ACCEPT, MediaType, MediaTypeError, MediaTypeErrorKind};
pub use platform::{Platform, PlatformError, PlatformErrorKind};
pub use time::{Timestamp, TimestampError, TimestampErrorKind};

/// JSON fields a type does not define, kept in order for round trips.
pub type Extra = serde_json::Map<String, serde_json::Value>;
