//! Parses one reference per line of standard input and writes one JSON object per line,
//! so that any corpus can be compared with other implementations:
//!
//! ```text
//! {"input":…,"ok":true,"domain":…,"path":…,"tag":…,"digest":…,"familiar":…,"string":…,"error":null}
//! {"input":…,"ok":false,"domain":null,…,"error":{"kind":…,"offset":…,"message":…}}
//! ```
//!
//! Normalized (Docker-style) parsing by default; `--strict` for the oras-go registry
//! form. Run it with `cargo run -p oci-reference --example parse [-- --strict]`.

use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use oci_reference::{Error, Reference};
use serde_json::{Value, json};

fn to_json(input: &str, parsed: Result<Reference, Error>) -> Value {
    match parsed {
        Ok(r) => json!({
            "input": input,
            "ok": true,
            "domain": r.domain(),
            "path": r.path(),
            "tag": r.tag(),
            "digest": r.digest().map(oci_spec_types::Digest::as_str),
            "familiar": r.familiar_string(),
            "string": r.as_str(),
            "error": null,
        }),
        Err(e) => json!({
            "input": input,
            "ok": false,
            "domain": null,
            "path": null,
            "tag": null,
            "digest": null,
            "familiar": null,
            "string": null,
            "error": {"kind": e.kind().as_str(), "offset": e.offset(), "message": e.to_string()},
        }),
    }
}

fn run(strict: bool) -> io::Result<()> {
    let parse = if strict { Reference::parse_strict } else { Reference::parse };
    let mut out = BufWriter::new(io::stdout().lock());
    for line in io::stdin().lock().lines() {
        let line = line?;
        let input = line.strip_suffix('\r').unwrap_or(&line);
        serde_json::to_writer(&mut out, &to_json(input, parse(input)))?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn main() -> ExitCode {
    let mut strict = false;
    for arg in std::env::args().skip(1) {
        if arg != "--strict" {
            eprintln!("usage: parse [--strict] < references.txt");
            return ExitCode::from(2);
        }
        strict = true;
    }
    match run(strict) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parse: {e}");
            ExitCode::FAILURE
        }
    }
}
