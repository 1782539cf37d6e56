//! Every case of the four reference vector files in `conformance/vectors/`, through the
//! same checks as `cargo xtask conformance reference` (the suite module is shared). A
//! unit test, so that the suite reaches the grammar productions without the
//! `unstable-grammar` feature (the crate is `oci_reference` to it, see `lib.rs`).

use std::path::Path;

#[allow(unreachable_pub, dead_code)]
#[path = "../../../xtask/src/conformance/case.rs"]
mod case;

use case::{Case, Outcome};

#[allow(unreachable_pub, dead_code)]
#[path = "../../../xtask/src/conformance/reference.rs"]
mod reference;

/// Deliberate differences from upstream, by file and case name.
const EXPECTED_DIFFERENCES: &[(&str, &str)] = &[
    // distribution/reference's test registers only sha256 with go-digest (its go.mod pins
    // go-digest v1.0.0 and the test imports crypto/sha256 alone), so it expects
    // ErrDigestUnsupported here. The image-spec registers sha512 and this crate accepts it.
    ("reference_parse.json", "Parse[14] \"validname@sha512:ffffffffffffffffffffffffffffff…\""),
];

const FILES: &[&str] =
    &["reference_parse.json", "reference_normalize.json", "reference_regexp.json", "oras_reference.json"];

#[test]
fn every_vector_case() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/vectors");
    let (mut passed, mut failures, mut skipped, mut differences) = (0, Vec::new(), Vec::new(), 0);
    for file in FILES {
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(reference::detect(&json), "{file} is not recognized as a reference vector file");
        let cases = reference::run(&json);
        let count = json["cases"].as_array().map_or(0, Vec::len);
        assert_eq!(cases.len(), count, "{file}: every case runs");
        let mut names: Vec<_> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), cases.len(), "{file}: case names are unique");
        for case in cases {
            let expected_difference = EXPECTED_DIFFERENCES.contains(&(*file, case.name.as_str()));
            match (case.outcome, expected_difference) {
                (Outcome::Pass, false) => passed += 1,
                (Outcome::Fail(_), true) => differences += 1,
                (Outcome::Pass, true) => {
                    failures.push(format!("{file}: {}: passes, but is listed as a difference", case.name));
                }
                (Outcome::Fail(why), false) => failures.push(format!("{file}: {}: {why}", case.name)),
                (Outcome::Skip(why), _) => skipped.push(format!("{file}: {}: {why}", case.name)),
            }
        }
    }
    for failure in &failures {
        eprintln!("FAIL {failure}");
    }
    eprintln!(
        "vectors: {passed} passed, {} failed, {} skipped, {differences} expected differences",
        failures.len(),
        skipped.len()
    );
    assert!(failures.is_empty(), "{} vector cases failed (listed above)", failures.len());
    assert!(skipped.is_empty(), "skipped: {skipped:#?}");
    assert_eq!(differences, EXPECTED_DIFFERENCES.len(), "every expected difference is still a difference");
}

#[test]
fn other_vector_files_are_not_recognized() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/vectors");
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.map(|e| e.path()).unwrap_or_default();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if path.extension().is_none_or(|e| e != "json") || FILES.contains(&name.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert!(!reference::detect(&json), "{name} is recognized as a reference vector file");
    }
}
