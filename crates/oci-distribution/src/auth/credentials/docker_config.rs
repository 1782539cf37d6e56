//! Docker's `config.json` and podman's `auth.json`: the same format.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::{Credential, CredentialFuture, CredentialSource, HelperRunner, namespace_keys, registry_keys};
use oci_reference::docker_hub::{self, is_docker_hub};

use crate::{Error, ErrorKind, Result};

/// The parsed content of a docker `config.json` or podman `auth.json`.
///
/// Reading follows oras-go's `config.Load`: an empty or whitespace-only file is an empty
/// configuration, and so is a file without `auths`; `auths`, `credHelpers` and
/// `credsStore` of the wrong JSON type are errors. Entries of `auths` are decoded only
/// when asked for, so one broken entry does not hide the others.
/// [`Debug`](fmt::Debug) lists the keys, never the secrets.
#[derive(Clone, Default)]
pub struct DockerConfig {
    auths: Map<String, Value>,
    creds_store: String,
    cred_helpers: Map<String, Value>,
}

impl DockerConfig {
    /// Parses the content of a configuration file.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes, "the credentials file")
    }

    /// Reads and parses the file at `path`; a file that does not exist is an empty
    /// configuration.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => Self::parse(&bytes, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => {
                Err(Error::new(ErrorKind::Credentials, format!("reading {}", path.display())).with_source(e))
            }
        }
    }

    fn parse(bytes: &[u8], origin: &str) -> Result<Self> {
        let bad = |what: &str| Error::new(ErrorKind::Credentials, format!("parsing {origin}: {what}"));
        // Like Go's json.Decoder: the first JSON value counts; none at all is empty.
        let first = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>().next();
        let content = match first {
            None | Some(Ok(Value::Null)) => return Ok(Self::default()),
            Some(Ok(Value::Object(content))) => content,
            Some(Ok(_)) => return Err(bad("the file is not a JSON object")),
            Some(Err(e)) => return Err(bad("invalid JSON").with_source(e)),
        };
        let object = |key: &str| match content.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(_) => Err(bad(&format!("`{key}` is not an object"))),
        };
        let auths = object("auths")?;
        let cred_helpers = object("credHelpers")?;
        if cred_helpers.values().any(|v| !v.is_string()) {
            return Err(bad("`credHelpers` values must be strings"));
        }
        let creds_store = match content.get("credsStore") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(bad("`credsStore` is not a string")),
        };
        Ok(Self { auths, creds_store, cred_helpers })
    }

    /// The registry entry of `host`: the exact key, else the first legacy key (with
    /// `http://` or `https://`) whose host is `host`. Namespaced keys (`host/team`)
    /// never stand in for the registry.
    fn host_entry(&self, host: &str) -> Result<Credential> {
        let legacy = |key: &str| {
            (key.starts_with("http://") || key.starts_with("https://")) && to_hostname(key) == host
        };
        let entry = self.auths.get_key_value(host).or_else(|| self.auths.iter().find(|(key, _)| legacy(key)));
        entry.map_or_else(|| Ok(Credential::default()), |(key, value)| decode_entry(key, value))
    }

    /// The entry of exactly `key` in `auths`, decoded; `None` when there is no such key.
    fn exact_entry(&self, key: &str) -> Result<Option<Credential>> {
        self.auths.get(key).map(|value| decode_entry(key, value)).transpose()
    }

    /// The credential helper `credHelpers` names for exactly `server_address`; `None`
    /// when there is none or it is empty.
    #[must_use]
    pub fn credential_helper(&self, server_address: &str) -> Option<&str> {
        self.cred_helpers.get(server_address).and_then(Value::as_str).filter(|h| !h.is_empty())
    }

    /// The default credential helper (`credsStore`), when set.
    #[must_use]
    pub fn credentials_store(&self) -> Option<&str> {
        Some(self.creds_store.as_str()).filter(|s| !s.is_empty())
    }

    /// The credential for `registry` (and `repository`), running helpers with `helpers`.
    ///
    /// The order: `auths` entries for `registry/repository` and its parent namespaces
    /// (exact keys); the `credHelpers` helper of the registry, whose answer is final;
    /// the registry's own `auths` entry (any Docker Hub alias, legacy keys included);
    /// then the `credsStore` helper.
    pub async fn lookup(
        &self,
        registry: &str,
        repository: Option<&str>,
        helpers: &HelperRunner,
    ) -> Result<Option<Credential>> {
        for key in namespace_keys(registry, repository) {
            if let Some(credential) = self.exact_entry(&key)?.filter(|c| !c.is_empty()) {
                return Ok(Some(credential));
            }
        }
        let keys = registry_keys(registry);
        let server_url =
            if is_docker_hub(registry) { docker_hub::CONFIG_KEY.to_owned() } else { registry.to_owned() };
        if let Some(helper) = keys.iter().find_map(|key| self.credential_helper(key)) {
            return helpers.get(helper, &server_url).await;
        }
        for key in &keys {
            let credential = self.host_entry(key)?;
            if !credential.is_empty() {
                return Ok(Some(credential));
            }
        }
        match self.credentials_store() {
            Some(store) => helpers.get(store, &server_url).await,
            None => Ok(None),
        }
    }
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("auths", &self.auths.keys().collect::<Vec<_>>())
            .field("creds_store", &self.creds_store)
            .field("cred_helpers", &self.cred_helpers)
            .finish()
    }
}

/// `http://` or `https://` removed, cut at the first `/`.
fn to_hostname(key: &str) -> &str {
    let key = key.strip_prefix("http://").unwrap_or(key);
    let key = key.strip_prefix("https://").unwrap_or(key);
    key.split_once('/').map_or(key, |(host, _)| host)
}

/// One `auths` entry: `{"auth", "username", "password", "identitytoken", "registrytoken"}`,
/// field names matched case-insensitively as Go's encoding/json does.
fn decode_entry(key: &str, value: &Value) -> Result<Credential> {
    let bad = |what: &str| Error::new(ErrorKind::Credentials, format!("the `auths` entry {key:?}: {what}"));
    let fields = match value {
        Value::Null => return Ok(Credential::default()),
        Value::Object(fields) => fields,
        _ => return Err(bad("not an object")),
    };
    let mut credential = Credential::default();
    let mut auth = String::new();
    for (name, value) in fields {
        let slot = match name.to_ascii_lowercase().as_str() {
            "auth" => &mut auth,
            "username" => &mut credential.username,
            "password" => &mut credential.password,
            "identitytoken" => &mut credential.refresh_token,
            "registrytoken" => &mut credential.access_token,
            _ => continue,
        };
        match value {
            Value::Null => {}
            Value::String(s) => slot.clone_from(s),
            _ => return Err(bad(&format!("`{name}` is not a string"))),
        }
    }
    if !auth.is_empty() {
        let (username, password) = decode_auth(&auth).map_err(bad)?;
        credential.username = username;
        credential.password = password;
    }
    Ok(credential)
}

/// `base64(username:password)`, split at the first colon. The error never shows the input.
fn decode_auth(auth: &str) -> Result<(String, String), &'static str> {
    let cleaned: String = auth.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
    let decoded = STANDARD.decode(cleaned).map_err(|_| "`auth` is not base64")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "`auth` is not UTF-8")?;
    let (username, password) = decoded.split_once(':').ok_or("`auth` is not `username:password`")?;
    Ok((username.to_owned(), password.to_owned()))
}

/// The `auth` value of `username` and `password`: `base64(username:password)`.
///
/// A username with a colon is refused: decoding splits at the first colon (RFC 7617 forbids
/// it in Basic auth too); the password may contain colons.
pub fn encode_auth(username: &str, password: &str) -> Result<String> {
    if username.contains(':') {
        return Err(Error::new(ErrorKind::InvalidInput, "a username for Basic auth cannot contain a colon"));
    }
    Ok(STANDARD.encode(format!("{username}:{password}")))
}

/// One docker `config.json` or podman `auth.json` as a [`CredentialSource`]: read on each
/// lookup (a missing file has no credentials), looked up as [`DockerConfig::lookup`].
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
    helpers: HelperRunner,
}

impl AuthFile {
    /// The file at `path`, running credential helpers with `helpers`.
    pub fn new(path: impl Into<PathBuf>, helpers: HelperRunner) -> Self {
        Self { path: path.into(), helpers }
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read(&self) -> Result<Option<DockerConfig>> {
        match tokio::fs::read(&self.path).await {
            Ok(bytes) => DockerConfig::parse(&bytes, &self.path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(Error::new(ErrorKind::Credentials, format!("reading {}", self.path.display()))
                    .with_source(e))
            }
        }
    }
}

impl CredentialSource for AuthFile {
    fn credential<'a>(&'a self, registry: &'a str, repository: Option<&'a str>) -> CredentialFuture<'a> {
        Box::pin(async move {
            let Some(config) = self.read().await? else { return Ok(None) };
            let found = config.lookup(registry, repository, &self.helpers).await?;
            tracing::debug!(
                file = %self.path.display(),
                registry,
                found = found.is_some(),
                "looked up credentials"
            );
            Ok(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> DockerConfig {
        DockerConfig::from_slice(json.as_bytes()).unwrap()
    }

    #[test]
    fn decodes_entries_like_go() {
        let c = config(
            r#"{"auths": {"a": {"Auth": "dTpwOnE=", "IdentityToken": null}, "b": null, "c": {"auth": "dTpw\ncQ=="}},
                "credsStore": null, "credHelpers": {"h": "x"}} trailing"#,
        );
        assert_eq!(c.host_entry("a").unwrap(), Credential::basic("u", "p:q"));
        assert!(c.host_entry("b").unwrap().is_empty());
        assert_eq!(c.host_entry("c").unwrap(), Credential::basic("u", "pq"));
        assert_eq!((c.credentials_store(), c.credential_helper("h")), (None, Some("x")));
        assert!(DockerConfig::from_slice(b"[]").is_err());
        assert!(DockerConfig::from_slice(br#"{"credsStore": 1}"#).is_err());
        assert!(DockerConfig::from_slice(br#"{"credHelpers": {"a": 1}}"#).is_err());
        assert!(DockerConfig::from_slice(b"null").unwrap().host_entry("a").unwrap().is_empty());
    }

    #[test]
    fn errors_never_show_secrets() {
        let c = config(r#"{"auths": {"r": {"auth": "c2VjcmV0"}, "s": {"auth": "sec:ret"}}}"#);
        for key in ["r", "s"] {
            let e = c.host_entry(key).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Credentials);
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains("secret") && !shown.contains("c2VjcmV0") && !shown.contains("sec:ret"),
                "{shown}"
            );
        }
        let debug = format!("{c:?}");
        assert!(debug.contains(r#"auths: ["r", "s"]"#) && !debug.contains("c2VjcmV0"), "{debug}");
    }

    #[test]
    fn encodes_auth() {
        assert_eq!(encode_auth("u", "p:q").unwrap(), "dTpwOnE=");
        assert_eq!(encode_auth("u:v", "p").unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn lookup_is_namespace_aware_and_knows_docker_hub() {
        let c = config(
            r#"{"auths": {
                "r.example/team/app": {"auth": "YXBwOnA="},
                "r.example/team": {"auth": "dGVhbTpw"},
                "https://r.example/v1/": {"auth": "aG9zdDpw"},
                "https://index.docker.io/v1/": {"auth": "aHViOnA="},
                "docker.io/library": {"auth": "bGlicmFyeTpw"}
            }}"#,
        );
        let helpers = HelperRunner::new().with_search_path(Vec::<PathBuf>::new());
        let user = async |registry: &str, repository: Option<&str>| {
            c.lookup(registry, repository, &helpers).await.unwrap().map(|c| c.username)
        };
        assert_eq!(user("r.example", Some("team/app")).await.as_deref(), Some("app"));
        assert_eq!(user("r.example", Some("team/app/sub")).await.as_deref(), Some("app"));
        assert_eq!(user("r.example", Some("team/other")).await.as_deref(), Some("team"));
        assert_eq!(user("r.example", Some("solo")).await.as_deref(), Some("host"));
        assert_eq!(user("r.example", None).await.as_deref(), Some("host"));
        assert_eq!(user("docker.io", Some("library/nginx")).await.as_deref(), Some("library"));
        for hub in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert_eq!(user(hub, Some("me/app")).await.as_deref(), Some("hub"), "{hub}");
        }
        assert_eq!(user("other.example", None).await, None);
    }

    #[tokio::test]
    async fn hub_entries_under_any_alias() {
        for key in ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"] {
            let c = config(&format!(r#"{{"auths": {{"{key}": {{"username": "u", "password": "p"}}}}}}"#));
            let found = c.lookup("docker.io", None, &HelperRunner::new()).await.unwrap();
            assert_eq!(found, Some(Credential::basic("u", "p")), "{key}");
        }
    }

    #[tokio::test]
    async fn auth_files_read_lazily() {
        let dir = tempfile::tempdir().unwrap();
        let file = AuthFile::new(dir.path().join("config.json"), HelperRunner::new());
        assert_eq!(file.credential("r.example", None).await.unwrap(), None);
        std::fs::write(file.path(), r#"{"auths": {"r.example": {"auth": "dTpw"}}}"#).unwrap();
        assert_eq!(file.credential("r.example", None).await.unwrap(), Some(Credential::basic("u", "p")));
        std::fs::write(file.path(), "{").unwrap();
        let e = file.credential("r.example", None).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("credentials unavailable: parsing {}: invalid JSON", file.path().display())
        );
    }
}
