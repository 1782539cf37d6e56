//! The commands of the README's "Using the `oci` command" section, run as written
//! (with the registry's port changed to a free one, and `oci` the binary built here,
//! which is what the section's `cargo install` puts on the PATH), in a directory
//! holding the layout `./app` the section starts from. Each must succeed.

#![allow(clippy::unwrap_used)]

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Command, Stdio};

use oci::{Document, Layout, MediaType};

/// The lines of the section's `sh` block.
fn commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let section = readme.split("## Using the `oci` command").nth(1).expect("the README section");
    let block = section.split("```sh\n").nth(1).and_then(|b| b.split("```").next()).expect("its sh block");
    block.lines().map(str::to_owned).filter(|l| !l.trim().is_empty()).collect()
}

/// The section's `json` block: the documented shape of a copy's `--json` document.
fn documented_copy_json() -> serde_json::Value {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let section = readme.split("## Using the `oci` command").nth(1).unwrap().split("\n## ").next().unwrap();
    let block =
        section.split("```json\n").nth(1).and_then(|b| b.split("```").next()).expect("its json block");
    serde_json::from_str(block).unwrap()
}

/// The keys of `value`, nested ones as `outer.inner`, with the kind of each leaf.
fn shape(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    if let Value::Object(map) = value {
        for (key, v) in map {
            shape(v, &format!("{prefix}{key}."), out);
        }
        return;
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => unreachable!(),
    };
    out.push(format!("{}: {kind}", prefix.trim_end_matches('.')));
}

#[test]
fn the_readme_commands_run_as_written() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path().join("app")).unwrap();
    let config = Document::new(oci::spec::ImageConfig::new(&"linux/amd64".parse().unwrap())).unwrap();
    let config = layout.write_document(&config).unwrap();
    let layer = layout.add_blob(&[3u8; 4096][..], MediaType::LAYER_TAR).unwrap();
    let image = Document::new(oci::spec::ImageManifest::new(config, vec![layer])).unwrap();
    layout.tag("latest", layout.write_document(&image).unwrap()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let host = format!("127.0.0.1:{port}");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_oci")).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut server = None;
    let lines = commands();
    assert!(lines.len() >= 8, "{lines:?}");
    for line in lines {
        if line.starts_with("cargo install") {
            continue;
        }
        let line = line.replace("127.0.0.1:5000", &host);
        let (line, background) = match line.strip_suffix('&') {
            Some(l) => (l.trim().to_owned(), true),
            None => (line, false),
        };
        let mut command = Command::new("sh");
        command.args(["-c", &format!("exec {line}")]).current_dir(tmp.path()).env("PATH", &path);
        if background {
            let mut child = command.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
            let mut first = String::new();
            std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut first).unwrap();
            assert!(first.contains(&host), "{line}: {first}");
            server = Some(child);
            continue;
        }
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{line}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if line.contains("--json") {
            let document = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap();
            if line.starts_with("oci pull") {
                let (mut documented, mut printed) = (Vec::new(), Vec::new());
                shape(&documented_copy_json(), "", &mut documented);
                shape(&document, "", &mut printed);
                documented.sort();
                printed.sort();
                assert_eq!(documented, printed, "the README's copy JSON and what `oci pull --json` prints");
            }
        }
    }
    let mut server = server.expect("the section starts a registry");
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(
        Layout::open_dir(tmp.path().join("pulled")).unwrap().resolve("1.0").unwrap().digest,
        *image.digest()
    );
}
