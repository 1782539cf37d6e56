//! Finding the test registries and building a client for each.

use oci_distribution::auth::AuthConfig;
use oci_distribution::auth::credentials::{Credential, StaticCredentials};
use std::sync::Arc;

use oci_distribution::{Client, TransportConfig};
use oci_reference::{Reference, Repository};
use oci_registry::{DiskStorage, Registry};

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
    /// The embedded registry this target is, kept running as long as the target.
    _embedded: Option<Arc<(Registry, tempfile::TempDir)>>,
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

/// Set by `cargo xtask test`: the distribution registries must be there.
const REQUIRE_PEERS: &str = "OCI_TEST_REQUIRE_PEERS";

/// The distribution registries `cargo xtask test` (or `cargo xtask peers`) started,
/// from their `OCI_TEST_REGISTRY_*` variables; none when they are not set, unless
/// [`REQUIRE_PEERS`] says they must be (then a missing one panics).
fn distribution_targets(test: &str) -> Vec<Target> {
    let mut out = Vec::new();
    for (name, var) in [
        ("plain", "OCI_TEST_REGISTRY_PLAIN"),
        ("basic", "OCI_TEST_REGISTRY_BASIC"),
        ("token", "OCI_TEST_REGISTRY_TOKEN"),
        ("tls", "OCI_TEST_REGISTRY_TLS"),
    ] {
        let Some(url) = env(var) else {
            assert!(
                env(REQUIRE_PEERS).is_none(),
                "{test}: {var} is not set, and {REQUIRE_PEERS} asks for it"
            );
            continue;
        };
        let host = url.split_once("://").map_or(url.as_str(), |(_, h)| h).trim_end_matches('/').to_owned();
        // The registries are on loopback: the client finds the TLS one speaks TLS.
        let mut transport = TransportConfig::default();
        if let Some(ca) = env("OCI_TEST_CA_FILE") {
            transport = transport.with_ca_file(ca);
        }
        let mut credentials = StaticCredentials::new();
        if let (Some(user), Some(password)) = (env("OCI_TEST_USERNAME"), env("OCI_TEST_PASSWORD")) {
            credentials.insert(&host, Credential::basic(user, password));
        }
        let client = Client::builder()
            .transport(transport)
            .auth(AuthConfig::anonymous().with_credentials(credentials))
            .build()
            .expect("a client for the test registry");
        out.push(Target { name, host, client, full_spec: false, _embedded: None });
    }
    out
}

/// The workspace's own registry, started for this test in its runtime (image layouts
/// in a temporary directory, plain HTTP on loopback).
async fn embedded() -> Target {
    let dir = tempfile::tempdir().expect("a directory for the embedded registry");
    let storage = DiskStorage::open(dir.path(), false).expect("the embedded registry's store");
    let registry =
        Registry::builder().storage(storage).bind("127.0.0.1:0").await.expect("the embedded registry");
    let client =
        Client::builder().auth(AuthConfig::anonymous()).build().expect("a client for the embedded registry");
    Target {
        name: "embedded",
        host: registry.host(),
        client,
        full_spec: true,
        _embedded: Some(Arc::new((registry, dir))),
    }
}

/// Every test registry: the distribution ones when they run (see
/// [`distribution_targets`]), and the embedded one always.
pub(crate) async fn targets(test: &str) -> Vec<Target> {
    let mut out = distribution_targets(test);
    out.push(embedded().await);
    out
}

/// The distribution registries: they lack the referrers API, so the client's fallback
/// tag is what a referrers test exercises there. The tests that call this are ignored
/// unless asked for, as `cargo xtask test` does after starting them.
pub(crate) fn targets_without_referrers_api(test: &str) -> Vec<Target> {
    let targets = distribution_targets(test);
    assert!(
        !targets.is_empty(),
        "{test}: no registry without the referrers API is configured (OCI_TEST_REGISTRY_*)"
    );
    targets
}
