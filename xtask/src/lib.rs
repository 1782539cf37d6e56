//! Project automation for the OCI toolkit, run as `cargo xtask <command>`.
//!
//! Commands:
//!
//! - `cargo xtask test`: the one test command (fmt, clippy, tests, conformance,
//!   cargo-deny, docs), see [`test_cmd`].
//! - `cargo xtask conformance [SUITE...] [--vectors DIR] [--registry URL] [--report DIR] [-v]`:
//!   runs the conformance vectors, see [`conformance`].
//! - `cargo xtask bench [WORKLOAD...] [--corpus FILE] [--registry URL]`: benchmarks, see
//!   [`mod@bench`].
//! - `cargo xtask faults [--reduced] [--out DIR]`: the fault matrix, see [`faults`].
//! - `cargo xtask fuzz [TARGET...] [--seconds N]`: the fuzz targets under AFL++, see
//!   [`fuzz`].
//! - `cargo xtask peers`: starts the real registry in its four test configurations for
//!   running the client's tests by hand; `cargo xtask token-server ...`: the test token
//!   issuer they use. See [`registry`].
//!
//! The library target exists so that the pieces (suites, report writers, peers) are
//! unit-tested and reusable by later commands; `main.rs` only dispatches.

pub mod bench;
pub mod conformance;
pub mod faults;
pub mod fuzz;
pub mod peers;
pub mod registry;
pub mod test_cmd;
pub mod workspace;

use std::process::ExitCode;

/// The error type of xtask: a message that already carries its context.
pub type Error = String;

/// The result type of xtask.
pub type Result<T> = std::result::Result<T, Error>;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  test                      fmt, clippy, tests, conformance, cargo-deny and docs, in order
  conformance [SUITE...]    run conformance vectors (see `cargo xtask conformance --help`)
  bench [WORKLOAD...]       run benchmarks in a release build (see `cargo xtask bench --help`)
  faults [--reduced]        every operation against every fault of a misbehaving registry
  fuzz [TARGET...]          the fuzz targets under AFL++ (see `cargo xtask fuzz --help`)
  peers                     start the test registries on loopback and print their `export` lines
  token-server ...          the test token issuer (see `cargo xtask token-server --help`)
  serve-registry DIR --addr-file FILE
                            the embedded registry over DIR, as `bench server` runs it
  help                      print this message";

/// Runs the command named by `args` (the arguments after the program name) and
/// returns the process exit code.
#[must_use]
pub fn main_with_args(args: &[String]) -> ExitCode {
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let outcome = match command.as_str() {
        "test" => test_cmd::main(rest),
        "conformance" => conformance::main(rest),
        "bench" => bench::main(rest),
        "faults" => faults::main(rest),
        "fuzz" => fuzz::main(rest),
        "peers" => registry::main(rest),
        "token-server" => registry::token_server::main(rest),
        "serve-registry" => bench::registry::server::serve_main(rest),
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(true)
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
