//! `oci login` checks credentials before it keeps them, `oci logout` forgets them, and
//! `oci completions` prints a script.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use oci_registry::auth::{Auth, Htpasswd};
use oci_registry::{MemoryStorage, Registry};

fn oci(args: &[&str], stdin: &str) -> Output {
    oci_with_path(args, stdin, None)
}

/// `oci ARGS` with `dir` first on its `PATH` (where a credential helper is).
fn oci_with_path(args: &[&str], stdin: &str, dir: Option<&std::path::Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oci"));
    if let Some(dir) = dir {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(paths).unwrap());
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// An embedded registry that lets in `user` with `password` (HTTP Basic) only.
async fn basic_registry(user: &str, password: &str) -> Registry {
    let users = Htpasswd::parse(&Htpasswd::line(user, password, 4).unwrap()).unwrap();
    Registry::builder()
        .storage(MemoryStorage::new())
        .auth(Auth::basic(users))
        .bind("127.0.0.1:0")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_keeps_only_credentials_the_registry_takes_and_logout_forgets_them() {
    let registry = basic_registry("alice", "secret").await;
    let host = registry.host();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("auth.json");
    let authfile = file.to_str().unwrap().to_owned();
    let image = format!("{host}/x/y:v1");
    tokio::task::spawn_blocking(move || {
        let refused =
            oci(&["login", &host, "-u", "alice", "--password-stdin", "--authfile", &authfile], "wrong\n");
        assert_eq!(refused.status.code(), Some(4), "{}", String::from_utf8_lossy(&refused.stderr));
        assert!(!std::path::Path::new(&authfile).exists(), "a refused password was written");

        let ok =
            oci(&["login", &host, "-u", "alice", "--password-stdin", "--authfile", &authfile], "secret\n");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        let config: serde_json::Value = serde_json::from_slice(&std::fs::read(&authfile).unwrap()).unwrap();
        assert!(config["auths"][&host]["auth"].is_string(), "{config}");
        // Let in now: the image is just not there.
        assert_eq!(oci(&["inspect", &image, "--authfile", &authfile], "").status.code(), Some(3));

        assert!(oci(&["logout", &host, "--authfile", &authfile], "").status.success());
        assert_eq!(oci(&["inspect", &image, "--authfile", &authfile], "").status.code(), Some(4));
        assert_eq!(oci(&["logout", &host, "--authfile", &authfile], "").status.code(), Some(3));
    })
    .await
    .unwrap();
}

/// A `docker-credential-fake` helper in `dir` that keeps one credential in `dir/store`
/// (the protocol: `store` reads `{ServerURL, Username, Secret}`, `get` reads the server
/// and prints `{Username, Secret}`, `erase` reads the server).
#[cfg(unix)]
fn fake_helper(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let store = dir.join("store");
    let script = format!(
        "#!/bin/sh\n\
         case \"$1\" in\n\
         store) cat > '{store}' ;;\n\
         get) cat > /dev/null; if [ -s '{store}' ]; then cat '{store}'; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n\
         erase) cat > /dev/null; if [ -s '{store}' ]; then rm '{store}'; else echo 'credentials not found in native keychain' >&2; exit 1; fi ;;\n\
         esac\n",
        store = store.display()
    );
    let helper = dir.join("docker-credential-fake");
    std::fs::write(&helper, script).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_hands_credentials_to_the_creds_store_helper_the_file_names() {
    let registry = basic_registry("bob", "hunter2").await;
    let host = registry.host();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    fake_helper(&dir);
    let file = dir.join("config.json");
    std::fs::write(&file, r#"{"credsStore": "fake"}"#).unwrap();
    let authfile = file.to_str().unwrap().to_owned();
    let image = format!("{host}/x/y:v1");
    tokio::task::spawn_blocking(move || {
        let run = |args: &[&str], stdin: &str| oci_with_path(args, stdin, Some(&dir));
        let ok =
            run(&["login", &host, "-u", "bob", "--password-stdin", "--authfile", &authfile], "hunter2\n");
        assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
        // The helper has the secret; the file does not.
        let kept: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("store")).unwrap()).unwrap();
        assert_eq!(
            (kept["ServerURL"].as_str(), kept["Username"].as_str()),
            (Some(host.as_str()), Some("bob"))
        );
        assert_eq!(kept["Secret"], "hunter2");
        let config = std::fs::read_to_string(&file).unwrap();
        assert!(!config.contains("auths") && !config.contains("hunter2"), "{config}");
        // The helper's credential lets the next call in (the image is just not there).
        assert_eq!(run(&["inspect", &image, "--authfile", &authfile], "").status.code(), Some(3));
        assert!(run(&["logout", &host, "--authfile", &authfile], "").status.success());
        assert!(!dir.join("store").exists(), "logout erased it from the helper");
        assert_eq!(run(&["inspect", &image, "--authfile", &authfile], "").status.code(), Some(4));
        assert_eq!(run(&["logout", &host, "--authfile", &authfile], "").status.code(), Some(3));
    })
    .await
    .unwrap();
}

#[test]
fn completions_are_printed_for_a_shell() {
    let out = oci(&["completions", "bash"], "");
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("_oci") && script.contains("copy"), "{}", &script[..200.min(script.len())]);
}
