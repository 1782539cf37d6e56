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
use oci_registry::{DiskStorage, Registry, TlsConfig};
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
async fn tags(skopeo: &Path, flags: &[String], image: &str) -> serde_json::Value {
    let mut args = vec!["list-tags"];
    args.extend(flags.iter().map(String::as_str));
    args.push(image);
    let listed = run(skopeo, &args).await;
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

/// How skopeo reaches the registry: plain HTTP, or TLS trusting the test CA of a
/// certificate directory.
struct Reach {
    cert_dir: Option<PathBuf>,
}

impl Reach {
    /// skopeo's flags for it; `side` is `""`, `"src-"` or `"dest-"`.
    fn flags(&self, side: &str) -> Vec<String> {
        match &self.cert_dir {
            None => vec![format!("--{side}tls-verify=false")],
            Some(dir) => vec![format!("--{side}cert-dir={}", dir.display())],
        }
    }
}

fn strs(flags: &[String]) -> Vec<&str> {
    flags.iter().map(String::as_str).collect()
}

/// The registry over `store`, and how skopeo reaches it.
async fn serve(store: &Path, tls: bool, scratch: &Path) -> (Registry, Reach) {
    let mut builder = Registry::builder().storage(DiskStorage::open(store, true).unwrap());
    let mut reach = Reach { cert_dir: None };
    if tls {
        let ca = oci_test_support::pki::Ca::new("interop CA");
        let leaf = ca.leaf("127.0.0.1", &["127.0.0.1"], oci_test_support::pki::Usage::Server);
        let dir = scratch.join(format!("certs-{}", fastrand::u32(..)));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
        builder =
            builder.tls(TlsConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap());
        reach.cert_dir = Some(dir);
    }
    (builder.bind("127.0.0.1:0").await.unwrap(), reach)
}

/// skopeo pushes into the registry, inspects, lists and pulls; the stopped server's
/// repository is a layout skopeo and umoci read; a layout the user put in the store is
/// served as a repository; a delete takes a manifest and its tags.
async fn round_trip(tls: bool) {
    let skopeo = oci_test_support::peers::find("skopeo");
    let umoci = oci_test_support::peers::find("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let (source, manifest) = write_image(&tmp.path().join("source"));
    let store = tmp.path().join("store");
    let (registry, reach) = serve(&store, tls, tmp.path()).await;
    let image = format!("docker://{}/team/app", registry.host());
    let src = format!("oci:{}:v1", tmp.path().join("source").display());
    let (dest, from, plain) = (reach.flags("dest-"), reach.flags("src-"), reach.flags(""));
    copy(&skopeo, &strs(&dest), &src, &format!("{image}:v1")).await;
    let mut inspect = vec!["inspect", "--raw"];
    inspect.extend(strs(&plain));
    let target = format!("{image}:v1");
    inspect.push(&target);
    let raw = run(&skopeo, &inspect).await;
    assert_eq!(
        raw.as_bytes(),
        source.read_blob(&manifest.digest).unwrap(),
        "the manifest's bytes, as pushed"
    );
    assert_eq!(tags(&skopeo, &plain, &image).await, serde_json::json!(["v1"]));

    // Out again, into a layout: the same digests and bytes.
    let pulled = tmp.path().join("pulled");
    let mut uncompressed = vec!["--dest-oci-accept-uncompressed-layers"];
    uncompressed.extend(strs(&from));
    copy(&skopeo, &uncompressed, &format!("{image}:v1"), &format!("oci:{}:v1", pulled.display())).await;
    let pulled = Layout::open_dir(&pulled).unwrap();
    assert_eq!(pulled.resolve("v1").unwrap().digest, manifest.digest);
    assert_same_blobs(&source, &pulled);
    copy(&skopeo, &strs(&dest), &src, &format!("{image}:v2")).await;
    registry.shutdown().await;

    // The stopped server's repository is a layout skopeo and umoci read.
    let repo = store.join("team/app");
    let ls = run(&umoci, &["ls", "--layout", &repo.display().to_string()]).await;
    assert_eq!(ls.lines().collect::<Vec<_>>(), ["v1", "v2"]);
    let copied = tmp.path().join("copied");
    let from_store = format!("oci:{}:v2", repo.display());
    copy(&skopeo, &uncompressed[..1], &from_store, &format!("oci:{}:v2", copied.display())).await;
    assert_same_blobs(&source, &Layout::open_dir(&copied).unwrap());

    // A layout the user brings into the store is served as a repository.
    write_image(&store.join("mine/app"));
    let (registry, reach) = serve(&store, tls, tmp.path()).await;
    let (from, plain) = (reach.flags("src-"), reach.flags(""));
    let mut uncompressed = vec!["--dest-oci-accept-uncompressed-layers"];
    uncompressed.extend(strs(&from));
    let theirs = tmp.path().join("theirs");
    let mine = format!("docker://{}/mine/app:v1", registry.host());
    copy(&skopeo, &uncompressed, &mine, &format!("oci:{}:v1", theirs.display())).await;
    assert_same_blobs(&source, &Layout::open_dir(&theirs).unwrap());

    // A delete by digest takes both tags.
    let image = format!("docker://{}/team/app", registry.host());
    let mut delete = vec!["delete"];
    delete.extend(strs(&plain));
    let target = format!("{image}@{}", manifest.digest);
    delete.push(&target);
    run(&skopeo, &delete).await;
    assert_eq!(tags(&skopeo, &plain, &image).await, serde_json::json!([]));
    registry.shutdown().await;
    let report = Layout::open_dir(&repo).unwrap().fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_round_trips_over_plain_http_and_the_store_is_a_layout() {
    round_trip(false).await;
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_round_trips_over_tls_and_the_store_is_a_layout() {
    round_trip(true).await;
}
