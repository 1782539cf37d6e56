//! Checks an image layout, a directory or a tar archive, and prints what is wrong.
//!
//! ```text
//! cargo run -p oci-layout --example fsck -- PATH
//! ```
//!
//! Prints one line per finding (`error: ...` or `warning: ...`) and a summary; exits
//! with 1 when the layout cannot be opened or has any error, 2 on bad usage.

use std::process::ExitCode;

use oci_layout::{Layout, Severity};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else {
        eprintln!("usage: fsck PATH   (an image layout directory or tar archive)");
        return ExitCode::from(2);
    };
    let report = match Layout::open_path(path).and_then(|layout| layout.fsck()) {
        Ok(report) => report,
        Err(e) => {
            println!("error: {e}");
            println!("{path}: not a valid image layout");
            return ExitCode::FAILURE;
        }
    };
    for finding in &report.findings {
        println!("{finding}");
    }
    let count = |s| report.findings.iter().filter(|f| f.severity == s).count();
    println!(
        "{path}: {} blobs verified ({} bytes), {} unreferenced; {} errors, {} warnings",
        report.blobs_verified,
        report.bytes_verified,
        report.unreferenced.len(),
        count(Severity::Error),
        count(Severity::Warning),
    );
    if report.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
