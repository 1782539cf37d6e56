//! The facade's copy and skopeo, each reading what the other wrote: `oci:`,
//! `oci-archive:` and `docker://`, the same digests and bytes either way (`skopeo
//! inspect --raw` of our destination is the source's manifest).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use oci_layout::Layout;

use crate::common::targets;
use crate::copy::{assert_same, copy, options, source};

fn skopeo(args: &[&str]) -> String {
    oci_test_support::peers::run(&oci_test_support::peers::find("skopeo"), args)
}

/// `skopeo copy --all --preserve-digests` (the whole index, nothing recompressed).
fn skopeo_copy(flags: &[&str], from: &str, to: &str) {
    let mut args = vec!["--insecure-policy", "copy", "--quiet", "--all", "--preserve-digests"];
    args.extend_from_slice(flags);
    args.extend([from, to]);
    skopeo(&args);
}

fn manifest_bytes(layout: &Path, tag: &str) -> Vec<u8> {
    let layout = Layout::open_path(layout).unwrap();
    layout.read_blob(&layout.resolve(tag).unwrap().digest).unwrap()
}

#[ignore = "needs skopeo: `cargo xtask test` installs it and runs it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_reads_what_the_copy_wrote_and_the_copy_reads_what_skopeo_wrote() {
    // The embedded registry (the last target), over plain HTTP.
    let target = targets("copy_interop").await.pop().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = source(&tmp.path().join("src"));
    let path = |name: &str| tmp.path().join(name).display().to_string();
    let index = manifest_bytes(&tmp.path().join("src"), "index");
    let raw = |location: &str, flags: &[&str]| {
        let mut args = vec!["inspect", "--raw"];
        args.extend_from_slice(flags);
        args.push(location);
        skopeo(&args).into_bytes()
    };

    // Ours -> skopeo: a registry, a directory and a tar we wrote.
    let registry = format!("docker://{}/{}:index", target.host, target.repository("interop"));
    copy(&format!("oci:{}:index", path("src")), &registry, options(&target)).await;
    assert_eq!(raw(&registry, &["--tls-verify=false"]), index);
    copy(&registry, &format!("oci:{}:index", path("ours")), options(&target)).await;
    copy(&registry, &format!("oci-archive:{}:index", path("ours.tar")), options(&target)).await;
    assert_eq!(raw(&format!("oci:{}:index", path("ours")), &[]), index);
    assert_eq!(raw(&format!("oci-archive:{}:index", path("ours.tar")), &[]), index);
    skopeo_copy(
        &[],
        &format!("oci-archive:{}:index", path("ours.tar")),
        &format!("oci:{}:index", path("skopeo-from-tar")),
    );
    assert_same(&src, &Layout::open_dir(path("skopeo-from-tar")).unwrap(), "index");
    let pulled_by_skopeo = format!("oci:{}:index", path("skopeo-from-registry"));
    skopeo_copy(&["--src-tls-verify=false"], &registry, &pulled_by_skopeo);
    assert_same(&src, &Layout::open_dir(path("skopeo-from-registry")).unwrap(), "index");

    // skopeo -> ours: a tar and a registry repository skopeo wrote (skopeo copies no
    // nested index: "Unexpectedly received a manifest list").
    skopeo_copy(
        &[],
        &format!("oci:{}:index", path("src")),
        &format!("oci-archive:{}:index", path("skopeo.tar")),
    );
    copy(
        &format!("oci-archive:{}:index", path("skopeo.tar")),
        &format!("oci:{}:index", path("from-skopeo")),
        options(&target),
    )
    .await;
    assert_same(&src, &Layout::open_dir(path("from-skopeo")).unwrap(), "index");
    let pushed_by_skopeo = format!("docker://{}/{}:index", target.host, target.repository("by-skopeo"));
    skopeo_copy(&["--dest-tls-verify=false"], &format!("oci:{}:index", path("src")), &pushed_by_skopeo);
    copy(&pushed_by_skopeo, &format!("oci:{}:index", path("from-skopeo-registry")), options(&target)).await;
    assert_same(&src, &Layout::open_dir(path("from-skopeo-registry")).unwrap(), "index");
}

#[ignore = "needs skopeo: `cargo xtask test` installs it and runs it"]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_and_the_copy_read_each_others_docker_archives() {
    let target = targets("copy_interop_docker").await.pop().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let src = source(&tmp.path().join("src"));
    let path = |name: &str| tmp.path().join(name).display().to_string();
    // Ours, read by skopeo (as docker load reads it: manifest.json).
    copy(
        &format!("oci:{}:image", path("src")),
        &format!("docker-archive:{}:team/app:v1", path("ours.tar")),
        options(&target),
    )
    .await;
    // Found by the name it is loaded as.
    let named = format!("docker-archive:{}:team/app:v1", path("ours.tar"));
    let inspected: serde_json::Value = serde_json::from_str(&skopeo(&["inspect", &named])).unwrap();
    let image: oci_spec_types::ImageManifest =
        serde_json::from_slice(&manifest_bytes(&tmp.path().join("src"), "image")).unwrap();
    let layers: Vec<String> = image.layers.iter().map(|l| l.digest.to_string()).collect();
    assert_eq!(inspected["Layers"], serde_json::json!(layers));
    skopeo_copy(
        &[],
        &format!("docker-archive:{}", path("ours.tar")),
        &format!("oci:{}:image", path("skopeo-out")),
    );
    let out = Layout::open_dir(path("skopeo-out")).unwrap();
    for blob in image.blobs().skip(1) {
        assert_eq!(out.read_blob(&blob.digest).unwrap(), src.read_blob(&blob.digest).unwrap());
    }
    // skopeo's, read by us: the same layers and config.
    // (skopeo writes Docker schema 2 there, converting the manifest: not --preserve-digests.)
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--quiet",
        &format!("oci:{}:image", path("src")),
        &format!("docker-archive:{}:team/app:v2", path("skopeo.tar")),
    ]);
    let read = copy(
        &format!("docker-archive:{}:team/app:v2", path("skopeo.tar")),
        &format!("oci:{}:v2", path("from-skopeo")),
        options(&target),
    )
    .await;
    let ours = Layout::open_dir(path("from-skopeo")).unwrap();
    let fsck = ours.fsck().unwrap();
    assert!(fsck.is_ok(), "{:?}", fsck.findings);
    let manifest: oci_spec_types::ImageManifest =
        serde_json::from_slice(&ours.read_blob(&read.destination.digest).unwrap()).unwrap();
    assert_eq!(manifest.layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>(), layers);
    assert_eq!(
        ours.read_blob(&manifest.config.digest).unwrap(),
        src.read_blob(&image.config.digest).unwrap()
    );
}
