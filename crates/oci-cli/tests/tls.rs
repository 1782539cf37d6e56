//! `oci serve` over TLS with a certificate of a CA no one trusts, and the client options
//! that reach it: `--ca-file`, `--tls-verify=false`, `--insecure HOST`; and
//! `--username/--password` for one call against its htpasswd users.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{run as oci, seed, stderr};
use oci_registry::auth::Htpasswd;
use oci_test_support::pki::{Ca, Usage};

/// `oci serve` with TLS and an htpasswd file; its `host:port` from the startup line.
fn serve(dir: &Path, cert: &Path, key: &Path, htpasswd: &Path) -> (Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_oci"))
        .arg("serve")
        .arg(dir)
        .args(["--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .arg("--htpasswd")
        .arg(htpasswd)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let host = line.split("https://").nth(1).and_then(|r| r.split_whitespace().next());
    let host = host.unwrap_or_else(|| panic!("no https:// address in {line:?}")).to_owned();
    (server, host)
}

#[test]
fn a_registry_with_an_untrusted_certificate_needs_a_ca_or_no_verification() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name);
    let ca = Ca::new("a CA of this test only");
    let leaf = ca.leaf("registry", &["127.0.0.1", "localhost"], Usage::Server);
    std::fs::write(path("ca.pem"), ca.pem()).unwrap();
    std::fs::write(path("cert.pem"), &leaf.cert_pem).unwrap();
    std::fs::write(path("key.pem"), &leaf.key_pem).unwrap();
    std::fs::write(path("htpasswd"), Htpasswd::line("alice", "secret", 4).unwrap()).unwrap();
    seed(&path("src"));
    let (mut server, host) = serve(&path("store"), &path("cert.pem"), &path("key.pem"), &path("htpasswd"));
    let src = format!("oci:{}:v1", path("src").display());
    let image = format!("{host}/team/app:v1");
    let login = ["-u", "alice", "--password", "secret"];

    // Not trusted: a network failure that says why.
    let refused = oci(&[&["push", &src, &image, "--no-progress"][..], &login].concat());
    assert_eq!(refused.status.code(), Some(5), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("certificate"), "{}", stderr(&refused));
    // Every way of trusting it works.
    let ca_file = path("ca.pem").to_str().unwrap().to_owned();
    for trust in [&["--ca-file", &ca_file][..], &["--tls-verify=false"], &["--insecure", &host]] {
        let pushed = oci(&[&["push", &src, &image, "--no-progress"][..], &login, trust].concat());
        assert!(pushed.status.success(), "{trust:?}: {}", stderr(&pushed));
    }
    // `--insecure` names one host: another one's does not help.
    let other = oci(&[&["inspect", &image, "--insecure", "localhost"][..], &login].concat());
    assert_eq!(other.status.code(), Some(5), "{}", stderr(&other));

    // `--username/--password` are this call's credentials: wrong ones are refused, and
    // half of them is a usage error.
    let trusted = ["--tls-verify=false"];
    let ok = oci(&[&["inspect", &image, "--json"][..], &login, &trusted].concat());
    assert!(ok.status.success(), "{}", stderr(&ok));
    let wrong = oci(&["inspect", &image, "-u", "alice", "--password", "guess", "--tls-verify=false"]);
    assert_eq!(wrong.status.code(), Some(4), "{}", stderr(&wrong));
    assert_eq!(oci(&["inspect", &image, "--tls-verify=false"]).status.code(), Some(4));
    let half = oci(&["inspect", &image, "-u", "alice", "--tls-verify=false"]);
    assert_eq!(half.status.code(), Some(2), "{}", stderr(&half));
    assert!(stderr(&half).contains("--username needs --password"), "{}", stderr(&half));
    server.kill().unwrap();
    server.wait().unwrap();
}
