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

/// Runs `cmd`, an error naming it unless it exits with success.
pub fn status(mut cmd: Command) -> crate::Result<()> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
    );
    let status = cmd.status().map_err(|e| format!("running `{shown}`: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}

/// Makes sure `cargo <subcommand>` exists, installing it with `cargo install <install>`
/// when it does not.
pub fn ensure_cargo_subcommand(subcommand: &str, install: &[&str]) -> crate::Result<()> {
    let installed = cargo_command(&[subcommand, "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        println!("cargo {subcommand} not found: installing it with `cargo install {}`", install.join(" "));
        status(cargo_command(&[&["install"], install].concat()))?;
    }
    Ok(())
}

/// Builds the `oci` command (a release build with `release`) and returns its path.
pub fn oci_binary(release: bool) -> crate::Result<PathBuf> {
    let mut args = vec!["build", "--quiet", "--package", "oci-cli", "--bin", "oci"];
    if release {
        args.push("--release");
    }
    status(cargo_command(&args)).map_err(|e| format!("building the oci binary: {e}"))?;
    Ok(target_dir().join(if release { "release" } else { "debug" }).join("oci"))
}
