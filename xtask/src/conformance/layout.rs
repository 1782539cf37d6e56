//! The `layout` suite: `image_layout_cases.json` through the `oci-layout` crate.
//!
//! - `ref.name` grammar cases against [`oci_layout::ref_name::is_valid`];
//! - bad layouts (the files of each negative case written over a fresh layout) must be
//!   refused when opened or when `index.json` is read;
//! - each tar fixture is rebuilt from the documents of the vector file whose bytes are
//!   known exactly (their sha256 matches the fixture's entry), in the fixture's entry
//!   order and naming (`./` prefixes included), then opened with the tar driver: every
//!   rebuilt blob must read back, and tags must resolve as the expectations say.
//!   Entries whose bytes the vector file does not carry (binary layers) are left out,
//!   and expectations that need them are skipped with that reason.

use std::collections::BTreeMap;
use std::path::Path;

use oci_layout::Layout;
use oci_spec_types::Digest;
use serde_json::Value;

use super::{Case, CaseNames, Outcome};

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
    let mut push = |name: String, outcome: Outcome| cases.push(Case { name: names.unique(name), outcome });
    for case in json["ref_name_cases_derived"].as_array().into_iter().flatten() {
        let input = case["input"].as_str().unwrap_or_default();
        let want = case["matches_ebnf"].as_bool().unwrap_or_default();
        let got = oci_layout::ref_name::is_valid(input);
        let outcome = if got == want {
            Outcome::Pass
        } else {
            Outcome::Fail(format!("is_valid = {got}, expected {want}"))
        };
        push(format!("ref.name {input:?}"), outcome);
    }
    for (i, case) in json["negative_cases"].as_array().into_iter().flatten().enumerate() {
        let name = case["name"].as_str().unwrap_or_default();
        push(format!("negative[{i}] {name}"), Case::check("", || negative(case)).outcome);
    }
    for fixture in json["tar_fixtures"].as_array().into_iter().flatten() {
        let file = fixture["file"].as_str().unwrap_or("fixture.tar");
        for (name, outcome) in tar_fixture(fixture, json.get("tar_fixture_expectations")) {
            push(format!("{file} {name}"), outcome);
        }
    }
    cases
}

fn negative(case: &Value) -> Outcome {
    let Ok(dir) = tempfile::tempdir() else { return Outcome::Fail("no temporary directory".into()) };
    let root = dir.path().join("layout");
    if let Err(e) = Layout::init_dir(&root) {
        return Outcome::Fail(format!("init: {e}"));
    }
    for (file, content) in case["files"].as_object().into_iter().flatten() {
        let path = root.join(file);
        // `oci-layout` is written read-only by init; replace it rather than write through.
        let _ = std::fs::remove_file(&path);
        if let Err(e) = std::fs::write(&path, content.as_str().unwrap_or_default()) {
            return Outcome::Fail(format!("writing {file}: {e}"));
        }
    }
    match Layout::open_dir(&root).and_then(|l| l.read_index()) {
        Ok(_) => Outcome::Fail("the bad layout was accepted".into()),
        Err(_) => Outcome::Pass,
    }
}

/// The exact bytes of a document of the vector file, when its compact or two-space
/// pretty JSON hashes to the entry's sha256.
fn exact_bytes(doc: &Value, sha256: &str) -> Option<Vec<u8>> {
    let compact = serde_json::to_vec(doc).ok()?;
    let pretty = serde_json::to_vec_pretty(doc).ok()?;
    [compact.clone(), [compact, b"\n".to_vec()].concat(), pretty]
        .into_iter()
        .find(|bytes| Digest::sha256(bytes).encoded() == sha256)
}

fn tar_fixture(fixture: &Value, expectations: Option<&Value>) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    let docs = fixture["json_documents"].as_object().cloned().unwrap_or_default();
    let mut known: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut builder = tar::Builder::new(Vec::new());
    for entry in fixture["tar_entries"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or_default();
        let clean = name.trim_start_matches("./");
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        if entry["type"] == "dir" {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            let _ = builder.append_data(
                &mut header,
                format!("{}/", name.trim_end_matches('/')),
                std::io::empty(),
            );
            continue;
        }
        let sha = entry["sha256"].as_str().unwrap_or_default();
        let bytes =
            docs.get(name).or_else(|| docs.get(clean)).and_then(|doc| exact_bytes(doc, sha)).or_else(|| {
                (clean == "oci-layout")
                    .then(|| br#"{"imageLayoutVersion": "1.0.0"}"#.to_vec())
                    .filter(|b| Digest::sha256(b).encoded() == sha)
            });
        let Some(bytes) = bytes else { continue };
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        if builder.append_data(&mut header, name, bytes.as_slice()).is_err() {
            out.push((format!("build {name}"), Outcome::Fail("could not build the tar".into())));
            return out;
        }
        known.insert(clean.to_owned(), bytes);
    }
    let Ok(tar_bytes) = builder.into_inner() else {
        out.push(("build".into(), Outcome::Fail("could not finish the tar".into())));
        return out;
    };
    let Ok(dir) = tempfile::tempdir() else {
        out.push(("tempdir".into(), Outcome::Fail("no temporary directory".into())));
        return out;
    };
    let path = dir.path().join("fixture.tar");
    if let Err(e) = std::fs::write(&path, &tar_bytes) {
        out.push(("write".into(), Outcome::Fail(e.to_string())));
        return out;
    }
    check_fixture(&path, &known, expectations, &mut out);
    out
}

fn check_fixture(
    path: &Path,
    known: &BTreeMap<String, Vec<u8>>,
    expectations: Option<&Value>,
    out: &mut Vec<(String, Outcome)>,
) {
    let layout = match Layout::open_tar(path) {
        Ok(l) => l,
        Err(e) => {
            out.push(("open".into(), Outcome::Fail(e.to_string())));
            return;
        }
    };
    out.push(("open".into(), Outcome::Pass));
    for (name, bytes) in known {
        let Some(hex) = name.strip_prefix("blobs/sha256/") else { continue };
        let outcome = match Digest::parse(&format!("sha256:{hex}")).map(|d| layout.read_blob(&d)) {
            Ok(Ok(read)) if &read == bytes => Outcome::Pass,
            Ok(Ok(_)) => Outcome::Fail("different bytes".into()),
            Ok(Err(e)) => Outcome::Fail(e.to_string()),
            Err(e) => Outcome::Fail(e.to_string()),
        };
        out.push((format!("read {name}"), outcome));
    }
    let Some(expectations) = expectations else { return };
    for (tag, want) in expectations["resolve_by_tag"].as_object().into_iter().flatten() {
        let outcome = match layout.resolve(tag) {
            Ok(d) if d.digest.as_str() == want["digest"] && Some(d.size) == want["size"].as_u64() => {
                Outcome::Pass
            }
            Ok(d) => Outcome::Fail(format!("resolved to {} ({} bytes)", d.digest, d.size)),
            Err(e) => Outcome::Fail(e.to_string()),
        };
        out.push((format!("resolve tag {tag}"), outcome));
    }
    for want in expectations["resolve_by_digest"].as_array().into_iter().flatten() {
        let digest = want["digest"].as_str().unwrap_or_default();
        let name = format!("resolve {}", want["role"].as_str().unwrap_or(digest));
        let in_archive =
            known.contains_key(&format!("blobs/sha256/{}", digest.trim_start_matches("sha256:")));
        let outcome = if in_archive {
            match layout.resolve(digest) {
                Ok(d)
                    if Some(d.size) == want["size"].as_u64()
                        && d.media_type == want["mediaType"].as_str().unwrap_or_default() =>
                {
                    Outcome::Pass
                }
                Ok(d) => Outcome::Fail(format!("resolved to {d:?}")),
                Err(e) => {
                    Outcome::Skip(format!("not reachable without the blobs the vector file lacks: {e}"))
                }
            }
        } else {
            Outcome::Skip("the vector file does not carry this blob's bytes".into())
        };
        out.push((name, outcome));
    }
}
