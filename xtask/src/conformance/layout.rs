//! The `layout` suite: `image_layout_cases.json` through the `oci-layout` crate.
//!
//! - `ref.name` grammar cases against [`ref_name::is_valid`] and [`ref_name::validate`];
//! - bad layouts (the files of each negative case written over a fresh layout) must be
//!   refused when opened, with the error kind of what is wrong;
//! - each tar fixture (oras-go's hello-world archives) is rebuilt as a synthetic
//!   equivalent: the vector file lists the entries and carries the JSON documents but
//!   not the binary layer, so the layer is ours, and the image manifest, the manifest
//!   list and `index.json` above it are rebuilt around it (every other document keeps
//!   its exact bytes, which must hash to the fixture's entries). The archive, with the
//!   fixture's names (`./` prefixes included) and docker-save's `manifest.json` (an
//!   unknown file, which must be ignored), is opened with the tar driver: every blob
//!   reads back, the tag resolves to the list with its annotations, each
//!   `resolve_by_digest` role resolves with the fixture's media type, and `fsck` finds
//!   only the warnings of the platforms the archive does not carry.

use std::collections::BTreeMap;
use std::path::Path;

use oci_layout::{ErrorKind, Layout, Severity, ref_name};
use oci_spec_types::{Digest, MediaType};
use oci_test_support::fixtures::{gzip_stored, layer_tar};
use serde_json::Value;

use super::{Case, CaseNames, Outcome};

type Check = Result<(), String>;

/// Whether `json` is an image-layout vector file.
#[must_use]
pub fn detect(json: &Value) -> bool {
    json.get("tar_fixtures").is_some_and(Value::is_array)
        && json.get("negative_cases").is_some_and(Value::is_array)
}

/// Runs every case of an image-layout vector file.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let mut names = CaseNames::default();
    let mut cases = Vec::new();
    let mut push = |name: String, check: &dyn Fn() -> Check| {
        let case = Case::check(names.unique(name), || Outcome::from_result(check()));
        cases.push(case);
    };
    for case in json["ref_name_cases_derived"].as_array().into_iter().flatten() {
        let input = case["input"].as_str().unwrap_or_default();
        push(format!("ref.name {input:?}"), &|| {
            let want = case["matches_ebnf"].as_bool().ok_or("malformed case: no `matches_ebnf`")?;
            let (valid, validated) = (ref_name::is_valid(input), ref_name::validate(input).is_ok());
            if valid == want && validated == want {
                Ok(())
            } else {
                Err(format!("is_valid = {valid}, validate is ok = {validated}, expected {want}"))
            }
        });
    }
    for (i, case) in json["negative_cases"].as_array().into_iter().flatten().enumerate() {
        let name = case["name"].as_str().unwrap_or_default();
        push(format!("negative[{i}] {name}"), &|| negative(case));
    }
    let expectations = json.get("tar_fixture_expectations").unwrap_or(&Value::Null);
    for fixture in json["tar_fixtures"].as_array().into_iter().flatten() {
        let file = fixture["file"].as_str().unwrap_or("fixture.tar");
        match Synthetic::build(fixture) {
            Ok(synthetic) => {
                for (name, result) in synthetic.check(expectations) {
                    push(format!("{file} {name}"), &|| result.clone());
                }
            }
            Err(e) => push(format!("{file} build"), &|| Err(e.clone())),
        }
    }
    cases
}

/// The error kind a bad layout must be refused with, by what the case breaks.
fn negative_kind(case: &Value) -> Result<ErrorKind, String> {
    let files = case["files"].as_object().ok_or("malformed case: no `files`")?;
    let layout_file = files.get("oci-layout").and_then(Value::as_str);
    match (files.contains_key("index.json"), layout_file) {
        (true, None) => Ok(ErrorKind::InvalidIndex),
        (false, Some(text)) => Ok(match serde_json::from_str::<Value>(text) {
            Ok(v) if v.get("imageLayoutVersion").is_some() => ErrorKind::UnsupportedLayoutVersion,
            _ => ErrorKind::InvalidLayoutFile,
        }),
        _ => Err("malformed case: it must replace index.json or oci-layout".to_owned()),
    }
}

fn negative(case: &Value) -> Check {
    let want = negative_kind(case)?;
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary directory: {e}"))?;
    let root = dir.path().join("layout");
    Layout::init_dir(&root).map_err(|e| format!("init: {e}"))?;
    for (file, content) in case["files"].as_object().into_iter().flatten() {
        let path = root.join(file);
        // `oci-layout` is written read-only by init; replace it rather than write through.
        let _ = std::fs::remove_file(&path);
        std::fs::write(&path, content.as_str().unwrap_or_default())
            .map_err(|e| format!("writing {file}: {e}"))?;
    }
    match Layout::open_dir(&root) {
        Ok(_) => Err("the bad layout was opened".into()),
        Err(e) if e.kind() == want => Ok(()),
        Err(e) => Err(format!("refused as {:?}, expected {want:?}: {e}", e.kind())),
    }
}

/// How a document of the vector file was serialized in the original archive.
#[derive(Debug, Clone, Copy)]
enum Format {
    Compact,
    CompactNewline,
    Indent(&'static [u8]),
}

const FORMATS: [Format; 4] =
    [Format::Compact, Format::CompactNewline, Format::Indent(b"  "), Format::Indent(b"   ")];

fn serialize(doc: &Value, format: Format) -> Vec<u8> {
    match format {
        Format::Compact => serde_json::to_vec(doc).unwrap_or_default(),
        Format::CompactNewline => [serde_json::to_vec(doc).unwrap_or_default(), b"\n".to_vec()].concat(),
        Format::Indent(indent) => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            let _ = serde::Serialize::serialize(doc, &mut serializer);
            out
        }
    }
}

/// The format in which `doc` hashes to `sha256`.
fn reproduce(doc: &Value, sha256: &str) -> Option<Format> {
    FORMATS.into_iter().find(|&f| Digest::sha256(&serialize(doc, f)).encoded() == sha256)
}

/// A fixture rebuilt around a layer of our own.
struct Synthetic {
    /// The archive's bytes.
    archive: Vec<u8>,
    /// Its blobs, by digest.
    blobs: BTreeMap<Digest, Vec<u8>>,
    /// The fixture's digest of each rebuilt or kept blob, to ours.
    ours: BTreeMap<String, Digest>,
    /// The list `index.json` names, rebuilt.
    list: (Digest, usize),
    /// The annotations of the list's entry in `index.json`.
    annotations: serde_json::Map<String, Value>,
    /// How many platforms the list names.
    platforms: usize,
}

impl Synthetic {
    fn build(fixture: &Value) -> Result<Self, String> {
        let docs = fixture["json_documents"].as_object().ok_or("malformed fixture: no `json_documents`")?;
        let entries = fixture["tar_entries"].as_array().ok_or("malformed fixture: no `tar_entries`")?;
        let prefix = if entries.iter().any(|e| e["name"].as_str().is_some_and(|n| n.starts_with("./"))) {
            "./"
        } else {
            ""
        };
        // Each document, and the format that gives its exact bytes (when one does).
        let mut kept: BTreeMap<String, (Value, Result<Format, String>)> = BTreeMap::new();
        for entry in entries.iter().filter(|e| e["type"] == "file") {
            let name = entry["name"].as_str().unwrap_or_default();
            let Some(doc) = docs.get(name) else { continue };
            let sha = entry["sha256"].as_str().unwrap_or_default();
            let format = reproduce(doc, sha)
                .ok_or_else(|| format!("{name}: no serialization of its document hashes to {sha}"));
            kept.insert(name.trim_start_matches("./").to_owned(), (doc.clone(), format));
        }
        let any = |name: &str| kept.get(name).ok_or_else(|| format!("the fixture has no document {name}"));
        // A document kept, or rebuilt in its original format: its bytes must reproduce,
        // or the vector file has changed. (The list is rebuilt compact, as oras-go's is.)
        let doc = |name: &str| any(name).and_then(|(doc, format)| Ok((doc.clone(), format.clone()?)));
        let blob_name = |d: &Value| {
            format!("blobs/sha256/{}", d.as_str().unwrap_or_default().trim_start_matches("sha256:"))
        };

        let (index, index_format) = doc("index.json")?;
        let list_name = blob_name(&index["manifests"][0]["digest"]);
        let list = any(&list_name)?.0.clone();
        let manifest_name = blob_name(&list["manifests"][0]["digest"]);
        let (manifest, manifest_format) = doc(&manifest_name)?;
        let config_name = blob_name(&manifest["config"]["digest"]);
        let (config, config_format) = doc(&config_name)?;
        let original_layer = manifest["layers"][0]["digest"].as_str().unwrap_or_default().to_owned();

        let layer = gzip_stored(&layer_tar("hello", b"Hello from a synthetic layer!\n"));
        let mut manifest = manifest;
        manifest["layers"][0]["digest"] = Value::from(Digest::sha256(&layer).to_string());
        manifest["layers"][0]["size"] = Value::from(layer.len());
        let manifest_bytes = serialize(&manifest, manifest_format);
        let mut list = list;
        list["manifests"][0]["digest"] = Value::from(Digest::sha256(&manifest_bytes).to_string());
        list["manifests"][0]["size"] = Value::from(manifest_bytes.len());
        let list_bytes = serialize(&list, Format::Compact);
        let mut index = index;
        index["manifests"][0]["digest"] = Value::from(Digest::sha256(&list_bytes).to_string());
        index["manifests"][0]["size"] = Value::from(list_bytes.len());

        let config_bytes = serialize(&config, config_format);
        let original = |name: &str| format!("sha256:{}", name.trim_start_matches("blobs/sha256/"));
        let mut blobs = BTreeMap::new();
        let mut ours = BTreeMap::new();
        for (fixture_digest, bytes) in [
            (original_layer, layer),
            (original(&manifest_name), manifest_bytes),
            (original(&list_name), list_bytes.clone()),
            (original(&config_name), config_bytes),
        ] {
            let digest = Digest::sha256(&bytes);
            ours.insert(fixture_digest, digest.clone());
            blobs.insert(digest, bytes);
        }
        let mut files: Vec<(String, Vec<u8>)> =
            blobs.iter().map(|(d, b)| (format!("blobs/sha256/{}", d.encoded()), b.clone())).collect();
        files.push(("index.json".to_owned(), serialize(&index, index_format)));
        for other in ["manifest.json", "oci-layout"] {
            let (doc, format) = doc(other)?;
            files.push((other.to_owned(), serialize(&doc, format)));
        }
        let archive = tar_of(prefix, &files).map_err(|e| format!("building the archive: {e}"))?;
        let platforms = list["manifests"].as_array().map_or(0, Vec::len);
        let annotations = index["manifests"][0]["annotations"].as_object().cloned().unwrap_or_default();
        let list = (Digest::sha256(&list_bytes), list_bytes.len());
        Ok(Self { archive, blobs, ours, list, annotations, platforms })
    }

    /// The fixture's checks, by name.
    fn check(&self, expectations: &Value) -> Vec<(String, Check)> {
        let mut out = Vec::new();
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => return vec![("open".into(), Err(format!("a temporary directory: {e}")))],
        };
        let path = dir.path().join("fixture.tar");
        let layout = std::fs::write(&path, &self.archive)
            .map_err(|e| format!("writing {}: {e}", path.display()))
            .and_then(|()| Layout::open_tar(&path).map_err(|e| e.to_string()));
        let layout = match layout {
            Ok(layout) => layout,
            Err(e) => return vec![("open".into(), Err(e))],
        };
        out.push(("open".into(), Ok(())));
        for (digest, bytes) in &self.blobs {
            let read = match layout.read_blob(digest) {
                Ok(read) if &read == bytes => Ok(()),
                Ok(read) => Err(format!("{} bytes that are not the blob's", read.len())),
                Err(e) => Err(e.to_string()),
            };
            out.push((format!("read {digest}"), read));
        }
        for (tag, want) in expectations["resolve_by_tag"].as_object().into_iter().flatten() {
            out.push((format!("resolve tag {tag}"), self.resolve_tag(&layout, tag, want)));
        }
        for want in expectations["resolve_by_digest"].as_array().into_iter().flatten() {
            let role = want["role"].as_str().unwrap_or_default();
            out.push((format!("resolve {role}"), self.resolve_digest(&layout, want)));
        }
        out.push(("fsck".into(), self.fsck(&path, &layout)));
        out
    }

    /// The tag names the (rebuilt) list the fixture's tag names, with its annotations.
    fn resolve_tag(&self, layout: &Layout, tag: &str, want: &Value) -> Check {
        let found = layout.resolve(tag).map_err(|e| e.to_string())?;
        let fixture_digest = want["digest"].as_str().unwrap_or_default();
        if self.ours.get(fixture_digest) != Some(&self.list.0) {
            return Err(format!(
                "the fixture's tag names {fixture_digest}, which is not the list index.json names"
            ));
        }
        if found.digest != self.list.0 || found.size != self.list.1 as u64 {
            return Err(format!(
                "resolved to {} ({} bytes), expected the list {}",
                found.digest, found.size, self.list.0
            ));
        }
        for (key, value) in &self.annotations {
            let got = found.annotations.get(key);
            if got != value.as_str() {
                return Err(format!("annotation {key} is {got:?}, index.json says {value}"));
            }
        }
        Ok(())
    }

    /// A digest resolves to the descriptor of our blob of that role, with the fixture's
    /// media type; the kept config also has the fixture's digest and size.
    fn resolve_digest(&self, layout: &Layout, want: &Value) -> Check {
        let fixture_digest = want["digest"].as_str().unwrap_or_default();
        let ours = self
            .ours
            .get(fixture_digest)
            .ok_or_else(|| format!("{fixture_digest} is no blob of the rebuilt image"))?;
        let found = layout.resolve(ours.as_str()).map_err(|e| e.to_string())?;
        let media_type = MediaType::from(want["mediaType"].as_str().unwrap_or_default());
        let size = self.blobs.get(ours).map_or(0, Vec::len) as u64;
        if found.media_type != media_type || found.size != size {
            return Err(format!(
                "resolved to {} ({} bytes), expected {media_type} ({size} bytes)",
                found.media_type, found.size
            ));
        }
        if ours.as_str() == fixture_digest && want["size"].as_u64() != Some(size) {
            return Err(format!("kept with {size} bytes, the fixture says {}", want["size"]));
        }
        Ok(())
    }

    /// fsck passes, with one warning per platform of the list the archive does not
    /// carry, and hashes every blob.
    fn fsck(&self, path: &Path, layout: &Layout) -> Check {
        let report = layout.fsck().map_err(|e| format!("{}: {e}", path.display()))?;
        let warnings = report.findings.iter().filter(|f| f.severity == Severity::Warning).count();
        if !report.is_ok() || warnings != self.platforms - 1 || report.blobs_verified != self.blobs.len() {
            return Err(format!(
                "{} blobs verified, findings {:?}; expected {} blobs and {} warnings (the platforms not carried)",
                report.blobs_verified,
                report.findings,
                self.blobs.len(),
                self.platforms - 1
            ));
        }
        Ok(())
    }
}

/// A tar archive of the directories `blobs` and `blobs/sha256` and of `files`, every
/// name under `prefix`.
fn tar_of(prefix: &str, files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let dirs: &[&str] =
        if prefix.is_empty() { &["blobs", "blobs/sha256"] } else { &[".", "./blobs", "./blobs/sha256"] };
    for dir in dirs {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        builder.append_data(&mut header, dir, std::io::empty())?;
    }
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_size(bytes.len() as u64);
        builder.append_data(&mut header, format!("{prefix}{name}"), bytes.as_slice())?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Value {
        let path = crate::workspace::root().join("conformance/vectors/image_layout_cases.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn every_case_of_the_vectors_passes() {
        let cases = run(&vectors());
        let failed: Vec<_> = cases.iter().filter(|c| c.outcome != Outcome::Pass).collect();
        assert!(failed.is_empty(), "{failed:#?}");
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        for name in [
            "hello-world.tar resolve config",
            "hello-world-prefixed-path.tar fsck",
            "negative[2] imageLayoutVersion != 1.0.0",
        ] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
    }

    #[test]
    fn negative_cases_need_their_error_kind() {
        let case = |files: Value| serde_json::json!({"name": "x", "files": files});
        assert_eq!(negative_kind(&case(serde_json::json!({"index.json": "x"}))), Ok(ErrorKind::InvalidIndex));
        assert_eq!(
            negative_kind(&case(serde_json::json!({"oci-layout": "x"}))),
            Ok(ErrorKind::InvalidLayoutFile)
        );
        assert_eq!(
            negative_kind(&case(serde_json::json!({"oci-layout": r#"{"imageLayoutVersion":"9"}"#}))),
            Ok(ErrorKind::UnsupportedLayoutVersion)
        );
        assert!(negative_kind(&case(serde_json::json!({"blobs/x": "y"}))).is_err());
        // A bad index.json refused for another reason fails the case.
        let wrong = case(serde_json::json!({"index.json": "{\"schemaVersion\": 2, \"manifests\": []}"}));
        assert!(negative(&wrong).unwrap_err().starts_with("the bad layout was opened"));
    }

    #[test]
    fn a_changed_document_fails_the_fixture() {
        let mut json = vectors();
        json["tar_fixtures"][0]["json_documents"]["index.json"]["schemaVersion"] = Value::from(3);
        let cases = run(&json);
        let build = cases.iter().find(|c| c.name == "hello-world.tar build").unwrap();
        assert!(
            matches!(&build.outcome, Outcome::Fail(m) if m.starts_with("index.json: no serialization")),
            "{build:?}"
        );
    }
}
