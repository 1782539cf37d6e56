//! Interoperability with real clients: skopeo pushes into the registry and pulls out of
//! it, and a stopped server's repositories open with skopeo (`oci:`) and umoci.
//!
//! The peers are found on `PATH`. The tests are `#[ignore]`d, so a plain `cargo test`
//! reports them as ignored, never as passed; `cargo xtask test` installs the peers and
//! runs them (`--include-ignored`), and without a peer they fail.

#![allow(clippy::unwrap_used)]

use std::io::Read as _;
use std::path::{Path, PathBuf};

use oci_layout::Layout;
use oci_registry::{DiskStorage, Registry};
use oci_spec_types::{Descriptor, Document, ImageConfig, ImageManifest, MediaType, Platform};

/// Runs a peer command off the runtime's threads; its standard output (the test fails
/// with its standard error when it fails).
async fn run(program: &Path, args: &[&str]) -> String {
    let (program, args): (PathBuf, Vec<String>) =
        (program.to_owned(), args.iter().map(|s| (*s).to_owned()).collect());
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        oci_test_support::peers::run(&program, &args)
    })
    .await
    .unwrap()
}

/// `skopeo copy` from `src` to `dst` with digests kept (no layer recompressed) and
/// `flags`.
async fn copy(skopeo: &Path, flags: &[&str], src: &str, dst: &str) {
    let mut args = vec!["--insecure-policy", "copy", "--quiet", "--preserve-digests"];
    args.extend_from_slice(flags);
    args.extend([src, dst]);
    run(skopeo, &args).await;
}

/// The tags `skopeo list-tags` finds in `image`.
async fn tags(skopeo: &Path, image: &str) -> serde_json::Value {
    let listed = run(skopeo, &["list-tags", "--tls-verify=false", image]).await;
    serde_json::from_str::<serde_json::Value>(&listed).unwrap()["Tags"].clone()
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
    let skopeo = oci_test_support::peers::find("skopeo");
    let umoci = oci_test_support::peers::find("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let (source, manifest) = write_image(&tmp.path().join("source"));
    let store = tmp.path().join("store");
    let serve = || async {
        let storage = DiskStorage::open(&store, true).unwrap();
        Registry::builder().storage(storage).bind("127.0.0.1:0").await.unwrap()
    };
    let registry = serve().await;
    let image = format!("docker://{}/team/app", registry.host());
    let src = format!("oci:{}:v1", tmp.path().join("source").display());
    let insecure_dest = ["--dest-tls-verify=false"];
    copy(&skopeo, &insecure_dest, &src, &format!("{image}:v1")).await;
    let raw = run(&skopeo, &["inspect", "--raw", "--tls-verify=false", &format!("{image}:v1")]).await;
    assert_eq!(
        raw.as_bytes(),
        source.read_blob(&manifest.digest).unwrap(),
        "the manifest's bytes, as pushed"
    );
    assert_eq!(tags(&skopeo, &image).await, serde_json::json!(["v1"]));

    // Out again, into a layout: the same digests and bytes.
    let pulled = tmp.path().join("pulled");
    let uncompressed = ["--dest-oci-accept-uncompressed-layers", "--src-tls-verify=false"];
    copy(&skopeo, &uncompressed, &format!("{image}:v1"), &format!("oci:{}:v1", pulled.display())).await;
    let pulled = Layout::open_dir(&pulled).unwrap();
    assert_eq!(pulled.resolve("v1").unwrap().digest, manifest.digest);
    assert_same_blobs(&source, &pulled);
    copy(&skopeo, &insecure_dest, &src, &format!("{image}:v2")).await;
    registry.shutdown().await;

    // The stopped server's repository is a layout skopeo and umoci read.
    let repo = store.join("team/app");
    let ls = run(&umoci, &["ls", "--layout", &repo.display().to_string()]).await;
    assert_eq!(ls.lines().collect::<Vec<_>>(), ["v1", "v2"]);
    let copied = tmp.path().join("copied");
    let from_store = format!("oci:{}:v2", repo.display());
    copy(&skopeo, &uncompressed[..1], &from_store, &format!("oci:{}:v2", copied.display())).await;
    assert_same_blobs(&source, &Layout::open_dir(&copied).unwrap());

    // Served again: a delete by digest takes both tags.
    let registry = serve().await;
    let image = format!("docker://{}/team/app", registry.host());
    run(&skopeo, &["delete", "--tls-verify=false", &format!("{image}@{}", manifest.digest)]).await;
    assert_eq!(tags(&skopeo, &image).await, serde_json::json!([]));
    registry.shutdown().await;
    let report = Layout::open_dir(&repo).unwrap().fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
}
