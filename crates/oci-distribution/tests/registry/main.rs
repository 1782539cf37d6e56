//! End-to-end tests of the client against the real distribution registry, in each of
//! the configurations `cargo xtask test` (or `cargo xtask peers`) starts: plain HTTP,
//! htpasswd basic auth, bearer tokens from the test issuer, and TLS with a test CA.
//!
//! The registries are found through `OCI_TEST_REGISTRY_*` variables. The tests that
//! need them are `#[ignore]`d, so a plain `cargo test` reports them as ignored, never as
//! passed; `cargo xtask test` starts the registries and runs them
//! (`--include-ignored`), and without the variables they fail.

mod blobs;
mod common;
mod defaults;
mod manifests;
mod paved_path;
mod retries;
