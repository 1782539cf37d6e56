//! The `oci` binary as a person runs it, against the embedded registry: each verb in
//! both output modes, and the exit codes scripts branch on.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use oci::{Document, Layout, MediaType};
use oci_registry::{MemoryStorage, Registry};
use serde_json::Value;

/// Runs `oci ARGS` to its end (on a blocking thread: the registry keeps serving).
async fn oci(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || Command::new(env!("CARGO_BIN_EXE_oci")).args(&args).output().unwrap())
        .await
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// The one JSON document of a successful run's stdout.
fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// A layout at `dir` with an image of two layers tagged `v1`, and the image's digest.
fn seed(dir: &Path) -> String {
    let layout = Layout::init_dir(dir).unwrap();
    let mut config = oci::spec::ImageConfig::new(&"linux/arm64".parse().unwrap());
    config.created = Some("2026-01-02T03:04:05Z".parse().unwrap());
    let config = layout.write_document(&Document::new(config).unwrap()).unwrap();
    let layers = [vec![1u8; 3000], vec![2u8; 2_000_000]]
        .iter()
        .map(|c| layout.add_blob(c.as_slice(), MediaType::LAYER_TAR).unwrap())
        .collect();
    let image = Document::new(oci::spec::ImageManifest::new(config, layers)).unwrap();
    layout.tag("v1", layout.write_document(&image).unwrap()).unwrap();
    image.digest().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_copy_and_inspect_in_both_output_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let digest = seed(&tmp.path().join("src"));
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.unwrap();
    let host = registry.host();
    let image = format!("{host}/team/app:v1");
    let src = format!("oci:{}:v1", tmp.path().join("src").display());

    let pushed = json(&oci(&["push", &src, &image, "--json", "--plain-http", &host]).await);
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
    let mounted = json(&oci(&["copy", &image, &format!("{host}/team/mirror:v1"), "--json"]).await);
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

    // Nothing listens on port 1.
    let down = oci(&["inspect", "127.0.0.1:1/x/y:v1"]).await;
    assert_eq!(down.status.code(), Some(5), "{}", stderr(&down));
}
