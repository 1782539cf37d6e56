//! The `spec` suite: oci-spec-types against go-digest and image-spec vectors.
//!
//! It understands three vector formats, each recognized by its structure:
//!
//! - [`digest`]: a `cases` list whose entries carry a `group` (`digest.json`);
//! - [`schema`]: a `cases` list of `media_type` / `valid` / `json` entries
//!   (`image_spec_schema_cases.json`);
//! - [`layout`]: `tar_fixtures` and `negative_cases` (`image_layout_cases.json`), of which
//!   this suite checks the JSON documents only.

pub mod digest;
pub mod layout;
pub mod schema;

use serde_json::Value;

use super::Case;
use crate::Result;

/// Whether `json` is a vector file of one of the spec suite's formats.
#[must_use]
pub fn detect(json: &Value) -> bool {
    digest::detect(json) || schema::detect(json) || layout::detect(json)
}

/// Checks every case of a spec vector file.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let mut cases = Vec::new();
    if digest::detect(json) {
        cases.extend(digest::run(json));
    }
    if schema::detect(json) {
        cases.extend(schema::run(json));
    }
    if layout::detect(json) {
        cases.extend(layout::run(json));
    }
    cases
}

/// The `cases` array of a vector file, when it has a non-empty one.
fn cases(json: &Value) -> Option<&Vec<Value>> {
    json.get("cases").and_then(Value::as_array).filter(|cases| !cases.is_empty())
}

/// A required string field of a case.
fn str_field<'a>(case: &'a Value, key: &str) -> Result<&'a str> {
    case.get(key).and_then(Value::as_str).ok_or_else(|| format!("malformed case: no string field `{key}`"))
}

/// A required boolean field of a case.
fn bool_field(case: &Value, key: &str) -> Result<bool> {
    case.get(key).and_then(Value::as_bool).ok_or_else(|| format!("malformed case: no boolean field `{key}`"))
}
