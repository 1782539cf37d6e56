//! The `registry` suite: the distribution-spec conformance workflows of
//! `conformance_tests.json` (the current upstream suite, `v2`), run through our client
//! against a live registry.
//!
//! ```text
//! cargo xtask conformance registry --registry URL [--username U --password P] [--ca-file PATH]
//! ```
//!
//! An `http://` URL means plain HTTP, `https://` (or no scheme) TLS, trusting the
//! system's roots and `--ca-file`. Credentials default to `OCI_USERNAME` and
//! `OCI_PASSWORD`, as upstream's suite reads them; the CA file to `OCI_TEST_CA_FILE`.
//!
//! The tree is upstream's: `ping`; `empty/` (tag list and referrers of a new
//! repository); `blobs/<alg>/` for sha256 and sha512 (every upload form, mounts, range
//! requests, empty blobs, bad digests, each pushed blob's head, get and delete);
//! `data/<data set>/` (push, tag-list, head, pull, referrers, delete) for every data set
//! of [`data::all`]; `missing-manifest/` and `invalid-digest-format/`. Every node is a
//! [`Case`] named by its path (`blobs/sha256/chunked out-of-order`,
//! `data/Image/push/manifests`), grouped by subtree in the reports.
//!
//! Statuses follow upstream ([`status`]): a registry without an optional feature (the
//! referrers API, mounts, tag deletion, sha512 manifests...) gets `Skip` with the
//! reason, features upstream disables by default are skipped with "disabled by default,
//! as upstream", and a failure says what was sent and what came back; a registry's bug
//! fails, however well known. Every verdict is the registry's answer to one request
//! (the client sends it without retries; a 401 is answered with a token once, and GET
//! and HEAD follow redirects): manifests, tags, referrers and blob reads go raw (see
//! `raw`), so that nothing the client forgives or makes up for (a missing header, a
//! fallback tag, a download resumed) passes for the registry's answer.
//!
//! Each run uses new repositories (`conformance/<time>-<random>/repo1` and `repo2`) and
//! deletes what it pushed as it goes (upstream's delete checks), then whatever tags are
//! left.

mod blobs;
mod chunked;
mod content;
pub mod data;
mod datasets;
mod discovery;
mod management;
mod raw;
pub mod status;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use oci_distribution::auth::AuthConfig;
use oci_distribution::auth::credentials::{Credential, StaticCredentials};
use oci_distribution::{Client, ClientOptions, RetryPolicy, TransportConfig};
use oci_reference::{Reference, Repository};
use oci_spec_types::Digest;

use super::{Case, FileResult};
use crate::Result;
use content::Rng;
pub use status::{Status, Verdict};

/// The vector file the suite's workflows come from; reports name it.
pub const VECTOR_FILE: &str = "conformance_tests.json";

/// The registry under test and how to reach it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// `http://host:port` (plain HTTP), `https://host:port` or `host:port` (TLS).
    pub url: String,
    /// The user to log in as, if any.
    pub username: Option<String>,
    /// The user's password.
    pub password: Option<String>,
    /// A PEM file of CA certificates to trust besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The checks upstream runs only when asked, to run.
    pub optional: Optional,
}

/// The checks upstream disables by default, each run only when asked for (and otherwise
/// one skipped case, "disabled by default, as upstream").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Optional {
    /// "post cancel" (`OCI_API_BLOBS_UPLOAD_CANCEL`).
    pub upload_cancel: bool,
    /// The tag parameter data sets (`OCI_API_MANIFESTS_TAG_PARAM`).
    pub tag_param: bool,
    /// The sparse manifests data set (`OCI_DATA_SPARSE`).
    pub sparse: bool,
}

impl Optional {
    /// Everything: for a registry that implements every optional part.
    pub const ALL: Self = Self { upload_cancel: true, tag_param: true, sparse: true };

    /// From upstream's variables: each on when set to `1` or `true`.
    #[must_use]
    pub fn from_env() -> Self {
        let on = |name: &str| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
        Self {
            upload_cancel: on("OCI_API_BLOBS_UPLOAD_CANCEL"),
            tag_param: on("OCI_API_MANIFESTS_TAG_PARAM"),
            sparse: on("OCI_DATA_SPARSE"),
        }
    }
}

impl Target {
    /// A target at `url` with credentials and CA file from the arguments, else from
    /// `OCI_USERNAME`, `OCI_PASSWORD` and `OCI_TEST_CA_FILE`.
    #[must_use]
    pub fn with_env_defaults(
        url: &str,
        username: Option<String>,
        password: Option<String>,
        ca_file: Option<PathBuf>,
    ) -> Self {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            url: url.to_owned(),
            username: username.or_else(|| env("OCI_USERNAME")),
            password: password.or_else(|| env("OCI_PASSWORD")),
            ca_file: ca_file.or_else(|| env("OCI_TEST_CA_FILE").map(PathBuf::from)),
            optional: Optional::from_env(),
        }
    }

    /// `(plain HTTP, host[:port])` of the URL.
    pub fn endpoint(&self) -> Result<(bool, String)> {
        let url = self.url.trim().trim_end_matches('/');
        let (plain, host) = match url.split_once("://") {
            Some(("http", host)) => (true, host),
            Some(("https", host)) => (false, host),
            Some((scheme, _)) => return Err(format!("--registry {url}: unsupported scheme {scheme}")),
            None => (false, url),
        };
        if host.is_empty() || host.contains('/') {
            return Err(format!("--registry {url}: expected scheme://host[:port] without a path"));
        }
        Ok((plain, host.to_owned()))
    }

    /// The client the suite talks through: plain HTTP exactly when the URL says so,
    /// the credentials for the registry's host, no retries, no cache of responses and
    /// no referrers fallback tags written or cleaned up (every check judges the
    /// registry's one answer to a request of its own).
    pub fn client(&self) -> Result<Client> {
        let (plain, host) = self.endpoint()?;
        let mut transport = TransportConfig::default().with_plain_http_loopback(plain);
        if plain {
            transport = transport.with_plain_http_host(host.clone());
        }
        if let Some(ca) = &self.ca_file {
            transport = transport.with_ca_file(ca.clone());
        }
        let mut credentials = StaticCredentials::new();
        if let (Some(user), Some(password)) = (&self.username, &self.password) {
            credentials.insert(&host, Credential::basic(user.clone(), password.clone()));
        }
        // The user asked for credentials over the http:// URL they gave.
        let auth =
            AuthConfig::anonymous().with_credentials(credentials).with_allow_plain_http_credentials(plain);
        let mut options = ClientOptions::default();
        options.cache_bytes = 0;
        options.referrers_tag_writes = false;
        options.referrers_tag_gc = false;
        Client::builder()
            .transport(transport)
            .auth(auth)
            .retry(RetryPolicy::none())
            .options(options)
            .build()
            .map_err(|e| format!("building a client for {}: {e}", self.url))
    }
}

/// What every check needs: the client and the two repositories of this run.
#[derive(Debug)]
pub struct Ctx {
    /// The client under test.
    pub client: Client,
    /// The repository most content goes to.
    pub repo1: Repository,
    /// The source of mounts.
    pub repo2: Repository,
    /// The optional checks that run.
    pub optional: Optional,
}

#[cfg(test)]
impl Ctx {
    /// A context whose client talks to the scripted registry `server` the way the
    /// suite's does, with repositories `t/repo1` and `t/repo2`, no optional checks.
    pub(super) fn scripted(server: &oci_test_support::scripted::Scripted) -> Self {
        let target = Target { url: server.url(""), ..Target::default() };
        let repo = |name: &str| {
            Repository::parse_strict(&format!("{}/t/{name}", server.host())).expect("a test repository")
        };
        Self {
            client: target.client().expect("the suite's client"),
            repo1: repo("repo1"),
            repo2: repo("repo2"),
            optional: Optional::default(),
        }
    }
}

impl Ctx {
    /// `repository@digest`.
    pub fn at(repository: &Repository, digest: &Digest) -> std::result::Result<Reference, String> {
        repository.with_digest(digest).map_err(|e| format!("{repository}@{digest}: {e}"))
    }

    /// `repository:tag`.
    pub fn tagged(repository: &Repository, tag: &str) -> std::result::Result<Reference, String> {
        repository.with_tag(tag).map_err(|e| format!("{repository}:{tag}: {e}"))
    }
}

/// The cases of one subtree, as one group of the reports.
#[derive(Debug, Default)]
struct Group {
    cases: Vec<Case>,
    notes: BTreeMap<String, String>,
}

/// Collects the verdicts of a run as cases, grouped by subtree.
#[derive(Debug, Default)]
pub struct Recorder {
    groups: Vec<(String, Group)>,
}

impl Recorder {
    /// Records `verdict` as the case `<group>/<name>` (or `<group>` for an empty name).
    pub fn record(&mut self, group: &str, name: &str, verdict: &Verdict) {
        let full = if name.is_empty() { group.to_owned() } else { format!("{group}/{name}") };
        let (outcome, note) = verdict.outcome();
        let index = self.groups.iter().position(|(g, _)| g == group).unwrap_or_else(|| {
            self.groups.push((group.to_owned(), Group::default()));
            self.groups.len() - 1
        });
        let entry = &mut self.groups[index].1;
        if let Some(note) = note {
            entry.notes.insert(full.clone(), note);
        }
        entry.cases.push(Case { name: full, outcome });
    }

    /// The recorded cases as report groups (`registry/<subtree>`).
    fn into_results(self) -> Vec<FileResult> {
        self.groups
            .into_iter()
            .map(|(group, g)| FileResult {
                suite: "registry".to_owned(),
                file: group,
                file_name: VECTOR_FILE.to_owned(),
                cases: g.cases,
                notes: g.notes,
            })
            .collect()
    }
}

/// New repository names for this run: `conformance/<unix time>-<random>/repo1|repo2`.
fn repositories(host: &str) -> Result<(Repository, Repository)> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut rng = Rng::new(&format!("{}-{}-{host}", now.as_nanos(), std::process::id()));
    let base = format!("{host}/conformance/{}-{}", now.as_secs(), rng.hex(8));
    let parse = |name: &str| {
        Repository::parse_strict(&format!("{base}/{name}"))
            .map_err(|e| format!("repository {base}/{name}: {e}"))
    };
    Ok((parse("repo1")?, parse("repo2")?))
}

/// Whether `json` is the vector file of upstream's workflows, which this suite runs
/// against a registry (its `v2` tree with the data sets).
#[must_use]
pub fn detect(json: &serde_json::Value) -> bool {
    json.get("v2").and_then(|v2| v2.get("data_sets")).is_some_and(serde_json::Value::is_array)
}

/// Runs the whole tree against `target` and returns its cases, grouped by subtree.
pub fn run(target: &Target) -> Result<Vec<FileResult>> {
    let (_, host) = target.endpoint()?;
    let client = target.client()?;
    let (repo1, repo2) = repositories(&host)?;
    let ctx = Ctx { client, repo1, repo2, optional: target.optional };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting a runtime: {e}"))?;
    let who = target.username.as_deref().map_or("anonymously".to_owned(), |u| format!("as {u}"));
    println!(
        "registry: {} {who}, repositories {}/repo1 and repo2",
        target.url,
        ctx.repo1.path().trim_end_matches("/repo1")
    );
    let started = Instant::now();
    let mut recorder = Recorder::default();
    let outcome = catch_unwind(AssertUnwindSafe(|| runtime.block_on(suite(&ctx, &mut recorder))));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic payload".to_owned());
        recorder.record("suite", "", &Verdict::error(format!("the suite panicked: {message}")));
    }
    println!("registry: {} checked in {:.1}s", target.url, started.elapsed().as_secs_f64());
    Ok(recorder.into_results())
}

/// The tree, in upstream's order.
async fn suite(ctx: &Ctx, rec: &mut Recorder) {
    let ping = match ctx.client.ping(&ctx.repo1.registry()).await {
        Ok(()) => Verdict::pass(),
        Err(e) => Verdict::fail(format!("GET /v2/: {e}")),
    };
    rec.record("ping", "", &ping);
    let mut referrers = discovery::empty(ctx, rec).await;
    for algorithm in [oci_spec_types::DigestAlgorithm::SHA256, oci_spec_types::DigestAlgorithm::SHA512] {
        blobs::run(ctx, rec, &algorithm).await;
    }
    for set in data::all() {
        datasets::run(ctx, rec, &set, &mut referrers).await;
    }
    management::manifest_errors(ctx, rec).await;
    management::sweep(ctx).await;
}

#[cfg(test)]
mod verdict_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_schemes() {
        let target = |url: &str| Target { url: url.to_owned(), ..Target::default() };
        assert_eq!(target("http://127.0.0.1:5000/").endpoint(), Ok((true, "127.0.0.1:5000".to_owned())));
        assert_eq!(target("https://r.example").endpoint(), Ok((false, "r.example".to_owned())));
        assert_eq!(target("r.example:443").endpoint(), Ok((false, "r.example:443".to_owned())));
        assert!(target("ftp://r").endpoint().unwrap_err().contains("unsupported scheme ftp"));
        assert!(target("http://r/v2").endpoint().unwrap_err().contains("without a path"));
        assert!(target("http://r.example:5000").client().is_ok());
    }

    #[test]
    fn arguments_win_over_the_environment() {
        let t = Target::with_env_defaults("http://r", Some("u".into()), Some("p".into()), Some("/ca".into()));
        assert_eq!((t.username.as_deref(), t.password.as_deref()), (Some("u"), Some("p")));
        assert_eq!(t.ca_file, Some(PathBuf::from("/ca")));
    }

    #[test]
    fn repositories_are_new_per_run() {
        let (a1, a2) = repositories("127.0.0.1:5000").unwrap();
        let (b1, _) = repositories("127.0.0.1:5000").unwrap();
        assert!(a1.path().starts_with("conformance/") && a1.path().ends_with("/repo1"));
        assert_eq!(a1.path().trim_end_matches("repo1"), a2.path().trim_end_matches("repo2"));
        assert_ne!(a1, b1);
    }

    #[test]
    fn the_recorder_groups_cases_and_keeps_notes() {
        let mut rec = Recorder::default();
        rec.record("ping", "", &Verdict::pass());
        rec.record("blobs/sha256", "post only", &Verdict::skip("202"));
        rec.record("blobs/sha256", "post+put", &Verdict::pass_with_note("note"));
        let results = rec.into_results();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0].cases[0].name, "ping");
        assert_eq!(results[1].file, "blobs/sha256");
        assert_eq!(results[1].cases[1].name, "blobs/sha256/post+put");
        assert_eq!(results[1].notes.get("blobs/sha256/post+put").map(String::as_str), Some("note"));
        assert_eq!(results[1].file_name, VECTOR_FILE);
    }
}
