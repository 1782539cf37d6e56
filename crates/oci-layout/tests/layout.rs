//! Integration tests of `oci-layout`: layouts written, read back, edited, corrupted and
//! checked, in both drivers; archives built to attack the reader; the async API. The
//! conformance vectors of `image_layout_cases.json` run in `cargo xtask conformance
//! layout`.

// Helpers panic like the tests they serve: a panic is a failing test with its message.
#![allow(clippy::unwrap_used)]

mod common;

#[path = "layout/async_api.rs"]
mod async_api;
#[path = "layout/bad_layouts.rs"]
mod bad_layouts;
#[path = "layout/corruption.rs"]
mod corruption;
#[path = "layout/index_ops.rs"]
mod index_ops;
#[path = "layout/round_trip.rs"]
mod round_trip;
#[path = "layout/tar_safety.rs"]
mod tar_safety;
#[path = "layout/tar_writes.rs"]
mod tar_writes;
#[path = "layout/writers.rs"]
mod writers;
