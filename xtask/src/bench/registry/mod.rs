//! `cargo xtask bench registry [--registry URL]`: our client against the real
//! distribution registry on loopback, beside skopeo doing the same work in the same run
//! and a raw transfer of the same blobs (the limit).
//!
//! Without `--registry`, a plain-HTTP registry (Debian's `docker-registry`) is started in
//! `target/peers/bench-registry` ([`TestRegistries::start_plain`]) and removed afterwards;
//! it logs errors only (two log lines per request would cost it more CPU than serving a
//! 4 KiB blob, for every client alike). `docker-registry` (and, when it can be,
//! `skopeo`) is installed when missing; `bench copy` then runs every workload again
//! against the embedded registry, in its own process (`cargo xtask serve-registry`).
//! An `http://` URL (or a bare `host:port`) is a plain-HTTP registry, `https://` one
//! with TLS; credentials come from the docker and podman configuration files. The
//! workloads:
//!
//! 1. `registry-pull`: an image of 8 layers of 128 MiB (incompressible, typed
//!    tar+gzip), pushed once as setup, pulled into a new layout directory with every
//!    blob verified (`client::pull`); skopeo copies it to `oci:DIR:TAG`; the limit is
//!    the layers downloaded with no hashing and no disk (`client::raw_download`), and
//!    beside it the floor of any verifying client, the same download hashing what it
//!    receives (`hashing`).
//!    skopeo flushes every blob to disk (`fsync`) and our layout does not by default,
//!    so `registry-pull-fsync` is the same pull with a layout that flushes too.
//! 2. `registry-push`: the pulled layout pushed to a new repository
//!    (`client::push`); skopeo copies `oci:DIR:TAG` to another new repository; the
//!    limit is the layers' files uploaded with no hashing on our side
//!    (`client::raw_upload`; the registry still hashes what it receives), and the same
//!    upload hashing what it reads (`hashing`).
//! 3. `registry-small-push`, `registry-small-pull` and `registry-small-pull-fsync`: the
//!    same for an image of 200 layers of 4 KiB, timed in seconds.
//!
//! `cargo xtask bench registry-large` runs workloads 1 and 2 only, `registry-small`
//! workload 3 only.
//!
//! Every transfer goes to a new repository or directory, and skopeo gets an empty
//! blob-info cache each time (see the `skopeo` module), so nothing is skipped or mounted as
//! already there. Each workload runs `OCI_BENCH_ROUNDS` rounds (default 3), the order of
//! ours, skopeo's and the raw run rotating from round to round, with dirty pages flushed
//! (`sync`) before each; the best run of each is printed (the machine is shared: the
//! best is the least disturbed), every round on stderr. Ratios are ours against theirs
//! (above 1: we are faster) and ours against the limit (at most about 1). Peak memory is
//! this process's `VmHWM` during our runs (reset before each, so it includes what the
//! allocator kept from earlier phases), the largest over the rounds; skopeo runs in its
//! own process. Scratch data goes to `target/bench-registry-<pid>` and is deleted as it
//! goes.

mod cli;
mod client;
mod copies;
mod report;
pub mod server;
mod skopeo;
mod workloads;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oci_distribution::Client;
use oci_distribution::auth::AuthConfig;
use oci_distribution::transport::TransportConfig;
use oci_reference::Reference;
use oci_spec_types::Descriptor;
use oci_test_support::fixtures::Rng;
use tokio::runtime::Runtime;

use self::client::{LAYOUT_TAG, RawSource};
use self::report::{Cpu, Timed};
use super::layout::settle;
use super::{cpu_time, peak_memory_kib, reset_peak_memory};
use crate::peers::ensure_deb_packages;
use crate::registry::TestRegistries;
use crate::{Result, workspace};

/// Layers of the large image, and their size.
const LARGE_LAYERS: usize = 8;
const LARGE_LAYER_SIZE: usize = 128 * 1024 * 1024;
/// Layers of the small image, and their size.
const SMALL_LAYERS: usize = 200;
const SMALL_LAYER_SIZE: usize = 4 * 1024;
/// Blobs in flight for the large image, and for the small one.
const LARGE_CONCURRENCY: usize = 4;
const SMALL_CONCURRENCY: usize = 16;
/// The tag of the images in the registry.
const TAG: &str = "v1";

/// Which images a run transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// The large image, then the small one.
    Both,
    /// Only the large image (`registry-pull`, `registry-pull-fsync`, `registry-push`).
    Large,
    /// Only the small image (`registry-small-push`, `registry-small-pull`,
    /// `registry-small-pull-fsync`).
    Small,
    /// Both, then the copies of `bench copy` (the `copies` module).
    Copy,
    /// The `oci` binary against skopeo's (the `cli` module).
    Cli,
}

/// Runs the workload (the `parts` of it) against `registry` (a URL), or a registry
/// started for it: docker-registry, and for `bench copy` the embedded registry after it.
pub fn run(registry: Option<&str>, parts: Parts) -> Result<()> {
    if let Some(url) = registry {
        return run_against(Peer::given(url)?, parts);
    }
    run_against(Peer::start()?, parts)?;
    if parts == Parts::Copy {
        run_against(Peer::embedded()?, parts)?;
    }
    Ok(())
}

/// The workload against `peer`.
fn run_against(peer: Peer, parts: Parts) -> Result<()> {
    let scratch = Scratch::new()?;
    let has_skopeo = skopeo::available();
    if !has_skopeo {
        eprintln!("bench registry: skopeo is not installed; its figures are left out");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the tokio runtime: {e}"))?;
    let bench = Bench::new(&peer, &scratch.0, runtime, has_skopeo)?;
    let build = if cfg!(debug_assertions) { " (debug build, not representative)" } else { "" };
    println!(
        "bench registry: {} {} ({LARGE_LAYERS} x {} MiB at {LARGE_CONCURRENCY} at a time, \
         {SMALL_LAYERS} x {} KiB at {SMALL_CONCURRENCY}), best of {} rounds{build}",
        peer.kind,
        peer.url,
        LARGE_LAYER_SIZE >> 20,
        SMALL_LAYER_SIZE >> 10,
        bench.rounds
    );
    if matches!(parts, Parts::Both | Parts::Large | Parts::Copy) {
        bench.large()?;
    }
    if matches!(parts, Parts::Both | Parts::Small | Parts::Copy) {
        bench.small()?;
    }
    if parts == Parts::Copy {
        bench.copies()?;
    }
    if parts == Parts::Cli {
        bench.cli()?;
    }
    drop(bench);
    drop(scratch);
    drop(peer);
    Ok(())
}

/// The registry the bench talks to, and the server when the bench started it.
struct Peer {
    url: String,
    /// `host[:port]`, as references and skopeo name it.
    host: String,
    plain_http: bool,
    /// What it is, for the report.
    kind: &'static str,
    /// The registry the bench started and its work dir, removed when dropped.
    started: Option<Started>,
}

/// A registry the bench started: its process (stopped when dropped), and its work dir.
struct Started {
    _server: Box<dyn std::any::Any>,
    pid: u32,
    work_dir: PathBuf,
}

impl Peer {
    fn given(url: &str) -> Result<Self> {
        let (plain_http, rest) = match url.split_once("://") {
            Some(("http", rest)) => (true, rest),
            Some(("https", rest)) => (false, rest),
            Some((scheme, _)) => {
                return Err(format!("--registry {url}: scheme {scheme} is not http or https"));
            }
            None => (true, url),
        };
        let host = rest.trim_end_matches('/').to_owned();
        if host.is_empty() || host.contains('/') {
            return Err(format!("--registry {url}: expected a URL like http://127.0.0.1:5000"));
        }
        Ok(Self { url: url.to_owned(), host, plain_http, kind: "the registry at", started: None })
    }

    fn start() -> Result<Self> {
        ensure_deb_packages(&["docker-registry"])?;
        if let Err(e) = ensure_deb_packages(&["skopeo"]) {
            eprintln!("bench registry: skopeo could not be installed: {e}");
        }
        let work_dir = workspace::target_dir().join("peers").join("bench-registry");
        let (url, server) = TestRegistries::start_plain(&work_dir)?;
        let mut peer = Self::given(&url)?;
        peer.kind = "docker-registry";
        peer.started = Some(Started { pid: server.id(), _server: Box::new(server), work_dir });
        Ok(peer)
    }

    /// The embedded registry, in its own process (`cargo xtask serve-registry`), over a
    /// new store in `target/peers/bench-embedded`.
    fn embedded() -> Result<Self> {
        let work_dir = workspace::target_dir().join("peers").join("bench-embedded");
        let _ = std::fs::remove_dir_all(&work_dir);
        let store = work_dir.join("store");
        std::fs::create_dir_all(&store).map_err(|e| format!("{}: {e}", store.display()))?;
        let (server, host, _) = server::start_embedded(&store)?;
        let mut peer = Self::given(&format!("http://{host}"))?;
        peer.kind = "the embedded registry";
        peer.started = Some(Started { pid: server.id(), _server: Box::new(server), work_dir });
        Ok(peer)
    }

    fn client(&self) -> Result<Client> {
        let mut transport = TransportConfig::default();
        if self.plain_http {
            transport = transport.with_plain_http_host(self.host.clone());
        }
        Client::builder()
            .transport(transport)
            .auth(AuthConfig::from_env())
            .build()
            .map_err(|e| format!("building the client: {e}"))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(started) = self.started.take() {
            let work_dir = started.work_dir.clone();
            drop(started);
            let _ = std::fs::remove_dir_all(work_dir);
        }
    }
}

/// What every workload needs.
struct Bench {
    client: Client,
    runtime: Runtime,
    host: String,
    /// Repositories are `<prefix>/<name>`, new for each transfer.
    prefix: String,
    scratch: PathBuf,
    skopeo: bool,
    rounds: usize,
    /// The registry's process, when the bench started it (its CPU time is reported).
    registry_pid: Option<u32>,
}

impl Bench {
    fn new(peer: &Peer, scratch: &Path, runtime: Runtime, skopeo: bool) -> Result<Self> {
        let rounds = match std::env::var("OCI_BENCH_ROUNDS") {
            Ok(n) => n.parse().map_err(|_| format!("OCI_BENCH_ROUNDS={n}: not a number"))?,
            Err(_) => 3,
        };
        let prefix = format!("oci-bench-{}-{}", std::process::id(), unix_seconds());
        let client = runtime.block_on(async { peer.client() })?;
        let host = peer.host.clone();
        let registry_pid = peer.started.as_ref().map(|started| started.pid);
        Ok(Self {
            client,
            runtime,
            host,
            prefix,
            scratch: scratch.to_owned(),
            skopeo,
            rounds: rounds.max(1),
            registry_pid,
        })
    }

    /// `<host>/<prefix>/<name>:v1`, as a reference and as skopeo's image name.
    fn image(&self, name: &str) -> Result<(Reference, String)> {
        let image = format!("{}/{}/{name}:{TAG}", self.host, self.prefix);
        let reference = Reference::parse(&image).map_err(|e| format!("{image}: {e}"))?;
        Ok((reference, image))
    }

    /// Runs `work` with our client, timed, with the peak memory reset first.
    fn ours<F, Fut>(&self, work: F) -> Result<Timed>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<u64>>,
    {
        settle();
        reset_peak_memory();
        let start = Instant::now();
        let sample =
            || Cpu { ours: cpu_time(None), registry: self.registry_pid.and_then(|pid| cpu_time(Some(pid))) };
        let before = sample();
        let bytes = self.runtime.block_on(work(self.client.clone()))?;
        let elapsed = start.elapsed();
        let cpu = sample().since(before);
        Ok(Timed { bytes, elapsed, peak_kib: peak_memory_kib(), cpu })
    }

    /// Runs `work` with skopeo when it is installed (`None` otherwise), after the same
    /// flush as [`ours`](Self::ours), with a new, empty directory for its blob-info cache
    /// (see [`skopeo`]).
    fn theirs(&self, work: impl FnOnce(&Path) -> Result<Duration>) -> Result<Option<Duration>> {
        if !self.skopeo {
            return Ok(None);
        }
        settle();
        work(&self.scratch.join("skopeo-cache")).map(Some)
    }
}

/// One contestant of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Our client.
    Ours,
    /// Our client, with the layout flushing every file to disk (as skopeo does).
    OursFsync,
    /// skopeo.
    Skopeo,
    /// The raw transfer.
    Limit,
    /// The raw transfer, hashing what it moves: the floor of a verifying client.
    Hashed,
}

impl Step {
    /// The step's part of repository and directory names.
    fn name(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::OursFsync => "ours-fsync",
            Self::Skopeo => "skopeo",
            Self::Limit => "raw",
            Self::Hashed => "raw-hashed",
        }
    }
}

/// `steps` in the order of `round`: rotated by one each round, so that none always
/// runs first or right after another.
fn order(round: usize, steps: &[Step]) -> Vec<Step> {
    let mut steps = steps.to_vec();
    let len = steps.len();
    steps.rotate_left((round - 1) % len);
    steps
}

/// `count` layers of `size` incompressible bytes, made one at a time.
fn generated_layers(count: usize, size: usize, seed: u64) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = Rng::from_u64(seed);
    (0..count).map(move |_| {
        let mut layer = vec![0u8; size];
        rng.fill(&mut layer);
        layer
    })
}

/// The configuration blob of the bench's images.
fn image_config() -> Vec<u8> {
    br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec()
}

/// The layers of the image tagged [`LAYOUT_TAG`] in the layout directory `dir`, with
/// their files, for a raw upload.
fn layout_layers(dir: &Path) -> Result<Vec<(Descriptor, RawSource)>> {
    let err = |e: oci_layout::Error| format!("{}: {e}", dir.display());
    let layout = oci_layout::Layout::open_dir(dir).map_err(err)?;
    let manifest = layout.resolve(LAYOUT_TAG).map_err(err)?;
    let bytes = layout.read_blob(&manifest.digest).map_err(err)?;
    let image: oci_spec_types::ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("the manifest in {}: {e}", dir.display()))?;
    Ok(image
        .layers
        .into_iter()
        .map(|l| {
            let file = dir.join("blobs").join(l.digest.algorithm_str()).join(l.digest.encoded());
            (l, RawSource::File(file))
        })
        .collect())
}

fn remove(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(|e| format!("removing {}: {e}", dir.display()))
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The scratch directory `target/bench-registry-<pid>`, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self> {
        let path = workspace::target_dir().join(format!("bench-registry-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_urls() {
        for (url, host, plain) in [
            ("http://127.0.0.1:5000", "127.0.0.1:5000", true),
            ("http://127.0.0.1:5000/", "127.0.0.1:5000", true),
            ("localhost:5000", "localhost:5000", true),
            ("https://registry.example", "registry.example", false),
        ] {
            let peer = Peer::given(url).unwrap();
            assert_eq!((peer.host.as_str(), peer.plain_http), (host, plain), "{url}");
        }
        for bad in ["ftp://r.example", "http://", "http://r.example/v2/"] {
            assert!(Peer::given(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_step_leads_once_in_as_many_rounds() {
        let steps = [Step::Ours, Step::Skopeo, Step::Limit, Step::Hashed];
        let firsts: Vec<Step> = (1..=steps.len()).map(|round| order(round, &steps)[0]).collect();
        assert_eq!(firsts, steps);
        assert_eq!(order(steps.len() + 1, &steps), steps);
    }
}
