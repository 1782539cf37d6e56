//! What the workspace's tests share: a scripted HTTP server that answers with a
//! handler and records every request ([`scripted`]), a proxy in front of a real
//! registry that refuses requests as a registry under load does ([`front`]), a TCP
//! relay that counts what it carries and cuts the line ([`relay`]), and
//! deterministic content: a seeded generator, tar layers and gzip ([`fixtures`]), the
//! certificates of a test run ([`pki`]), and the warnings code logs ([`logs`]).
//!
//! It depends on no crate of the workspace, so that any of them can use it as a
//! dev-dependency; tests never include another crate's sources.
//!
//! ```
//! use oci_test_support::scripted::{Reply, Scripted};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let server = Scripted::start(|seen| match seen.target.as_str() {
//!     "/v2/" => Reply::new(200, "{}").header("docker-distribution-api-version", "registry/2.0"),
//!     _ => Reply::new(404, ""),
//! })
//! .await;
//! assert!(server.url("/v2/").starts_with("http://127.0.0.1:"));
//! assert!(server.requests().is_empty());
//! # }
//! ```
//!
//! # Features
//! None; it is `publish = false`.
//!
//! # Errors
//! The helpers panic on setup failures (a port that cannot be bound): they are for
//! tests, where a panic is a failing test with its message.

pub mod fixtures;
pub mod front;
pub mod logs;
pub mod peers;
pub mod pki;
pub mod relay;
pub mod scripted;
