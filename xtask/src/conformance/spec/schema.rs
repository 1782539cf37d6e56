//! `image_spec_schema_cases.json`: the image-spec schema validator's verdicts.
//!
//! Each case is a document (`json`, not always well-formed), the media type it is
//! validated as, and whether it is `valid`. Cases are named by their `source`, e.g.
//! `schema/descriptor_test.go TestDescriptor[2]`, made unique with ` #2` where sources
//! repeat.

use oci_spec_types::MediaType;
use oci_spec_types::validate::validate;
use serde_json::Value;

use super::{bool_field, cases, str_field};
use crate::Result;
use crate::conformance::{Case, CaseNames, Outcome};

/// Whether `json` has the schema-cases format: every case has a `media_type`, a `valid`
/// verdict and a `json` document.
#[must_use]
pub fn detect(json: &Value) -> bool {
    cases(json).is_some_and(|cases| {
        cases.iter().any(|c| {
            c.get("media_type").is_some_and(Value::is_string)
                && c.get("valid").is_some_and(Value::is_boolean)
                && c.get("json").is_some_and(Value::is_string)
        })
    })
}

/// Validates every case's document and compares with the verdict.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let mut names = CaseNames::default();
    cases(json)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, case)| {
            let source = case.get("source").and_then(Value::as_str).map(str::to_owned);
            let name = names.unique(source.unwrap_or_else(|| format!("case[{index}]")));
            Case::check(name, || Outcome::from_result(check(case)))
        })
        .collect()
}

fn check(case: &Value) -> Result<()> {
    let media_type = MediaType::from(str_field(case, "media_type")?);
    let document = str_field(case, "json")?;
    let valid = bool_field(case, "valid")?;
    let description = case.get("description").and_then(Value::as_str).unwrap_or("(no description)");
    match (validate(&media_type, document.as_bytes()), valid) {
        (Ok(()), true) | (Err(_), false) => Ok(()),
        (Ok(()), false) => {
            Err(format!("{description}: expected a validation error for {media_type}, got none"))
        }
        (Err(e), true) => Err(format!("{description}: expected valid {media_type}, got: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_structure_and_names_by_source() {
        let json = serde_json::json!({"cases": [
            {"media_type": "application/vnd.oci.descriptor.v1+json", "valid": false, "json": "{",
             "source": "a_test.go T[0]", "description": "broken"},
            {"media_type": "application/vnd.oci.descriptor.v1+json", "valid": false, "json": "[",
             "source": "a_test.go T[0]"},
            {"media_type": "application/vnd.oci.descriptor.v1+json", "valid": false, "json": "x"}
        ]});
        assert!(detect(&json));
        assert!(!detect(&serde_json::json!({"cases": [{"group": "parse"}]})));
        let cases = run(&json);
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a_test.go T[0]", "a_test.go T[0] #2", "case[2]"]);
        // Documents that are not JSON at all never validate.
        assert!(cases.iter().all(|c| c.outcome == Outcome::Pass), "{cases:?}");
    }
}
