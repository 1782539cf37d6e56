//! The `oci` command-line tool: copy, inspect and serve OCI images and artifacts.
//!
//! The commands land with their own issue; until then the crate only marks its place
//! in the workspace's layering.
