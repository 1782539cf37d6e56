//! Docker credential helpers: `docker-credential-<name> get`.
//!
//! The protocol: the server URL on stdin; on success a JSON object
//! `{"ServerURL", "Username", "Secret"}` on stdout, where the username `<token>` means the
//! secret is an identity (refresh) token; when the helper has nothing for the server it
//! exits non-zero and says `credentials not found`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use super::Credential;
use crate::{Error, ErrorKind, Result};

/// The username with which a helper says that its secret is an identity token.
const TOKEN_USERNAME: &str = "<token>";

/// Runs credential helpers.
///
/// By default programs are found on `PATH`; [`with_search_path`](Self::with_search_path)
/// restricts the search to given directories (tests, sandboxes). A helper that is not
/// installed has no credentials (a warning is logged: `credsStore: desktop` without Docker
/// Desktop is common); a helper that fails otherwise is an error.
#[derive(Debug, Clone)]
pub struct HelperRunner {
    search_path: Option<Vec<PathBuf>>,
    timeout: Duration,
}

impl Default for HelperRunner {
    fn default() -> Self {
        Self { search_path: None, timeout: Duration::from_secs(60) }
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl HelperRunner {
    /// Finds helpers on `PATH`; waits up to 60 s for an answer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The same runner, finding helpers only in `dirs`, in order.
    #[must_use]
    pub fn with_search_path<P: Into<PathBuf>>(mut self, dirs: impl IntoIterator<Item = P>) -> Self {
        self.search_path = Some(dirs.into_iter().map(Into::into).collect());
        self
    }

    /// The same runner, giving up on a helper after `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Asks `docker-credential-<helper>` for the credential of `server_url`.
    pub async fn get(&self, helper: &str, server_url: &str) -> Result<Option<Credential>> {
        let program = format!("docker-credential-{helper}");
        let fail =
            |what: String| Error::new(ErrorKind::Credentials, format!("{program} get {server_url}: {what}"));
        if helper.is_empty() || !helper.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(fail("not a valid helper name".to_owned()));
        }
        let path = match &self.search_path {
            None => PathBuf::from(&program),
            Some(dirs) => {
                let Some(path) = find_program(dirs, &program) else {
                    tracing::warn!(helper = %program, "credential helper not found in its search path");
                    return Ok(None);
                };
                path
            }
        };
        let mut child = match spawn(&path).await {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(helper = %program, "credential helper not installed");
                return Ok(None);
            }
            Err(e) => return Err(fail("cannot start the helper".to_owned()).with_source(e)),
        };
        if let Some(mut stdin) = child.stdin.take() {
            // A helper may exit without reading its input; its exit status tells.
            let _ = stdin.write_all(server_url.as_bytes()).await;
        }
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(output) => output.map_err(|e| fail("waiting for the helper".to_owned()).with_source(e))?,
            Err(_) => return Err(fail(format!("no answer within {:?}", self.timeout))),
        };
        if !output.status.success() {
            let (stdout, stderr) =
                (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            // docker's helpers say so on stdout; that is all stdout is read for here.
            if stdout.contains("credentials not found") || stderr.contains("credentials not found") {
                tracing::debug!(helper = %program, server_url, "the helper has no credentials");
                return Ok(None);
            }
            // stdout may carry a secret even on failure: only stderr is shown.
            let message: String = stderr.trim().chars().take(200).collect();
            let message = if message.is_empty() { "(nothing on stderr)".to_owned() } else { message };
            return Err(fail(format!("{}: {message}", output.status)));
        }
        // Never show stdout in errors: it carries the secret.
        let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
            .map_err(|_| fail("the answer is not the expected JSON".to_owned()))?;
        tracing::debug!(helper = %program, server_url, "the helper answered");
        Ok(match (answer.username, answer.secret) {
            (u, s) if u.is_empty() && s.is_empty() => None,
            (u, s) if u == TOKEN_USERNAME => Some(Credential::refresh_token(s)),
            (u, s) => Some(Credential::basic(u, s)),
        })
    }
}

fn find_program(dirs: &[PathBuf], program: &str) -> Option<PathBuf> {
    let names: &[String] =
        if cfg!(windows) { &[format!("{program}.exe"), program.to_owned()] } else { &[program.to_owned()] };
    dirs.iter().flat_map(|dir| names.iter().map(move |name| dir.join(name))).find(|path| path.is_file())
}

/// Starts the helper; retries briefly when the file is busy (a freshly written script
/// whose descriptor another thread's fork still holds).
async fn spawn(path: &PathBuf) -> std::io::Result<tokio::process::Child> {
    let mut attempts = 0;
    loop {
        let result = Command::new(path)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        match result {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && attempts < 5 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A helper that knows `basic.example` (user/pass), `token.example` (an identity
    /// token) and `empty.example`, says "credentials not found" for anything else, and
    /// fails for `broken.example`. It records what it read on stdin.
    fn write_test_helper(dir: &std::path::Path, name: &str) {
        let path = dir.join(format!("docker-credential-{name}"));
        let script = format!(
            r#"#!/bin/sh
[ "$1" = get ] || exit 3
read -r server
echo "$server" >> "{log}"
case "$server" in
  basic.example) echo '{{"ServerURL":"basic.example","Username":"user","Secret":"pass"}}' ;;
  token.example) echo '{{"ServerURL":"token.example","Username":"<token>","Secret":"identity"}}' ;;
  https://index.docker.io/v1/) echo '{{"ServerURL":"x","Username":"hub","Secret":"hubpass"}}' ;;
  empty.example) echo '{{}}' ;;
  broken.example) echo 'kaput' >&2; exit 2 ;;
  garbage.example) echo 'super-secret-not-json' ;;
  leaky.example) echo '{{"Username":"user","Secret":"super-secret-leaked"}}'; exit 4 ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac
"#,
            log = dir.join(format!("{name}.log")).display()
        );
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[tokio::test]
    async fn speaks_the_helper_protocol() {
        let dir = tempfile::tempdir().unwrap();
        write_test_helper(dir.path(), "test");
        let runner = HelperRunner::new().with_search_path([dir.path()]);
        let get = async |server: &str| runner.get("test", server).await;
        assert_eq!(get("basic.example").await.unwrap(), Some(Credential::basic("user", "pass")));
        assert_eq!(get("token.example").await.unwrap(), Some(Credential::refresh_token("identity")));
        assert_eq!(get("empty.example").await.unwrap(), None);
        assert_eq!(get("unknown.example").await.unwrap(), None);
        let e = get("broken.example").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert_eq!(
            e.to_string(),
            "credentials unavailable: docker-credential-test get broken.example: exit status: 2: kaput"
        );
        let e = get("garbage.example").await.unwrap_err();
        assert!(!e.to_string().contains("super-secret"), "{e}");
        // A helper that fails after printing a secret: the error shows stderr only.
        let e = get("leaky.example").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "credentials unavailable: docker-credential-test get leaky.example: exit status: 4: (nothing on stderr)"
        );
        let log = std::fs::read_to_string(dir.path().join("test.log")).unwrap();
        assert_eq!(
            log.lines().collect::<Vec<_>>(),
            [
                "basic.example",
                "token.example",
                "empty.example",
                "unknown.example",
                "broken.example",
                "garbage.example",
                "leaky.example"
            ]
        );
    }

    #[tokio::test]
    async fn missing_helpers_have_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let runner = HelperRunner::new().with_search_path([dir.path()]);
        assert_eq!(runner.get("absent", "basic.example").await.unwrap(), None);
        let on_path = HelperRunner::new();
        assert_eq!(on_path.get("surely-not-installed-oci", "basic.example").await.unwrap(), None);
        assert!(runner.get("../evil", "x").await.is_err());
        assert!(runner.get("", "x").await.is_err());
    }

    #[tokio::test]
    async fn auth_files_run_cred_helpers_and_creds_store() {
        use super::super::{AuthFile, CredentialSource as _};
        let dir = tempfile::tempdir().unwrap();
        write_test_helper(dir.path(), "test");
        write_test_helper(dir.path(), "store");
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"auths": {"basic.example": {"auth": "ZmlsZTpw"}, "file.example": {"auth": "ZmlsZTpw"}, "docker.io/org": {"auth": "b3JnOnA="}},
                "credHelpers": {"basic.example": "test", "token.example": "test"},
                "credsStore": "store"}"#,
        )
        .unwrap();
        let file = AuthFile::new(&config, HelperRunner::new().with_search_path([dir.path()]));
        let get =
            async |registry: &str, repository: Option<&str>| file.credential(registry, repository).await;
        // credHelpers beats the file's entry; credsStore comes after the entries.
        assert_eq!(get("basic.example", None).await.unwrap(), Some(Credential::basic("user", "pass")));
        assert_eq!(get("token.example", None).await.unwrap(), Some(Credential::refresh_token("identity")));
        assert_eq!(get("file.example", None).await.unwrap(), Some(Credential::basic("file", "p")));
        assert_eq!(
            get("index.docker.io", Some("library/x")).await.unwrap(),
            Some(Credential::basic("hub", "hubpass"))
        );
        assert_eq!(get("docker.io", Some("org/x")).await.unwrap(), Some(Credential::basic("org", "p")));
        assert_eq!(get("nowhere.example", None).await.unwrap(), None);
        let store_log = std::fs::read_to_string(dir.path().join("store.log")).unwrap();
        assert_eq!(store_log.lines().collect::<Vec<_>>(), ["https://index.docker.io/v1/", "nowhere.example"]);
    }
}
