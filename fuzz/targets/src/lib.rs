//! Fuzz targets: every parser that reads outside input, as a function of bytes that
//! panics when one of the workspace's promises breaks (a panic in the parser itself, a
//! value that does not write back to itself, a server answer no correct registry gives).
//!
//! `fuzz/afl` runs them under AFL++ (`cargo xtask fuzz [TARGET] [--seconds N]`); the
//! fixture test of this crate replays the seeds of `fuzz/seeds/<target>/` and every
//! crash found, kept in `fuzz/fixtures/<target>/`, so that a crash stays fixed.
//!
//! ```
//! let target = oci_fuzz::target("digest").expect("a target of that name");
//! (target.run)(b"sha256:not-hex"); // a clean error, no panic
//! assert!(oci_fuzz::TARGETS.iter().any(|t| t.name == "server"));
//! ```

mod documents;
mod layouts;
mod server;
mod text;

/// One fuzz target.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its name (`cargo xtask fuzz NAME`, the directories of its seeds and fixtures).
    pub name: &'static str,
    /// What it reads.
    pub what: &'static str,
    /// Runs one input; panics when a promise breaks.
    pub run: fn(&[u8]),
    /// How long one input may take before it counts as a hang, in milliseconds.
    pub timeout_ms: u32,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "reference",
        what: "image references, both grammars",
        run: text::reference,
        timeout_ms: 1000,
    },
    Target { name: "digest", what: "digests, lenient and strict", run: text::digest, timeout_ms: 1000 },
    Target { name: "media-type", what: "media types", run: text::media_type, timeout_ms: 1000 },
    Target {
        name: "www-authenticate",
        what: "WWW-Authenticate challenges",
        run: text::www_authenticate,
        timeout_ms: 1000,
    },
    Target { name: "link", what: "Link headers and the next page", run: text::link, timeout_ms: 1000 },
    Target { name: "retry-after", what: "Retry-After values", run: text::retry_after, timeout_ms: 1000 },
    Target {
        name: "content-range",
        what: "Content-Range values",
        run: text::content_range,
        timeout_ms: 1000,
    },
    Target {
        name: "manifest",
        what: "manifest, index and config JSON",
        run: documents::manifest,
        timeout_ms: 1000,
    },
    Target {
        name: "referrers-fallback",
        what: "the referrers fallback index",
        run: documents::referrers_fallback,
        timeout_ms: 1000,
    },
    Target {
        name: "auth-config",
        what: "docker config.json and podman auth.json",
        run: documents::auth_config,
        timeout_ms: 1000,
    },
    Target { name: "tar", what: "the tar layout reader", run: layouts::tar, timeout_ms: 2000 },
    Target { name: "layout", what: "the directory layout reader", run: layouts::directory, timeout_ms: 2000 },
    Target {
        name: "server",
        what: "request sequences against the embedded registry",
        run: server::run,
        timeout_ms: 5000,
    },
    Target {
        name: "server-stateful",
        what: "request sequences against one embedded registry for every input",
        run: server::run_stateful,
        timeout_ms: 5000,
    },
];

/// The target called `name`.
#[must_use]
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
