//! The OCI toolkit facade: one dependency for references, types, the registry client
//! and image layouts, plus copying between any two locations.
//!
//! Today it re-exports the finished crates; the copy engine lands with its own issue.

pub use oci_spec_types as spec;
pub use oci_spec_types::{Digest, MediaType};
