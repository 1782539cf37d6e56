//! OCI image layouts on disk, as a directory or as one tar file.
//!
//! The drivers land with their own issue; until then the crate only marks its place
//! in the workspace's layering.
