//! An embedded OCI registry server for tests, conformance runs and `oci serve`.
//!
//! It serves every endpoint of the distribution-spec v1.1 on hyper, inside the
//! caller's tokio runtime, from a [`Storage`]: [`DiskStorage`], a directory of OCI
//! image layouts (one per repository, readable by skopeo and umoci once the server
//! stops), or [`MemoryStorage`] for tests. Nothing is global: two registries in one
//! process share nothing.
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

mod api;
mod body;
mod error;
mod expiry;
mod limits;
mod referrers;
mod server;
mod sessions;
mod state;
pub mod storage;
mod uploads;

pub use error::{Error, ErrorKind, Result};
pub use limits::Limits;
pub use server::{Registry, RegistryBuilder};
pub use storage::{DiskStorage, MemoryStorage, Storage};
