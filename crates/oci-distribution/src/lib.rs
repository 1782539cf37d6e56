//! A registry client for the OCI distribution spec, built on hyper 1, hyper-util and
//! rustls.
//!
//! One [`Client`] talks to any OCI registry: it pings, reads and writes manifests (the
//! four types, with their exact bytes and digest), streams blobs with their size and
//! digest verified while streaming (resuming with `Range` after a dropped
//! connection), uploads in every form the spec allows (POST+PUT, single POST, chunked
//! `PATCH` requests with `416` recovery, streamed, cross-repository mount), lists tags and the
//! catalog page by page, and finds referrers through the API or the fallback tag.
//! Every request goes through one pipeline: authorization (anonymous, basic, bearer
//! tokens cached per scope), retries of idempotent requests within a time limit (a
//! registry that asks for a pause with `429` or `Retry-After` gets it from every request
//! of the client, not only the one it answered), redirects without leaking credentials
//! to another origin, and one re-authentication after a `401`.
//!
//! ```no_run
//! use oci_distribution::{Client, ListOptions, PullOptions};
//! use oci_reference::Reference;
//!
//! # async fn pull() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder().build()?; // credentials from the docker/podman config
//! let image: Reference = "ghcr.io/org/app:1.2".parse()?;
//! let manifest = client.get_manifest(&image).await?; // bytes, media type, digest, parsed
//! println!("{} {}", manifest.digest, manifest.media_type);
//! let tags = client.tags(&image, ListOptions::all_pages()).await?;
//! println!("{} tags", tags.tags.len());
//! if let oci_spec_types::Manifest::Image(m) = &manifest.manifest {
//!     let mut blob = client.get_blob(&image, &m.layers[0], PullOptions::default()).await?;
//!     while let Some(chunk) = blob.next_chunk().await? {
//!         // the last chunk only arrives once the digest matched
//!         let _ = chunk;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Errors keep what the registry said and classify it:
//!
//! ```
//! use oci_distribution::{Client, ErrorKind, RetryPolicy};
//! use oci_reference::Reference;
//!
//! let client = Client::builder().retry(RetryPolicy::none()).build()?;
//! let nothing = Reference::parse_strict("127.0.0.1:9/nothing/here:latest")?;
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let err = runtime.block_on(client.get_manifest(&nothing)).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Connect);
//! assert!(err.is_transient() && err.status().is_none());
//! assert!(err.to_string().starts_with("connection failed: GET http://127.0.0.1:9/v2/nothing/here/manifests/latest"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//! The crate takes its TLS policy as configuration ([`TransportConfig::tls`], CA
//! bundles, client certificates). Two features let the caller choose defaults instead:
//! - `ring`: use ring as the rustls crypto provider when none is installed
//!   process-wide;
//! - `native-roots`: trust the system's root certificates when no TLS configuration is
//!   given.
//!
//! Plain HTTP is used only for hosts configured so, and by default for loopback hosts.
//!
//! # Errors
//! Every operation returns [`Error`]: an [`ErrorKind`] (connection, timeout, registry
//! status, invalid response, digest or size mismatch, auth, credentials, ...), the
//! HTTP [`status`](Error::status), every entry of the registry's `errors[]` body
//! ([`registry_errors`](Error::registry_errors)), and classifications such as
//! [`is_unknown_resource`](Error::is_unknown_resource),
//! [`is_unauthorized`](Error::is_unauthorized), [`is_denied`](Error::is_denied) and
//! [`is_transient`](Error::is_transient). Errors of the libraries underneath are only
//! reachable as [`source`](std::error::Error::source).

mod api;
pub mod auth;
mod body;
mod cache;
mod client;
mod error;
mod exchange;
mod link;
mod progress;
mod retry;
pub mod transport;
mod url;

pub use api::blobs::{BlobStream, PullOptions};
pub use api::upload::{
    BlobContent, DEFAULT_MOUNT_CHECK_MAX_SIZE, MountOutcome, PushOptions, PushOutcome, UploadPolicy,
    UploadStats,
};
pub use api::{CatalogOptions, FallbackPolicy, ListOptions, ManifestResponse, ReferrersOptions, TagsOptions};
pub use body::Body;
pub use cache::CacheStats;
pub use client::{Client, ClientBuilder, ClientOptions};
pub use error::{Error, ErrorKind, Result};
pub use progress::Progress;
pub use retry::RetryPolicy;
pub use transport::{ProxyConfig, ResponseBody, TransportConfig};

/// Re-exported so callers of [`Client::execute`] need no direct dependency on `http`.
pub use http;
