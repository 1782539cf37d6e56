//! The conformance vectors of `conformance/vectors/image_layout_cases.json`: the
//! `ref.name` grammar, the negative cases, and a synthetic equivalent of oras-go's
//! hello-world archives (the vectors list their entries and JSON documents, not the
//! binary layer, so the layer is ours and the documents that reference it are rebuilt).

use std::path::PathBuf;

use oci_layout::{ErrorKind, Layout, Severity, ref_name};
use oci_spec_types::{Digest, MediaType};
use serde_json::Value;

use crate::common::{gzip_stored, layer_tar};

fn vectors() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/vectors/image_layout_cases.json");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

#[test]
fn ref_name_grammar() {
    let cases = vectors()["ref_name_cases_derived"].as_array().unwrap().clone();
    assert!(cases.len() >= 18);
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let expected = case["matches_ebnf"].as_bool().unwrap();
        assert_eq!(ref_name::is_valid(input), expected, "ref.name {input:?}");
        assert_eq!(ref_name::validate(input).is_ok(), expected, "ref.name {input:?}");
    }
}

#[test]
fn negative_cases() {
    let cases = vectors()["negative_cases"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Layout::init_dir(tmp.path()).unwrap();
        drop(dir);
        for (name, content) in case["files"].as_object().unwrap() {
            std::fs::write(tmp.path().join(name), content.as_str().unwrap()).unwrap();
        }
        let err = Layout::open_dir(tmp.path()).map(|_| ()).unwrap_err();
        let expected = match case["name"].as_str().unwrap() {
            "index.json not JSON" => ErrorKind::InvalidIndex,
            "oci-layout not JSON" => ErrorKind::InvalidLayoutFile,
            "imageLayoutVersion != 1.0.0" => ErrorKind::UnsupportedLayoutVersion,
            other => panic!("unknown negative case {other}"),
        };
        assert_eq!(err.kind(), expected, "{}", case["name"]);
    }
}

/// The fixture's JSON documents serialized the way the originals were, where that can
/// be reproduced (compact for most, three-space indentation for the Docker manifest).
fn bytes_of(name: &str, doc: &Value) -> Vec<u8> {
    if name.ends_with("f54a58bc1aac5ea1a25d796ae155dc228b3f0e11d046ae276b39c4bf2f13d8c4") {
        let mut out = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"   ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        serde::Serialize::serialize(doc, &mut ser).unwrap();
        out
    } else {
        serde_json::to_vec(doc).unwrap()
    }
}

/// Builds the synthetic hello-world archive: every document the vectors carry, byte for
/// byte where reproducible; a layer of our own replacing the binary one; the manifest and
/// list that reference it rebuilt; names prefixed with `prefix` ("" or "./").
fn hello_world(fixture: &Value, prefix: &str) -> (Vec<u8>, Synthetic) {
    let docs = fixture["json_documents"].as_object().unwrap();
    let doc = |name: &str| docs.get(&format!("{prefix}{name}")).unwrap();
    let entries = fixture["tar_entries"].as_array().unwrap();
    let sha = |name: &str| {
        let e = entries.iter().find(|e| e["name"] == format!("{prefix}{name}")).unwrap();
        (e["sha256"].as_str().unwrap().to_owned(), e["size"].as_u64().unwrap())
    };
    // Reproducible documents hash to the fixture's digests.
    let config_name = "blobs/sha256/feb5d9fea6a5e9606aa995e879d862b825965ba48de054caab5ef356dc6b3412";
    let config = bytes_of(config_name, doc(config_name));
    assert_eq!((Digest::sha256(&config).encoded().to_owned(), config.len() as u64), sha(config_name));
    for name in ["oci-layout", "manifest.json"] {
        let bytes = bytes_of(name, doc(name));
        assert_eq!((Digest::sha256(&bytes).encoded().to_owned(), bytes.len() as u64), sha(name), "{name}");
    }
    let manifest_name = "blobs/sha256/f54a58bc1aac5ea1a25d796ae155dc228b3f0e11d046ae276b39c4bf2f13d8c4";
    let original_manifest = bytes_of(manifest_name, doc(manifest_name));
    assert_eq!(Digest::sha256(&original_manifest).encoded(), &manifest_name[13..]);
    let index_doc = doc("index.json");
    assert_eq!(Digest::sha256(&bytes_of("index.json", index_doc)).encoded(), sha("index.json").0);

    // Our layer, and the documents above it rebuilt around it.
    let layer = gzip_stored(&layer_tar("hello", b"Hello from a synthetic layer!\n"));
    let layer_digest = Digest::sha256(&layer);
    let mut manifest_doc = doc(manifest_name).clone();
    manifest_doc["layers"][0]["digest"] = Value::from(layer_digest.to_string());
    manifest_doc["layers"][0]["size"] = Value::from(layer.len());
    let manifest = bytes_of(manifest_name, &manifest_doc);
    let list_name = "blobs/sha256/faa03e786c97f07ef34423fccceeec2398ec8a5759259f94d99078f264e9d7af";
    let mut list_doc = doc(list_name).clone();
    list_doc["manifests"][0]["digest"] = Value::from(Digest::sha256(&manifest).to_string());
    list_doc["manifests"][0]["size"] = Value::from(manifest.len());
    let list = serde_json::to_vec(&list_doc).unwrap();
    let mut index_doc = index_doc.clone();
    index_doc["manifests"][0]["digest"] = Value::from(Digest::sha256(&list).to_string());
    index_doc["manifests"][0]["size"] = Value::from(list.len());
    let index = serde_json::to_vec(&index_doc).unwrap();

    let mut files: Vec<(String, Vec<u8>)> = vec![
        (format!("blobs/sha256/{}", layer_digest.encoded()), layer.clone()),
        (format!("blobs/sha256/{}", Digest::sha256(&manifest).encoded()), manifest.clone()),
        (format!("blobs/sha256/{}", Digest::sha256(&list).encoded()), list.clone()),
        (config_name.to_owned(), config.clone()),
    ];
    files.sort();
    files.push(("index.json".to_owned(), index));
    files.push(("manifest.json".to_owned(), bytes_of("manifest.json", doc("manifest.json"))));
    files.push(("oci-layout".to_owned(), bytes_of("oci-layout", doc("oci-layout"))));

    let mut builder = tar::Builder::new(Vec::new());
    let dirs: &[&str] =
        if prefix.is_empty() { &["blobs", "blobs/sha256"] } else { &[".", "./blobs", "./blobs/sha256"] };
    for dir in dirs {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        builder.append_data(&mut h, dir, &[][..]).unwrap();
    }
    for (name, bytes) in &files {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(bytes.len() as u64);
        builder.append_data(&mut h, format!("{prefix}{name}"), &bytes[..]).unwrap();
    }
    let archive = builder.into_inner().unwrap();
    let synthetic = Synthetic {
        config: (Digest::sha256(&config), config.len() as u64),
        layer: (layer_digest, layer.len() as u64),
        manifest: (Digest::sha256(&manifest), manifest.len() as u64),
        list: (Digest::sha256(&list), list.len() as u64),
    };
    (archive, synthetic)
}

/// Digests and sizes of the synthetic fixture, by role.
struct Synthetic {
    config: (Digest, u64),
    layer: (Digest, u64),
    manifest: (Digest, u64),
    list: (Digest, u64),
}

#[test]
fn hello_world_fixtures() {
    let vectors = vectors();
    let expectations = &vectors["tar_fixture_expectations"];
    for (fixture, prefix) in vectors["tar_fixtures"].as_array().unwrap().iter().zip(["", "./"]) {
        let (archive, synthetic) = hello_world(fixture, prefix);
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(fixture["file"].as_str().unwrap());
        std::fs::write(&path, &archive).unwrap();
        let layout = Layout::open_tar(&path).unwrap();

        // resolve_by_tag: "latest" names the manifest list (ours, same size role).
        let latest = layout.resolve("latest").unwrap();
        assert_eq!((latest.digest.clone(), latest.size), synthetic.list);
        assert_eq!(
            expectations["resolve_by_tag"]["latest"]["size"], 2561,
            "the original list, for reference"
        );
        assert_eq!(
            latest.annotations.get("io.containerd.image.name"),
            Some("docker.io/library/hello-world:latest")
        );

        // resolve_by_digest: each role resolves with the fixture's media type; the config
        // is byte-identical to the original, so its digest and size are the fixture's.
        for case in expectations["resolve_by_digest"].as_array().unwrap() {
            let role = case["role"].as_str().unwrap();
            let (digest, size) = match role {
                "config" => {
                    assert_eq!(synthetic.config.0.as_str(), case["digest"].as_str().unwrap());
                    &synthetic.config
                }
                "layer" => &synthetic.layer,
                r if r.starts_with("image manifest") => &synthetic.manifest,
                r if r.starts_with("manifest list") => &synthetic.list,
                other => panic!("unknown role {other}"),
            };
            let found = layout.resolve(digest.as_str()).unwrap();
            assert_eq!(found.size, *size, "{role}");
            assert_eq!(found.media_type, MediaType::from(case["mediaType"].as_str().unwrap()), "{role}");
        }

        // fsck: the other platforms of the list are not in the archive (warnings only).
        let report = layout.fsck().unwrap();
        assert!(report.is_ok(), "{:?}", report.findings);
        assert_eq!(report.findings.len(), 10);
        assert!(report.findings.iter().all(|f| f.severity == Severity::Warning));
        assert_eq!(report.blobs_verified, 4);
    }
}
