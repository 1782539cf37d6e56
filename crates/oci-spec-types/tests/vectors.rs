//! Round trips and validator verdicts over the image-spec vectors in
//! `conformance/vectors/` (the `spec` conformance suite checks the rest).

use oci_spec_types::validate::validate;
use oci_spec_types::{
    Descriptor, Digest, Document, ImageConfig, ImageIndex, ImageLayout, ImageManifest, Manifest, MediaType,
    Typed,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn vectors(name: &str) -> Value {
    let path = format!("{}/../../conformance/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("vector files are JSON")
}

/// Parses `bytes` as `T`, keeping the bytes; re-serializes; parses again; the two
/// parses must be equal and the digest must be over the original bytes.
fn round_trip<T: DeserializeOwned + Serialize + Typed + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
) -> Result<(), String> {
    let doc = Document::<T>::from_slice(bytes.to_vec()).map_err(|e| e.to_string())?;
    if doc.digest() != &Digest::sha256(bytes) || doc.bytes().as_ref() != bytes {
        return Err("the document did not keep its bytes".into());
    }
    let again = serde_json::to_vec(doc.value()).map_err(|e| e.to_string())?;
    let reparsed: T = serde_json::from_slice(&again).map_err(|e| format!("re-parse: {e}"))?;
    if &reparsed != doc.value() {
        return Err(format!("re-parsed value differs:\n{reparsed:?}\n{:?}", doc.value()));
    }
    Ok(())
}

#[test]
fn valid_documents_round_trip_and_invalid_ones_are_refused() {
    let file = vectors("image_spec_schema_cases.json");
    let mut failures = Vec::new();
    let mut round_trips = 0;
    for case in file["cases"].as_array().unwrap() {
        let name = format!(
            "{} ({})",
            case["source"].as_str().unwrap(),
            case["description"].as_str().unwrap().trim()
        );
        let bytes = case["json"].as_str().unwrap().as_bytes();
        let media_type = MediaType::from(case["media_type"].as_str().unwrap());
        let valid = case["valid"].as_bool().unwrap();
        match (validate(&media_type, bytes), valid) {
            (Ok(()), false) => failures.push(format!("{name}: accepted an invalid document")),
            (Err(e), true) => failures.push(format!("{name}: refused a valid document: {e}")),
            _ => {}
        }
        if !valid {
            continue;
        }
        let result = match case["schema"].as_str().unwrap() {
            "descriptor" => round_trip::<Descriptor>(bytes),
            "manifest" => round_trip::<ImageManifest>(bytes).and_then(|()| round_trip::<Manifest>(bytes)),
            "index" => round_trip::<ImageIndex>(bytes),
            "config" => round_trip::<ImageConfig>(bytes),
            "layout" => round_trip::<ImageLayout>(bytes),
            other => Err(format!("unknown schema {other}")),
        };
        match result {
            Ok(()) => round_trips += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        if let Some(original) = case.get("original_docker_json").and_then(Value::as_str) {
            let want = case["original_sha256"].as_str().unwrap();
            if Digest::sha256(original.as_bytes()).as_str() != want {
                failures.push(format!("{name}: original Docker JSON does not hash to {want}"));
            }
            let docker_type = match case["schema"].as_str().unwrap() {
                "manifest" => MediaType::DOCKER_MANIFEST,
                "index" => MediaType::DOCKER_MANIFEST_LIST,
                _ => MediaType::DOCKER_CONFIG,
            };
            if let Err(e) = validate(&docker_type, original.as_bytes()) {
                failures.push(format!("{name}: original Docker JSON refused: {e}"));
            }
            if docker_type.is_manifest() {
                match Document::manifest(original.as_bytes().to_vec(), Some(&docker_type)) {
                    Ok(doc) if doc.digest().as_str() == want && doc.media_type() == &docker_type => {}
                    Ok(doc) => {
                        failures.push(format!("{name}: Docker manifest parsed as {:?}", doc.media_type()));
                    }
                    Err(e) => failures.push(format!("{name}: Docker manifest: {e}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(round_trips >= 40, "only {round_trips} documents round-tripped");
}

#[test]
fn layout_fixture_documents_round_trip() {
    let file = vectors("image_layout_cases.json");
    let mut count = 0;
    for fixture in file["tar_fixtures"].as_array().unwrap() {
        for (path, doc) in fixture["json_documents"].as_object().unwrap() {
            let bytes = serde_json::to_vec(doc).unwrap();
            if doc.get("imageLayoutVersion").is_some() {
                round_trip::<ImageLayout>(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
            } else if doc.get("manifests").is_some() || doc.get("layers").is_some() {
                round_trip::<Manifest>(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
            } else {
                continue;
            }
            count += 1;
        }
    }
    assert!(count >= 3, "only {count} layout documents checked");
}

#[test]
fn unknown_fields_survive() {
    let bytes = br#"{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"x-vendor":[1,2]},"layers":[],"zzz":{"k":"v"},"aaa":true}"#;
    let m: ImageManifest = serde_json::from_slice(bytes).unwrap();
    assert_eq!(m.config.extra["x-vendor"], serde_json::json!([1, 2]));
    let out = String::from_utf8(serde_json::to_vec(&m).unwrap()).unwrap();
    assert!(out.contains(r#""x-vendor":[1,2]"#), "{out}");
    assert!(out.ends_with(r#""zzz":{"k":"v"},"aaa":true}"#), "{out}");
}
