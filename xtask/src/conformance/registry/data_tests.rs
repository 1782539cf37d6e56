//! Tests of the data-set builders.

use std::collections::BTreeSet;

use oci_spec_types::{Document, Manifest as AnyManifest};
use serde_json::Value;

use super::*;

fn vector() -> Value {
    let path = crate::workspace::root().join("conformance/vectors/conformance_tests.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn set(id: &str) -> DataSet {
    all().into_iter().find(|s| s.id == id).unwrap()
}

#[test]
fn the_data_sets_are_upstreams() {
    let json = vector();
    let upstream: Vec<(&str, &str)> = json["v2"]["data_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap(), d["display_name"].as_str().unwrap()))
        .filter(|(id, _)| *id != "read-only")
        .collect();
    let ours: Vec<(&str, &str)> = all().iter().map(|s| (s.id, s.name)).collect();
    assert_eq!(ours, upstream);
    let sparse: Vec<&str> = all().iter().filter(|s| s.sparse).map(|s| s.id).collect();
    assert_eq!(sparse, ["sparse"]);
    let tag_params: Vec<&str> = all().iter().filter(|s| s.tag_params).map(|s| s.id).collect();
    assert_eq!(tag_params, ["tag-param-sha256", "tag-param-sha512"]);
    let set = set("tag-param-sha512");
    let top = &set.manifests.last().unwrap().descriptor.digest;
    assert_eq!(top.algorithm(), DigestAlgorithm::SHA512);
    assert_eq!(set.tags.get("tag-param-sha512"), Some(top));
    assert_eq!(set.tags.len(), set.manifests.len() + 1);
}

#[test]
fn the_digests_are_stable() {
    assert_eq!(all(), all(), "two builds give the same bytes");
    let image = set("image");
    let top = &image.manifests.last().unwrap().descriptor;
    assert_eq!(image.tags.get("image"), Some(&top.digest));
    // Pinned: a change to the generator or to the serialization shows here.
    assert_eq!(
        top.digest.as_str(),
        "sha256:a9d4a3df6aaca8ebc4a60bfbed1500f59fd58b4c05a715a949b7e8d63c2e97b4"
    );
}

#[test]
fn every_digest_matches_its_bytes_and_every_reference_is_pushed() {
    for set in all() {
        let blobs: BTreeSet<&Digest> = set.blobs.iter().map(|b| &b.descriptor.digest).collect();
        let mut manifests = BTreeSet::new();
        for blob in &set.blobs {
            assert!(blob.descriptor.digest.verify(&blob.bytes).unwrap(), "{}: blob", set.id);
            assert_eq!(blob.descriptor.size, blob.bytes.len() as u64);
        }
        for m in &set.manifests {
            assert_eq!(m.descriptor.digest.verify(&m.bytes).unwrap(), !m.bad_digest, "{}", set.id);
            let parsed = AnyManifest::from_slice(&m.bytes, Some(&m.descriptor.media_type)).unwrap();
            assert_eq!(parsed.media_type(), m.descriptor.media_type);
            // Children before parents; non-distributable layers are never pushed, and the
            // sparse set's tagged manifests each lack one reference (see below).
            let absent = parsed
                .references()
                .into_iter()
                .filter(|r| !blobs.contains(&r.digest) && !manifests.contains(&r.digest) && r.urls.is_empty())
                .count();
            let tagged = set.tags.values().any(|d| d == &m.descriptor.digest);
            assert_eq!(absent, usize::from(set.sparse && tagged), "{}: references not pushed", set.id);
            manifests.insert(m.descriptor.digest.clone());
        }
        for digest in set.tags.values() {
            assert!(manifests.contains(digest), "{}: a tag names no manifest", set.id);
        }
        let sha256 =
            set.manifests.last().is_some_and(|m| m.descriptor.digest.algorithm() == DigestAlgorithm::SHA256);
        if sha256 {
            let top = set.manifests.last().unwrap();
            if !top.bad_digest {
                let doc = Document::manifest(top.bytes.clone(), None).unwrap();
                assert_eq!(doc.digest(), &top.descriptor.digest, "{}: Document agrees", set.id);
            }
        }
    }
}

#[test]
fn the_large_manifest_is_about_four_megabytes() {
    let large = set("large-manifest");
    let top = large.manifests.last().unwrap();
    assert!((3_900_000..4 << 20).contains(&top.bytes.len()), "{} bytes", top.bytes.len());
    assert_eq!(large.tags.keys().collect::<Vec<_>>(), ["large-manifest"]);
}

#[test]
fn the_sha512_set_uses_sha512_everywhere_and_has_no_tags() {
    let sha512 = set("sha512");
    assert!(sha512.tags.is_empty());
    assert_eq!(sha512.manifests.len(), 3, "two images and their index");
    let digests = sha512
        .blobs
        .iter()
        .map(|b| &b.descriptor.digest)
        .chain(sha512.manifests.iter().map(|m| &m.descriptor.digest));
    for d in digests {
        assert_eq!(d.algorithm(), DigestAlgorithm::SHA512, "{d}");
        assert_eq!(d.encoded().len(), 128);
    }
    let index: ImageIndex = serde_json::from_slice(&sha512.manifests[2].bytes).unwrap();
    assert!(index.manifests.iter().all(|d| d.digest.algorithm() == DigestAlgorithm::SHA512));
}

#[test]
fn referrers_are_recorded_as_the_api_lists_them() {
    let with_subject = set("artifacts-with-subject");
    let subject = &with_subject.manifests[0].descriptor.digest;
    let referrers = &with_subject.referrers[subject];
    let types: Vec<&str> = referrers.iter().map(|r| r.artifact_type.as_ref().unwrap().as_str()).collect();
    assert_eq!(types, [MediaType::IMAGE_CONFIG.as_str(), CONFORMANCE_V1, CONFORMANCE_V2]);
    assert_eq!(
        referrers[1].annotations.get("org.opencontainers.conformance"),
        Some("hello conformance test")
    );
    assert_eq!(referrers[1].annotations.len(), 2, "plus one unique annotation");
    assert_ne!(referrers[1].annotations, referrers[2].annotations);

    let index = set("index-with-subject");
    let subject = &index.tags["index"];
    let referrers = &index.referrers[subject];
    assert_eq!(referrers.len(), 3, "the artifact index and its two artifacts");
    assert_eq!(referrers[2].media_type, MediaType::IMAGE_INDEX);
    assert_eq!(index.tags["tagged-artifact"], referrers[2].digest);

    let missing = set("missing-subject");
    assert_eq!(missing.referrers.keys().collect::<Vec<_>>(), [&Digest::sha256(b"missing content")]);
}

#[test]
fn special_sets_have_their_shape() {
    let bad = set("bad-digest-image");
    let m = bad.manifests.last().unwrap();
    assert!(m.bad_digest && m.bytes.ends_with(b"}  "));
    assert!(bad.tags.is_empty());

    let nd = set("non-distributable-layers");
    let manifest: ImageManifest = serde_json::from_slice(&nd.manifests[0].bytes).unwrap();
    assert_eq!(manifest.layers.len(), 3);
    assert_eq!(manifest.layers[0].urls.len(), 1);
    assert_eq!(nd.blobs.len(), 2, "the config and the one ordinary layer");

    let data = set("data-field");
    let manifest: ImageManifest = serde_json::from_slice(&data.manifests[0].bytes).unwrap();
    assert!(manifest.layers.iter().chain([&manifest.config]).all(|d| d.data_matches() == Some(true)));

    let custom = set("custom-fields");
    for m in &custom.manifests {
        let json: Value = serde_json::from_slice(&m.bytes).unwrap();
        assert_eq!(json.as_object().unwrap().keys().filter(|k| k.starts_with("org.")).count(), 1);
    }
    assert_eq!(set("no-layers").blobs.len(), 1, "the config only");
    let empty = set("empty-index");
    assert_eq!((empty.manifests.len(), empty.blobs.len()), (1, 0));
    let nested = set("nested-index");
    assert_eq!(nested.manifests.len(), 7);
    let uncompressed = set("image-uncompressed");
    assert!(uncompressed.blobs.iter().any(|b| b.descriptor.media_type == MediaType::LAYER_TAR));
    let without = set("artifact-without-layers");
    assert_eq!(without.blobs.len(), 1, "config and layer are the same {{}}");
    assert_eq!(invalid_manifest_digest().blobs.len(), 2);
}

#[test]
fn the_sparse_image_lacks_its_first_layer_and_the_sparse_index_a_child() {
    let sparse = set("sparse");
    let image: ImageManifest = serde_json::from_slice(&sparse.manifests[0].bytes).unwrap();
    assert_eq!(sparse.tags["sparse-image"], sparse.manifests[0].descriptor.digest);
    assert_eq!(image.layers.len(), 2);
    let has = |d: &Digest| sparse.blobs.iter().any(|b| &b.descriptor.digest == d);
    assert!(!has(&image.layers[0].digest) && has(&image.layers[1].digest) && has(&image.config.digest));
    let index: ImageIndex = serde_json::from_slice(&sparse.manifests[2].bytes).unwrap();
    assert_eq!(sparse.tags["sparse-index"], sparse.manifests[2].descriptor.digest);
    let platforms: Vec<String> =
        index.manifests.iter().map(|d| d.platform.as_ref().unwrap().to_string()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    assert_eq!(index.manifests[0].digest, sparse.manifests[1].descriptor.digest);
    assert!(sparse.manifest(&index.manifests[1].digest).is_none(), "the arm64 child is never pushed");
}
