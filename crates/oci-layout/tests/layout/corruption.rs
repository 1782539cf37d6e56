//! Corrupted layouts: fsck names every problem; readers and gc refuse bad content.

use std::io::Read;

use oci_layout::{ErrorKind, FindingKind, Layout, Severity};
use oci_spec_types::{Descriptor, Document, ImageIndex, MediaType};

use crate::common::{Image, write_image};

fn setup() -> (tempfile::TempDir, Layout, Image) {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let image = write_image(&layout, "v1", 3, 20_000, 11);
    (tmp, layout, image)
}

fn blob_file(tmp: &tempfile::TempDir, d: &Descriptor) -> std::path::PathBuf {
    tmp.path().join(oci_layout::blob_path(&d.digest))
}

#[test]
fn changed_content_is_a_digest_mismatch() {
    let (tmp, layout, image) = setup();
    let path = blob_file(&tmp, &image.layers[1]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();

    let report = layout.fsck().unwrap();
    let errors: Vec<_> = report.errors().collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, FindingKind::DigestMismatch);
    assert_eq!(errors[0].digest.as_ref(), Some(&image.layers[1].digest));
    assert!(errors[0].detail.starts_with("the stored content hashes to sha256:"), "{}", errors[0].detail);

    // The verifying reader fails at the end; read_blob too.
    let mut reader = layout.blob_reader(&image.layers[1].digest).unwrap();
    let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(oci_layout::Error::io(err).kind(), ErrorKind::UnexpectedDigest);
    assert_eq!(layout.read_blob(&image.layers[1].digest).unwrap_err().kind(), ErrorKind::UnexpectedDigest);
}

#[test]
fn missing_and_resized_blobs() {
    let (tmp, layout, image) = setup();
    std::fs::remove_file(blob_file(&tmp, &image.layers[0])).unwrap();
    let path = blob_file(&tmp, &image.config);
    let mut config = std::fs::read(&path).unwrap();
    config.push(b' ');
    std::fs::write(&path, &config).unwrap();

    let report = layout.fsck().unwrap();
    let kinds: Vec<_> = report.errors().map(|f| (f.kind, f.digest.clone().unwrap())).collect();
    assert!(kinds.contains(&(FindingKind::MissingBlob, image.layers[0].digest.clone())), "{kinds:?}");
    assert!(kinds.contains(&(FindingKind::SizeMismatch, image.config.digest.clone())), "{kinds:?}");
    assert!(kinds.contains(&(FindingKind::DigestMismatch, image.config.digest.clone())), "{kinds:?}");
    let missing = report.errors().find(|f| f.kind == FindingKind::MissingBlob).unwrap();
    assert_eq!(
        missing.detail,
        format!("not in the layout (referenced by manifest {})", image.manifest.digest)
    );
    assert_eq!(layout.blob_reader(&image.layers[0].digest).unwrap_err().kind(), ErrorKind::BlobNotFound);
}

#[test]
fn a_broken_manifest_stops_gc() {
    let (tmp, layout, image) = setup();
    let stray = layout.add_blob(&b"unreferenced"[..], MediaType::OCTET_STREAM).unwrap();
    std::fs::write(blob_file(&tmp, &image.manifest), b"{ not json").unwrap();
    let report = layout.fsck().unwrap();
    assert!(report.errors().any(|f| f.kind == FindingKind::DigestMismatch), "{:?}", report.findings);
    let err = layout.gc().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidManifest);
    assert!(err.to_string().contains("refusing to collect garbage"), "{err}");
    assert!(layout.has_blob(&stray.digest).unwrap(), "gc deleted nothing");

    // A manifest whose bytes match its digest but are not a manifest.
    let junk = layout.add_blob(&b"[1,2,3]"[..], MediaType::IMAGE_MANIFEST).unwrap();
    layout.remove_manifest_descriptor("v1").unwrap();
    layout.tag("junk", junk.clone()).unwrap();
    let report = layout.fsck().unwrap();
    let invalid = report.errors().find(|f| f.kind == FindingKind::InvalidManifest).unwrap();
    assert_eq!(invalid.digest.as_ref(), Some(&junk.digest));
}

#[test]
fn gc_keeps_everything_reachable_including_subjects_and_nested_indexes() {
    let (_tmp, layout, image) = setup();
    // A referrer (signature-like) whose subject is the image, reachable from an index.
    let empty = layout.add_blob(&b"{}"[..], MediaType::EMPTY).unwrap();
    let sig_layer =
        layout.add_blob(&b"signature"[..], MediaType::from("application/vnd.example.sig")).unwrap();
    let referrer = oci_spec_types::ImageManifest::new(empty.clone(), vec![sig_layer.clone()])
        .with_subject(image.manifest.clone())
        .with_artifact_type(MediaType::from("application/vnd.example.sig"));
    let referrer = layout.write_document(&Document::new(referrer).unwrap()).unwrap();
    let nested =
        layout.write_document(&Document::new(ImageIndex::new(vec![referrer.clone()])).unwrap()).unwrap();
    layout.remove_manifest_descriptor("v1").unwrap();
    layout.tag("sigs", nested.clone()).unwrap();
    let garbage = layout.add_blob(&b"garbage"[..], MediaType::OCTET_STREAM).unwrap();

    let report = layout.fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.unreferenced, std::slice::from_ref(&garbage.digest));
    let gc = layout.gc().unwrap();
    assert_eq!(gc.removed, std::slice::from_ref(&garbage.digest));
    assert_eq!(gc.bytes_freed, 7);
    for kept in [&nested, &referrer, &empty, &sig_layer, &image.manifest, &image.config, &image.layers[2]] {
        assert!(layout.has_blob(&kept.digest).unwrap(), "{}", kept.digest);
    }
    assert!(layout.gc().unwrap().removed.is_empty());
}

#[test]
fn a_manifest_first_reached_as_a_plain_blob_is_still_followed() {
    let (_tmp, layout, image) = setup();
    // An artifact that carries the image's manifest as one of its blobs, listed first:
    // the walk meets the manifest as a leaf before it meets it as the tagged image.
    let empty = layout.add_blob(&b"{}"[..], MediaType::EMPTY).unwrap();
    let as_blob =
        Descriptor::new(MediaType::OCTET_STREAM, image.manifest.digest.clone(), image.manifest.size);
    let artifact = oci_spec_types::ImageManifest::new(empty, vec![as_blob])
        .with_artifact_type(MediaType::from("application/vnd.example.bundle"));
    let artifact = layout.write_document(&Document::new(artifact).unwrap()).unwrap();
    layout.remove_manifest_descriptor("v1").unwrap();
    layout.tag("bundle", artifact).unwrap();
    layout.tag("v1", image.manifest.clone()).unwrap();

    let report = layout.fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert!(report.unreferenced.is_empty(), "{:?}", report.unreferenced);
    assert!(layout.gc().unwrap().removed.is_empty(), "gc deleted blobs the image uses");
    for kept in std::iter::once(&image.config).chain(&image.layers) {
        assert!(layout.has_blob(&kept.digest).unwrap(), "{}", kept.digest);
    }
}

#[test]
fn missing_platforms_of_an_index_are_warnings() {
    let (_tmp, layout, image) = setup();
    let other = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"arm64 manifest, not exported")
        .with_platform("linux/arm64".parse().unwrap());
    let amd64 = image.manifest.clone().with_platform("linux/amd64".parse().unwrap());
    let index =
        layout.write_document(&Document::new(ImageIndex::new(vec![amd64, other.clone()])).unwrap()).unwrap();
    layout.remove_manifest_descriptor("v1").unwrap();
    layout.tag("multi", index).unwrap();
    let report = layout.fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    assert_eq!(report.findings.len(), 1);
    let w = &report.findings[0];
    assert_eq!((w.severity, w.kind), (Severity::Warning, FindingKind::MissingBlob));
    assert_eq!(w.digest.as_ref(), Some(&other.digest));
}
