//! `cargo xtask bench server`: the embedded registry against the real distribution
//! registry (Debian's `docker-registry`), each in its own process on loopback, doing the
//! same work through our client in the same run.
//!
//! The workloads: push and pull an image of 8 layers of 128 MiB (from and into a layout
//! directory, 4 blobs at a time), push and pull an image of 200 layers of 4 KiB (16 at a
//! time), and 16 clients pulling the small image's blobs at once (requests per second).
//! Each line gives the embedded registry's figure, docker-registry's, the ratio (above
//! 1: ours is faster) and each server's peak RSS (`VmHWM`, reset before the workload).
//! Both store on local disk and flush what they store (`fsync`: the embedded registry
//! as `oci serve` runs it). Then the embedded registry's start: the time from `exec` to
//! the first answer of `GET /v2/`, on an empty directory and on one of 1,000
//! repositories. Each workload runs `OCI_BENCH_ROUNDS` rounds (default 3), the servers'
//! order alternating; the best run of each is kept.
//!
//! The embedded registry runs as `cargo xtask serve-registry DIR --addr-file FILE` (this
//! optimized binary), so that its memory and CPU are its own.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oci_distribution::Client;
use oci_distribution::auth::AuthConfig;
use oci_distribution::transport::TransportConfig;
use oci_reference::Reference;

use super::client::{self, for_each_bounded};
use super::{
    LARGE_CONCURRENCY, LARGE_LAYER_SIZE, LARGE_LAYERS, SMALL_CONCURRENCY, SMALL_LAYER_SIZE, SMALL_LAYERS,
    Scratch, generated_layers, remove,
};
use crate::peers::ensure_deb_packages;
use crate::registry::TestRegistries;
use crate::{Result, workspace};

/// Clients pulling the small image at once, and how many times each pulls it.
const PULLERS: usize = 16;
const PULLS_EACH: usize = 5;

/// A server under test: its URL and process.
struct Server {
    name: &'static str,
    host: String,
    pid: u32,
}

/// The embedded registry's process, killed when dropped.
pub(super) struct Embedded(Child);

impl Embedded {
    /// The registry's process id.
    pub(super) fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cargo xtask serve-registry` on `dir`; its process, its `host:port`, and the
/// time from spawn to the first answer of `GET /v2/`.
pub(super) fn start_embedded(dir: &Path) -> Result<(Embedded, String, Duration)> {
    let addr_file = dir.with_extension("addr");
    let _ = std::fs::remove_file(&addr_file);
    let exe = std::env::current_exe().map_err(|e| format!("finding the xtask executable: {e}"))?;
    let started = Instant::now();
    let child = Command::new(exe)
        .args(["serve-registry", &dir.display().to_string(), "--addr-file", &addr_file.display().to_string()])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting the embedded registry: {e}"))?;
    let child = Embedded(child);
    let deadline = started + Duration::from_secs(30);
    let host = loop {
        if let Ok(addr) = std::fs::read_to_string(&addr_file) {
            break addr;
        }
        if Instant::now() > deadline {
            return Err("the embedded registry did not start".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    loop {
        if let Ok(answer) = crate::registry::http::get(&format!("http://{host}/v2/")) {
            if answer.status == 200 {
                let _ = std::fs::remove_file(&addr_file);
                return Ok((child, host, started.elapsed()));
            }
        }
        if Instant::now() > deadline {
            return Err("the embedded registry did not answer".into());
        }
    }
}

/// Entry point of `cargo xtask serve-registry DIR --addr-file FILE`: the embedded
/// registry on `127.0.0.1:0` over `DIR` (fsync on), its address written to `FILE`, until
/// killed.
pub fn serve_main(args: &[String]) -> Result<bool> {
    let (Some(dir), Some("--addr-file"), Some(file)) =
        (args.first(), args.get(1).map(String::as_str), args.get(2))
    else {
        return Err("usage: cargo xtask serve-registry DIR --addr-file FILE".into());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the runtime: {e}"))?;
    runtime.block_on(async {
        let storage = oci_registry::DiskStorage::open(dir, true).map_err(|e| e.to_string())?;
        let registry = oci_registry::Registry::builder()
            .storage(storage)
            .bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let tmp = format!("{file}.tmp");
        std::fs::write(&tmp, registry.host()).map_err(|e| format!("{tmp}: {e}"))?;
        std::fs::rename(&tmp, file).map_err(|e| format!("{file}: {e}"))?;
        std::future::pending::<()>().await;
        Ok(true)
    })
}

/// A process's peak RSS in MiB (`VmHWM`), and its reset.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib / 1024.0)
}

fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// One figure of one server: the best rate over the rounds, and the peak RSS.
#[derive(Debug, Default, Clone, Copy)]
struct Figure {
    best: f64,
    rss_mib: f64,
}

/// Runs the bench.
pub fn run() -> Result<()> {
    ensure_deb_packages(&["docker-registry"])?;
    let rounds: usize = match std::env::var("OCI_BENCH_ROUNDS") {
        Ok(n) => n.parse().map_err(|_| format!("OCI_BENCH_ROUNDS={n}: not a number"))?,
        Err(_) => 3,
    };
    let scratch = Scratch::new()?;
    let work_dir = workspace::target_dir().join("peers").join("bench-server-registry");
    let (docker_url, docker) = TestRegistries::start_plain(&work_dir)?;
    let docker_host = docker_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let (embedded, embedded_host, _) = start_embedded(&scratch.0.join("store"))?;
    let servers = [
        Server { name: "oci-registry", host: embedded_host, pid: embedded.0.id() },
        Server { name: "docker-registry", host: docker_host, pid: docker.id() },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the tokio runtime: {e}"))?;
    let client = runtime.block_on(async {
        let mut transport = TransportConfig::default();
        for server in &servers {
            transport = transport.with_plain_http_host(server.host.clone());
        }
        Client::builder()
            .transport(transport)
            .auth(AuthConfig::anonymous())
            .build()
            .map_err(|e| e.to_string())
    })?;
    let build = if cfg!(debug_assertions) { " (debug build, not representative)" } else { "" };
    println!("bench server: oci-registry against docker-registry, best of {rounds} rounds{build}");

    let mut figures = transfers(&runtime, &client, &servers, &scratch.0, rounds)?;
    figures.push((
        "server-16-clients".to_owned(),
        "requests/s",
        concurrent_pulls(&runtime, &client, &servers, rounds)?,
    ));
    for (name, unit, [ours, theirs]) in &figures {
        println!(
            "bench {name}: {:.1} {unit} (docker-registry {:.1} {unit}, ratio {:.2}; peak RSS {:.0} MiB, docker-registry {:.0} MiB)",
            ours.best,
            theirs.best,
            ours.best / theirs.best,
            ours.rss_mib,
            theirs.rss_mib
        );
    }
    drop(embedded);
    drop(docker);
    let _ = std::fs::remove_dir_all(&work_dir);

    startup(&scratch.0, rounds)?;
    drop(scratch);
    Ok(())
}

/// `n` per second over `elapsed`.
#[allow(clippy::cast_precision_loss)] // counts and byte sizes far below 2^52
fn rate(n: u64, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64()
}

/// A figure's name, its unit, and the two servers' figures (ours first).
type Line = (String, &'static str, [Figure; 2]);

/// Push and pull of the large and the small image, through layouts.
fn transfers(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    servers: &[Server; 2],
    scratch: &Path,
    rounds: usize,
) -> Result<Vec<Line>> {
    let large = scratch.join("large-layout");
    client::write_layout(&large, generated_layers(LARGE_LAYERS, LARGE_LAYER_SIZE, 0x5e4e))?;
    let small = scratch.join("small-layout");
    client::write_layout(&small, generated_layers(SMALL_LAYERS, SMALL_LAYER_SIZE, 0x5e45))?;
    let mut figures = Vec::new();
    for (name, unit, layout, concurrency) in [
        ("server-large", "MiB/s", &large, LARGE_CONCURRENCY),
        ("server-small", "layers/s", &small, SMALL_CONCURRENCY),
    ] {
        let measure = |bytes: u64, elapsed: Duration| {
            if unit == "MiB/s" {
                rate(bytes, elapsed) / f64::from(1 << 20)
            } else {
                rate(SMALL_LAYERS as u64, elapsed)
            }
        };
        let mut push = [Figure::default(); 2];
        let mut pull = [Figure::default(); 2];
        for round in 1..=rounds {
            for i in order(round) {
                let server = &servers[i];
                let reference = reference(&server.host, &format!("bench/{name}-{round}"))?;
                reset_peak_rss(server.pid);
                let started = Instant::now();
                let bytes = runtime.block_on(client::push(client, layout, &reference, concurrency))?;
                let what = format!("{name}-push {} round {round}", server.name);
                record(&mut push[i], measure(bytes, started.elapsed()), server.pid, &what, unit);
                let dir = scratch.join(format!("pulled-{}-{name}-{round}", server.name));
                reset_peak_rss(server.pid);
                let started = Instant::now();
                let bytes = runtime.block_on(client::pull(client, &reference, &dir, concurrency, false))?;
                let what = format!("{name}-pull {} round {round}", server.name);
                record(&mut pull[i], measure(bytes, started.elapsed()), server.pid, &what, unit);
                remove(&dir)?;
            }
        }
        figures.push((format!("{name}-push"), unit, push));
        figures.push((format!("{name}-pull"), unit, pull));
    }
    remove(&large)?;
    remove(&small)?;
    Ok(figures)
}

/// 16 clients pulling the small image's blobs at once: requests per second.
fn concurrent_pulls(
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    servers: &[Server; 2],
    rounds: usize,
) -> Result<[Figure; 2]> {
    let mut concurrent = [Figure::default(); 2];
    for round in 1..=rounds {
        for i in order(round) {
            let server = &servers[i];
            let reference = reference(&server.host, "bench/server-small-1")?;
            reset_peak_rss(server.pid);
            let started = Instant::now();
            let requests = runtime.block_on(async {
                let pullers: Vec<usize> = (0..PULLERS).collect();
                for_each_bounded(pullers, PULLERS, |_| {
                    let (client, reference) = (client.clone(), reference.clone());
                    async move {
                        let mut n = 0;
                        for _ in 0..PULLS_EACH {
                            client::raw_download(&client, &reference, 1, false).await?;
                            n += SMALL_LAYERS as u64 + 1;
                        }
                        Ok(n)
                    }
                })
                .await
            })?;
            let what = format!("server-16-clients {} round {round}", server.name);
            record(&mut concurrent[i], rate(requests, started.elapsed()), server.pid, &what, "requests/s");
        }
    }
    Ok(concurrent)
}

/// The embedded registry's start-up: an empty directory, then one of 1,000 repositories.
fn startup(scratch: &Path, rounds: usize) -> Result<()> {
    let empty = scratch.join("start-empty");
    let many = scratch.join("start-many");
    for n in 0..1000 {
        oci_layout::Layout::init_dir(many.join(format!("team/repo-{n}"))).map_err(|e| e.to_string())?;
    }
    let (mut best_empty, mut best_many) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        let (server, _, t) = start_embedded(&empty)?;
        drop(server);
        best_empty = best_empty.min(t);
        let (server, _, t) = start_embedded(&many)?;
        drop(server);
        best_many = best_many.min(t);
    }
    println!(
        "bench server-start: {:.1} ms on an empty directory, {:.1} ms on 1,000 repositories (from exec to the first answer)",
        best_empty.as_secs_f64() * 1000.0,
        best_many.as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Keeps the best `rate` and the largest peak RSS, and prints the round on stderr.
fn record(figure: &mut Figure, rate: f64, pid: u32, what: &str, unit: &str) {
    let rss = peak_rss_mib(pid).unwrap_or(0.0);
    eprintln!("  {what}: {rate:.1} {unit}, peak RSS {rss:.0} MiB");
    figure.best = figure.best.max(rate);
    figure.rss_mib = figure.rss_mib.max(rss);
}

/// The servers' order in `round`: alternating, so neither always runs first.
fn order(round: usize) -> [usize; 2] {
    if round % 2 == 1 { [0, 1] } else { [1, 0] }
}

fn reference(host: &str, path: &str) -> Result<Reference> {
    let text = format!("{host}/{path}:v1");
    Reference::parse(&text).map_err(|e| format!("{text}: {e}"))
}
