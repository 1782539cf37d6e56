//! End-to-end tests of the client against the real distribution registry, in each of
//! the configurations `cargo xtask test` (or `cargo xtask peers`) starts: plain HTTP,
//! htpasswd basic auth, bearer tokens from the test issuer, and TLS with a test CA.
//!
//! The registries are found through `OCI_TEST_REGISTRY_*` variables. Without them the
//! tests say they were skipped and pass, unless `OCI_REQUIRE_PEERS=1` (set by
//! `cargo xtask test`) makes a missing registry a failure.

mod blobs;
mod common;
mod defaults;
mod manifests;
mod retries;
