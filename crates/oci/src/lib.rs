//! The OCI toolkit in one dependency: references, the image-spec and distribution-spec
//! types, the registry client and image layouts, each re-exported whole as a module,
//! with the types of the paved path at the top.
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`spec`] | `oci-spec-types` | documents, [`Digest`], [`MediaType`], platforms, validation |
//! | [`reference`](mod@reference) | `oci-reference` | [`Reference`], [`Repository`], [`Registry`], Docker Hub rules |
//! | [`distribution`] | `oci-distribution` | the registry client ([`Client`]) |
//! | [`layout`] | `oci-layout` | image layouts as a directory or a tar file ([`Layout`]) |
//!
//! ```
//! use oci::{Document, Layout, Reference};
//! use oci::spec::{ImageManifest, MediaType};
//!
//! // What `docker pull` means by a name, fully qualified: what the client takes.
//! let image: Reference = "nginx:1.27".parse()?;
//! assert_eq!((image.domain(), image.path()), ("docker.io", "library/nginx"));
//!
//! // A layout on disk, with a manifest stored as its exact bytes.
//! let dir = tempfile::tempdir()?;
//! let layout = Layout::init_dir(dir.path().join("out"))?;
//! let config = layout.add_blob(&b"{}"[..], MediaType::EMPTY)?;
//! let manifest = Document::new(ImageManifest::new(config, vec![]))?;
//! layout.tag("1.27", layout.write_document(&manifest)?)?;
//! assert_eq!(layout.read_manifest(&layout.resolve("1.27")?)?.digest(), manifest.digest());
//!
//! // A client with TLS, the docker/podman credentials and retries, ready for any registry.
//! let client = oci::Client::builder().build()?;
//! # let _ = client;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//! - `distribution` (default): the registry client as [`distribution`], with its
//!   default TLS setup (ring, the system's roots);
//! - `layout` (default): image layouts as [`layout`], with their async API.
//!
//! `spec` and `reference` are always there.
//!
//! # Errors
//! Each module keeps its crate's errors: [`reference::Error`] (with the byte where a
//! reference broke), [`distribution::Error`] (with the registry's answer) and
//! [`layout::Error`] (with the file and digest).

pub use oci_reference as reference;
pub use oci_spec_types as spec;

#[cfg(feature = "distribution")]
pub use oci_distribution as distribution;
#[cfg(feature = "layout")]
pub use oci_layout as layout;

pub use oci_reference::{Reference, Registry, Repository};
pub use oci_spec_types::{Descriptor, Digest, Document, Manifest, MediaType, Platform};

#[cfg(feature = "distribution")]
pub use oci_distribution::Client;
#[cfg(feature = "layout")]
pub use oci_layout::Layout;

#[cfg(feature = "registry")]
pub use oci_registry as registry;

#[cfg(all(feature = "distribution", feature = "layout"))]
mod copy;
#[cfg(all(feature = "distribution", feature = "layout"))]
mod error;
#[cfg(all(feature = "distribution", feature = "layout"))]
mod location;

#[cfg(all(feature = "distribution", feature = "layout"))]
pub use copy::{CopyEvent, CopyOptions, CopyReport, DEFAULT_JOBS, ProgressFn, copy};
#[cfg(all(feature = "distribution", feature = "layout"))]
pub use error::{Error, ErrorKind, Result};
#[cfg(all(feature = "distribution", feature = "layout"))]
pub use location::{DEFAULT_TAG, LayoutRef, Location};
