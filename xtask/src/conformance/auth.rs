//! The `auth` suite: `WWW-Authenticate` challenges, token scopes and docker
//! `config.json` lookups, each through the code path a request takes.
//!
//! A file belongs to the suite when it has `challenge_cases`, `scope_cases` or
//! `config_cases` lists. Cases are named `<section>[<index>] <name>`, e.g.
//! `challenge[5] "bearer challenge"`.
//!
//! - A challenge header is read as a 401 answer's is: [`parse_header_values`], then
//!   [`pick`], the challenge the client answers. Its scheme is the vector's, and for a
//!   Bearer challenge its parameters (the client reads none of a Basic challenge's, as
//!   oras-go parses none).
//! - Scopes go through the functions that build a token request's scopes.
//! - Config lookups go through [`DockerConfig::lookup`], as the client's credential
//!   source asks: `get_credential` cases for the registry host, `get_credential_helper`
//!   and `credentials_store` cases by running the lookup with fake helpers
//!   (`docker-credential-<name>` scripts in a temporary directory that answer with their
//!   own name), so the helper chosen is the one that ran.

use std::collections::BTreeMap;
use std::path::Path;

use oci_distribution::auth::challenge::{Challenge, Scheme, parse_header_values, pick};
use oci_distribution::auth::credentials::{Credential, DockerConfig, HelperRunner, encode_auth};
use oci_distribution::auth::scope::{clean_actions, clean_scopes, scope_repository};
use oci_distribution::http::HeaderValue;
use serde_json::Value;

use super::{Case, CaseNames, Outcome};

const SECTIONS: &[(&str, &str)] =
    &[("challenge_cases", "challenge"), ("scope_cases", "scope"), ("config_cases", "config")];

type Check = Result<(), String>;

/// The password every fake helper answers with.
const HELPER_SECRET: &str = "from-the-helper";

/// Whether `json` is an auth vector file (challenge, scope or config case lists).
#[must_use]
pub fn detect(json: &Value) -> bool {
    SECTIONS.iter().any(|(key, _)| json.get(*key).and_then(Value::as_array).is_some_and(|c| !c.is_empty()))
}

/// Checks every challenge, scope and config case of the file.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let helpers = FakeHelpers::new(json);
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
                    _ => helpers.as_ref().map_err(Clone::clone).and_then(|h| config_case(json, case, h)),
                };
                Outcome::from_result(result)
            }));
        }
    }
    out
}

/// A directory of `docker-credential-<name>` scripts, one per helper the fixtures name,
/// each answering `{"Username": "<name>", "Secret": HELPER_SECRET}`.
struct FakeHelpers {
    dir: tempfile::TempDir,
    runner: HelperRunner,
}

impl FakeHelpers {
    fn new(json: &Value) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("a directory for the fake helpers: {e}"))?;
        let mut names: Vec<String> = Vec::new();
        for content in json["config_files"].as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str())
        {
            let Ok(config) = serde_json::from_str::<Value>(content) else { continue };
            let helpers =
                config["credHelpers"].as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str());
            names.extend(
                helpers.chain(config["credsStore"].as_str()).filter(|n| !n.is_empty()).map(str::to_owned),
            );
        }
        for name in names {
            write_helper(dir.path(), &name)?;
        }
        let runner = HelperRunner::new().with_search_path([dir.path().to_path_buf()]);
        Ok(Self { dir, runner })
    }

    /// What `lookup` finds for `registry`.
    fn lookup(&self, config: &DockerConfig, registry: &str) -> Result<Option<Credential>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("a runtime: {e}"))?;
        let _ = &self.dir; // the scripts live as long as the runner that runs them
        runtime.block_on(config.lookup(registry, None, &self.runner)).map_err(|e| e.to_string())
    }
}

#[cfg(unix)]
fn write_helper(dir: &Path, name: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(format!("malformed fixture: helper name {name:?}"));
    }
    let path = dir.join(format!("docker-credential-{name}"));
    let script = format!(
        "#!/bin/sh\ncat >/dev/null\nprintf '%s' '{{\"ServerURL\":\"\",\"Username\":\"{name}\",\"Secret\":\"{HELPER_SECRET}\"}}'\n"
    );
    std::fs::write(&path, script).map_err(|e| format!("writing {}: {e}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("making {} executable: {e}", path.display()))
}

#[cfg(not(unix))]
fn write_helper(_dir: &Path, name: &str) -> Result<(), String> {
    Err(format!("fake credential helpers ({name}) are shell scripts, for Unix only"))
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
    let value = HeaderValue::from_str(header).map_err(|e| format!("malformed case: the header: {e}"))?;
    let challenges = parse_header_values([&value]);
    let picked = pick(&challenges);
    let scheme = scheme_name(picked.and_then(Challenge::scheme));
    let params = picked
        .filter(|c| c.scheme() == Some(Scheme::Bearer))
        .map(challenge_params)
        .filter(|params| !params.is_empty());
    if scheme != want_scheme || params != want_params {
        return Err(format!(
            "answering {picked:?}: scheme {scheme:?} params {params:?}, expected {want_scheme:?} {want_params:?}"
        ));
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

fn config_case(json: &Value, case: &Value, helpers: &FakeHelpers) -> Check {
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
    let loaded = DockerConfig::from_slice(content.as_bytes());
    if op == "load" {
        return if loaded.is_err() == expect_error { Ok(()) } else { Err(format!("load gave {loaded:?}")) };
    }
    let config = loaded.map_err(|e| format!("load failed: {e}"))?;
    let found = match op {
        "credentials_store" => helpers.lookup(&config, "unlisted.registry.example"),
        _ => helpers.lookup(&config, text(case, "server_address")?),
    };
    let found = match (found, expect_error) {
        (Err(_), true) => return Ok(()),
        (Ok(found), false) => found.unwrap_or_default(),
        (other, _) => return Err(format!("lookup gave {other:?}")),
    };
    let from_helper = (found.password == HELPER_SECRET).then_some(found.username.as_str());
    match op {
        "get_credential" => {
            let want: BTreeMap<String, String> = case["expect"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let got = fields(&found);
            if got == want { Ok(()) } else { Err(format!("lookup found {got:?}, expected {want:?}")) }
        }
        "get_credential_helper" | "credentials_store" => {
            let want = text(case, "expect")?;
            let ran = from_helper.unwrap_or_default();
            if ran == want {
                Ok(())
            } else {
                Err(format!("the lookup ran helper {ran:?}, expected {want:?}"))
            }
        }
        other => Err(format!("unknown op {other:?}")),
    }
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
        assert!(
            matches!(&cases[0].outcome, Outcome::Fail(m) if m.contains("scheme \"basic\" params None")),
            "{cases:?}"
        );
        assert_eq!(cases[1].outcome, Outcome::Pass);
        assert_eq!(cases[2].outcome, Outcome::Pass);
    }
}
