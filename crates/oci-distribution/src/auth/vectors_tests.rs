//! Every case of `conformance/vectors/auth_and_credentials.json` by the checks of
//! `cargo xtask conformance auth` (the suite module is shared; it names the crate
//! `oci_distribution`, see `lib.rs`): challenge parsing, scope normalization, docker
//! `config.json` lookups (the fixtures written to temporary files and loaded from
//! there). A unit test, so that the suite reaches the crate's internals without the
//! `unstable-internals` feature.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use oci_distribution::auth::credentials::DockerConfig;
use serde_json::{Value, json};

#[allow(unreachable_pub, dead_code)]
#[path = "../../../../xtask/src/conformance/case.rs"]
mod case;

#[allow(unreachable_pub, dead_code)]
#[path = "../../../../xtask/src/conformance/auth.rs"]
mod auth;

use case::{Case, CaseNames, Outcome};

fn vectors() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/vectors/auth_and_credentials.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Asserts that `cases` are the file's `counts[count]` cases, and that every one passed,
/// listing those that did not.
fn assert_all_pass(vectors: &Value, count: &str, cases: &[Case]) {
    assert_eq!(cases.len() as u64, vectors["counts"][count].as_u64().unwrap(), "{count} cases");
    let failures: Vec<String> = cases
        .iter()
        .filter(|case| case.outcome != Outcome::Pass)
        .map(|case| format!("{}: {:?}", case.name, case.outcome))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn challenge_cases() {
    let vectors = vectors();
    let cases = auth::run(&json!({ "challenge_cases": vectors["challenge_cases"] }));
    assert_all_pass(&vectors, "challenge", &cases);
}

#[test]
fn scope_cases() {
    let vectors = vectors();
    let cases = auth::run(&json!({ "scope_cases": vectors["scope_cases"] }));
    assert_all_pass(&vectors, "scope", &cases);
}

#[test]
fn config_cases() {
    let vectors = vectors();
    let files = vectors["config_files"].as_object().unwrap();
    assert_eq!(files.len() as u64, vectors["counts"]["config_files"].as_u64().unwrap());
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content.as_str().unwrap()).unwrap();
    }
    let config = json!({ "config_cases": vectors["config_cases"], "config_files": files });
    let cases = auth::run_with(&config, &|file, _| DockerConfig::load(&dir.path().join(file)));
    assert_all_pass(&vectors, "config", &cases);
}
