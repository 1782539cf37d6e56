//! The `auth` suite: `WWW-Authenticate` challenges, token scopes and docker
//! `config.json` lookups through `oci_distribution::auth`.
//!
//! A file belongs to the suite when it has `challenge_cases`, `scope_cases` or
//! `config_cases` lists. Cases are named `<section>[<index>] <name>`, e.g.
//! `challenge[5] "bearer challenge"`. Challenge cases from oras-go run through
//! [`parse_one`] (oras-go's single-challenge semantics), and their Bearer parameters
//! through the RFC 7235 parser [`parse_challenges`] too; the others through
//! [`parse_challenges`] alone (first challenge). Config fixtures (`config_files`) are
//! parsed from memory with [`DockerConfig::from_slice`] ([`run`]) or loaded as the
//! caller chooses ([`run_with`]).
//!
//! This module is shared: `crates/oci-distribution/tests/auth.rs` includes it by path
//! (with `case.rs` for [`Case`], [`CaseNames`] and [`Outcome`]), so it uses nothing
//! but `std`, `serde_json` and `oci_distribution`.

use std::collections::BTreeMap;

use oci_distribution::auth::challenge::{Challenge, Scheme, parse_challenges, parse_one};
use oci_distribution::auth::credentials::{Credential, DockerConfig, encode_auth};
use oci_distribution::auth::scope::{clean_actions, clean_scopes, scope_repository};
use serde_json::Value;

use super::{Case, CaseNames, Outcome};

const SECTIONS: &[(&str, &str)] =
    &[("challenge_cases", "challenge"), ("scope_cases", "scope"), ("config_cases", "config")];

type Check = Result<(), String>;

/// How config cases get a configuration: from the fixture's file name and content.
pub type Load<'a> = &'a dyn Fn(&str, &str) -> oci_distribution::Result<DockerConfig>;

/// Whether `json` is an auth vector file (challenge, scope or config case lists).
#[must_use]
pub fn detect(json: &Value) -> bool {
    SECTIONS.iter().any(|(key, _)| json.get(*key).and_then(Value::as_array).is_some_and(|c| !c.is_empty()))
}

/// Checks every challenge, scope and config case of the file, config fixtures parsed
/// from memory.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    run_with(json, &|_, content| DockerConfig::from_slice(content.as_bytes()))
}

/// [`run`], with the config fixtures loaded by `load`.
#[must_use]
pub fn run_with(json: &Value, load: Load<'_>) -> Vec<Case> {
    let mut names = CaseNames::default();
    let mut out = Vec::new();
    for (key, section) in SECTIONS {
        for (index, case) in json.get(*key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            let label =
                case.get("name").and_then(Value::as_str).or_else(|| case.get("op").and_then(Value::as_str));
            let name = names.unique(format!("{section}[{index}] {:?}", label.unwrap_or("?")));
            out.push(Case::check(name, || {
                let result = match *section {
                    "challenge" => challenge_case(case),
                    "scope" => scope_case(case),
                    _ => config_case(json, case, load),
                };
                Outcome::from_result(result)
            }));
        }
    }
    out
}

fn text<'a>(case: &'a Value, key: &str) -> Result<&'a str, String> {
    case.get(key).and_then(Value::as_str).ok_or_else(|| format!("malformed case: no string `{key}`"))
}

/// A list of strings; `null` (Go's nil slice) is empty.
fn strings(value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| format!("malformed case: {v} is not a string"))
            })
            .collect(),
        other => Err(format!("malformed case: {other} is not a list")),
    }
}

fn challenge_case(case: &Value) -> Check {
    let header = text(case, "header")?;
    let want_scheme = text(case, "expect_scheme")?;
    let want_params: Option<BTreeMap<String, String>> = match &case["expect_params"] {
        Value::Null => None,
        Value::Object(params) => {
            Some(params.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        }
        other => return Err(format!("malformed case: expect_params {other}")),
    };
    let (scheme, params, oras_bearer) = if text(case, "source")?.starts_with("oras-go") {
        let (scheme, params) = parse_one(header);
        (scheme_name(scheme).to_owned(), params, scheme == Some(Scheme::Bearer))
    } else {
        let all = parse_challenges(header);
        let first = all.first().ok_or("no challenge parsed")?;
        (first.scheme_name().to_ascii_lowercase(), Some(challenge_params(first)), false)
    };
    if scheme != want_scheme || params != want_params {
        return Err(format!(
            "got scheme {scheme:?} params {params:?}, expected {want_scheme:?} {want_params:?}"
        ));
    }
    // The RFC 7235 parser reads the same Bearer parameters as oras-go's.
    if oras_bearer {
        let rfc = parse_challenges(header).first().map(challenge_params).unwrap_or_default();
        let want = want_params.unwrap_or_default();
        if rfc != want {
            return Err(format!("parse_challenges gave params {rfc:?}, expected {want:?}"));
        }
    }
    Ok(())
}

/// A scheme as the vectors name it.
fn scheme_name(scheme: Option<Scheme>) -> &'static str {
    match scheme {
        Some(Scheme::Basic) => "basic",
        Some(Scheme::Bearer) => "bearer",
        _ => "unknown",
    }
}

/// A challenge's parameters, as the vectors list them.
fn challenge_params(challenge: &Challenge) -> BTreeMap<String, String> {
    challenge.params().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn scope_case(case: &Value) -> Check {
    let got = match text(case, "func")? {
        "ScopeRepository" => {
            let actions = strings(&case["actions"])?;
            let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
            Value::from(scope_repository(text(case, "repository")?, &actions))
        }
        "CleanScopes" => Value::from(clean_scopes(&strings(&case["scopes"])?)),
        "cleanActions" => Value::from(clean_actions(&strings(&case["actions"])?)),
        other => return Err(format!("unknown func {other:?}")),
    };
    let want = if case["expect"].is_null() { Value::Array(Vec::new()) } else { case["expect"].clone() };
    if got == want { Ok(()) } else { Err(format!("got {got}, expected {want}")) }
}

fn config_case(json: &Value, case: &Value, load: Load<'_>) -> Check {
    let expect_error = case.get("expect_error").and_then(Value::as_bool).unwrap_or(false);
    let op = text(case, "op")?;
    if op == "validate_put" {
        let cred = &case["cred"];
        let result = encode_auth(text(cred, "Username")?, text(cred, "Password")?);
        return if result.is_err() == expect_error {
            Ok(())
        } else {
            Err(format!("encode_auth gave {result:?}"))
        };
    }
    let file = text(case, "file")?;
    let content =
        json["config_files"].get(file).and_then(Value::as_str).ok_or(format!("no fixture {file:?}"))?;
    let loaded = load(file, content);
    if op == "load" {
        return if loaded.is_err() == expect_error { Ok(()) } else { Err(format!("load gave {loaded:?}")) };
    }
    let config = loaded.map_err(|e| format!("load failed: {e}"))?;
    let server = case.get("server_address").and_then(Value::as_str).unwrap_or_default();
    let got = match op {
        "get_credential" => match (config.get_credential(server), expect_error) {
            (Err(_), true) => return Ok(()),
            (Ok(credential), false) => {
                let want: BTreeMap<String, String> = case["expect"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect();
                let got = fields(&credential);
                return if got == want { Ok(()) } else { Err(format!("got {got:?}, expected {want:?}")) };
            }
            (other, _) => return Err(format!("got {other:?}")),
        },
        "get_credential_helper" => config.credential_helper(server).unwrap_or_default(),
        "credentials_store" => config.credentials_store().unwrap_or_default(),
        other => return Err(format!("unknown op {other:?}")),
    };
    let want = text(case, "expect")?;
    if got == want { Ok(()) } else { Err(format!("got {got:?}, expected {want:?}")) }
}

/// The non-empty fields of a credential, named as the vectors name them.
fn fields(credential: &Credential) -> BTreeMap<String, String> {
    [
        ("Username", &credential.username),
        ("Password", &credential.password),
        ("RefreshToken", &credential.refresh_token),
        ("AccessToken", &credential.access_token),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_owned(), v.clone()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_structure() {
        assert!(detect(&serde_json::json!({"scope_cases": [{"func": "CleanScopes"}]})));
        assert!(!detect(&serde_json::json!({"scope_cases": []})));
        assert!(!detect(&serde_json::json!({"cases": [{"func": "Parse"}]})));
    }

    #[test]
    fn reports_failures_with_names() {
        let json = serde_json::json!({
            "challenge_cases": [{"source": "oras-go", "name": "x", "header": "Basic", "expect_scheme": "bearer", "expect_params": null}],
            "scope_cases": [{"func": "CleanScopes", "name": "s", "scopes": ["repository:a:pull"], "expect": ["repository:a:pull"]}],
            "config_cases": [{"op": "credentials_store", "file": "c", "expect": "x"}],
            "config_files": {"c": "{\"credsStore\": \"x\"}"}
        });
        let cases = run(&json);
        let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["challenge[0] \"x\"", "scope[0] \"s\"", "config[0] \"credentials_store\""]);
        assert!(matches!(&cases[0].outcome, Outcome::Fail(m) if m.contains("got scheme \"basic\"")));
        assert_eq!(cases[1].outcome, Outcome::Pass);
        assert_eq!(cases[2].outcome, Outcome::Pass);
    }
}
