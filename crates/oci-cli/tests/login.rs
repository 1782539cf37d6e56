//! `oci login` checks credentials before it keeps them, `oci logout` forgets them, and
//! `oci completions` prints a script.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use oci_registry::auth::{Auth, Htpasswd};
use oci_registry::{MemoryStorage, Registry};

fn oci(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oci"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_keeps_only_credentials_the_registry_takes_and_logout_forgets_them() {
    let users = Htpasswd::parse(&Htpasswd::line("alice", "secret", 4).unwrap()).unwrap();
    let registry = Registry::builder()
        .storage(MemoryStorage::new())
        .auth(Auth::basic(users))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
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

#[test]
fn completions_are_printed_for_a_shell() {
    let out = oci(&["completions", "bash"], "");
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("_oci") && script.contains("copy"), "{}", &script[..200.min(script.len())]);
}
