//! `digest.json`: go-digest parsing, algorithm names and selection, computed digests.
//!
//! Cases are named `<group>[<index within the group>] <label>`, the label being the
//! quoted input (or the test name / input label where there is no input), e.g.
//! `parse[4] "sha256:"`.

use std::collections::BTreeMap;

use base64::Engine as _;
use oci_spec_types::{Digest, DigestAlgorithm, DigestError, DigestErrorKind};
use serde_json::Value;

use super::{bool_field, cases, str_field};
use crate::Result;
use crate::conformance::{Case, CaseNames, Outcome};

const GROUPS: [&str; 6] =
    ["parse", "algorithm-name", "algorithm-set", "compute", "grammar", "derived-validate"];

/// Whether `json` has the `digest.json` format: every case has a `group`, and some group
/// is one this module knows.
#[must_use]
pub fn detect(json: &Value) -> bool {
    cases(json)
        .is_some_and(|cases| cases.iter().any(|c| c["group"].as_str().is_some_and(|g| GROUPS.contains(&g))))
}

/// Checks every case; a case without a known group is a malformed case, which fails.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let mut index_in_group: BTreeMap<String, usize> = BTreeMap::new();
    let mut names = CaseNames::default();
    let mut out = Vec::new();
    for case in cases(json).into_iter().flatten() {
        let group = case["group"].as_str().unwrap_or_default().to_owned();
        let index = index_in_group.entry(group.clone()).or_default();
        let name = names.unique(format!("{group}[{index}] {}", label(case)));
        *index += 1;
        out.push(Case::check(name, || check(&group, case)));
    }
    out
}

/// What identifies a case besides its group and index.
fn label(case: &Value) -> String {
    match (case.get("input").and_then(Value::as_str), case.get("name").and_then(Value::as_str)) {
        (Some(input), _) => format!("{input:?}"),
        (None, Some(name)) => name.to_owned(),
        (None, None) => {
            let algorithm = case.get("algorithm").and_then(Value::as_str).unwrap_or("?");
            let input = case
                .get("input_label")
                .or_else(|| case.get("input_hex"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!("{algorithm} {input}")
        }
    }
}

fn check(group: &str, case: &Value) -> Outcome {
    let result = match group {
        "parse" => check_parse(case),
        "algorithm-name" => check_algorithm_name(case),
        "algorithm-set" => check_algorithm_set(case),
        "compute" => check_compute(case),
        "grammar" => check_grammar(case),
        "derived-validate" => check_derived_validate(case),
        other => Err(format!("malformed case: unknown group {other:?}")),
    };
    Outcome::from_result(result)
}

/// Maps go-digest's error variable names to our kinds.
fn error_kind(go_name: &str) -> Result<DigestErrorKind> {
    match go_name {
        "ErrDigestInvalidFormat" => Ok(DigestErrorKind::InvalidFormat),
        "ErrDigestInvalidLength" => Ok(DigestErrorKind::InvalidLength),
        "ErrDigestUnsupported" => Ok(DigestErrorKind::Unsupported),
        other => Err(format!("malformed case: unknown go-digest error `{other}`")),
    }
}

/// The optional `error` field: `None` for null or absent.
fn expected_error(case: &Value) -> Result<Option<(&str, DigestErrorKind)>> {
    match case.get("error") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) => Ok(Some((name, error_kind(name)?))),
        Some(other) => Err(format!("malformed case: `error` is {other}")),
    }
}

/// Checks that `result` failed with `kind`.
fn expect_kind<T: std::fmt::Debug>(
    what: &str,
    result: std::result::Result<T, DigestError>,
    go_name: &str,
    kind: DigestErrorKind,
) -> Result<DigestError> {
    match result {
        Ok(value) => Err(format!("{what} accepted it ({value:?}), expected {go_name}")),
        Err(e) if e.kind() == kind => Ok(e),
        Err(e) => Err(format!("{what} failed with {:?} ({e}), expected {go_name}", e.kind())),
    }
}

fn check_digest_parts(what: &str, digest: &Digest, expect: &Value) -> Result<()> {
    let algorithm = str_field(expect, "algorithm")?;
    let encoded = str_field(expect, "encoded")?;
    if digest.algorithm_str() != algorithm || digest.encoded() != encoded {
        return Err(format!(
            "{what} gave algorithm {:?} and encoded {:?}, expected {algorithm:?} and {encoded:?}",
            digest.algorithm_str(),
            digest.encoded()
        ));
    }
    Ok(())
}

/// go-digest `Parse` (our `parse_strict`), and the lenient `parse` where `expect` says
/// what the digest's parts are.
fn check_parse(case: &Value) -> Result<()> {
    let input = str_field(case, "input")?;
    let strict = Digest::parse_strict(input);
    let expect = case.get("expect").filter(|v| v.is_object());
    if let Some((go_name, kind)) = expected_error(case)? {
        let error = expect_kind("parse_strict", strict, go_name, kind)?;
        if let Some(message) = case.get("error_message").and_then(Value::as_str) {
            let shown = error.to_string();
            if !shown.starts_with(message) {
                return Err(format!("error message {shown:?} does not start with {message:?}"));
            }
        }
    } else {
        let digest = strict.map_err(|e| format!("parse_strict failed: {e}"))?;
        if let Some(expect) = expect {
            check_digest_parts("parse_strict", &digest, expect)?;
        }
    }
    if let Some(expect) = expect {
        let digest = Digest::parse(input).map_err(|e| format!("parse failed: {e}"))?;
        check_digest_parts("parse", &digest, expect)?;
    }
    Ok(())
}

fn check_algorithm_name(case: &Value) -> Result<()> {
    let input = str_field(case, "input")?;
    let valid = bool_field(case, "valid")?;
    match (input.parse::<DigestAlgorithm>(), valid) {
        (Ok(_), true) | (Err(_), false) => Ok(()),
        (Ok(alg), false) => Err(format!("accepted as algorithm {alg:?}, expected an error")),
        (Err(e), true) => Err(format!("refused: {e}")),
    }
}

/// go-digest's `Algorithm.Set` as a flag: the value after `-algorithm`, or "".
fn check_algorithm_set(case: &Value) -> Result<()> {
    let args: Vec<&str> = case
        .get("args")
        .and_then(Value::as_array)
        .ok_or("malformed case: no `args` list")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let arg = args.iter().position(|a| *a == "-algorithm").and_then(|i| args.get(i + 1)).copied();
    let selected = DigestAlgorithm::select(arg.unwrap_or(""));
    if let Some((go_name, kind)) = expected_error(case)? {
        expect_kind("select", selected, go_name, kind)?;
        return Ok(());
    }
    let expect = str_field(case, "expect")?;
    match selected {
        Ok(alg) if alg.as_str() == expect => Ok(()),
        Ok(alg) => Err(format!("selected {:?}, expected {expect:?}", alg.as_str())),
        Err(e) => Err(format!("select failed: {e}")),
    }
}

fn check_compute(case: &Value) -> Result<()> {
    let algorithm: DigestAlgorithm =
        str_field(case, "algorithm")?.parse().map_err(|e| format!("malformed case: algorithm: {e}"))?;
    let bytes = if let Some(b64) = case.get("input_base64").and_then(Value::as_str) {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("malformed case: input_base64: {e}"))?
    } else {
        decode_hex(str_field(case, "input_hex")?)?
    };
    let expect = str_field(case, "expect")?;
    let digest = Digest::compute(&algorithm, &bytes).map_err(|e| format!("compute failed: {e}"))?;
    if digest.as_str() == expect {
        Ok(())
    } else {
        Err(format!("computed {}, expected {expect}", digest.as_str()))
    }
}

fn decode_hex(hex: &str) -> Result<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return Err("malformed case: input_hex has an odd length".to_owned());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("malformed case: input_hex is not hex at {i}"))
        })
        .collect()
}

/// The image-spec grammar (lenient parse), and whether the algorithm is registered.
fn check_grammar(case: &Value) -> Result<()> {
    let input = str_field(case, "input")?;
    let grammar_valid = bool_field(case, "grammar_valid")?;
    match (Digest::parse(input), grammar_valid) {
        (Err(_), false) => Ok(()),
        (Ok(d), false) => Err(format!("parse accepted it as {d:?}, expected a grammar error")),
        (Err(e), true) => Err(format!("parse failed: {e}")),
        (Ok(d), true) => {
            let registered = bool_field(case, "registered_algorithm")?;
            let known = d.algorithm().is_known();
            if known == registered {
                Ok(())
            } else {
                Err(format!(
                    "algorithm {:?}: is_known() is {known}, expected {registered}",
                    d.algorithm_str()
                ))
            }
        }
    }
}

/// A port of go-digest's `Validate` with sha256 and sha512 registered: our strict parse
/// must fail the same way; the lenient parse must refuse grammar errors and accept
/// grammar-valid digests that go-digest only refuses as unsupported.
fn check_derived_validate(case: &Value) -> Result<()> {
    let input = str_field(case, "input")?;
    let strict = Digest::parse_strict(input);
    let go_error = match case.get("go_digest_error_sha256_sha512_registered") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some((name.as_str(), error_kind(name)?)),
        Some(other) => {
            return Err(format!("malformed case: go_digest_error_sha256_sha512_registered is {other}"));
        }
    };
    match go_error {
        None => {
            strict.map_err(|e| format!("parse_strict failed: {e}"))?;
        }
        Some((go_name, kind)) => {
            expect_kind("parse_strict", strict, go_name, kind)?;
        }
    }
    let grammar_valid = bool_field(case, "grammar_valid")?;
    let lenient = Digest::parse(input);
    let unsupported_only = matches!(go_error, None | Some((_, DigestErrorKind::Unsupported)));
    match lenient {
        Ok(d) if !grammar_valid => Err(format!("parse accepted it as {d:?}, but it breaks the grammar")),
        Err(e) if grammar_valid && unsupported_only => {
            Err(format!("parse failed ({e}), but the digest matches the grammar"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex("0001ff").unwrap(), [0, 1, 255]);
        assert!(decode_hex("0").is_err());
        assert!(decode_hex("zz").is_err());
    }

    #[test]
    fn names_and_outcomes() {
        let json: Value = serde_json::json!({"cases": [
            {"group": "parse", "input": "", "error": "ErrDigestInvalidFormat",
             "error_message": "invalid checksum digest format"},
            {"group": "parse", "input": "sha256:", "error": "ErrDigestInvalidFormat"},
            {"group": "algorithm-name", "input": "SHA256", "valid": true},
            {"group": "algorithm-set", "name": "Default", "args": ["x"], "error": null, "expect": "sha256"},
            {"group": "compute", "algorithm": "sha256", "input_label": "empty", "input_base64": "",
             "expect": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
            {"group": "mystery", "input": "x"}
        ]});
        assert!(detect(&json));
        let cases = run(&json);
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                r#"parse[0] """#,
                r#"parse[1] "sha256:""#,
                r#"algorithm-name[0] "SHA256""#,
                "algorithm-set[0] Default",
                "compute[0] sha256 empty",
                r#"mystery[0] "x""#,
            ]
        );
        assert_eq!(cases[0].outcome, Outcome::Pass);
        assert_eq!(cases[1].outcome, Outcome::Pass);
        assert!(matches!(&cases[2].outcome, Outcome::Fail(m) if m.starts_with("refused: ")));
        assert_eq!(cases[3].outcome, Outcome::Pass);
        assert_eq!(cases[4].outcome, Outcome::Pass);
        assert_eq!(cases[5].outcome, Outcome::Fail(r#"malformed case: unknown group "mystery""#.into()));
    }

    #[test]
    fn other_formats_are_not_detected() {
        assert!(!detect(&serde_json::json!({"cases": [{"func": "Parse", "input": "x"}]})));
        assert!(!detect(&serde_json::json!({"cases": []})));
        assert!(!detect(&serde_json::json!({"cases": [{"group": "other"}]})));
    }
}
