//! A registry client for the OCI distribution spec, built on hyper 1 and rustls.
//!
//! The client is being built in layers: the error type and request bodies are here;
//! the transport, authentication and endpoints follow.

pub mod auth;
mod body;
mod client;
mod error;
mod exchange;
#[allow(dead_code)] // `Link` pagination, used by the tag and catalog endpoints as they land
mod link;
mod retry;
pub mod transport;
mod url;

pub use body::Body;
pub use client::{Client, ClientBuilder, ClientOptions};
pub use error::{Error, ErrorKind, Result};
pub use retry::RetryPolicy;
pub use transport::{ProxyConfig, TransportConfig};
