//! The `oci` binary as a person runs it, against the embedded registry: each verb in
//! both output modes, and the exit codes scripts branch on.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::{json, oci, seed, stderr, stdout};
use oci::{Layout, MediaType};
use oci_registry::{MemoryStorage, Registry};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_copy_and_inspect_in_both_output_modes() {
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    round_trip(&registry.host(), "team").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs docker-registry: `cargo xtask test` installs and starts it (OCI_TEST_REGISTRY_PLAIN)"]
async fn push_pull_copy_and_inspect_against_docker_registry() {
    let url =
        std::env::var("OCI_TEST_REGISTRY_PLAIN").expect("OCI_TEST_REGISTRY_PLAIN: the plain docker-registry");
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let unique =
        format!("cli-{}-{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    round_trip(host, &unique).await;
}

/// Every copy verb, inspect and digest against the registry at `host`, in repositories
/// under `prefix`.
async fn round_trip(host: &str, prefix: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let digest = seed(&tmp.path().join("src"));
    let image = format!("{host}/{prefix}/app:v1");
    let src = format!("oci:{}:v1", tmp.path().join("src").display());

    let pushed = json(&oci(&["push", &src, &image, "--json", "--plain-http", host]).await);
    assert_eq!(pushed["digest"], digest.as_str());
    assert_eq!(
        (pushed["blobs"]["copied"].as_u64(), pushed["manifests"]["copied"].as_u64()),
        (Some(3), Some(1))
    );

    // Pulled into a directory, with a line per blob on stderr (not a terminal).
    let out_dir = tmp.path().join("pulled");
    let pulled = oci(&["pull", &image, out_dir.to_str().unwrap()]).await;
    assert!(pulled.status.success(), "{}", stderr(&pulled));
    assert_eq!(
        stderr(&pulled).lines().filter(|l| l.starts_with("copied ")).count(),
        3,
        "{}",
        stderr(&pulled)
    );
    assert!(stdout(&pulled).contains(&digest), "{}", stdout(&pulled));
    assert_eq!(Layout::open_dir(&out_dir).unwrap().resolve("v1").unwrap().digest.to_string(), digest);
    // Again: nothing moves, and --no-progress says nothing on stderr.
    let again = oci(&["pull", &image, out_dir.to_str().unwrap(), "--json", "--no-progress"]).await;
    let report = json(&again);
    assert_eq!((report["blobs"]["skipped"].as_u64(), report["bytes"]["copied"].as_u64()), (Some(3), Some(0)));
    assert!(again.stderr.is_empty(), "{}", stderr(&again));

    // copy (and its alias) to a tar and a docker archive, another repository: mounted.
    let tar = format!("oci-archive:{}:v1", tmp.path().join("app.tar").display());
    assert_eq!(
        json(&oci(&["cp", &format!("docker://{image}"), &tar, "--json"]).await)["digest"],
        digest.as_str()
    );
    let mounted = json(&oci(&["copy", &image, &format!("{host}/{prefix}/mirror:v1"), "--json"]).await);
    assert_eq!(mounted["blobs"]["mounted"].as_u64(), Some(3));
    let docker = format!("docker-archive:{}", tmp.path().join("app.docker.tar").display());
    assert!(oci(&["copy", &image, &docker]).await.status.success());

    // inspect: the summary, the exact bytes, the configuration.
    let inspected = json(&oci(&["inspect", &image, "--json"]).await);
    assert_eq!(inspected["digest"], digest.as_str());
    assert_eq!(inspected["platform"], "linux/arm64");
    assert_eq!(inspected["created"], "2026-01-02T03:04:05Z");
    assert_eq!(inspected["layers"].as_array().unwrap().len(), 2);
    let text = stdout(&oci(&["inspect", &tar]).await);
    assert!(text.contains("Platform:   linux/arm64") && text.contains("Layers:     2"), "{text}");
    let raw = oci(&["inspect", &image, "--raw"]).await;
    let stored = Layout::open_dir(tmp.path().join("src")).unwrap();
    assert_eq!(raw.stdout, stored.read_blob(&digest.parse().unwrap()).unwrap());
    assert_eq!(json(&oci(&["inspect", &src, "--config"]).await)["architecture"], "arm64");

    // digest: of a location, and of a file.
    assert_eq!(stdout(&oci(&["digest", &image]).await).trim(), digest);
    let file = tmp.path().join("f");
    std::fs::write(&file, b"hello").unwrap();
    assert_eq!(
        json(&oci(&["digest", file.to_str().unwrap(), "--json"]).await)["digest"],
        oci::Digest::sha256(b"hello").to_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn references_parse_or_say_where_they_broke() {
    let parsed = json(&oci(&["ref", "parse", "nginx", "--json"]).await);
    assert_eq!(parsed["normalized"], "docker.io/library/nginx");
    assert_eq!(parsed["pulled"], "docker.io/library/nginx:latest");
    assert_eq!(parsed["familiar"], "nginx");
    assert_eq!(parsed["path"], "library/nginx");
    let text = stdout(&oci(&["ref", "parse", "ghcr.io/o/r:1"]).await);
    assert!(text.contains("Domain:     ghcr.io") && text.contains("Tag:        1"), "{text}");
    let broken = oci(&["ref", "parse", "docker.io/Upper/x"]).await;
    assert_eq!(broken.status.code(), Some(2));
    assert!(
        stderr(&broken).starts_with("oci: ") && stderr(&broken).contains("at byte 10"),
        "{}",
        stderr(&broken)
    );
    let strict = oci(&["ref", "parse", "nginx", "--strict"]).await;
    assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_usage_not_found_and_network_apart() {
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    let version = oci(&["--version"]).await;
    assert!(version.status.success() && stdout(&version).starts_with("oci "), "{}", stdout(&version));
    let help = oci(&["--help"]).await;
    assert!(help.status.success() && stdout(&help).contains("Exit codes:"), "{}", stdout(&help));

    let usage = oci(&["copy", "only-one"]).await;
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
    let bad_location = oci(&["inspect", "oci:"]).await;
    assert_eq!(bad_location.status.code(), Some(2), "{}", stderr(&bad_location));

    let missing = oci(&["inspect", &format!("{}/no/such:v1", registry.host())]).await;
    assert_eq!(missing.status.code(), Some(3), "{}", stderr(&missing));
    let line = stderr(&missing);
    assert!(line.starts_with("oci: ") && line.lines().count() == 1, "{line}");
    let no_dir = oci(&["inspect", "oci:/nonexistent/layout:v1"]).await;
    assert_eq!(no_dir.status.code(), Some(3), "{}", stderr(&no_dir));

    // A registry that wants credentials nobody gave.
    let users = oci_registry::auth::Htpasswd::parse("").unwrap();
    let locked = Registry::builder()
        .storage(MemoryStorage::new())
        .auth(oci_registry::auth::Auth::basic(users))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let denied = oci(&["inspect", &format!("{}/x/y:v1", locked.host())]).await;
    assert_eq!(denied.status.code(), Some(4), "{}", stderr(&denied));
    // With credentials from --authfile: let in, and told the image is not there.
    let users = oci_registry::auth::Htpasswd::parse(
        &oci_registry::auth::Htpasswd::line("alice", "secret", 4).unwrap(),
    );
    let open = Registry::builder()
        .storage(MemoryStorage::new())
        .auth(oci_registry::auth::Auth::basic(users.unwrap()))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let authfile = tmp.path().join("auth.json");
    let auth = oci::distribution::auth::credentials::encode_auth("alice", "secret").unwrap();
    std::fs::write(&authfile, serde_json::json!({ "auths": { open.host(): { "auth": auth } } }).to_string())
        .unwrap();
    let image = format!("{}/x/y:v1", open.host());
    let let_in = oci(&["inspect", &image, "--authfile", authfile.to_str().unwrap(), "-v"]).await;
    assert_eq!(let_in.status.code(), Some(3), "{}", stderr(&let_in));

    // Nothing listens on port 1.
    let down = oci(&["inspect", "127.0.0.1:1/x/y:v1"]).await;
    assert_eq!(down.status.code(), Some(5), "{}", stderr(&down));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_catalog_referrers_manifests_blobs_and_layouts() {
    let tmp = tempfile::tempdir().unwrap();
    let digest = seed(&tmp.path().join("src"));
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    let host = registry.host();
    let src = format!("oci:{}:v1", tmp.path().join("src").display());
    for tag in ["v1", "v2"] {
        assert!(oci(&["push", &src, &format!("{host}/team/app:{tag}")]).await.status.success());
    }
    let tags = json(&oci(&["tags", &format!("{host}/team/app"), "--all", "--json"]).await);
    assert_eq!(tags["tags"], serde_json::json!(["v1", "v2"]));
    assert_eq!(stdout(&oci(&["tags", &format!("{host}/team/app")]).await), "v1\nv2\n");
    assert_eq!(
        json(&oci(&["catalog", &host, "--json"]).await)["repositories"],
        serde_json::json!(["team/app"])
    );
    let referrers = json(&oci(&["referrers", &format!("{host}/team/app:v1"), "--json"]).await);
    assert_eq!(referrers["referrers"], serde_json::json!([]));

    let stored = Layout::open_dir(tmp.path().join("src")).unwrap();
    let manifest = oci(&["manifest", "get", &format!("{host}/team/app:v1")]).await;
    assert_eq!(manifest.stdout, stored.read_blob(&digest.parse().unwrap()).unwrap());
    // manifest put (the exact bytes, another tag), blob put, copy --all-tags.
    let manifest_file = tmp.path().join("manifest.json");
    std::fs::write(&manifest_file, &manifest.stdout).unwrap();
    let put =
        oci(&["manifest", "put", &format!("{host}/team/app:v3"), manifest_file.to_str().unwrap()]).await;
    assert_eq!(stdout(&put).trim(), digest, "{}", stderr(&put));
    let blob_file = tmp.path().join("blob");
    std::fs::write(&blob_file, vec![9u8; 3_000_000]).unwrap();
    let blob_put = json(
        &oci(&["blob", "put", &format!("{host}/team/app"), blob_file.to_str().unwrap(), "--json"]).await,
    );
    assert_eq!(blob_put["digest"], oci::Digest::sha256(&vec![9u8; 3_000_000]).to_string());
    let all = json(
        &oci(&["copy", "--all-tags", &format!("{host}/team/app"), &format!("{host}/team/all"), "--json"])
            .await,
    );
    assert_eq!(all["copies"].as_array().unwrap().len(), 3);
    assert_eq!(stdout(&oci(&["tags", &format!("{host}/team/all")]).await), "v1\nv2\nv3\n");
    let image: Value = serde_json::from_slice(&manifest.stdout).unwrap();
    let layer = image["layers"][1]["digest"].as_str().unwrap().to_owned();
    let blob = format!("{host}/team/app@{layer}");
    assert_eq!(stdout(&oci(&["blob", "head", &blob]).await).trim(), "2000000");
    let file = tmp.path().join("layer");
    assert!(oci(&["blob", "get", &blob, "-o", file.to_str().unwrap()]).await.status.success());
    assert_eq!(oci::Digest::sha256(&std::fs::read(&file).unwrap()).to_string(), layer);
    assert!(oci(&["manifest", "delete", &format!("{host}/team/app@{digest}")]).await.status.success());
    assert_eq!(oci(&["manifest", "get", &format!("{host}/team/app:v1")]).await.status.code(), Some(3));
    assert!(oci(&["blob", "delete", &blob]).await.status.success());
    assert_eq!(oci(&["blob", "head", &blob]).await.status.code(), Some(3));

    // Layouts: init, a pull into it, ls, fsck, gc of what nothing references.
    let dir = tmp.path().join("made");
    let tar = tmp.path().join("made.tar");
    for path in [&dir, &tar] {
        assert!(oci(&["layout", "init", path.to_str().unwrap()]).await.status.success());
    }
    assert!(oci(&["copy", &src, &format!("oci:{}:v1", dir.display())]).await.status.success());
    let listed = json(&oci(&["layout", "ls", dir.to_str().unwrap(), "--json"]).await);
    assert_eq!(listed["manifests"][0]["tag"], "v1");
    assert_eq!(listed["manifests"][0]["digest"], digest.as_str());
    let fsck = json(&oci(&["layout", "fsck", dir.to_str().unwrap(), "--json"]).await);
    assert_eq!((fsck["ok"].as_bool(), fsck["blobsVerified"].as_u64()), (Some(true), Some(4)));
    Layout::open_dir(&dir).unwrap().add_blob(&b"stray"[..], MediaType::LAYER_TAR).unwrap();
    let gc = json(&oci(&["layout", "gc", dir.to_str().unwrap(), "--json"]).await);
    assert_eq!(gc["removed"], serde_json::json!([oci::Digest::sha256(b"stray").to_string()]));
    assert_eq!(
        json(&oci(&["layout", "ls", tar.to_str().unwrap(), "--json"]).await)["manifests"],
        serde_json::json!([])
    );
    // A corrupt blob: fsck says so and fails.
    let blob_file = dir.join("blobs/sha256").join(layer.trim_start_matches("sha256:"));
    std::fs::write(&blob_file, b"not the layer").unwrap();
    let bad = oci(&["layout", "fsck", dir.to_str().unwrap()]).await;
    assert_eq!(bad.status.code(), Some(1), "{}", stdout(&bad));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_says_where_it_listens_and_takes_a_push() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().unwrap();
    let digest = seed(&tmp.path().join("src"));
    let store = tmp.path().join("store");
    let mut server = Command::new(env!("CARGO_BIN_EXE_oci"))
        .args(["serve", store.to_str().unwrap(), "--addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stderr.take().unwrap()).read_line(&mut line).unwrap();
    let host = line.split("http://").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_owned();
    let src = format!("oci:{}:v1", tmp.path().join("src").display());
    let pushed = json(&oci(&["push", &src, &format!("{host}/team/app:v1"), "--json"]).await);
    assert_eq!(pushed["digest"], digest.as_str());
    assert_eq!(stdout(&oci(&["digest", &format!("{host}/team/app:v1")]).await).trim(), digest);
    server.kill().unwrap();
    server.wait().unwrap();
}
