//! Every case of `conformance/vectors/auth_and_credentials.json` through the public
//! `auth` API: challenge parsing, scope normalization, docker `config.json` lookups
//! (the fixtures written to temporary files).

#![allow(clippy::unwrap_used)] // a test binary: a panic is a failing test with its message

use std::collections::BTreeMap;
use std::path::PathBuf;

use oci_distribution::auth::challenge::{Scheme, parse_challenges, parse_one};
use oci_distribution::auth::credentials::{Credential, DockerConfig, encode_auth};
use oci_distribution::auth::scope::{clean_actions, clean_scopes, scope_repository};
use serde_json::Value;

fn vectors() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/vectors/auth_and_credentials.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn cases<'a>(vectors: &'a Value, section: &str) -> &'a [Value] {
    vectors[section].as_array().map_or(&[], Vec::as_slice)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// `null` is Go's nil slice: an empty list here.
fn optional_strings(value: &Value) -> Vec<String> {
    if value.is_null() { Vec::new() } else { strings(value) }
}

fn scheme_name(scheme: Option<Scheme>) -> &'static str {
    match scheme {
        Some(Scheme::Basic) => "basic",
        Some(Scheme::Bearer) => "bearer",
        _ => "unknown",
    }
}

fn expected_params(case: &Value) -> Option<BTreeMap<String, String>> {
    case["expect_params"]
        .as_object()
        .map(|params| params.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned())).collect())
}

/// Runs `check` on every case, then fails listing every case that failed.
fn run_all(section: &str, cases: &[Value], mut check: impl FnMut(&Value) -> Result<(), String>) {
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(i, case)| {
            let name = case["name"].as_str().unwrap_or(section);
            check(case).err().map(|why| format!("{section}[{i}] {name:?}: {why}"))
        })
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
    let cases = cases(&vectors, "challenge_cases");
    assert_eq!(cases.len() as u64, vectors["counts"]["challenge"].as_u64().unwrap());
    run_all("challenge", cases, |case| {
        let header = case["header"].as_str().unwrap();
        let want_scheme = case["expect_scheme"].as_str().unwrap();
        let want_params = expected_params(case);
        if case["source"].as_str().unwrap().starts_with("oras-go") {
            let (scheme, params) = parse_one(header);
            let got = (scheme_name(scheme), params);
            if got != (want_scheme, want_params.clone()) {
                return Err(format!("parse_one gave {got:?}"));
            }
            // The RFC 7235 parser reads the same Bearer parameters.
            if scheme == Some(Scheme::Bearer) {
                let first = parse_challenges(header).into_iter().next();
                let params: BTreeMap<String, String> = first
                    .iter()
                    .flat_map(oci_distribution::auth::challenge::Challenge::params)
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                if params != want_params.unwrap_or_default() {
                    return Err(format!("parse_challenges gave {params:?}"));
                }
            }
        } else {
            let all = parse_challenges(header);
            let first = all.first().ok_or("no challenge")?;
            let params: BTreeMap<String, String> =
                first.params().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
            let got = (first.scheme_name().to_ascii_lowercase(), Some(params));
            if got != (want_scheme.to_owned(), want_params) {
                return Err(format!("parse_challenges gave {got:?}"));
            }
        }
        Ok(())
    });
}

#[test]
fn scope_cases() {
    let vectors = vectors();
    let cases = cases(&vectors, "scope_cases");
    assert_eq!(cases.len() as u64, vectors["counts"]["scope"].as_u64().unwrap());
    run_all("scope", cases, |case| {
        let got = match case["func"].as_str().unwrap() {
            "ScopeRepository" => {
                let actions = optional_strings(&case["actions"]);
                let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
                Value::from(scope_repository(case["repository"].as_str().unwrap(), &actions))
            }
            "CleanScopes" => Value::from(clean_scopes(&optional_strings(&case["scopes"]))),
            "cleanActions" => Value::from(clean_actions(&optional_strings(&case["actions"]))),
            other => return Err(format!("unknown func {other}")),
        };
        let want = match &case["expect"] {
            Value::Null => Value::Array(Vec::new()),
            want => want.clone(),
        };
        if got == want { Ok(()) } else { Err(format!("got {got}, want {want}")) }
    });
}

fn credential_fields(credential: &Credential) -> BTreeMap<&'static str, String> {
    [
        ("Username", &credential.username),
        ("Password", &credential.password),
        ("RefreshToken", &credential.refresh_token),
        ("AccessToken", &credential.access_token),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k, v.clone()))
    .collect()
}

#[test]
fn config_cases() {
    let vectors = vectors();
    let cases = cases(&vectors, "config_cases");
    assert_eq!(cases.len() as u64, vectors["counts"]["config"].as_u64().unwrap());
    let files = vectors["config_files"].as_object().unwrap();
    assert_eq!(files.len() as u64, vectors["counts"]["config_files"].as_u64().unwrap());
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content.as_str().unwrap()).unwrap();
    }
    run_all("config", cases, |case| {
        let expect_error = case["expect_error"].as_bool().unwrap_or(false);
        let op = case["op"].as_str().unwrap();
        if op == "validate_put" {
            let cred = &case["cred"];
            let result = encode_auth(cred["Username"].as_str().unwrap(), cred["Password"].as_str().unwrap());
            return if result.is_err() == expect_error { Ok(()) } else { Err(format!("got {result:?}")) };
        }
        let loaded = DockerConfig::load(&dir.path().join(case["file"].as_str().unwrap()));
        let config = match (op, loaded) {
            ("load", loaded) if loaded.is_err() == expect_error => return Ok(()),
            ("load", loaded) => return Err(format!("load gave {loaded:?}")),
            (_, Ok(config)) => config,
            (_, Err(e)) => return Err(format!("load failed: {e}")),
        };
        let server = case["server_address"].as_str().unwrap_or_default();
        match op {
            "get_credential" => match config.get_credential(server) {
                Err(_) if expect_error => Ok(()),
                Ok(credential) if !expect_error => {
                    let want: BTreeMap<&str, String> = case["expect"]
                        .as_object()
                        .unwrap()
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str().unwrap().to_owned()))
                        .collect();
                    let got = credential_fields(&credential);
                    if got == want { Ok(()) } else { Err(format!("got {got:?}, want {want:?}")) }
                }
                other => Err(format!("got {other:?}")),
            },
            "get_credential_helper" => {
                let got = config.credential_helper(server).unwrap_or_default();
                if got == case["expect"].as_str().unwrap() { Ok(()) } else { Err(format!("got {got:?}")) }
            }
            "credentials_store" => {
                let got = config.credentials_store().unwrap_or_default();
                if got == case["expect"].as_str().unwrap() { Ok(()) } else { Err(format!("got {got:?}")) }
            }
            other => Err(format!("unknown op {other}")),
        }
    });
}
