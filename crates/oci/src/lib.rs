//! The OCI toolkit in one dependency: references, the image-spec and distribution-spec
//! types, the registry client and image layouts, each re-exported whole as a module,
//! with the types of the paved path at the top, and [`copy`]: whole images and indexes
//! between any two [`Location`]s (registries, layout directories, layout tars).
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`spec`] | `oci-spec-types` | documents, [`Digest`], [`MediaType`], platforms, validation |
//! | [`reference`](mod@reference) | `oci-reference` | [`Reference`], [`Repository`], [`Registry`], Docker Hub rules |
//! | [`distribution`] | `oci-distribution` | the registry client ([`Client`]) |
//! | [`layout`] | `oci-layout` | image layouts as a directory or a tar file ([`Layout`]) |
//! | `registry` (feature) | `oci-registry` | the embedded registry server |
//!
//! A pull into a layout, and a copy from one registry to another (here the embedded
//! registry stands for both; any registry works the same way):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let registry = oci_registry::Registry::builder().bind("127.0.0.1:0").await?;
//! # let host = registry.host();
//! # let dir = tempfile::tempdir()?;
//! # let seed = oci::Layout::init_dir(dir.path().join("seed"))?;
//! # let config = seed.add_blob(&b"{}"[..], oci::MediaType::EMPTY)?;
//! # let layer = seed.add_blob(&b"a layer"[..], oci::MediaType::LAYER_TAR)?;
//! # let image = oci::Document::new(oci::spec::ImageManifest::new(config, vec![layer]))?;
//! # seed.tag("1.0", seed.write_document(&image)?)?;
//! # let seed = format!("oci:{}:1.0", dir.path().join("seed").display()).parse()?;
//! # oci::copy(&seed, &format!("docker://{host}/team/app:1.0").parse()?, Default::default()).await?;
//! use oci::{CopyOptions, Location};
//!
//! // A pull: registry -> layout directory, every blob verified as it arrives.
//! let src: Location = format!("docker://{host}/team/app:1.0").parse()?;
//! let dst: Location = format!("oci:{}:1.0", dir.path().join("app").display()).parse()?;
//! let pulled = oci::copy(&src, &dst, CopyOptions::default()).await?;
//! println!("{} ({} bytes)", pulled.destination.digest, pulled.bytes_copied);
//!
//! // Registry -> registry: streamed through, the same digests at the other end (inside
//! // one registry, blobs are mounted instead).
//! let mirror: Location = format!("docker://{host}/mirror/app:1.0").parse()?;
//! let copied = oci::copy(&src, &mirror, CopyOptions::default().with_jobs(8)).await?;
//! assert_eq!(copied.destination.digest, pulled.destination.digest);
//! assert_eq!(copied.blobs_mounted, 2);
//!
//! // Run again, nothing moves.
//! let again = oci::copy(&src, &dst, CopyOptions::default()).await?;
//! assert_eq!((again.bytes_copied, again.manifests_copied), (0, 0));
//! # Ok(()) }
//! ```
//!
//! The building blocks stay at hand:
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
//! # Policies chosen here
//! The libraries leave some choices to their users; the facade makes them: the client
//! of [`Client::builder`] (rustls with ring, the system's root certificates, the
//! docker/podman credentials, retries), and [`DEFAULT_JOBS`] concurrent requests per
//! host for a copy.
//!
//! # Features
//! - `distribution` (default): the registry client as [`distribution`], with its
//!   default TLS setup (ring, the system's roots);
//! - `layout` (default): image layouts as [`layout`], with their async API;
//! - with both: [`copy`], [`Location`] and their types;
//! - `registry`: the embedded registry server as `oci::registry`.
//!
//! `spec` and `reference` are always there.
//!
//! # Errors
//! Each module keeps its crate's errors: [`reference::Error`] (with the byte where a
//! reference broke), [`distribution::Error`] (with the registry's answer) and
//! [`layout::Error`] (with the file and digest). A copy's [`Error`] says what it was
//! doing and carries the error of the crate below as its source.

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
mod docker_archive;
#[cfg(all(feature = "distribution", feature = "layout"))]
mod error;
#[cfg(all(feature = "distribution", feature = "layout"))]
mod location;

#[cfg(all(feature = "distribution", feature = "layout"))]
pub use copy::{
    CopyEvent, CopyOptions, CopyReport, DEFAULT_JOBS, Fetched, ProgressFn, copy, fetch_blob, fetch_manifest,
};
#[cfg(all(feature = "distribution", feature = "layout"))]
pub use error::{Error, ErrorKind, Result};
#[cfg(all(feature = "distribution", feature = "layout"))]
pub use location::{DEFAULT_TAG, LayoutRef, Location};
