//! What the binary's tests share: running `oci`, reading what it printed, and a layout
//! to push.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses some of it

use std::path::Path;
use std::process::{Command, Output};

use oci::{Document, Layout, MediaType};
use serde_json::Value;

/// Runs `oci ARGS` to its end.
pub(crate) fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oci")).args(args).output().unwrap()
}

/// Runs `oci ARGS` to its end on a blocking thread, so that a registry of the test's
/// runtime keeps serving.
pub(crate) async fn oci(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args)
    })
    .await
    .unwrap()
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The one JSON document of a successful run's stdout.
pub(crate) fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// A layout at `dir` with an image of two layers tagged `v1`, and the image's digest.
pub(crate) fn seed(dir: &Path) -> String {
    let layout = Layout::init_dir(dir).unwrap();
    let mut config = oci::spec::ImageConfig::new(&"linux/arm64".parse().unwrap());
    config.created = Some("2026-01-02T03:04:05Z".parse().unwrap());
    let config = layout.write_document(&Document::new(config).unwrap()).unwrap();
    let layers = [vec![1u8; 3000], vec![2u8; 2_000_000]]
        .iter()
        .map(|c| layout.add_blob(c.as_slice(), MediaType::LAYER_TAR).unwrap())
        .collect();
    let image = Document::new(oci::spec::ImageManifest::new(config, layers)).unwrap();
    layout.tag("v1", layout.write_document(&image).unwrap()).unwrap();
    image.digest().to_string()
}
