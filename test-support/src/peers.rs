//! Real peers the interop tests run: found on `PATH`, run to completion.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The peer's binary on `PATH`.
///
/// # Panics
/// When it is not installed (`cargo xtask test` installs the peers).
#[must_use]
pub fn find(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (`cargo xtask test` installs it)"))
}

/// Runs a peer command and returns its standard output.
///
/// # Panics
/// When it cannot start or fails: the panic shows its standard output and error.
#[allow(clippy::must_use_candidate)] // a peer is often run for what it does, not what it prints
pub fn run(program: &Path, args: &[&str]) -> String {
    let out =
        Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{} {} failed ({}):\n{stdout}\n{}",
        program.display(),
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
