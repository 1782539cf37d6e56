//! Interoperability with real clients: skopeo pushes into the registry and pulls out of
//! it, and a stopped server's repositories open with skopeo (`oci:`) and umoci.
//!
//! The peers are found on `PATH`. The tests are `#[ignore]`d, so a plain `cargo test`
//! reports them as ignored, never as passed; `cargo xtask test` installs the peers and
//! runs them (`--include-ignored`), and without a peer they fail.

#![allow(clippy::unwrap_used)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_layout::Layout;
use oci_registry::{DiskStorage, Registry};
use oci_spec_types::{Descriptor, Document, ImageConfig, ImageManifest, MediaType, Platform};

/// The peer's binary; panics when it is not installed.
fn peer(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed (`cargo xtask test` installs it)"))
}

/// Runs a peer command off the runtime's threads; its standard output, or the test
/// fails with its standard error.
async fn run(program: &Path, args: &[String]) -> String {
    let (program, args) = (program.to_owned(), args.to_vec());
    tokio::task::spawn_blocking(move || {
        let out = Command::new(&program).args(&args).output().unwrap();
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
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// An image of three 300 kB layers tagged `v1` in a new layout at `path`.
fn write_image(path: &Path) -> (Layout, Descriptor) {
    let layout = Layout::init_dir(path).unwrap();
    let mut layers = Vec::new();
    for n in 0..3u8 {
        let content = std::io::repeat(n + 1).take(300_000);
        layers.push(layout.add_blob(content, MediaType::LAYER_TAR).unwrap());
    }
    let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().unwrap())).unwrap();
    let config = layout.write_document(&config).unwrap();
    let manifest =
        layout.write_document(&Document::new(ImageManifest::new(config, layers)).unwrap()).unwrap();
    layout.tag("v1", manifest.clone()).unwrap();
    (layout, manifest)
}

/// Every blob of `a` is in `b`, byte for byte, and `b` passes fsck.
fn assert_same_blobs(a: &Layout, b: &Layout) {
    let report = b.fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    for (digest, _) in a.driver().list_blobs().unwrap().blobs {
        assert_eq!(a.read_blob(&digest).unwrap(), b.read_blob(&digest).unwrap(), "blob {digest}");
    }
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_pushes_inspects_lists_pulls_and_deletes_and_the_store_is_a_layout() {
    let skopeo = peer("skopeo");
    let umoci = peer("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let (source, manifest) = write_image(&tmp.path().join("source"));
    let store = tmp.path().join("store");
    let registry = Registry::builder()
        .storage(DiskStorage::open(&store, true).unwrap())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let image = format!("docker://{}/team/app", registry.host());
    let src = format!("oci:{}:v1", tmp.path().join("source").display());

    run(
        &skopeo,
        &args(&[
            "--insecure-policy",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &src,
            &format!("{image}:v1"),
        ]),
    )
    .await;
    let raw = run(&skopeo, &args(&["inspect", "--raw", "--tls-verify=false", &format!("{image}:v1")])).await;
    assert_eq!(
        raw.as_bytes(),
        source.read_blob(&manifest.digest).unwrap(),
        "the manifest's bytes, as pushed"
    );
    let tags = run(&skopeo, &args(&["list-tags", "--tls-verify=false", &image])).await;
    let tags: serde_json::Value = serde_json::from_str(&tags).unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["v1"]));

    let pulled = tmp.path().join("pulled");
    let dst = format!("oci:{}:v1", pulled.display());
    run(
        &skopeo,
        &args(&[
            "--insecure-policy",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-oci-accept-uncompressed-layers",
            "--src-tls-verify=false",
            &format!("{image}:v1"),
            &dst,
        ]),
    )
    .await;
    let pulled = Layout::open_dir(&pulled).unwrap();
    assert_eq!(pulled.resolve("v1").unwrap().digest, manifest.digest);
    assert_same_blobs(&source, &pulled);

    // A second tag, then deleted by digest: both tags go.
    run(
        &skopeo,
        &args(&[
            "--insecure-policy",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &src,
            &format!("{image}:v2"),
        ]),
    )
    .await;
    registry.shutdown().await;

    // The stopped server's repository is a layout skopeo and umoci read.
    let repo = store.join("team/app");
    let ls = run(&umoci, &args(&["ls", "--layout", &repo.display().to_string()])).await;
    assert_eq!(ls.lines().collect::<Vec<_>>(), ["v1", "v2"]);
    let copied = tmp.path().join("copied");
    let from_store = format!("oci:{}:v2", repo.display());
    run(
        &skopeo,
        &args(&[
            "--insecure-policy",
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-oci-accept-uncompressed-layers",
            &from_store,
            &format!("oci:{}:v2", copied.display()),
        ]),
    )
    .await;
    assert_same_blobs(&source, &Layout::open_dir(&copied).unwrap());

    let registry = Registry::builder()
        .storage(DiskStorage::open(&store, true).unwrap())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let image = format!("docker://{}/team/app", registry.host());
    run(&skopeo, &args(&["delete", "--tls-verify=false", &format!("{image}@{}", manifest.digest)])).await;
    let tags = run(&skopeo, &args(&["list-tags", "--tls-verify=false", &image])).await;
    let tags: serde_json::Value = serde_json::from_str(&tags).unwrap();
    assert_eq!(tags["Tags"], serde_json::json!([]));
    registry.shutdown().await;
    let report = Layout::open_dir(&repo).unwrap().fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
}
