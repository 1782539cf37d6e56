//! Interoperability with real peers: skopeo (`oci:` and `oci-archive:`) and umoci.
//!
//! The peers are found on `PATH`. The tests are `#[ignore]`d, so a plain `cargo test`
//! reports them as ignored, never as passed; `cargo xtask test` installs the peers and
//! runs them (`--include-ignored`), and without a peer they fail.

// Helpers panic like the tests they serve: a panic is a failing test with its message.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Image, all_blobs, digests, write_image};
use oci_layout::{Layout, Tar};
use oci_spec_types::{Digest, Manifest};

use oci_test_support::peers::{find as peer, run};

fn skopeo_copy(skopeo: &Path, src: &str, dst: &str) {
    run(skopeo, &["--insecure-policy", "copy", "--quiet", src, dst]);
}

fn location(kind: &str, path: &Path, tag: &str) -> String {
    format!("{kind}:{}:{tag}", path.display())
}

/// The layout at `path` (either kind) opens with our crate, passes fsck, has `tag`
/// pointing at exactly the manifest bytes of `image`, and stores every blob of the
/// image byte for byte.
fn assert_holds_image(path: &Path, tag: &str, image: &Image, source: &Layout) {
    let layout = Layout::open_path(path).unwrap();
    let report = layout.fsck().unwrap();
    assert!(report.is_ok(), "fsck of {}: {:?}", path.display(), report.findings);
    let found = layout.resolve(tag).unwrap();
    assert_eq!(found.digest, image.manifest.digest);
    assert_eq!(found.size, image.manifest.size);
    assert_eq!(layout.read_blob(&found.digest).unwrap(), image.manifest_bytes, "manifest bytes");
    let theirs: BTreeMap<Digest, Vec<u8>> = all_blobs(&layout).into_iter().collect();
    for (digest, bytes) in all_blobs(source) {
        assert_eq!(theirs.get(&digest), Some(&bytes), "blob {digest} in {}", path.display());
    }
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[test]
fn skopeo_copies_our_directory_layout() {
    let skopeo = peer("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let layout = Layout::init_dir(&ours).unwrap();
    let image = write_image(&layout, "v1", 4, 300_000, 1);

    let copied = tmp.path().join("copied");
    skopeo_copy(&skopeo, &location("oci", &ours, "v1"), &location("oci", &copied, "v1"));
    assert_holds_image(&copied, "v1", &image, &layout);

    let archive = tmp.path().join("copied.tar");
    skopeo_copy(&skopeo, &location("oci", &ours, "v1"), &location("oci-archive", &archive, "v1"));
    assert_holds_image(&archive, "v1", &image, &layout);

    // skopeo adds a tag to our layout (rewriting index.json and oci-layout): we read both.
    skopeo_copy(&skopeo, &location("oci", &copied, "v1"), &location("oci", &ours, "again"));
    assert_eq!(layout.tags().unwrap(), ["again", "v1"]);
    assert_eq!(layout.resolve("again").unwrap().digest, image.manifest.digest);
    assert!(layout.fsck().unwrap().is_ok());
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[test]
fn skopeo_copies_our_tar_layouts() {
    let skopeo = peer("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    // Written through the tar driver (staged, committed) ...
    let written = tmp.path().join("written.tar");
    let layout = Layout::init_tar(&written).unwrap();
    let image = write_image(&layout, "latest", 3, 200_000, 10);
    // ... and exported from a directory.
    let dir = tmp.path().join("dir");
    let dir_layout = Layout::init_dir(&dir).unwrap();
    let exported_image = write_image(&dir_layout, "2.0", 2, 100_000, 20);
    let exported = tmp.path().join("exported.tar");
    Tar::export(&dir_layout, &exported).unwrap();

    let out = tmp.path().join("out");
    skopeo_copy(&skopeo, &location("oci-archive", &written, "latest"), &location("oci", &out, "latest"));
    assert_holds_image(&out, "latest", &image, &layout);
    skopeo_copy(&skopeo, &location("oci-archive", &exported, "2.0"), &location("oci", &out, "2.0"));
    assert_holds_image(&out, "2.0", &exported_image, &dir_layout);
    let both = Layout::open_dir(&out).unwrap();
    assert_eq!(both.tags().unwrap(), ["2.0", "latest"]);

    let rearchived = tmp.path().join("rearchived.tar");
    skopeo_copy(
        &skopeo,
        &location("oci-archive", &written, "latest"),
        &location("oci-archive", &rearchived, "x"),
    );
    let theirs = Layout::open_tar(&rearchived).unwrap();
    assert_eq!(theirs.resolve("x").unwrap().digest, image.manifest.digest);
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[test]
fn directory_tar_directory_round_trip_through_skopeo() {
    let skopeo = peer("skopeo");
    let tmp = tempfile::tempdir().unwrap();
    let start = tmp.path().join("start");
    let layout = Layout::init_dir(&start).unwrap();
    let image = write_image(&layout, "rt", 3, 150_000, 30);

    let ours_tar = tmp.path().join("ours.tar");
    Tar::export(&layout, &ours_tar).unwrap();
    let via_skopeo = tmp.path().join("via-skopeo");
    skopeo_copy(&skopeo, &location("oci-archive", &ours_tar, "rt"), &location("oci", &via_skopeo, "rt"));
    let back = tmp.path().join("back");
    let back_layout = Layout::init_dir(&back).unwrap();
    Layout::open_tar(&ours_tar).unwrap().copy_to(&back_layout).unwrap();

    assert_eq!(digests(&back_layout), digests(&layout));
    assert_eq!(digests(&Layout::open_dir(&via_skopeo).unwrap()), digests(&layout));
    assert_eq!(back_layout.read_index_bytes().unwrap(), layout.read_index_bytes().unwrap());
    assert_holds_image(&back, "rt", &image, &layout);
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[test]
fn we_read_what_umoci_writes() {
    let umoci = peer("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("umoci");
    let dir_str = dir.to_str().unwrap();
    run(&umoci, &["init", "--layout", dir_str]);
    let image = format!("{dir_str}:base");
    run(&umoci, &["new", "--image", &image]);
    run(&umoci, &["config", "--image", &image, "--config.cmd=/bin/hello", "--config.env=A=1"]);
    let file = tmp.path().join("hello.txt");
    std::fs::write(&file, b"hello from the test\n").unwrap();
    run(&umoci, &["insert", "--image", &image, file.to_str().unwrap(), "/hello.txt"]);

    let layout = Layout::open_dir(&dir).unwrap();
    let report = layout.fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(layout.tags().unwrap(), ["base"]);
    let manifest = layout.resolve("base").unwrap();
    let Manifest::Image(m) =
        Manifest::from_slice(&layout.read_blob(&manifest.digest).unwrap(), Some(&manifest.media_type))
            .unwrap()
    else {
        panic!("umoci wrote an index for a tag")
    };
    assert_eq!(m.layers.len(), 1, "one layer from insert");
    let config: serde_json::Value =
        serde_json::from_slice(&layout.read_blob(&m.config.digest).unwrap()).unwrap();
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["/bin/hello"]));
    // umoci's layer is a gzipped tar holding the file: check the bytes we serve.
    let layer = layout.read_blob(&m.layers[0].digest).unwrap();
    assert_eq!(&layer[..2], [0x1f, 0x8b], "gzip");
    assert_eq!(layer.len() as u64, m.layers[0].size);

    // Our edits keep umoci happy: a new tag on the same manifest.
    layout.tag("copy", manifest.clone()).unwrap();
    let stat = run(&umoci, &["stat", "--image", &format!("{dir_str}:copy")]);
    assert!(stat.contains("LAYER"), "{stat}");
}

#[ignore = "needs skopeo and umoci: `cargo xtask test` installs them and runs it"]
#[test]
fn umoci_reads_our_layouts() {
    let umoci = peer("umoci");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ours");
    let layout = Layout::init_dir(&dir).unwrap();
    write_image(&layout, "v1", 2, 50_000, 40);
    let stat = run(&umoci, &["stat", "--image", &format!("{}:v1", dir.display())]);
    assert!(stat.contains("oci-layout test"), "history comes from our config:\n{stat}");
    let list = run(&umoci, &["ls", "--layout", dir.to_str().unwrap()]);
    assert_eq!(list.trim(), "v1");
    // umoci's own garbage collection agrees that nothing is unreferenced.
    let before = digests(&layout);
    run(&umoci, &["gc", "--layout", dir.to_str().unwrap()]);
    assert_eq!(digests(&layout), before);
}
