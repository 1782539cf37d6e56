//! An embedded OCI registry server for tests, conformance runs and `oci serve`.
//!
//! The server lands with its own issue; until then the crate only marks its place in
//! the workspace's layering.
