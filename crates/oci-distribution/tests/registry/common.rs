//! Finding the test registries and building a client for each.

use oci_distribution::auth::AuthConfig;
use oci_distribution::auth::credentials::{Credential, StaticCredentials};
use oci_distribution::{Client, TransportConfig};
use oci_reference::{Reference, Repository};

/// One running registry and a client configured for it.
pub(crate) struct Target {
    /// `plain`, `basic`, `token` or `tls` (distribution), or `embedded` (the workspace's
    /// own registry, plain HTTP).
    pub(crate) name: &'static str,
    /// `host:port` of the registry.
    pub(crate) host: String,
    /// A client with the credentials and CA this registry needs.
    pub(crate) client: Client,
    /// Whether it implements what distribution 2.8 lacks: the referrers API, a blob
    /// in a single `POST`, a mount without `from`.
    pub(crate) full_spec: bool,
}

impl Target {
    /// A reference to `repository[:tag|@digest]` on this registry, strictly parsed.
    pub(crate) fn reference(&self, rest: &str) -> Reference {
        Reference::parse_strict(&format!("{}/{rest}", self.host)).expect("a valid test reference")
    }

    /// The repository `name` on this registry.
    pub(crate) fn repo(&self, name: &str) -> Repository {
        Repository::parse_strict(&format!("{}/{name}", self.host)).expect("a valid test repository")
    }

    /// `scheme://host:port` of the registry, as the client's messages name it.
    pub(crate) fn origin(&self) -> String {
        let scheme = if self.name == "tls" { "https" } else { "http" };
        format!("{scheme}://{}", self.host)
    }

    /// A repository name unique to this test run and `test`.
    #[allow(clippy::unused_self)] // `target.repository(..)` reads as the per-target helper it is
    pub(crate) fn repository(&self, test: &str) -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        format!("e2e/{test}-{}-{n}", std::process::id())
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Every test registry; panics when one is not configured (the tests that call this are
/// ignored unless asked for, as `cargo xtask test` does after starting them).
pub(crate) fn targets(test: &str) -> Vec<Target> {
    let mut out = Vec::new();
    for (name, var) in [
        ("plain", "OCI_TEST_REGISTRY_PLAIN"),
        ("basic", "OCI_TEST_REGISTRY_BASIC"),
        ("token", "OCI_TEST_REGISTRY_TOKEN"),
        ("tls", "OCI_TEST_REGISTRY_TLS"),
        ("embedded", "OCI_TEST_REGISTRY_EMBEDDED"),
    ] {
        let Some(url) = env(var) else {
            panic!("{test}: {var} is not set (run under `cargo xtask test`, or `cargo xtask peers`)");
        };
        let host = url.split_once("://").map_or(url.as_str(), |(_, h)| h).trim_end_matches('/').to_owned();
        // The registries are on loopback: the client finds the TLS one speaks TLS.
        let mut transport = TransportConfig::default();
        if let Some(ca) = env("OCI_TEST_CA_FILE") {
            transport = transport.with_ca_file(ca);
        }
        let mut credentials = StaticCredentials::new();
        if let (Some(user), Some(password), false) =
            (env("OCI_TEST_USERNAME"), env("OCI_TEST_PASSWORD"), name == "embedded")
        {
            credentials.insert(&host, Credential::basic(user, password));
        }
        let client = Client::builder()
            .transport(transport)
            .auth(AuthConfig::anonymous().with_credentials(credentials))
            .build()
            .expect("a client for the test registry");
        out.push(Target { name, host, client, full_spec: name == "embedded" });
    }
    out
}

/// The test registries without the referrers API, where the client's fallback tag is
/// what a referrers test exercises.
pub(crate) fn targets_without_referrers_api(test: &str) -> Vec<Target> {
    targets(test).into_iter().filter(|t| !t.full_spec).collect()
}
