//! `cargo xtask bench [WORKLOAD...] [--corpus FILE] [--registry URL]`: the benchmarks.
//!
//! Each workload prints `bench NAME: VALUE UNIT (...)` lines with the comparison figures
//! measured in the same run and the peak memory. Timings only mean something in an
//! optimized build, so a debug `cargo xtask` re-runs itself with `--release`.

pub mod layout;
pub mod reference;
pub mod registry;

use std::path::PathBuf;

use crate::{Result, workspace};

/// The workloads, in the order they run when none is named.
pub const WORKLOADS: &[&str] = &["reference", "layout", "registry", "server", "copy", "cli"];
/// Parts of a workload that can be named alone.
const PARTS: &[&str] = &["registry-large", "registry-small"];

const USAGE: &str = "\
usage: cargo xtask bench [WORKLOAD...] [--corpus FILE] [--registry URL]

workloads:
  reference    parse 1000 mixed references (or --corpus FILE, one per line), ns/parse
  layout       write and read back a 1 GiB layout (8 x 128 MiB) in each driver, MB/s vs sha256
  registry     pull 8 x 128 MiB into a layout, push it back, push and pull 200 x 4 KiB, against
               the real registry (started on loopback unless --registry URL), beside skopeo and
               a raw transfer of the same blobs; OCI_BENCH_ROUNDS (default 3) rounds, best kept
  registry-large, registry-small
               one half of `registry`: the 8 large layers, or the 200 small ones
  server       the embedded registry against docker-registry through our client: push and pull
               8 x 128 MiB and 200 x 4 KiB, 16 clients pulling at once, peak RSS, start-up time
  copy         `registry` (whose transfers are the product's copy), then registry -> another
               registry (the embedded one), registry -> another repository (mounts), and both
               run again with nothing to do (requests counted), each beside skopeo
  cli          the `oci` binary against `skopeo`, as whole processes: the copies of `copy`
               (pull, push, small push and pull, registry -> registry, mount), then
               `--version` and `inspect` on the embedded registry";

/// Entry point of `cargo xtask bench`; `Ok(false)` when a workload failed.
pub fn main(args: &[String]) -> Result<bool> {
    let mut workloads = Vec::new();
    let mut corpus: Option<PathBuf> = None;
    let mut registry_url: Option<String> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            "--corpus" => {
                corpus = Some(it.next().ok_or("--corpus takes a file")?.into());
            }
            "--registry" => {
                registry_url = Some(it.next().ok_or("--registry takes a URL")?.clone());
            }
            w if WORKLOADS.contains(&w) || PARTS.contains(&w) => workloads.push(w.to_owned()),
            other => return Err(format!("unknown workload or option `{other}`\n\n{USAGE}")),
        }
    }
    if cfg!(debug_assertions) {
        return rerun_optimized(args);
    }
    if workloads.is_empty() {
        workloads = WORKLOADS.iter().map(|w| (*w).to_owned()).collect();
    }
    let mut ok = true;
    for workload in &workloads {
        let result = match workload.as_str() {
            "reference" => reference::run(corpus.as_deref()),
            "layout" => layout::run(),
            "registry" => registry::run(registry_url.as_deref(), registry::Parts::Both),
            "registry-large" => registry::run(registry_url.as_deref(), registry::Parts::Large),
            "registry-small" => registry::run(registry_url.as_deref(), registry::Parts::Small),
            "server" => registry::server::run(),
            "copy" => registry::run(registry_url.as_deref(), registry::Parts::Copy),
            "cli" => registry::run(registry_url.as_deref(), registry::Parts::Cli),
            other => Err(format!("unknown workload `{other}`")),
        };
        if let Err(e) = result {
            eprintln!("bench {workload}: failed: {e}");
            ok = false;
        }
    }
    Ok(ok)
}

/// Runs the same bench command from a release build of xtask.
fn rerun_optimized(args: &[String]) -> Result<bool> {
    let mut cmd_args = vec!["run", "--release", "--quiet", "--package", "xtask", "--", "bench"];
    cmd_args.extend(args.iter().map(String::as_str));
    let status = workspace::cargo_command(&cmd_args)
        .status()
        .map_err(|e| format!("running the release build of xtask: {e}"))?;
    Ok(status.success())
}

/// Resets the process's peak resident set size (`VmHWM`) to the current one (Linux 4.0+,
/// `/proc/self/clear_refs`); a no-op elsewhere.
pub fn reset_peak_memory() {
    use std::io::Write as _;
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/proc/self/clear_refs") {
        let _ = f.write_all(b"5");
    }
}

/// The process's peak resident set size (`VmHWM`), in KiB, where `/proc` has it.
#[must_use]
pub fn peak_memory_kib() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
}

/// The CPU time (user and system) the process `pid` (this one when `None`) has used, where
/// `/proc` has it; in clock ticks of 10 ms (`CLK_TCK` is 100 on Linux).
#[must_use]
pub fn cpu_time(pid: Option<u32>) -> Option<std::time::Duration> {
    let path = pid.map_or_else(|| "/proc/self/stat".to_owned(), |pid| format!("/proc/{pid}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // The fields after the command name (which may hold spaces) in parentheses; utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after it.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(std::time::Duration::from_millis((utime + stime) * 10))
}
