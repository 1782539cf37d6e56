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
//! The paved path: a client with every default (TLS with the system's roots, the
//! docker/podman credentials, retries), pushing an image and reading it back. It needs
//! a registry, so it is compiled here, not run; `tests/registry/paved_path.rs` runs the
//! same steps against the registries `cargo xtask test` starts:
//!
//! ```no_run
//! use oci_distribution::{Client, ListOptions, PullOptions, PushOptions};
//! use oci_reference::Reference;
//! use oci_spec_types::{Descriptor, Document, ImageConfig, ImageManifest, MediaType, Platform};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?;
//! # let registry = url.trim_start_matches("http://").trim_end_matches('/');
//! let client = Client::builder().build()?;
//! let image: Reference = format!("{registry}/docs/hello:1.0").parse()?;
//! let repository = image.repository();
//!
//! // Push a layer, a configuration and the manifest that names them.
//! let layer = b"pretend this is a tar".to_vec();
//! let layer_descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR, &layer);
//! client.push_blob(&repository, &layer_descriptor, layer.clone(), PushOptions::default()).await?;
//! let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>()?))?;
//! client.push_blob(&repository, &config.descriptor(), config.bytes().clone(), PushOptions::default()).await?;
//! let manifest = Document::new(ImageManifest::new(config.descriptor(), vec![layer_descriptor.clone()]))?;
//! client.put_manifest(&image, &manifest).await?;
//!
//! // Read it back: the same bytes and digest, the tag, the layer verified as it streams.
//! let got = client.get_manifest(&image).await?;           // bytes, media type, digest, parsed
//! assert_eq!((got.digest(), got.media_type()), (manifest.digest(), &MediaType::IMAGE_MANIFEST));
//! let tags = client.tags(&repository, ListOptions::all_pages()).await?;
//! assert!(tags.tags.iter().any(|t| t == "1.0"));
//! let blob = client.get_blob(&repository, &layer_descriptor, PullOptions::default()).await?;
//! assert_eq!(blob.bytes(1 << 20).await?, layer);             // handed out once the digest matched
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
//! The default features make a client that reaches HTTPS registries out of the box:
//! - `ring` (default): ring as the rustls crypto provider when none is installed
//!   process-wide;
//! - `native-roots` (default): the system's root certificates (with `SSL_CERT_FILE` and
//!   `SSL_CERT_DIR` honored), besides any CA bundle given.
//!
//! With `default-features = false`, bring the TLS policy as configuration
//! ([`TransportConfig::tls`], CA bundles, client certificates).
//! [`ClientBuilder::build`] fails at once, with an error of kind
//! [`Config`](ErrorKind::Config) saying what is missing, when no TLS setup can be made,
//! rather than every request failing later.
//!
//! `unstable-internals` makes the `auth::challenge` and `auth::scope` modules public, and
//! adds `internals` (the parsers of `Link`, `Content-Range`, `Retry-After` and the
//! referrers fallback), for the project's conformance suite and fuzz targets, with no
//! stability promise.
//!
//! Plain HTTP is used for the hosts configured so
//! ([`TransportConfig::plain_http_hosts`]); a loopback host (`localhost`, `127.0.0.1`,
//! `[::1]`) is tried over HTTPS first and spoken to over plain HTTP when it does not
//! answer a TLS handshake, once per host and client.
//!
//! # Errors
//! Every operation returns [`Error`]: an [`ErrorKind`] (connection, timeout, registry
//! status, invalid response, digest or size mismatch, auth, credentials, ...), the
//! HTTP [`status`](Error::status), every entry of the registry's `errors[]` body
//! ([`registry_errors`](Error::registry_errors)), and classifications such as
//! [`is_unknown_resource`](Error::is_unknown_resource),
//! [`is_unauthorized`](Error::is_unauthorized), [`is_denied`](Error::is_denied) and
//! [`is_transient`](Error::is_transient). Errors of the libraries underneath are only
//! reachable as [`source`](std::error::Error::source), and `Display` writes the error's
//! own description without them, so that reporters (anyhow, eyre) print each cause once.
//!
//! # Limits
//! A registry decides what it sends; these bound what it can make the client hold or
//! wait for. Past one, an operation fails with an error of kind
//! [`Limit`](ErrorKind::Limit) (or [`Timeout`](ErrorKind::Timeout)) that names the
//! setting, rather than cutting a result short. No real registry comes near the
//! defaults.
//!
//! | What | Default | Setting |
//! |---|---|---|
//! | a manifest | 4 MiB | [`ClientOptions::max_manifest_bytes`] |
//! | one page of tags, catalog or referrers | 4 MiB | [`ClientOptions::max_list_bytes`] |
//! | pages of one listing | 1000 | [`ClientOptions::max_pages`] |
//! | bytes of one listing, all pages | 64 MiB | [`ClientOptions::max_list_total_bytes`] |
//! | entries of one listing, all pages | 1 000 000 | [`ClientOptions::max_list_entries`] |
//! | waiting for a response's headers (token servers too), from the request's last progress | 60 s | [`TransportConfig::response_timeout`] |
//! | a body that delivers nothing | 60 s | [`TransportConfig::stall_timeout`] |
//! | connecting, proxy tunnel and TLS included | 30 s | [`TransportConfig::connect_timeout`] |
//! | redirects of one GET or HEAD | 10 | fixed |
//!
//! A listing also refuses a `rel="next"` link to a page it has read (a loop), and logs
//! one warning per page for entries it drops (`null`, invalid). A push buffers at most
//! 64 MiB per chunk, whatever `OCI-Chunk-Min-Length` asks: a registry that wants chunks
//! larger than that gets the stream in one `PATCH`. A resumed download or upload checks
//! the registry's ranges with checked arithmetic.
//!
//! # Where a registry may send the client
//! Every URL a registry hands out is judged before it is requested. Upload `Location`s
//! and `Link` pages must stay on the registry's own origin. Redirects, token realms and
//! the token server's own redirects follow one policy:
//! - never from `https` to plain `http`, at any hop;
//! - the registry's own host, any port, always;
//! - a loopback, private, link-local or shared address (`127.0.0.0/8`, `10.0.0.0/8`,
//!   `169.254.0.0/16`, `fc00::/7`, ...) only when the registry is on one itself, or when
//!   [`TransportConfig::allow_private_targets`] is set (default: `false`). The address
//!   the connection reached is what is checked, so `127.1`, `2130706433`, `0x7f.1` and
//!   names that resolve inside the network are refused too (through an HTTP proxy or
//!   `socks5h://`, which resolve names themselves, only the spelling can be).
//!
//! A refused target is an error of kind [`InvalidResponse`](ErrorKind::InvalidResponse)
//! (for realms, [`Auth`](ErrorKind::Auth)) that says why, and is not retried.
//! `Authorization` is dropped from a redirect that leaves the registry's origin, and a
//! `401` from where it led is not answered with the registry's credentials. No
//! credential (password, identity or refresh token, stored registry token) goes over
//! plain HTTP to a host that is not loopback unless
//! [`AuthConfig::allow_plain_http_credentials`](auth::AuthConfig::allow_plain_http_credentials) allows it, and Basic
//! credentials found for `registry/namespace` go only with requests for that
//! namespace. URLs in logs and errors have their credentials and signature parameters
//! replaced.

mod api;
pub mod auth;
mod body;
mod client;
mod clock;
mod error;
mod exchange;
#[cfg(feature = "unstable-internals")]
pub mod internals;
mod link;
mod progress;
mod response_cache;
mod retry;
mod targets;
pub mod transport;
mod url;

pub use api::blobs::{BlobStream, PullOptions};
pub use api::upload::{
    DEFAULT_MOUNT_CHECK_MAX_SIZE, MountOutcome, PushOptions, PushOutcome, UploadPolicy, UploadStats,
};
pub use api::{FallbackPolicy, ListOptions, ReferrersOptions};
pub use body::Body;
pub use client::{Client, ClientBuilder, ClientOptions};
pub use error::{Error, ErrorKind, Result};
pub use progress::Progress;
pub use response_cache::CacheStats;
pub use retry::RetryPolicy;
pub use transport::{ProxyConfig, ResponseBody, TransportConfig};

/// Re-exported so callers of [`Client::execute`] need no direct dependency on `http`.
pub use http;
