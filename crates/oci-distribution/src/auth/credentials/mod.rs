//! Where credentials come from: the caller, docker's `config.json`, podman's
//! `auth.json`, and `docker-credential-*` helpers.
//!
//! A [`CredentialSource`] answers "which [`Credential`] for this registry (and
//! repository)?". The sources here:
//!
//! - [`StaticCredentials`]: credentials the caller gives, per registry (or per
//!   `registry/namespace`).
//! - [`AuthFile`]: one docker `config.json` or podman `auth.json` ([`DockerConfig`] is its
//!   parsed content): `auths` entries (base64 `auth` overriding `username`/`password`,
//!   `identitytoken`, `registrytoken`), `credHelpers` and `credsStore` run through the
//!   `docker-credential-<name> get` protocol ([`HelperRunner`]).
//! - [`CredentialChain`]: several sources asked in order; the first that has a credential
//!   wins. [`CredentialChain::from_env`] is the usual docker-then-podman chain.
//!
//! Lookups are namespace-aware (as containers/image): for `registry.example/team/app`
//! the keys `registry.example/team/app`, `registry.example/team` and `registry.example`
//! are tried in that order. Docker Hub is one registry under several names (`docker.io`,
//! `index.docker.io`, `registry-1.docker.io`, and the legacy key
//! `https://index.docker.io/v1/` that `docker login` writes): any of them finds a
//! credential stored under any other.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> oci_distribution::Result<()> {
//! use oci_distribution::auth::credentials::{Credential, CredentialChain, CredentialSource, StaticCredentials};
//!
//! // Caller-given credentials first, then docker's and podman's files.
//! let chain = CredentialChain::new()
//!     .with(StaticCredentials::new().with("ghcr.io", Credential::basic("me", "token")))
//!     .with(CredentialChain::from_env());
//! let credential = chain.credential("ghcr.io", Some("org/app")).await?;
//! assert!(credential.is_some());
//! # Ok(()) }
//! ```

mod docker_config;
mod helper;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

pub use docker_config::{AuthFile, DockerConfig, encode_auth};
pub use helper::HelperRunner;

use oci_reference::docker_hub::{self, is_docker_hub};

use crate::Result;

/// The future a [`CredentialSource`] returns.
pub type CredentialFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<Credential>>> + Send + 'a>>;

/// What a registry accepts as proof of identity.
///
/// Empty fields are absent, as in docker's `config.json`. [`Debug`](fmt::Debug) shows the
/// username and which secrets are present, never their values.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credential {
    /// The username for Basic auth and token requests.
    pub username: String,
    /// The password (or personal access token) that goes with `username`.
    pub password: String,
    /// An OAuth 2 refresh token (docker's `identitytoken`): exchanged for access tokens
    /// with a `grant_type=refresh_token` POST to the token endpoint.
    pub refresh_token: String,
    /// A registry access token (docker's `registrytoken`), sent as is as a Bearer token.
    pub access_token: String,
}

impl Credential {
    /// A username and password.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self { username: username.into(), password: password.into(), ..Self::default() }
    }

    /// An OAuth 2 refresh token (docker's `identitytoken`).
    pub fn refresh_token(token: impl Into<String>) -> Self {
        Self { refresh_token: token.into(), ..Self::default() }
    }

    /// A registry access token (docker's `registrytoken`).
    pub fn access_token(token: impl Into<String>) -> Self {
        Self { access_token: token.into(), ..Self::default() }
    }

    /// The same credential with `username` set (an identity token may come with one).
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = username.into();
        self
    }

    /// Whether every field is empty: anonymous access.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.username.is_empty()
            && self.password.is_empty()
            && self.refresh_token.is_empty()
            && self.access_token.is_empty()
    }

    /// Whether the credential can answer a Basic challenge: it has a password (a
    /// username alone, as next to an identity token, is not enough).
    #[must_use]
    pub fn has_basic(&self) -> bool {
        !self.password.is_empty()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |s: &str| if s.is_empty() { "" } else { "<redacted>" };
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("password", &secret(&self.password))
            .field("refresh_token", &secret(&self.refresh_token))
            .field("access_token", &secret(&self.access_token))
            .finish()
    }
}

/// A source of credentials.
///
/// `registry` is a registry host as in an image reference, with its port
/// (`ghcr.io`, `localhost:5000`; `docker.io` or one of its aliases for Docker Hub);
/// `repository` (`org/app`) lets sources with per-namespace entries pick the most
/// specific one. `Ok(None)` means "no credential here" (the next source of a chain is
/// asked); an error means the source is broken (an unreadable file, a failing helper).
pub trait CredentialSource: Send + Sync {
    /// The credential for `registry`, optionally narrowed to `repository`.
    fn credential<'a>(&'a self, registry: &'a str, repository: Option<&'a str>) -> CredentialFuture<'a>;
}

impl<T: CredentialSource + ?Sized> CredentialSource for Arc<T> {
    fn credential<'a>(&'a self, registry: &'a str, repository: Option<&'a str>) -> CredentialFuture<'a> {
        (**self).credential(registry, repository)
    }
}

impl<T: CredentialSource + ?Sized> CredentialSource for Box<T> {
    fn credential<'a>(&'a self, registry: &'a str, repository: Option<&'a str>) -> CredentialFuture<'a> {
        (**self).credential(registry, repository)
    }
}

/// The key a registry host is known by in lookups: [`docker_hub::DOMAIN`] for every
/// name of Docker Hub, the host in lowercase otherwise.
fn host_key(registry: &str) -> String {
    if is_docker_hub(registry) { docker_hub::DOMAIN.to_owned() } else { registry.to_ascii_lowercase() }
}

/// The keys a registry is stored under, most specific first: for Docker Hub the
/// `https://index.docker.io/v1/` key and then each host alias, otherwise the host alone.
pub(crate) fn registry_keys(registry: &str) -> Vec<String> {
    if is_docker_hub(registry) {
        std::iter::once(docker_hub::CONFIG_KEY)
            .chain(docker_hub::HOSTS.iter().copied())
            .map(str::to_owned)
            .collect()
    } else {
        vec![registry.to_ascii_lowercase()]
    }
}

/// The namespaced keys of `registry/repository`, longest first, without the bare registry:
/// `r/a/b/c`, `r/a/b`, `r/a` (containers/image's `authKeyLookupOrder`).
pub(crate) fn namespace_keys(registry: &str, repository: Option<&str>) -> Vec<String> {
    let Some(repository) = repository.filter(|r| !r.is_empty()) else { return Vec::new() };
    let host = host_key(registry);
    let mut keys = Vec::new();
    let mut path = repository;
    loop {
        keys.push(format!("{host}/{path}"));
        match path.rsplit_once('/') {
            Some((parent, _)) => path = parent,
            None => return keys,
        }
    }
}

/// Credentials given by the caller, per registry or per `registry/namespace`.
#[derive(Clone, Default)]
pub struct StaticCredentials {
    entries: HashMap<String, Credential>,
}

impl StaticCredentials {
    /// No credentials.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The same set with `credential` for `key`: a registry (`ghcr.io`, `docker.io`) or a
    /// registry and namespace (`ghcr.io/org`), which wins over the registry's own entry
    /// for repositories under it.
    #[must_use]
    pub fn with(mut self, key: &str, credential: Credential) -> Self {
        self.insert(key, credential);
        self
    }

    /// Adds or replaces the credential of `key` (see [`with`](Self::with)).
    pub fn insert(&mut self, key: &str, credential: Credential) {
        let key = match key.split_once('/') {
            Some((host, rest)) if is_docker_hub(host) => format!("{}/{rest}", docker_hub::DOMAIN),
            _ => host_key(key),
        };
        self.entries.insert(key, credential);
    }

    fn lookup(&self, registry: &str, repository: Option<&str>) -> Option<Credential> {
        let host = host_key(registry);
        namespace_keys(registry, repository)
            .iter()
            .chain(std::iter::once(&host))
            .find_map(|key| self.entries.get(key))
            .filter(|c| !c.is_empty())
            .cloned()
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&String> = self.entries.keys().collect();
        keys.sort();
        f.debug_struct("StaticCredentials").field("registries", &keys).finish()
    }
}

impl CredentialSource for StaticCredentials {
    fn credential<'a>(&'a self, registry: &'a str, repository: Option<&'a str>) -> CredentialFuture<'a> {
        let found = self.lookup(registry, repository);
        Box::pin(async move { Ok(found) })
    }
}

/// Several sources asked in order; the first credential found wins, an error stops the
/// search.
#[derive(Clone, Default)]
pub struct CredentialChain {
    sources: Vec<Arc<dyn CredentialSource>>,
}

impl CredentialChain {
    /// An empty chain: anonymous access.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The same chain with `source` asked after the others.
    #[must_use]
    pub fn with(mut self, source: impl CredentialSource + 'static) -> Self {
        self.sources.push(Arc::new(source));
        self
    }

    /// The docker and podman files of this process's environment, in the order of
    /// [`default_auth_files`], each with credential helpers found on `PATH`.
    #[must_use]
    pub fn from_env() -> Self {
        Self::from_files(default_auth_files(|key| std::env::var_os(key)), &HelperRunner::new())
    }

    /// One [`AuthFile`] per path, in order, running helpers with `helpers`.
    #[must_use]
    pub fn from_files(paths: impl IntoIterator<Item = PathBuf>, helpers: &HelperRunner) -> Self {
        paths.into_iter().fold(Self::new(), |chain, path| chain.with(AuthFile::new(path, helpers.clone())))
    }

    /// How many sources the chain asks.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether the chain has no source.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

impl fmt::Debug for CredentialChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialChain").field("sources", &self.sources.len()).finish()
    }
}

impl CredentialSource for CredentialChain {
    fn credential<'a>(&'a self, registry: &'a str, repository: Option<&'a str>) -> CredentialFuture<'a> {
        Box::pin(async move {
            for source in &self.sources {
                if let Some(credential) = source.credential(registry, repository).await? {
                    if !credential.is_empty() {
                        return Ok(Some(credential));
                    }
                }
            }
            Ok(None)
        })
    }
}

/// The credential files a process reads, in order, given its environment (`env` is
/// `std::env::var_os` or a stand-in for tests; unset and empty variables are skipped):
///
/// 1. docker: `$DOCKER_CONFIG/config.json` when `DOCKER_CONFIG` is set, else
///    `$HOME/.docker/config.json`;
/// 2. podman: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`, and
///    `$XDG_CONFIG_HOME/containers/auth.json` (else `$HOME/.config/containers/auth.json`).
///
/// Files that do not exist are skipped when read.
pub fn default_auth_files(env: impl Fn(&str) -> Option<OsString>) -> Vec<PathBuf> {
    let var = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = var("HOME").or_else(|| var("USERPROFILE"));
    let mut files = Vec::new();
    match (var("DOCKER_CONFIG"), &home) {
        (Some(dir), _) => files.push(dir.join("config.json")),
        (None, Some(home)) => files.push(home.join(".docker").join("config.json")),
        (None, None) => {}
    }
    files.extend(var("REGISTRY_AUTH_FILE"));
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        files.push(dir.join("containers").join("auth.json"));
    }
    match (var("XDG_CONFIG_HOME"), &home) {
        (Some(dir), _) => files.push(dir.join("containers").join("auth.json")),
        (None, Some(home)) => files.push(home.join(".config").join("containers").join("auth.json")),
        (None, None) => {}
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credential { refresh_token: "rt-secret".into(), ..Credential::basic("me", "pw-secret") };
        let shown = format!("{c:?}");
        assert_eq!(
            shown,
            r#"Credential { username: "me", password: "<redacted>", refresh_token: "<redacted>", access_token: "" }"#
        );
        let statics = StaticCredentials::new().with("r.example", c);
        assert_eq!(format!("{statics:?}"), r#"StaticCredentials { registries: ["r.example"] }"#);
    }

    #[test]
    fn lookup_keys() {
        assert_eq!(
            namespace_keys("R.example:5000", Some("a/b/c")),
            ["r.example:5000/a/b/c", "r.example:5000/a/b", "r.example:5000/a"]
        );
        assert_eq!(
            namespace_keys("registry-1.docker.io", Some("library/nginx")),
            ["docker.io/library/nginx", "docker.io/library"]
        );
        assert!(namespace_keys("r", None).is_empty() && namespace_keys("r", Some("")).is_empty());
        assert_eq!(
            registry_keys("index.docker.io"),
            [docker_hub::CONFIG_KEY, "docker.io", "index.docker.io", "registry-1.docker.io"]
        );
        assert_eq!(registry_keys("Ghcr.io"), ["ghcr.io"]);
    }

    #[tokio::test]
    async fn static_credentials_are_namespace_aware_and_know_docker_hub() {
        let source = StaticCredentials::new()
            .with("ghcr.io", Credential::basic("host", "p"))
            .with("ghcr.io/team", Credential::basic("team", "p"))
            .with("index.docker.io", Credential::basic("hub", "p"));
        let user = |registry: &'static str, repo: Option<&'static str>| {
            let source = source.clone();
            async move { source.credential(registry, repo).await.unwrap().map(|c| c.username) }
        };
        assert_eq!(user("ghcr.io", Some("team/app")).await.as_deref(), Some("team"));
        assert_eq!(user("ghcr.io", Some("other/app")).await.as_deref(), Some("host"));
        assert_eq!(user("GHCR.IO", None).await.as_deref(), Some("host"));
        assert_eq!(user("registry-1.docker.io", Some("library/nginx")).await.as_deref(), Some("hub"));
        assert_eq!(user("quay.io", None).await, None);
    }

    #[tokio::test]
    async fn chains_ask_in_order() {
        let chain = CredentialChain::new()
            .with(StaticCredentials::new().with("a.example", Credential::default()))
            .with(StaticCredentials::new().with("a.example", Credential::basic("second", "p")))
            .with(StaticCredentials::new().with("a.example", Credential::basic("third", "p")));
        let found = chain.credential("a.example", None).await.unwrap().unwrap();
        assert_eq!(found.username, "second");
        assert_eq!(chain.len(), 3);
        assert!(CredentialChain::new().credential("a.example", None).await.unwrap().is_none());
    }

    #[test]
    fn default_files_follow_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| OsString::from(v))
        };
        assert_eq!(
            default_auth_files(env(&[("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/user/1")])),
            [
                PathBuf::from("/h/.docker/config.json"),
                PathBuf::from("/run/user/1/containers/auth.json"),
                PathBuf::from("/h/.config/containers/auth.json"),
            ]
        );
        assert_eq!(
            default_auth_files(env(&[
                ("HOME", "/h"),
                ("DOCKER_CONFIG", "/d"),
                ("REGISTRY_AUTH_FILE", "/a.json"),
                ("XDG_CONFIG_HOME", "/x"),
                ("XDG_RUNTIME_DIR", ""),
            ])),
            [
                PathBuf::from("/d/config.json"),
                PathBuf::from("/a.json"),
                PathBuf::from("/x/containers/auth.json")
            ]
        );
        assert!(default_auth_files(env(&[])).is_empty());
    }
}
