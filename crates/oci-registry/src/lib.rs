//! An embedded OCI registry server for tests, conformance runs and `oci serve`.
//!
//! It serves every endpoint of the distribution-spec v1.1 on hyper (HTTP/1.1 and
//! HTTP/2, plain or TLS), inside the caller's tokio runtime, from a [`Storage`]:
//! [`DiskStorage`], a directory of OCI image layouts (one per repository, readable by
//! skopeo and umoci once the server stops), or [`MemoryStorage`] for tests. Nothing is
//! global: two registries in one process share nothing. It is a single-node tool;
//! at scale, run distribution, zot or Harbor.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use oci_registry::{MemoryStorage, Registry};
//!
//! let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await?;
//! println!("serving at {}", registry.url());
//! registry.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! A layout a user already has (a tar as skopeo's `oci-archive:` writes it, or a
//! directory) can be served read-only as one repository with [`ReadOnlyLayout`],
//! left byte for byte as it is; writes get 405 `UNSUPPORTED`.
//!
//! # What it serves
//! - Blobs: `GET` (with `Range`: 206 and `Content-Range`, 416 when unsatisfiable),
//!   `HEAD`, `DELETE`. Uploads in every form: a single `POST ?digest=`, `POST` then
//!   `PUT`, chunked `PATCH` with `Content-Range` (416 and the session's `Range` when a
//!   chunk is out of order), streamed `PATCH`, status (`GET`) and cancel (`DELETE`);
//!   `OCI-Chunk-Min-Length` is advertised. Mounts with `from` (201, or a session when
//!   the source lacks the blob) and without (found wherever the store holds it).
//! - Manifests by tag or digest (sha256, sha512), OCI and Docker media types,
//!   stored and served as the exact bytes pushed. A `PUT` is checked before it is
//!   stored: its size against [`Limits::max_manifest_bytes`] (`Content-Length` first),
//!   well-formed JSON of the declared media type, the digest of the URL, every blob of
//!   an image and every child of an index present in the repository
//!   (`MANIFEST_BLOB_UNKNOWN`; layers with `urls` are exempt, and [`Sparse`] lets
//!   indexes, or all manifests, name content the repository lacks). `?tag=` adds tags
//!   (answered with `OCI-Tag`), a `subject` is answered with `OCI-Subject`.
//! - Tags and catalog, sorted, paged with `n` and `last` and `Link: <…>; rel="next"`.
//! - Referrers, indexed as manifests with a `subject` are stored (never found by
//!   reading every manifest per request), with `artifactType` and annotations lifted
//!   and `?artifactType=` answered with `OCI-Filters-Applied`.
//! - Refusals carry the spec's JSON error body and code. Repository names are checked
//!   with the distribution grammar before any path is built (`..`, `%2e`, upper case,
//!   a name over 255 bytes, and the layout's own names `blobs`, `index.json`,
//!   `oci-layout` below the first component answer `NAME_INVALID`).
//!
//! # Storage on disk
//! ```text
//! DIR/<repository>/          an OCI image layout (oci-layout, index.json, blobs/)
//! DIR/.oci-registry/blobs/   one copy of every uploaded blob; repositories hard-link it
//! DIR/.oci-registry/uploads/ upload sessions: <id>/data and <id>/repository
//! ```
//! Tags are `org.opencontainers.image.ref.name` entries of each layout's `index.json`,
//! beside one untagged entry per manifest, so a manifest stays reachable by digest when
//! its tags go. Blobs are stored once: an upload lands in the shared content store and
//! each repository that has it holds a hard link to that file (a mount is one more
//! link), so the layouts stay plain layouts that other tools read, with no pointer
//! files of ours inside them; where the file system cannot link, the blob is copied.
//! Nothing is read up front: a repository's layout is opened on first use.
//!
//! Uploads are staged outside every layout and hashed in one pass as the bytes arrive,
//! on a blocking thread, in constant memory; they become a blob only once their size
//! and digest are checked. A digest of another algorithm than sha256 (the one hashed
//! as bytes arrive) is computed by reading the staged bytes once at the end, and so is
//! the digest of a session resumed after a restart. A session's state is its files:
//! after a restart `GET` on its URL answers its `Range` and `PATCH` resumes it. Sessions
//! idle for [`Limits::upload_idle_expiry`] are removed with their bytes.
//!
//! **Durability.** With `fsync` on ([`DiskStorage::open`]), a `201` means the blob's file
//! was flushed, renamed into place and its directory flushed, and a manifest `PUT`'s
//! bytes and `index.json` likewise; every file appears whole or not at all (temporary
//! file and rename), so a crash never leaves a partial blob visible. Tests turn it off.
//!
//! **Concurrency.** `index.json` updates are serialized per repository and written
//! atomically (the last tag `PUT` wins, no tag is lost); blobs need no lock (the same
//! digest renamed or linked twice is the same content); an upload session's requests
//! are serialized by a lock of their own. There is no lock over the whole store.
//!
//! **Garbage collection** runs online ([`Registry::gc`], or
//! [`RegistryBuilder::gc_every`]): blobs no manifest of their repository reaches, then
//! stored copies no repository links, and on request untagged manifests nothing names.
//! A grace period and the repository lock together keep it from removing a blob a push
//! is about to reference (see [`gc`]).
//!
//! # Auth and TLS
//! [`Auth`]: none; Basic against an htpasswd file (bcrypt); or bearer tokens from the
//! registry's own `/token` (`GET` with Basic credentials or anonymous, and the `OAuth2`
//! `POST` with `password` and `refresh_token` grants), ES256 JWTs it signs with a key
//! made at start, scopes enforced per repository and action (`pull`, `push`, `delete`,
//! and `registry:catalog:*` for the catalog), expiry honoured, and a `401` whose
//! `WWW-Authenticate` names the realm, service and scope to ask for. [`TlsConfig`]:
//! certificate and key from PEM; ALPN offers `h2` and `http/1.1`.
//!
//! # Limits
//! | What | Default | Answer past it | Setting |
//! |---|---|---|---|
//! | a blob, and the bytes of one upload session | 64 GiB | 413 `SIZE_INVALID` | [`Limits::max_blob_bytes`] |
//! | a manifest (`Content-Length` checked before the body is read) | 4 MiB | 413 `SIZE_INVALID` | [`Limits::max_manifest_bytes`] |
//! | open upload sessions of one repository | 256 | 429 `TOOMANYREQUESTS`, `Retry-After` | [`Limits::max_uploads_per_repository`] |
//! | open upload sessions in all | 4096 | 429 `TOOMANYREQUESTS`, `Retry-After` | [`Limits::max_uploads`] |
//! | an idle upload session | 1 hour | removed; then 404 `BLOB_UPLOAD_UNKNOWN` | [`Limits::upload_idle_expiry`] |
//! | entries of one page of tags or catalog (`n` is cut to it, with `Link`) | 10 000 | a shorter page | [`Limits::max_page_entries`] |
//! | entries of a page when the client gives no `n` | all, up to the above | a shorter page, with `Link` | [`Limits::default_page_entries`] |
//! | the request head | 64 KiB | 431 | [`Limits::max_header_bytes`] |
//! | a request that sends nothing (headers or body) | 60 s | the connection closes; a session keeps what it had | [`Limits::body_stall_timeout`] |
//!
//! A client that stalls mid-body holds no lock over the store and never a half-written
//! blob: its bytes stay in its session.

mod api;
pub mod auth;
mod body;
mod error;
mod expiry;
#[cfg(feature = "faults")]
pub mod faults;
pub mod gc;
mod limits;
mod referrers;
mod server;
mod sessions;
mod sparse;
mod state;
pub mod storage;
mod tls;
mod uploads;

pub use auth::Auth;
pub use error::{Error, ErrorKind, Result};
pub use gc::{GcOptions, GcReport};
pub use limits::Limits;
pub use server::{Registry, RegistryBuilder};
pub use sparse::Sparse;
pub use storage::{DiskStorage, MemoryStorage, ReadOnlyLayout, Storage};
pub use tls::TlsConfig;
