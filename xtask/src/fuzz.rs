//! `cargo xtask fuzz [TARGET...] [--seconds N]`: every target of `oci-fuzz` (or those
//! named) under AFL++, coverage-guided, for N seconds each (default 60).
//!
//! Installs `cargo-afl` when it is missing (its install builds AFL++'s runtime), builds
//! the harness (`fuzz/afl`, a workspace of its own) with `cargo afl build --release`,
//! and runs `cargo afl fuzz` per target from the seeds of `fuzz/seeds/<target>/`. The
//! corpus of each target is kept in `target/fuzz/<target>/` (a later run resumes from
//! it). Every crash and hang found is copied to `fuzz/fixtures/<target>/`, where the
//! fixture test of `oci-fuzz` replays it once fixed; the command then fails. Prints,
//! per target, the inputs this run ran, their rate, the corpus, the coverage, and the
//! crashes and hangs not kept before (also `target/fuzz/summary.json`).

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Result, workspace};

const USAGE: &str = "\
usage: cargo xtask fuzz [TARGET...] [--seconds N]

  TARGET       one of the targets of fuzz/targets (default: every one)
  --seconds N  how long each target runs (default 60)";

/// Entry point of `cargo xtask fuzz`; `Ok(false)` when a target crashed or hung.
pub fn main(args: &[String]) -> Result<bool> {
    let mut seconds = 60u64;
    let mut chosen = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            "--seconds" => {
                let n = it.next().ok_or("--seconds takes a number")?;
                seconds = n.parse().map_err(|_| format!("--seconds {n}: not a number"))?;
            }
            name if oci_fuzz::target(name).is_some() => chosen.push(name.to_owned()),
            other => {
                let names: Vec<_> = oci_fuzz::TARGETS.iter().map(|t| t.name).collect();
                return Err(format!("unknown target `{other}` (targets: {})\n\n{USAGE}", names.join(", ")));
            }
        }
    }
    workspace::ensure_cargo_subcommand("afl", &["--locked", "cargo-afl", "--version", "^0.18"])?;
    let harness = build()?;
    let out = workspace::target_dir().join("fuzz");
    let mut rows = Vec::new();
    for target in oci_fuzz::TARGETS {
        if chosen.is_empty() || chosen.iter().any(|c| c == target.name) {
            rows.push(run(&harness, target, seconds, &out.join(target.name))?);
        }
    }
    print(&rows);
    let summary: Vec<_> = rows.iter().map(Row::json).collect();
    fs::write(out.join("summary.json"), serde_json::to_string_pretty(&summary).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let found: Vec<_> = rows.iter().flat_map(|r| r.crashes.iter().chain(&r.hangs)).collect();
    for path in &found {
        eprintln!("fuzz: kept {}", path.display());
    }
    Ok(found.is_empty())
}

/// Builds the harness; its path.
fn build() -> Result<PathBuf> {
    let build_dir = workspace::target_dir().join("fuzz").join("build");
    let mut cmd = workspace::cargo_command(&["afl", "build", "--release", "--locked"]);
    cmd.current_dir(workspace::root().join("fuzz").join("afl")).env("CARGO_TARGET_DIR", &build_dir);
    workspace::status(cmd)?;
    Ok(build_dir.join("release").join("oci-fuzz-afl"))
}

/// What one target's run gave.
struct Row {
    name: &'static str,
    seconds: u64,
    execs: u64,
    corpus: u64,
    coverage: String,
    /// The new crashes and hangs, copied to `fuzz/fixtures/<target>/`.
    crashes: Vec<PathBuf>,
    hangs: Vec<PathBuf>,
}

impl Row {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "target": self.name, "seconds": self.seconds, "inputs": self.execs,
            "corpus": self.corpus, "coverage": self.coverage,
            "crashes": self.crashes.len(), "hangs": self.hangs.len(),
        })
    }
}

fn run(harness: &Path, target: &oci_fuzz::Target, seconds: u64, out: &Path) -> Result<Row> {
    let name = target.name;
    let seeds = workspace::root().join("fuzz").join("seeds").join(name);
    let tmp = out.join("tmp");
    fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let before = Stats::read(out).unwrap_or_default();
    let log = fs::File::create(out.join("afl.log")).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("fuzz: {name} for {seconds} s (log {})", out.join("afl.log").display());
    let (seconds_arg, timeout_arg) = (seconds.to_string(), target.timeout_ms.to_string());
    let mut cmd = workspace::cargo_command(&["afl", "fuzz", "-i"]);
    cmd.arg(&seeds).arg("-o").arg(out).args(["-V", &seconds_arg, "-t", &timeout_arg, "-m", "4096", "--"]);
    cmd.arg(harness).arg(name);
    cmd.env("AFL_SKIP_CPUFREQ", "1")
        .env("AFL_NO_UI", "1")
        .env("AFL_NO_AFFINITY", "1")
        .env("AFL_AUTORESUME", "1")
        .env("AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES", "1")
        .env("TMPDIR", &tmp)
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    let outcome = workspace::status(cmd);
    let _ = fs::remove_dir_all(&tmp);
    outcome.map_err(|e| format!("{e} (see {})", out.join("afl.log").display()))?;
    let now = Stats::read(out).ok_or_else(|| format!("{name}: AFL++ wrote no statistics"))?;
    Ok(Row {
        name,
        seconds: now.number("run_time").saturating_sub(before.number("run_time")),
        execs: now.number("execs_done").saturating_sub(before.number("execs_done")),
        corpus: now.number("corpus_count"),
        coverage: now.text("bitmap_cvg").unwrap_or("?").to_owned(),
        crashes: keep(name, &out.join("default").join("crashes"), "crash")?,
        hangs: keep(name, &out.join("default").join("hangs"), "hang")?,
    })
}

/// AFL++'s `fuzzer_stats` (`key : value` lines); cumulative over the runs a corpus
/// has had, so a run's figures are differences.
#[derive(Default)]
struct Stats(String);

impl Stats {
    fn read(out: &Path) -> Option<Self> {
        fs::read_to_string(out.join("default").join("fuzzer_stats")).ok().map(Self)
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.0.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == key).map(|(_, v)| v.trim()))
    }

    fn number(&self, key: &str) -> u64 {
        self.text(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// Copies the inputs AFL++ saved in `dir` to `fuzz/fixtures/<target>/<kind>-<digest>`;
/// the ones not kept before.
fn keep(name: &str, dir: &Path, kind: &str) -> Result<Vec<PathBuf>> {
    let Ok(entries) = fs::read_dir(dir) else { return Ok(Vec::new()) };
    let fixtures = workspace::root().join("fuzz").join("fixtures").join(name);
    let mut kept = Vec::new();
    for entry in entries.filter_map(std::result::Result::ok) {
        if !entry.file_name().to_string_lossy().starts_with("id:") {
            continue; // README.txt
        }
        let data = fs::read(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
        let digest = oci_spec_types::Digest::sha256(&data);
        let path = fixtures.join(format!("{kind}-{}", &digest.encoded()[..16]));
        if path.exists() {
            continue;
        }
        fs::create_dir_all(&fixtures).map_err(|e| format!("{}: {e}", fixtures.display()))?;
        fs::write(&path, &data).map_err(|e| format!("{}: {e}", path.display()))?;
        kept.push(path);
    }
    Ok(kept)
}

fn print(rows: &[Row]) {
    println!(
        "\n{:<20} {:>7} {:>13} {:>10} {:>7} {:>9} {:>8} {:>6}",
        "target", "seconds", "inputs run", "per s", "corpus", "coverage", "crashes", "hangs"
    );
    for r in rows {
        println!(
            "{:<20} {:>7} {:>13} {:>10} {:>7} {:>9} {:>8} {:>6}",
            r.name,
            r.seconds,
            r.execs,
            r.execs / r.seconds.max(1),
            r.corpus,
            r.coverage,
            r.crashes.len(),
            r.hangs.len()
        );
    }
    let total: u64 = rows.iter().map(|r| r.execs).sum();
    let bad: usize = rows.iter().map(|r| r.crashes.len() + r.hangs.len()).sum();
    println!("fuzz: {} targets, {total} inputs run, {bad} new crashes and hangs", rows.len());
}
