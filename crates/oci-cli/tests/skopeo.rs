//! skopeo and `oci` read what the other wrote: `oci push` then `skopeo inspect`, and
//! `skopeo copy` into a layout then `oci inspect`.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use oci::{Document, Layout, MediaType};
use oci_registry::{MemoryStorage, Registry};

fn run(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs skopeo: `cargo xtask test` installs it and runs it"]
async fn skopeo_reads_what_oci_pushed_and_oci_reads_what_skopeo_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path().join("src")).unwrap();
    let config = Document::new(oci::spec::ImageConfig::new(&"linux/amd64".parse().unwrap())).unwrap();
    let config = layout.write_document(&config).unwrap();
    let layer = layout.add_blob(&[7u8; 5000][..], MediaType::LAYER_TAR).unwrap();
    let image = Document::new(oci::spec::ImageManifest::new(config, vec![layer])).unwrap();
    layout.tag("v1", layout.write_document(&image).unwrap()).unwrap();
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    let host = registry.host();
    let src = format!("oci:{}:v1", tmp.path().join("src").display());
    let image_ref = format!("{host}/interop/app:v1");

    let (oci_bin, dst) = (env!("CARGO_BIN_EXE_oci").to_owned(), format!("docker://{image_ref}"));
    let back = format!("oci:{}:v1", tmp.path().join("back").display());
    let (raw, ours) = tokio::task::spawn_blocking(move || {
        run(&oci_bin, &["push", &src, &image_ref, "--no-progress"]);
        let raw = run("skopeo", &["inspect", "--raw", "--tls-verify=false", &dst]);
        run("skopeo", &["copy", "--preserve-digests", "--src-tls-verify=false", &dst, &back]);
        let ours = run(&oci_bin, &["inspect", &back, "--raw"]);
        (raw, ours)
    })
    .await
    .unwrap();
    assert_eq!(raw, image.bytes().as_ref(), "skopeo sees the bytes oci pushed");
    assert_eq!(ours, image.bytes().as_ref(), "oci reads the layout skopeo wrote");
}
