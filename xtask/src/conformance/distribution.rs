//! The `distribution` suite: the parts of `distribution_spec.json` that the types and
//! the reference grammar answer without a registry (error codes, the referrers tag
//! schema, the repository name and tag grammars, the empty descriptor).
//!
//! The file's other groups are not cases of this suite, and are not counted here:
//! `conformance_range_tests` are the registry suite's `range requests` (a unit test of
//! `registry::blobs` holds them equal to the vectors), `tag_pagination_distribution_impl`
//! describes the reference registry's own pagination (not mandated by the spec, so no
//! registry is judged by it), and `regexps`/`endpoints` document what the grammar and
//! the client implement.

use oci_spec_types::distribution::referrers_tag;
use oci_spec_types::{Descriptor, Digest, ErrorCode};
use serde_json::Value;

use super::{Case, CaseNames, Outcome};

/// Whether `json` is a distribution-spec vector file (error codes plus the referrers tag
/// schema).
#[must_use]
pub fn detect(json: &Value) -> bool {
    json.get("error_codes").is_some_and(Value::is_array)
        && json.get("referrers_tag_schema").is_some_and(Value::is_array)
}

/// Runs every case of a distribution-spec vector file.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let mut names = CaseNames::default();
    let mut cases = Vec::new();
    let mut push = |name: String, outcome: Outcome| cases.push(Case { name: names.unique(name), outcome });
    for entry in json["error_codes"].as_array().into_iter().flatten() {
        let code = entry["code"].as_str().unwrap_or_default();
        let want = entry["description"].as_str().unwrap_or_default();
        let got = ErrorCode::from(code);
        let outcome = if got.is_known() && got.description() == want {
            Outcome::Pass
        } else {
            Outcome::Fail(format!("description {:?}, expected {want:?}", got.description()))
        };
        push(format!("error code {code}"), outcome);
    }
    for entry in json["referrers_tag_schema"].as_array().into_iter().flatten() {
        let input = entry["digest"].as_str().unwrap_or_default();
        let want = entry["referrers_tag"].as_str().unwrap_or_default();
        let outcome = match Digest::parse(input) {
            Ok(d) if referrers_tag(&d) == want => Outcome::Pass,
            Ok(d) => Outcome::Fail(format!("tag {:?}, expected {want:?}", referrers_tag(&d))),
            Err(e) => Outcome::Fail(format!("digest refused: {e}")),
        };
        push(format!("referrers tag {input:.48}"), outcome);
    }
    grammar_cases(json, "name_regexp_cases_derived", "name", &mut push, |s| {
        oci_reference::grammar::path(s).is_ok_and(|(_, rest)| rest.is_empty())
    });
    grammar_cases(json, "tag_regexp_cases_derived", "tag", &mut push, |s| {
        oci_reference::grammar::tag(s).is_ok_and(|(_, rest)| rest.is_empty())
    });
    if let Some(expected) = json.get("empty_json_descriptor") {
        let ours = serde_json::to_value(Descriptor::empty()).unwrap_or_default();
        let outcome =
            if &ours == expected { Outcome::Pass } else { Outcome::Fail(format!("ours is {ours}")) };
        push("empty JSON descriptor".to_owned(), outcome);
    }
    if let Some(expected) = json.get("empty_blob_sha256").and_then(Value::as_str) {
        let ours = Digest::sha256(b"");
        let outcome =
            if ours.as_str() == expected { Outcome::Pass } else { Outcome::Fail(format!("ours is {ours}")) };
        push("empty blob digest".to_owned(), outcome);
    }
    cases
}

fn grammar_cases(
    json: &Value,
    group: &str,
    what: &str,
    push: &mut impl FnMut(String, Outcome),
    matches: impl Fn(&str) -> bool,
) {
    for entry in json[group].as_array().into_iter().flatten() {
        let input = entry["input"].as_str().unwrap_or_default();
        let want = entry["matches"].as_bool().unwrap_or_default();
        let got = matches(input);
        let outcome = if got == want {
            Outcome::Pass
        } else {
            Outcome::Fail(format!("{what} grammar says {got}, expected {want}"))
        };
        push(format!("{what} {input:.48}"), outcome);
    }
}
