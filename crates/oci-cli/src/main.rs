//! `oci`: copy, inspect and serve OCI images and artifacts from a terminal.
//!
//! stdout carries the result alone (with `--json`, exactly one JSON document); progress,
//! logs and warnings go to stderr; a failure is one line on stderr, `oci: <what
//! failed>: <why>`, with an exit code a script can branch on (see `oci --help`).

mod args;
mod attach;
mod client;
mod commands;
mod exit;
mod layouts;
mod login;
mod manage;
mod output;
mod progress;
mod serve;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::Cli;
use crate::exit::Failure;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not failures; clap prints them where they belong.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    client::init_logging(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&Failure::new(exit::FAILURE, format!("starting the runtime: {e}"))),
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            done = commands::run(cli) => done,
            _ = tokio::signal::ctrl_c() => Err(Failure::new(130, "interrupted")),
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(&failure),
    }
}

fn fail(failure: &Failure) -> ExitCode {
    eprintln!("oci: {failure}");
    ExitCode::from(failure.code)
}
