//! A registry client for the OCI distribution spec, built on hyper and rustls.
//!
//! The client (auth, every endpoint, retries, verified streaming) lands with its own
//! issue; until then the crate only marks its place in the workspace's layering.
