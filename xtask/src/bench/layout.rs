//! `cargo xtask bench layout`: writes and reads back a 1 GiB image layout (8 layers of
//! 128 MiB of incompressible bytes) with each driver of `oci-layout`, beside the two
//! limits measured in the same run: the machine's sha256 throughput (every byte written
//! or read is hashed) and the write speed of the disk holding the scratch directory.
//!
//! The layers come from a fast PRNG one 1 MiB chunk at a time, never held whole. Write
//! figures are wall-clock time minus the time the generator alone takes for the same
//! bytes (measured in the same run), so a write that goes on in the background while
//! the next chunk is generated is still counted. Writing includes hashing every byte
//! (the blob writer verifies what it stores) and, for the tar driver, the commit that
//! appends `index.json` to the staging archive and swaps it into place. Reading
//! streams every layer through the verifying reader (so it hashes too). Before each
//! timed write (the disk's and the layouts'), dirty pages are flushed (`sync`) and as
//! many bytes as the write will need (1 GiB: both drivers write each byte once) are
//! written and deleted, untimed, so that every write starts from the same warm page
//! cache (see `warm_up`). The drivers' rounds are interleaved, three each, and the best
//! round of each phase is reported. Peak memory is the
//! process's `VmHWM`, reset before each phase where Linux allows it
//! (`/proc/self/clear_refs`).
//!
//! The scratch directory is `$OCI_BENCH_DIR` (default: the system's temporary
//! directory); a tmpfs such as `/dev/shm` takes the disk out of the figures. They only
//! mean something in a release build.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{peak_memory_kib, reset_peak_memory};
use oci_layout::Layout;
use oci_spec_types::{Descriptor, DigestAlgorithm, Digester, ImageManifest, MediaType};
use oci_test_support::fixtures::Rng;

/// Layers per image.
const LAYERS: usize = 8;
/// Size of one layer.
const LAYER_SIZE: usize = 128 * 1024 * 1024;
/// The chunk the generator produces and the writer takes.
const CHUNK: usize = 1024 * 1024;
/// The tag of the image.
const TAG: &str = "bench";

/// Rounds of each driver's write and read, interleaved (dir, tar, dir, tar, ...): each
/// phase's best round is reported, so that both drivers are measured in the same
/// conditions of a shared machine, neither always after the other.
const ROUNDS: usize = 3;

/// Runs the workload for the directory and the tar driver and prints the limits, then
/// per driver and phase `bench layout-<phase>-<driver>: X MB/s (sha256 Y MB/s, ratio R;
/// disk D MB/s, ratio R2); peak memory Z MiB` (no disk figure for reads), the best of
/// three interleaved rounds.
pub fn run() -> Result<(), String> {
    let scratch = Scratch::new()?;
    let sha256 = sha256_mb_per_s();
    let generation = generation_time();
    settle();
    warm_up(&scratch.0, 1)?;
    let disk = disk_mb_per_s(&scratch.0, generation)?;
    let build = if cfg!(debug_assertions) { " (debug build, not representative)" } else { "" };
    println!(
        "bench layout-limits: sha256 {sha256:.0} MB/s, disk write {disk:.0} MB/s in {}{build}",
        scratch.0.display()
    );
    let drivers = ["dir", "tar"];
    // Per driver: the best write and the best read.
    let mut best = vec![[Best::default(); 2]; drivers.len()];
    for _ in 0..ROUNDS {
        for (i, driver) in drivers.iter().enumerate() {
            let path = scratch.0.join(format!("layout-{driver}"));
            settle();
            warm_up(&scratch.0, 1)?;
            reset_peak_memory();
            let (bytes, elapsed) = write_layout(driver, &path, generation)?;
            best[i][0].add(bytes, elapsed);
            settle();
            reset_peak_memory();
            let (bytes, elapsed) = read_layout(&path)?;
            best[i][1].add(bytes, elapsed);
            let removed =
                if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    for (driver, [write, read]) in drivers.iter().zip(best) {
        report(&format!("layout-write-{driver}"), write, sha256, Some(disk));
        report(&format!("layout-read-{driver}"), read, sha256, None);
    }
    Ok(())
}

/// The fastest round of a phase, and the highest peak memory of any round.
#[derive(Debug, Clone, Copy, Default)]
struct Best {
    bytes: u64,
    elapsed: Option<Duration>,
    peak_kib: Option<u32>,
}

impl Best {
    /// Takes in a round that moved `bytes` in `elapsed`, with the peak memory now.
    fn add(&mut self, bytes: u64, elapsed: Duration) {
        self.peak_kib = self.peak_kib.max(peak_memory_kib());
        if self.elapsed.is_none_or(|best| elapsed < best) {
            (self.bytes, self.elapsed) = (bytes, Some(elapsed));
        }
    }
}

fn report(name: &str, best: Best, sha256: f64, disk: Option<f64>) {
    let rate = mb_per_s(best.bytes, best.elapsed.unwrap_or_default());
    let peak = best
        .peak_kib
        .map_or_else(|| "unknown".to_owned(), |kib| format!("{:.1} MiB", f64::from(kib) / 1024.0));
    let disk = disk.map(|d| format!("; disk {d:.0} MB/s, ratio {:.2}", rate / d)).unwrap_or_default();
    println!(
        "bench {name}: {rate:.0} MB/s (sha256 {sha256:.0} MB/s, ratio {:.2}{disk}); peak memory {peak}",
        rate / sha256
    );
}

/// Writes and deletes `gib` GiB, untimed, just before a timed write. On a virtual
/// machine the first write into memory the guest has not used recently also pays for
/// the host to provide it (and freed memory goes back to the host within seconds), which
/// is the machine's cost, not the code's; each timed write then starts from the same
/// warm page cache.
fn warm_up(dir: &Path, gib: usize) -> Result<(), String> {
    let path = dir.join("warm-up");
    let err = |e: io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::File::create(&path).map_err(err)?;
    let chunk = vec![0x5au8; CHUNK];
    for _ in 0..gib * (LAYERS * LAYER_SIZE / CHUNK) {
        file.write_all(&chunk).map_err(err)?;
    }
    drop(file);
    std::fs::remove_file(&path).map_err(err)
}

/// How long the generator takes for 1 GiB of chunks.
fn generation_time() -> Duration {
    let mut rng = Rng::from_u64(0x9e4);
    let mut chunk = vec![0u8; CHUNK];
    let start = Instant::now();
    for _ in 0..(LAYERS * LAYER_SIZE / CHUNK) {
        rng.fill(&mut chunk);
        std::hint::black_box(&chunk);
    }
    start.elapsed()
}

/// Writes 1 GiB of generated chunks to a plain file in `dir` (no hashing, no layout):
/// the write speed of the disk, the other limit of writing a layout.
fn disk_mb_per_s(dir: &Path, generation: Duration) -> Result<f64, String> {
    let path = dir.join("disk-baseline");
    let err = |e: io::Error| format!("{}: {e}", path.display());
    let start = Instant::now();
    let mut file = std::fs::File::create(&path).map_err(err)?;
    let mut rng = Rng::from_u64(0xd15c);
    let mut chunk = vec![0u8; CHUNK];
    for _ in 0..(LAYERS * LAYER_SIZE / CHUNK) {
        rng.fill(&mut chunk);
        file.write_all(&chunk).map_err(err)?;
    }
    drop(file);
    let spent = start.elapsed().saturating_sub(generation);
    std::fs::remove_file(&path).map_err(err)?;
    Ok(mb_per_s((LAYERS * LAYER_SIZE) as u64, spent))
}

/// Lets earlier phases' dirty pages reach the disk (`sync`), untimed, so that one
/// phase's write-back does not slow the next.
pub(super) fn settle() {
    let _ = std::process::Command::new("sync").status();
}

#[allow(clippy::cast_precision_loss)] // byte counts far below 2^52
fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64().max(1e-9)
}

/// Hashes 1 GiB (a 1 MiB buffer, 1024 times) with the workspace's digester.
fn sha256_mb_per_s() -> f64 {
    let mut buf = vec![0u8; CHUNK];
    Rng::from_u64(7).fill(&mut buf);
    let mut digester = Digester::sha256();
    let start = Instant::now();
    for _ in 0..(LAYERS * LAYER_SIZE / CHUNK) {
        digester.update(std::hint::black_box(&buf));
    }
    std::hint::black_box(digester.finalize());
    mb_per_s((LAYERS * LAYER_SIZE) as u64, start.elapsed())
}

/// Writes the image into a new layout of `driver` at `path`; returns the layer bytes
/// written and the time taken, less the generator's.
fn write_layout(driver: &str, path: &Path, generation: Duration) -> Result<(u64, Duration), String> {
    let err = |e: oci_layout::Error| format!("{driver} layout at {}: {e}", path.display());
    let start = Instant::now();
    let layout =
        if driver == "tar" { Layout::init_tar(path) } else { Layout::init_dir(path) }.map_err(err)?;
    let mut rng = Rng::from_u64(0x5eed);
    let mut chunk = vec![0u8; CHUNK];
    let mut layers = Vec::with_capacity(LAYERS);
    for _ in 0..LAYERS {
        let mut writer = layout.blob_writer(&DigestAlgorithm::SHA256).map_err(err)?;
        for _ in 0..LAYER_SIZE / CHUNK {
            rng.fill(&mut chunk);
            writer.write_all(&chunk).map_err(|e| err(e.into()))?;
        }
        let (digest, size) = writer.finish().map_err(err)?;
        layers.push(Descriptor::new(MediaType::LAYER_TAR_GZIP, digest, size));
    }
    let config = layout.add_blob(&br#"{"bench":true}"#[..], MediaType::IMAGE_CONFIG).map_err(err)?;
    let manifest = oci_spec_types::Document::new(ImageManifest::new(config, layers))
        .map_err(|e| format!("the bench manifest: {e}"))?;
    let manifest = layout.write_document(&manifest).map_err(err)?;
    layout.tag(TAG, manifest).map_err(err)?;
    layout.commit().map_err(err)?;
    Ok(((LAYERS * LAYER_SIZE) as u64, start.elapsed().saturating_sub(generation)))
}

/// Opens the layout at `path`, resolves the tag and streams every layer through the
/// verifying reader; returns the layer bytes read and the time taken.
fn read_layout(path: &Path) -> Result<(u64, Duration), String> {
    let err = |e: oci_layout::Error| format!("reading {}: {e}", path.display());
    let start = Instant::now();
    let layout = Layout::open_path(path).map_err(err)?;
    let manifest = layout.resolve(TAG).map_err(err)?;
    let bytes = layout.read_blob(&manifest.digest).map_err(err)?;
    let manifest: ImageManifest = serde_json::from_slice(&bytes).map_err(|e| format!("manifest: {e}"))?;
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    for layer in &manifest.layers {
        let mut reader = layout.blob_reader(&layer.digest).map_err(err)?;
        total += drain(&mut reader, &mut buf).map_err(|e| err(e.into()))?;
    }
    Ok((total, start.elapsed()))
}

fn drain(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        match reader.read(buf)? {
            0 => return Ok(total),
            n => total += n as u64,
        }
    }
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let base = std::env::var_os("OCI_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let path = base.join(format!("oci-bench-layout-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
