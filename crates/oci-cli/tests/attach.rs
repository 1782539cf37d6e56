//! `oci attach` pushes an artifact whose subject is an image, and `oci referrers` finds
//! it: through the referrers API of the embedded registry, and through the fallback tag
//! on docker-registry, which has no such API.

#![allow(clippy::unwrap_used)]

mod common;

use common::{json, oci, seed, stderr};
use oci_registry::{MemoryStorage, Registry};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attached_artifacts_are_referrers_of_their_subject() {
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    attach_and_list(&registry.host(), "team").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry: `cargo xtask test` installs and starts it (OCI_TEST_REGISTRY_PLAIN)"]
async fn attached_artifacts_are_referrers_on_docker_registry_through_the_fallback_tag() {
    let url =
        std::env::var("OCI_TEST_REGISTRY_PLAIN").expect("OCI_TEST_REGISTRY_PLAIN: the plain docker-registry");
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let unique =
        format!("attach-{}-{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    let subject = attach_and_list(host, &unique).await;
    // No referrers API there: the fallback tag holds the index of referrers.
    let tags = json(&oci(&["tags", &format!("{host}/{unique}/app"), "--json"]).await);
    let fallback = subject.replace(':', "-");
    assert!(tags["tags"].as_array().unwrap().iter().any(|t| *t == fallback.as_str()), "{tags}");
}

/// Pushes an image to `host/prefix/app:v1`, attaches an SBOM and a signature to it, and
/// lists them; the image's digest.
async fn attach_and_list(host: &str, prefix: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let digest = seed(&tmp.path().join("src"));
    let image_ref = format!("{host}/{prefix}/app:v1");
    let src = format!("oci:{}:v1", tmp.path().join("src").display());
    assert!(oci(&["push", &src, &image_ref, "--no-progress"]).await.status.success());

    let sbom = tmp.path().join("sbom.spdx.json");
    std::fs::write(&sbom, br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
    let sbom_arg = format!("{}:application/spdx+json", sbom.display());
    let attached = json(
        &oci(&[
            "attach",
            &image_ref,
            &sbom_arg,
            "--artifact-type",
            "application/spdx+json",
            "--annotation",
            "org.example.tool=oci",
            "--json",
        ])
        .await,
    );
    assert_eq!(attached["subject"], digest.as_str());
    assert_eq!(attached["artifactType"], "application/spdx+json");
    let sbom_digest = attached["digest"].as_str().unwrap().to_owned();
    // An artifact of annotations only, by the subject's digest; the text output is the digest.
    let by_digest = format!("{host}/{prefix}/app@{digest}");
    let signed = oci(&["attach", &by_digest, "--artifact-type", "application/vnd.example.sig"]).await;
    assert!(signed.status.success(), "{}", stderr(&signed));
    let sig_digest = String::from_utf8(signed.stdout).unwrap().trim().to_owned();
    assert!(sig_digest.starts_with("sha256:"), "{sig_digest}");

    let all = json(&oci(&["referrers", &image_ref, "--json"]).await);
    let mut found: Vec<&str> =
        all["referrers"].as_array().unwrap().iter().map(|r| r["digest"].as_str().unwrap()).collect();
    found.sort_unstable();
    let mut want = vec![sbom_digest.as_str(), sig_digest.as_str()];
    want.sort_unstable();
    assert_eq!(found, want, "{all}");
    let sboms =
        json(&oci(&["referrers", &image_ref, "--artifact-type", "application/spdx+json", "--json"]).await);
    assert_eq!(sboms["referrers"].as_array().unwrap().len(), 1, "{sboms}");
    assert_eq!(sboms["referrers"][0]["digest"], sbom_digest.as_str());

    // The SBOM's manifest: its file, titled, under the empty config.
    let manifest = oci(&["manifest", "get", &format!("{host}/{prefix}/app@{sbom_digest}")]).await;
    let manifest: Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/spdx+json");
    assert_eq!(manifest["layers"][0]["annotations"]["org.opencontainers.image.title"], "sbom.spdx.json");
    assert_eq!(manifest["annotations"]["org.example.tool"], "oci");
    assert!(manifest["annotations"]["org.opencontainers.image.created"].is_string(), "{manifest}");

    // Mistakes: a missing file, a bad annotation, a subject that is not there.
    let missing = oci(&["attach", &image_ref, "/nonexistent/file", "--artifact-type", "a/b"]).await;
    assert_eq!(missing.status.code(), Some(1));
    let bad = oci(&["attach", &image_ref, "--artifact-type", "a/b", "--annotation", "novalue"]).await;
    assert_eq!(bad.status.code(), Some(2));
    let absent = oci(&["attach", &format!("{host}/{prefix}/app:nope"), "--artifact-type", "a/b"]).await;
    assert_eq!(absent.status.code(), Some(3), "{}", stderr(&absent));
    digest
}
