//! OCI image layouts on disk, as a directory or as one tar file.
//!
//! An [image layout](https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
//! is an `oci-layout` file, an `index.json` image index whose descriptors carry the tags
//! (`org.opencontainers.image.ref.name`), and content-addressed blobs under
//! `blobs/<algorithm>/<encoded>`. [`Layout`] holds every operation on one; a
//! [`Driver`] stores it: [`Directory`] (files on disk, every write atomic) or [`Tar`]
//! (one archive, as `skopeo`'s `oci-archive:` and `docker save` write them; indexed once,
//! blobs served by offset, edits committed as a new archive). Both interoperate with
//! skopeo and umoci in either direction.
//!
//! ```
//! use std::io::Read as _;
//! use oci_layout::{Layout, Tar};
//! use oci_spec_types::{Descriptor, Document, ImageConfig, ImageManifest, MediaType, Platform};
//!
//! let dir = tempfile::tempdir()?;
//! let layout = Layout::init_dir(dir.path().join("image"))?;
//!
//! // Blobs stream in through a fixed buffer, hashed as they are written.
//! let layer = layout.add_blob(std::io::repeat(7).take(1 << 20), MediaType::LAYER_TAR)?;
//! // Documents are stored as the exact bytes they carry, with their own media type.
//! let config = layout.write_document(&Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>()?))?)?;
//! let manifest = layout.write_document(&Document::new(ImageManifest::new(config, vec![layer]))?)?;
//! layout.tag("1.0", manifest.clone())?;
//!
//! // The same layout as one archive, then read back: same tags, same digests.
//! Tar::export(&layout, dir.path().join("image.tar"))?;
//! let archive = Layout::open_tar(dir.path().join("image.tar"))?;
//! assert_eq!(archive.resolve("1.0")?.digest, manifest.digest);
//! let report = archive.fsck()?;
//! assert!(report.is_ok(), "{:?}", report.findings);
//! assert_eq!(report.blobs_verified, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it guarantees
//! - Nothing half-written is ever visible. A blob is written to a temporary file
//!   (`.tmp-*`, skipped by readers) and renamed into place only after
//!   [`BlobWriter::commit`] checked its size and digest; `index.json` and `oci-layout`
//!   are replaced the same way; a tar layout's changes go to a temporary archive
//!   beside it, which [`Layout::commit`] puts in place of the old one at once. Two
//!   writers of one blob both succeed with one copy stored.
//! - **A tar layout must be committed**: dropped with changes never committed, it
//!   discards them and logs a warning (`tracing`) naming the archive;
//!   [`Layout::has_uncommitted_changes`] says whether a commit is due. A directory's
//!   changes are visible at once.
//! - No blob is ever held whole in memory: reads and writes stream through fixed
//!   buffers (256 KiB). [`Layout::read_blob`] exists for manifests and configs.
//! - Digests are computed over the bytes stored (unless the caller checks them itself
//!   while streaming, as a registry client does for a download, and asks for a writer
//!   [`without_hashing`](BlobWriter::without_hashing)); [`Layout::blob_reader`] checks
//!   them again as it reads.
//! - Unknown files in a layout and unknown media types in `index.json` are tolerated,
//!   as the image-spec asks; a `docker save` archive (`manifest.json` beside
//!   `index.json`) reads as a layout.
//! - A crafted layout cannot make a reader hold or follow more than it should: root
//!   files (`index.json`, `oci-layout`) are read up to 64 MiB and opened without
//!   following symbolic links or blocking on a FIFO; manifests are parsed up to
//!   16 MiB; a symbolic link in place of a blob file, of `blobs/` or of
//!   `blobs/<algorithm>/` is refused, as is a tar extension header (GNU long name,
//!   PAX) over 1 MiB. Each is an error that names the file and the limit.
//!
//! # Async use
//! The core is blocking `std::fs` I/O: files on local disks gain nothing from an async
//! reactor, and tokio's own `fs` runs every call on its blocking pool. The boundary is
//! therefore explicit: with the `tokio` feature, `AsyncLayout` has an async twin of
//! every operation of [`Layout`], each run through `spawn_blocking`, blob content
//! going in as an `AsyncRead`, and
//! `AsyncBlobWriter` takes a registry response chunk by chunk
//! (`AsyncBlobWriter::write_chunk`) over a bounded channel to a blocking thread that
//! hashes and writes, so the runtime never waits on the disk and a pull pipelines
//! network and disk (`AsyncLayout::blob_writer_without_hashing` for a download the
//! client verifies: one hash per byte, written as it comes). `AsyncBlobReader` streams
//! the other way and is a `tokio::io::AsyncRead`. Without the feature, call the
//! blocking API from `tokio::task::spawn_blocking` yourself.
//!
//! # Features
//! - `tokio` (off by default): `AsyncLayout`, `AsyncBlobWriter`, `AsyncBlobReader`.
//!   Default features are none.
//!
//! # Errors
//! Every fallible operation returns [`Error`]: a [`kind`](Error::kind)
//! ([`ErrorKind`], `#[non_exhaustive]`) and the context that locates it, the
//! [`path`](Error::path) of the layout or file and the [`digest`](Error::digest) of the
//! blob; I/O and JSON errors are its [`source`](std::error::Error::source). Bad layouts
//! are named precisely: [`ErrorKind::NotALayout`] (no `oci-layout`),
//! [`ErrorKind::InvalidLayoutFile`], [`ErrorKind::UnsupportedLayoutVersion`],
//! [`ErrorKind::InvalidIndex`] (missing or not an image index),
//! [`ErrorKind::InvalidBlobPath`]; content that does not match is
//! [`ErrorKind::UnexpectedSize`] or [`ErrorKind::UnexpectedDigest`]; archives that
//! must not be trusted are [`ErrorKind::UnsafeEntry`], [`ErrorKind::DuplicateEntry`],
//! [`ErrorKind::TruncatedArchive`]. [`Layout::fsck`] does not stop at the first
//! problem: it returns a [`FsckReport`] of [`Finding`]s.

mod archive;
mod atomic;
mod blob_writer;
mod directory;
mod driver;
mod error;
mod fsck;
mod gc;
mod graph;
mod layout;
mod partial;
mod paths;
mod pipeline;
pub mod ref_name;
mod verify;

#[cfg(feature = "tokio")]
mod asynchronous;

pub use archive::Tar;
#[cfg(feature = "tokio")]
pub use asynchronous::{AsyncBlobReader, AsyncBlobWriter, AsyncLayout};
pub use blob_writer::{BlobSink, BlobWriter};
pub use directory::{Directory, WriteOptions};
pub use driver::{BlobListing, BlobReader, Driver, IndexLock};
pub use error::{Error, ErrorKind, Result};
pub use fsck::{Finding, FindingKind, FsckReport, Severity};
pub use gc::GcReport;
pub use layout::Layout;
pub use paths::{BLOBS_DIR, LayoutFile, blob_path};
pub use verify::VerifiedReader;
