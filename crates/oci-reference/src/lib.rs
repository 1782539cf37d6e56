//! A grammar-exact parser for image references.
//!
//! The parser lands with its own issue; until then the crate only marks its place in
//! the workspace's layering.
