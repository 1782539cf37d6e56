//! Tags and `index.json`: put, replace, remove, resolve, list; unknown content kept.

use oci_layout::{ErrorKind, Layout};
use oci_spec_types::{Annotations, Descriptor, Digest, ImageLayout, MediaType};

use crate::common::write_image;

fn manifest_descriptor(n: u8) -> Descriptor {
    Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, &[n])
}

fn for_each_driver(test: impl Fn(&Layout)) {
    let tmp = tempfile::tempdir().unwrap();
    test(&Layout::init_dir(tmp.path().join("dir")).unwrap());
    test(&Layout::init_tar(tmp.path().join("x.tar")).unwrap());
}

#[test]
fn a_tag_moves_and_untagged_descriptors_dedupe_by_digest() {
    for_each_driver(|layout| {
        layout.tag("v1", manifest_descriptor(1)).unwrap();
        layout.tag("v2", manifest_descriptor(1)).unwrap();
        layout.tag("v1", manifest_descriptor(2)).unwrap(); // moves v1
        layout.put_manifest_descriptor(manifest_descriptor(3)).unwrap();
        layout.put_manifest_descriptor(manifest_descriptor(3)).unwrap(); // same untagged: replaced
        let index = layout.read_index().unwrap();
        let summary: Vec<(Option<&str>, &Digest)> =
            index.manifests.iter().map(|d| (d.annotations.ref_name(), &d.digest)).collect();
        assert_eq!(
            summary,
            [
                (Some("v2"), &manifest_descriptor(1).digest),
                (Some("v1"), &manifest_descriptor(2).digest),
                (None, &manifest_descriptor(3).digest),
            ]
        );
        assert_eq!(layout.tags().unwrap(), ["v1", "v2"]);
        assert_eq!(layout.resolve("v1").unwrap().digest, manifest_descriptor(2).digest);

        let removed = layout.remove_manifest_descriptor("v2").unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].digest, manifest_descriptor(1).digest);
        assert!(layout.remove_manifest_descriptor("v2").unwrap().is_empty());
        assert_eq!(layout.tags().unwrap(), ["v1"]);
        let err = layout.resolve("v2").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RefNotFound);
        assert!(err.to_string().ends_with(r#"no tag or reachable digest "v2""#), "{err}");
    });
}

#[test]
fn invalid_ref_names_are_refused() {
    for_each_driver(|layout| {
        for bad in ["", "a b", "-x", "x-", "a//b", "a---b"] {
            let err = layout.tag(bad, manifest_descriptor(1)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRefName, "{bad:?}");
        }
        assert!(layout.read_index().unwrap().manifests.is_empty());
        for good in ["latest", "example.com/app:v1", "foo@sha256", "a--b", "UPPER/lower"] {
            layout.tag(good, manifest_descriptor(1)).unwrap();
        }
        assert_eq!(layout.tags().unwrap().len(), 5);
    });
}

#[test]
fn resolve_by_digest_walks_the_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let image = write_image(&layout, "v1", 2, 1000, 1);
    assert_eq!(layout.resolve(image.manifest.digest.as_str()).unwrap().annotations.ref_name(), Some("v1"));
    let layer = layout.resolve(image.layers[1].digest.as_str()).unwrap();
    assert_eq!(layer, image.layers[1]);
    assert_eq!(layout.resolve(image.config.digest.as_str()).unwrap().media_type, MediaType::IMAGE_CONFIG);
    let stray = layout.add_blob(&b"not referenced"[..], MediaType::OCTET_STREAM).unwrap();
    assert_eq!(layout.resolve(stray.digest.as_str()).unwrap_err().kind(), ErrorKind::RefNotFound);
}

#[test]
fn unknown_media_types_and_fields_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    std::fs::write(
        tmp.path().join("index.json"),
        br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.example.thing+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"annotations":{"org.opencontainers.image.ref.name":"thing"},"x-extra":true}],"x-top":[1]}"#,
    )
    .unwrap();
    let reopened = Layout::open_dir(tmp.path()).unwrap();
    assert_eq!(reopened.tags().unwrap(), ["thing"]);
    let thing = reopened.resolve("thing").unwrap();
    assert_eq!(thing.media_type.as_str(), "application/vnd.example.thing+json");
    // fsck: the thing's blob is missing, an error (it is referenced by index.json).
    let report = reopened.fsck().unwrap();
    assert_eq!(report.errors().count(), 1);
    // A rewrite keeps the unknown fields.
    reopened.tag("other", manifest_descriptor(9)).unwrap();
    let text = String::from_utf8(reopened.read_index_bytes().unwrap()).unwrap();
    assert!(text.contains(r#""x-extra":true"#) && text.contains(r#""x-top":[1]"#), "{text}");
    let _ = layout;
}

#[test]
fn image_layout_file_reads_and_writes() {
    for_each_driver(|layout| {
        assert_eq!(layout.read_image_layout().unwrap(), ImageLayout::default());
        let mut with_extra = ImageLayout::default();
        with_extra.extra.insert("x-note".to_owned(), serde_json::json!("kept"));
        layout.write_image_layout(&with_extra).unwrap();
        assert_eq!(layout.read_image_layout().unwrap(), with_extra);
        let mut annotations = Annotations::new();
        annotations.insert(Annotations::REF_NAME, "x");
        assert_eq!(annotations.ref_name(), Some("x"));
    });
}

#[test]
fn writers_of_one_directory_in_separate_handles_keep_every_tag() {
    // Each thread has a layout of its own, as separate processes would: only the lock
    // on the directory (not the handle's mutex) keeps their index.json updates apart.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("shared");
    Layout::init_dir(&path).unwrap();
    let writers: Vec<_> = (0..6u8)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let layout = Layout::open_dir(&path).unwrap();
                for n in 0..25u8 {
                    layout.tag(&format!("w{w}-{n}"), manifest_descriptor(w * 25 + n)).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let tags = Layout::open_dir(&path).unwrap().tags().unwrap();
    assert_eq!(tags.len(), 150, "every writer's tags are there");
}
