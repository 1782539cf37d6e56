//! A registry client for the OCI distribution spec, built on hyper 1 and rustls.
//!
//! The client is being built in layers: the error type and request bodies are here;
//! the transport, authentication and endpoints follow.

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
pub use api::upload::{BlobContent, MountOutcome, PushOptions, PushOutcome, UploadPolicy, UploadStats};
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
