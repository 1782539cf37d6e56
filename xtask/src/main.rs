//! `cargo xtask`: project automation (see the library docs of `xtask`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    xtask::main_with_args(&args)
}
