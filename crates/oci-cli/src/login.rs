//! `oci login` and `oci logout`: credentials checked against the registry, then kept
//! where docker and podman look for them (the `credsStore` helper the file names, else
//! the file's `auths`).

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use oci::distribution::Body;
use oci::distribution::auth::credentials::encode_auth;
use oci::distribution::auth::{AuthConfig, Credential, StaticCredentials};
use oci::distribution::http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::args::{Global, LoginArgs};
use crate::client::{client_with, registry};
use crate::exit::{self, Failure};
use crate::output::print;

type Result<T = ()> = std::result::Result<T, Failure>;

fn io(what: &str) -> impl Fn(std::io::Error) -> Failure + '_ {
    move |e| Failure::new(exit::FAILURE, format!("{what}: {e}"))
}

/// The file credentials go to: `--authfile`, else `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
fn config_path(global: &Global) -> Result<PathBuf> {
    if let Some(file) = &global.authfile {
        return Ok(file.into());
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Ok(PathBuf::from(dir).join("config.json"));
    }
    let home =
        std::env::var_os("HOME").ok_or_else(|| Failure::usage("no HOME: name the file with --authfile"))?;
    Ok(PathBuf::from(home).join(".docker").join("config.json"))
}

fn read_config(path: &PathBuf) -> Result<Map<String, Value>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(Failure::new(exit::FAILURE, format!("{}: not a JSON object", path.display()))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(io(&path.display().to_string())(e)),
    }
}

/// Writes `config` beside `path`, then renames it into place (mode 0600).
fn write_config(path: &PathBuf, config: &Map<String, Value>) -> Result {
    let shown = path.display().to_string();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(&shown))?;
    }
    let tmp = path.with_extension("json.oci-tmp");
    let text =
        serde_json::to_string_pretty(config).map_err(|e| Failure::new(exit::FAILURE, e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io(&shown))?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io(&shown))?;
    std::fs::rename(&tmp, path).map_err(io(&shown))
}

/// Runs `docker-credential-<store> <verb>` with `input` on its stdin.
fn helper(store: &str, verb: &str, input: &str) -> Result {
    let program = format!("docker-credential-{store}");
    let mut child = Command::new(&program)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io(&program))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(io(&program))?;
    }
    let out = child.wait_with_output().map_err(io(&program))?;
    if out.status.success() {
        Ok(())
    } else {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(Failure::new(exit::FAILURE, format!("{program} {verb}: {why}")))
    }
}

pub(crate) async fn login(global: &Global, args: LoginArgs) -> Result {
    let (registry, key) = registry(&args.registry)?;
    let username = global.username.clone().ok_or_else(|| Failure::usage("a user name: -u USER"))?;
    let password = match (&global.password, args.password_stdin) {
        (Some(_), true) => return Err(Failure::usage("--password and --password-stdin: give one")),
        (Some(password), false) => password.clone(),
        (None, true) => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(io("reading the password from stdin"))?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
        (None, false) => return Err(Failure::usage("the password: --password-stdin (or --password)")),
    };
    // Checked first: a refused password is never written.
    let credentials = StaticCredentials::new().with(&key, Credential::basic(&username, &password));
    let client = client_with(global, AuthConfig::anonymous().with_credentials(credentials))?;
    let answer = client
        .execute(&registry, Method::GET, "/v2/", HeaderMap::new(), Body::empty(), &[])
        .await
        .map_err(|e| Failure::of(&e))?;
    match answer.status() {
        StatusCode::OK => {}
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(Failure::new(
                exit::DENIED,
                format!("{key}: the registry refused {username}'s credentials"),
            ));
        }
        other => return Err(Failure::new(exit::FAILURE, format!("GET {key}/v2/: {other}"))),
    }
    let path = config_path(global)?;
    let mut config = read_config(&path)?;
    if let Some(store) = config.get("credsStore").and_then(Value::as_str).map(str::to_owned) {
        let input = json!({ "ServerURL": key, "Username": username, "Secret": password }).to_string();
        helper(&store, "store", &input)?;
    } else {
        let auth = encode_auth(&username, &password).map_err(|e| Failure::of(&e))?;
        let auths = config.entry("auths").or_insert_with(|| Value::Object(Map::new()));
        let Some(auths) = auths.as_object_mut() else {
            return Err(Failure::new(exit::FAILURE, format!("{}: auths is not an object", path.display())));
        };
        auths.insert(key.clone(), json!({ "auth": auth }));
        write_config(&path, &config)?;
    }
    let where_ = path.display().to_string();
    print(
        global.json,
        &json!({ "registry": key, "username": username, "file": where_ }),
        &format!("logged in to {key}"),
    )
}

pub(crate) fn logout(global: &Global, registry_name: &str) -> Result {
    let (_, key) = registry(registry_name)?;
    let path = config_path(global)?;
    let mut config = read_config(&path)?;
    let mut removed =
        config.get_mut("auths").and_then(Value::as_object_mut).and_then(|a| a.remove(&key)).is_some();
    if removed {
        write_config(&path, &config)?;
    }
    if let Some(store) = config.get("credsStore").and_then(Value::as_str) {
        removed |= helper(store, "erase", &key).is_ok();
    }
    if !removed {
        return Err(Failure::new(exit::NOT_FOUND, format!("not logged in to {key}")));
    }
    print(global.json, &json!({ "registry": key, "removed": true }), &format!("logged out of {key}"))
}
