//! The same work done by skopeo, timed as a whole process.
//!
//! Each run gets a new, empty blob-info cache: skopeo remembers where it saw each blob
//! (`/var/lib/containers/cache` for root) and mounts a known blob from another
//! repository of the same registry instead of uploading it, which would make a push of
//! blobs it pulled before cost nothing. The cache goes to `$XDG_DATA_HOME` when
//! containers/image believes it runs rootless (`_CONTAINERS_ROOTLESS_UID`, which it
//! reads in place of the effective user id).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::Result;

/// Whether `skopeo` can be run.
pub(super) fn available() -> bool {
    Command::new("skopeo").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `skopeo copy` of the image `docker://<image>` into the layout directory `dir`
/// (created), tagged `tag`, with an empty blob-info cache in `cache` (a new directory,
/// removed afterwards); returns the wall-clock time.
pub(super) fn pull(image: &str, dir: &Path, tag: &str, cache: &Path) -> Result<Duration> {
    let destination = format!("oci:{}:{tag}", dir.display());
    copy(&["--src-tls-verify=false", &format!("docker://{image}"), &destination], cache)
}

/// `skopeo copy` of the image tagged `tag` in the layout directory `dir` to
/// `docker://<image>`, with an empty blob-info cache in `cache` (a new directory,
/// removed afterwards); returns the wall-clock time.
pub(super) fn push(dir: &Path, tag: &str, image: &str, cache: &Path) -> Result<Duration> {
    let source = format!("oci:{}:{tag}", dir.display());
    copy(&["--dest-tls-verify=false", &source, &format!("docker://{image}")], cache)
}

/// `skopeo copy` of `docker://<from>` to `docker://<to>` (both plain HTTP), with an
/// empty blob-info cache in `cache`; returns the wall-clock time.
pub(super) fn copy_between(from: &str, to: &str, cache: &Path) -> Result<Duration> {
    let (from, to) = (format!("docker://{from}"), format!("docker://{to}"));
    copy(&["--src-tls-verify=false", "--dest-tls-verify=false", &from, &to], cache)
}

fn copy(args: &[&str], cache: &Path) -> Result<Duration> {
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let elapsed = timed(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--insecure-policy"])
            .args(args)
            .env("_CONTAINERS_ROOTLESS_UID", "1000")
            .env("XDG_DATA_HOME", cache),
    );
    let _ = std::fs::remove_dir_all(cache);
    elapsed
}

/// `skopeo inspect` of `docker://<image>` (plain HTTP); returns the wall-clock time.
pub(super) fn inspect(image: &str) -> Result<Duration> {
    let image = format!("docker://{image}");
    timed(Command::new("skopeo").args(["inspect", "--tls-verify=false", &image]))
}

/// `skopeo --version`; returns the wall-clock time.
pub(super) fn version() -> Result<Duration> {
    timed(Command::new("skopeo").arg("--version"))
}

/// Runs `command` to its end, with its output captured; the wall-clock time, or what it
/// said on stderr when it failed.
pub(super) fn timed(command: &mut Command) -> Result<Duration> {
    let start = Instant::now();
    let output = command.output().map_err(|e| format!("running {command:?}: {e}"))?;
    let elapsed = start.elapsed();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("{command:?}: {}: {}", output.status, stderr.trim()));
    }
    Ok(elapsed)
}
