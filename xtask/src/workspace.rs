//! Where things are: the workspace root, its `target/` directory and the cargo binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the parent of the `xtask` package).
#[must_use]
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// The workspace's `target/` directory, where reports and peer logs go.
///
/// This is always `<root>/target`, even when `CARGO_TARGET_DIR` points elsewhere for
/// build artefacts, so that reports are found at a fixed place.
#[must_use]
pub fn target_dir() -> PathBuf {
    root().join("target")
}

/// The cargo binary running this xtask (`$CARGO`), or `cargo` from `PATH`.
#[must_use]
pub fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// A `cargo <args>` command run from the workspace root.
#[must_use]
pub fn cargo_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.args(args).current_dir(root());
    cmd
}
