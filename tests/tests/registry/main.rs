//! End-to-end tests of the client, and of the facade's copy, against real registries: the workspace's own
//! (started by each test in its runtime), and the real distribution registry in each of
//! the configurations `cargo xtask test` (or `cargo xtask peers`) starts: plain HTTP,
//! htpasswd basic auth, bearer tokens from the test issuer, and TLS with a test CA.
//!
//! The distribution registries are found through `OCI_TEST_REGISTRY_*` variables; a
//! plain `cargo test` runs against the embedded registry alone, and `cargo xtask test`
//! requires them all (`OCI_TEST_REQUIRE_PEERS`). Tests that need distribution itself
//! (its lack of the referrers API, its TLS setup) are `#[ignore]`d, so a plain
//! `cargo test` reports them as ignored, never as passed; `cargo xtask test` runs them
//! (`--include-ignored`), and without the variables they fail.

mod blobs;
mod common;
mod copy;
mod copy_interop;
mod copy_resume;
mod defaults;
mod manifests;
mod paved_path;
mod retries;
