//! Progress as people and scripts see it: bars on a terminal (a real pseudo-terminal,
//! made by `script`), never on a pipe, and stdout left to the result, so that `--json`
//! parses while the bars run.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use oci::{Document, Layout, MediaType};
use oci_registry::{MemoryStorage, Registry};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bars_on_a_terminal_lines_on_a_pipe_and_json_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path().join("src")).unwrap();
    let config = layout.add_blob(&b"{}"[..], MediaType::IMAGE_CONFIG).unwrap();
    let layers = (0..3u8)
        .map(|n| layout.add_blob(vec![n; 6 << 20].as_slice(), MediaType::LAYER_TAR).unwrap())
        .collect();
    let image = Document::new(oci::spec::ImageManifest::new(config, layers)).unwrap();
    layout.tag("v1", layout.write_document(&image).unwrap()).unwrap();
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    let host = registry.host();
    let bin = env!("CARGO_BIN_EXE_oci");
    let src = format!("oci:{}:v1", tmp.path().join("src").display());
    let dir = tmp.path().to_owned();
    let (terminal, piped, json) = tokio::task::spawn_blocking(move || {
        // On a terminal (stderr is the pty; stdout goes to a file, as `| jq` would take it).
        let out = dir.join("out.json");
        let line = format!("{bin} push {src} {host}/tty/app:v1 --json > {}", out.display());
        let terminal = Command::new("script").args(["-qec", &line, "/dev/null"]).output().unwrap();
        assert!(terminal.status.success(), "{}", String::from_utf8_lossy(&terminal.stdout));
        // On a pipe.
        let piped = Command::new(bin).args(["push", &src, &format!("{host}/pipe/app:v1")]).output().unwrap();
        assert!(piped.status.success());
        (terminal.stdout, piped.stderr, std::fs::read(out).unwrap())
    })
    .await
    .unwrap();
    let terminal = String::from_utf8_lossy(&terminal);
    assert!(
        terminal.contains("\u{1b}[") && terminal.contains("total"),
        "no bars on a terminal: {terminal:?}"
    );
    let piped = String::from_utf8(piped).unwrap();
    assert!(!piped.contains('\u{1b}') && !piped.contains("total"), "bars on a pipe: {piped:?}");
    assert_eq!(piped.lines().filter(|l| l.starts_with("copied ")).count(), 4, "{piped}");
    let report: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(report["digest"], image.digest().to_string());
}
