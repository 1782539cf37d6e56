//! The paved path to the TLS registry: a client built with every default trusts the
//! system's store, which a user points at their CA with `SSL_CERT_FILE`, or given the CA
//! explicitly; the registry is on loopback and is found to speak TLS. A client that
//! cannot make any TLS setup says so when it is built.
//!
//! `SSL_CERT_FILE` is read by the process, so each case runs in a child process of this
//! test binary with the variable set (the test re-runs itself with `--exact`).

use std::process::Command;

use oci_distribution::{Client, ErrorKind, ListOptions, TransportConfig};
use oci_reference::Registry;

/// Set in the child process to the case it runs.
const CHILD: &str = "OCI_TEST_DEFAULTS_CHILD";
const TEST: &str = "defaults::ssl_cert_file_and_the_ca_option_reach_the_tls_registry";

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The TLS registry's host and the CA file; panics when they are not configured.
fn tls_registry() -> (Registry, String) {
    let found = env("OCI_TEST_REGISTRY_TLS").zip(env("OCI_TEST_CA_FILE"));
    let (url, ca) = found.expect("OCI_TEST_REGISTRY_TLS and OCI_TEST_CA_FILE (run under `cargo xtask test`)");
    let host = url.trim_start_matches("https://").trim_end_matches('/');
    (Registry::parse(host).expect("the registry's host"), ca)
}

/// A chain of error messages, as a reporter prints it.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out = format!("{out}: {s}");
        source = s.source();
    }
    out
}

#[ignore = "needs the TLS test registry: `cargo xtask test` starts it and runs it"]
#[test]
fn ssl_cert_file_and_the_ca_option_reach_the_tls_registry() {
    if let Some(case) = env(CHILD) {
        return child(&case);
    }
    let (_, ca) = tls_registry();
    let empty = tempfile::NamedTempFile::new().expect("an empty file");
    for (case, cert_file) in [("trusted", ca), ("no-roots", empty.path().display().to_string())] {
        let out = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", TEST, "--ignored", "--nocapture", "--test-threads", "1"])
            .env(CHILD, case)
            .env("SSL_CERT_FILE", cert_file)
            .env_remove("SSL_CERT_DIR")
            .output()
            .expect("running the child test");
        let output =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && output.contains("1 passed"), "{case}:\n{output}");
    }
}

fn child(case: &str) {
    let (registry, ca) = tls_registry();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    match case {
        // `SSL_CERT_FILE` names the test CA: the default client trusts it, and finds the
        // loopback registry speaks TLS.
        "trusted" => {
            let client = Client::builder().build().expect("a default client");
            runtime.block_on(client.ping(&registry)).expect("a ping over TLS");
            let nothing = registry.repository("no/such").expect("a repository");
            let e = runtime
                .block_on(client.tags(&nothing, ListOptions::default()))
                .expect_err("no such repository");
            assert_eq!(e.context(), format!("GET https://{registry}/v2/no/such/tags/list"), "{e}");
        }
        // No root certificate at all: the system's store is read at the first handshake
        // that needs it, which fails at once (no retries: the store will not fill up),
        // saying why; the explicit CA option is a root.
        "no-roots" => {
            let client = Client::builder().build().expect("the store is read later");
            let started = std::time::Instant::now();
            let e = runtime.block_on(client.ping(&registry)).expect_err("no TLS setup");
            assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
            assert!(!e.is_transient() && started.elapsed().as_secs() < 2, "retried: {e}");
            assert!(
                chain(&e).ends_with(
                    "no TLS setup: no root certificates; the system's store (SSL_CERT_FILE, SSL_CERT_DIR or \
                     the platform's) has none: give a CA bundle (TransportConfig::ca_files, ca_pem) or a TLS \
                     configuration (TransportConfig::tls)"
                ),
                "{}",
                chain(&e)
            );
            let with_ca = Client::builder().transport(TransportConfig::default().with_ca_file(&ca)).build();
            runtime.block_on(with_ca.expect("the CA is a root").ping(&registry)).expect("a ping");
        }
        other => panic!("unknown case {other}"),
    }
}

#[ignore = "needs the TLS test registry: `cargo xtask test` starts it and runs it"]
#[tokio::test]
async fn a_tls_registry_that_is_not_trusted_says_so() {
    let (registry, _) = tls_registry();
    // The machine's store does not have the test CA.
    let client = Client::builder().build().expect("a default client");
    let e = client.ping(&registry).await.expect_err("an untrusted certificate");
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert_eq!(e.to_string(), format!("connection failed: GET https://{registry}/v2/"), "spoken to over TLS");
    let chain = chain(&e);
    assert_eq!(
        chain,
        format!(
            "connection failed: GET https://{registry}/v2/: client error (Connect): invalid peer certificate: UnknownIssuer"
        )
    );
    assert!(!chain.contains("HTTP request to an HTTPS server"), "{chain}");
}
