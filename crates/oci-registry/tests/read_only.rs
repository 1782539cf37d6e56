//! A layout a user already has, served read-only: a tar (`oci-archive`) or a
//! directory, left byte for byte as it was.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read as _;

use common::raw;
use oci_layout::{Layout, Tar};
use oci_registry::{ReadOnlyLayout, Registry};
use oci_spec_types::{Document, ImageConfig, ImageManifest, MediaType, Platform};

#[tokio::test]
async fn a_layout_tar_and_a_directory_serve_reads_and_refuse_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("image");
    let layout = Layout::init_dir(&dir).unwrap();
    let layer_bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let layer = layout.add_blob(&layer_bytes[..], MediaType::LAYER_TAR).unwrap();
    let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().unwrap())).unwrap();
    let config = layout.write_document(&config).unwrap();
    let manifest = layout
        .write_document(&Document::new(ImageManifest::new(config, vec![layer.clone()])).unwrap())
        .unwrap();
    layout.tag("v1", manifest.clone()).unwrap();
    let tar = tmp.path().join("image.tar");
    Tar::export(&layout, &tar).unwrap();
    let before = std::fs::read(&tar).unwrap();

    for path in [tar.clone(), dir.clone()] {
        let storage = ReadOnlyLayout::open(&path, "archive/app").unwrap();
        let registry = Registry::builder().storage(storage).bind("127.0.0.1:0").await.unwrap();
        let addr = registry.addr();
        let catalog = raw(addr, "GET", "/v2/_catalog", &[], &[]).await;
        assert_eq!(String::from_utf8_lossy(&catalog.body), r#"{"repositories":["archive/app"]}"#);
        let tags = raw(addr, "GET", "/v2/archive/app/tags/list", &[], &[]).await;
        assert_eq!(String::from_utf8_lossy(&tags.body), r#"{"name":"archive/app","tags":["v1"]}"#);
        let got = raw(addr, "GET", "/v2/archive/app/manifests/v1", &[], &[]).await;
        assert_eq!((got.status, got.header("docker-content-digest")), (200, Some(manifest.digest.as_str())));
        assert_eq!(got.body, layout.read_blob(&manifest.digest).unwrap());
        let blob = raw(addr, "GET", &format!("/v2/archive/app/blobs/{}", layer.digest), &[], &[]).await;
        assert_eq!(blob.body, layer_bytes);
        let range = raw(
            addr,
            "GET",
            &format!("/v2/archive/app/blobs/{}", layer.digest),
            &[("range", "bytes=5000-5999")],
            &[],
        )
        .await;
        assert_eq!((range.status, &range.body[..]), (206, &layer_bytes[5000..6000]));
        let push = raw(addr, "POST", "/v2/archive/app/blobs/uploads/", &[], &[]).await;
        assert_eq!(
            (push.status, push.error()),
            (405, "UNSUPPORTED: archive/app is served read-only".to_owned())
        );
        let delete =
            raw(addr, "DELETE", &format!("/v2/archive/app/manifests/{}", manifest.digest), &[], &[]).await;
        assert_eq!(delete.status, 405);
        assert_eq!(raw(addr, "GET", "/v2/other/tags/list", &[], &[]).await.status, 404);
        registry.shutdown().await;
    }
    assert_eq!(std::fs::read(&tar).unwrap(), before, "the archive is left as it was");
    let mut index = String::new();
    std::fs::File::open(dir.join("index.json")).unwrap().read_to_string(&mut index).unwrap();
    assert!(index.contains("\"v1\""));
}
