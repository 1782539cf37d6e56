//! `image_layout_cases.json`: the JSON documents of image layouts.
//!
//! The spec suite checks documents only (the layout suite checks layouts as a whole):
//!
//! - every `json_documents` entry of every tar fixture that is a manifest or index
//!   validates as its media type and parses as a [`Manifest`]; the `oci-layout` file
//!   validates as a layout header and image configs (documents with `rootfs`) as image
//!   configs. Other documents (docker-save's `manifest.json`) follow no OCI schema and
//!   are no case here; that a layout reader ignores them is the layout suite's `open`;
//! - every `negative_cases` file fails validation as the layout document it replaces
//!   (`oci-layout` or `index.json`; a negative case of another file is malformed).
//!
//! Cases are named `<fixture> <path> validate|parse` and `negative[<i>] <name>: <file>`.

use oci_spec_types::validate::validate;
use oci_spec_types::{Manifest, MediaType};
use serde_json::Value;

use crate::Result;
use crate::conformance::{Case, CaseNames, Outcome};

/// Whether `json` has the image-layout cases format (the `layout` suite's format, whose
/// documents this suite checks).
#[must_use]
pub fn detect(json: &Value) -> bool {
    crate::conformance::layout::detect(json)
}

/// Checks the fixtures' documents and the negative cases.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let mut names = CaseNames::default();
    let mut out = Vec::new();
    for fixture in json["tar_fixtures"].as_array().into_iter().flatten() {
        let file = fixture.get("file").and_then(Value::as_str).unwrap_or("?");
        let documents = fixture.get("json_documents").and_then(Value::as_object);
        for (path, document) in documents.into_iter().flatten() {
            let prefix = format!("{file} {path}");
            let Some(media_type) = document_media_type(path, document) else { continue };
            let bytes = serde_json::to_vec(document).unwrap_or_default();
            out.push(Case::check(names.unique(format!("{prefix} validate")), || {
                Outcome::from_result(validate(&media_type, &bytes).map_err(|e| e.to_string()))
            }));
            if media_type == MediaType::IMAGE_MANIFEST || media_type == MediaType::IMAGE_INDEX {
                out.push(Case::check(names.unique(format!("{prefix} parse")), || {
                    Outcome::from_result(check_parse(&bytes))
                }));
            }
        }
    }
    for (index, negative) in json["negative_cases"].as_array().into_iter().flatten().enumerate() {
        let case_name = negative.get("name").and_then(Value::as_str).unwrap_or("?");
        let files = negative.get("files").and_then(Value::as_object);
        for (file, content) in files.into_iter().flatten() {
            let name = names.unique(format!("negative[{index}] {case_name}: {file}"));
            let media_type = match file.as_str() {
                "oci-layout" => MediaType::LAYOUT_HEADER,
                "index.json" => MediaType::IMAGE_INDEX,
                other => {
                    let why = format!("malformed case: {other:?} is not a layout document");
                    out.push(Case { name, outcome: Outcome::Fail(why) });
                    continue;
                }
            };
            let content = content.as_str().map_or_else(|| content.to_string(), str::to_owned);
            out.push(Case::check(name, || match validate(&media_type, content.as_bytes()) {
                Err(_) => Outcome::Pass,
                Ok(()) => Outcome::Fail(format!("validated as {media_type}, expected an error")),
            }));
        }
    }
    out
}

/// The media type a layout document is validated as, `None` for documents this suite
/// does not check. Docker manifests, manifest lists and configs are validated against
/// the OCI schemas, which they satisfy.
fn document_media_type(path: &str, document: &Value) -> Option<MediaType> {
    if path.rsplit('/').next() == Some("oci-layout") {
        return Some(MediaType::LAYOUT_HEADER);
    }
    let own = document.get("mediaType").and_then(Value::as_str).map(MediaType::from);
    match own {
        Some(mt) if mt == MediaType::IMAGE_MANIFEST || mt == MediaType::DOCKER_MANIFEST => {
            Some(MediaType::IMAGE_MANIFEST)
        }
        Some(mt) if mt == MediaType::IMAGE_INDEX || mt == MediaType::DOCKER_MANIFEST_LIST => {
            Some(MediaType::IMAGE_INDEX)
        }
        _ if document.get("manifests").is_some() => Some(MediaType::IMAGE_INDEX),
        _ if document.get("layers").is_some() => Some(MediaType::IMAGE_MANIFEST),
        _ if document.get("rootfs").is_some() => Some(MediaType::IMAGE_CONFIG),
        _ => None,
    }
}

fn check_parse(bytes: &[u8]) -> Result<()> {
    Manifest::from_slice(bytes, None).map(|_| ()).map_err(|e| format!("Manifest::from_slice failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_types_of_documents() {
        let mt = |path, doc: Value| document_media_type(path, &doc);
        assert_eq!(
            mt("./oci-layout", json!({"imageLayoutVersion": "1.0.0"})),
            Some(MediaType::LAYOUT_HEADER)
        );
        assert_eq!(
            mt("x", json!({"mediaType": "application/vnd.docker.distribution.manifest.v2+json"})),
            Some(MediaType::IMAGE_MANIFEST)
        );
        assert_eq!(
            mt("x", json!({"mediaType": "application/vnd.docker.distribution.manifest.list.v2+json"})),
            Some(MediaType::IMAGE_INDEX)
        );
        assert_eq!(mt("index.json", json!({"manifests": []})), Some(MediaType::IMAGE_INDEX));
        assert_eq!(mt("b", json!({"layers": []})), Some(MediaType::IMAGE_MANIFEST));
        assert_eq!(
            mt("config", json!({"architecture": "amd64", "os": "linux", "rootfs": {}})),
            Some(MediaType::IMAGE_CONFIG)
        );
        assert_eq!(mt("manifest.json", json!([{"Config": "x"}])), None);
    }

    #[test]
    fn detection_and_case_names() {
        let json = json!({
            "tar_fixtures": [{"file": "t.tar", "json_documents": {
                "manifest.json": [{"Config": "x"}]
            }}],
            "negative_cases": [{"name": "bad", "files": {"index.json": "whatever", "blobs/x": "y"}}]
        });
        assert!(detect(&json));
        assert!(!detect(&json!({"tar_fixtures": []})));
        let cases = run(&json);
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["negative[0] bad: blobs/x", "negative[0] bad: index.json"],
            "no case of manifest.json"
        );
        let index_case = cases.iter().find(|c| c.name == "negative[0] bad: index.json").unwrap();
        assert_eq!(index_case.outcome, Outcome::Pass, "{cases:?}");
        let other = cases.iter().find(|c| c.name == "negative[0] bad: blobs/x").unwrap();
        assert_eq!(
            other.outcome,
            Outcome::Fail(r#"malformed case: "blobs/x" is not a layout document"#.into())
        );
    }
}
