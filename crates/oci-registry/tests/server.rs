//! The registry as clients meet it: raw requests for what the conformance suite does
//! not cover (names, limits, restarts, the files on disk), and our client for pushes.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::Duration;

mod common;

use common::{push_blob, push_image, raw};
use oci_registry::{DiskStorage, Limits, MemoryStorage, Registry, Sparse};
use oci_spec_types::{Descriptor, Digest, Document, ImageConfig, ImageManifest, MediaType, Platform};

async fn disk_registry(dir: &Path, limits: Limits) -> Registry {
    let storage = DiskStorage::open(dir, false).expect("open the store");
    Registry::builder().storage(storage).limits(limits).bind("127.0.0.1:0").await.expect("bind")
}

#[tokio::test]
async fn bad_names_are_refused_and_nothing_is_written_outside_the_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("store");
    let registry = disk_registry(&root, Limits::default()).await;
    let cases = [
        (
            "POST",
            "/v2/a/../../escape/blobs/uploads/",
            "invalid repository name \"a/../../escape\": invalid character '.' in repository path at byte 2",
        ),
        (
            "POST",
            "/v2/%2e%2e/escape/blobs/uploads/",
            "invalid repository name \"%2e%2e/escape\": invalid character '%' in repository path at byte 0",
        ),
        (
            "GET",
            "/v2/Upper/tags/list",
            "invalid repository name \"Upper\": invalid character 'U' in repository path at byte 0",
        ),
        (
            "PUT",
            "/v2/a/blobs/manifests/latest",
            "invalid repository name \"a/blobs\": \"blobs\" is reserved by the image layout of its parent",
        ),
    ];
    for (method, path, message) in cases {
        let answer = raw(registry.addr(), method, path, &[], b"{}").await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, format!("NAME_INVALID: {message}")),
            "{method} {path}"
        );
    }
    let long = format!("/v2/{}/tags/list", "a".repeat(256));
    let answer = raw(registry.addr(), "GET", &long, &[], &[]).await;
    assert_eq!(answer.error(), "NAME_INVALID: repository name is 256 bytes, over the limit of 255");
    let bad_digest = raw(registry.addr(), "GET", "/v2/a/blobs/sha256:abc", &[], &[]).await;
    assert_eq!(bad_digest.status, 400);
    assert!(
        bad_digest.error().starts_with("DIGEST_INVALID: invalid digest \"sha256:abc\""),
        "{}",
        bad_digest.error()
    );
    let mut outside: Vec<_> =
        std::fs::read_dir(dir.path()).expect("list").map(|e| e.expect("entry").file_name()).collect();
    outside.sort();
    assert_eq!(outside, ["store"]);
    let inside: Vec<_> =
        std::fs::read_dir(&root).expect("list").map(|e| e.expect("entry").file_name()).collect();
    assert_eq!(inside, [".oci-registry"]);
    registry.shutdown().await;
}

#[tokio::test]
async fn a_repository_on_disk_is_an_image_layout_and_blobs_are_stored_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = disk_registry(dir.path(), Limits::default()).await;
    let addr = registry.addr();
    let manifest = push_image(addr, "team/app", "v1", b"layer bytes", None).await;
    let layer = Digest::sha256(b"layer bytes");
    // A mount into another repository links the same file.
    let mount =
        raw(addr, "POST", &format!("/v2/other/blobs/uploads/?mount={layer}&from=team/app"), &[], &[]).await;
    assert_eq!(
        (mount.status, mount.header("location")),
        (201, Some(format!("/v2/other/blobs/{layer}").as_str()))
    );
    // And a mount without `from` finds it too.
    let auto = raw(addr, "POST", &format!("/v2/third/blobs/uploads/?mount={layer}"), &[], &[]).await;
    assert_eq!(auto.status, 201);
    registry.shutdown().await;

    let layout = oci_layout::Layout::open_dir(dir.path().join("team/app")).expect("a layout");
    assert_eq!(layout.resolve("v1").expect("the tag").digest, manifest.digest);
    let report = layout.fsck().expect("fsck");
    assert!(report.is_ok(), "{:?}", report.findings);
    let inode = |repo: &str| {
        std::fs::metadata(dir.path().join(repo).join("blobs/sha256").join(layer.encoded()))
            .expect("blob")
            .ino()
    };
    assert_eq!(inode("team/app"), inode("other"));
    assert_eq!(inode("team/app"), inode("third"));
    let entries: Vec<_> =
        std::fs::read_dir(dir.path().join(".oci-registry/uploads")).expect("uploads").collect();
    assert!(entries.is_empty(), "no session is left behind");

    // Served again from the same directory: the tag and the blob are there.
    let again = disk_registry(dir.path(), Limits::default()).await;
    let get = raw(again.addr(), "GET", "/v2/team/app/manifests/v1", &[], &[]).await;
    assert_eq!((get.status, get.header("docker-content-digest")), (200, Some(manifest.digest.as_str())));
    let catalog = raw(again.addr(), "GET", "/v2/_catalog", &[], &[]).await;
    assert_eq!(String::from_utf8_lossy(&catalog.body), r#"{"repositories":["other","team/app","third"]}"#);
    again.shutdown().await;
}

#[tokio::test]
async fn an_upload_session_survives_a_restart_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blob: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let digest = Digest::sha256(&blob);
    let registry = disk_registry(dir.path(), Limits::default()).await;
    let post = raw(registry.addr(), "POST", "/v2/resume/blobs/uploads/", &[], &[]).await;
    let location = post.header("location").expect("a Location").to_owned();
    let first =
        raw(registry.addr(), "PATCH", &location, &[("content-range", "0-59999")], &blob[..60_000]).await;
    assert_eq!((first.status, first.header("range")), (202, Some("0-59999")));
    registry.shutdown().await;

    let registry = disk_registry(dir.path(), Limits::default()).await;
    let status = raw(registry.addr(), "GET", &location, &[], &[]).await;
    assert_eq!((status.status, status.header("range")), (204, Some("0-59999")));
    let wrong =
        raw(registry.addr(), "PATCH", &location, &[("content-range", "50000-99999")], &blob[50_000..]).await;
    assert_eq!((wrong.status, wrong.header("range")), (416, Some("0-59999")));
    let rest =
        raw(registry.addr(), "PATCH", &location, &[("content-range", "60000-99999")], &blob[60_000..]).await;
    assert_eq!(rest.status, 202);
    let put = raw(registry.addr(), "PUT", &format!("{location}?digest={digest}"), &[], &[]).await;
    assert_eq!(put.status, 201, "{}", put.error());
    let get = raw(registry.addr(), "GET", &format!("/v2/resume/blobs/{digest}"), &[], &[]).await;
    assert_eq!(get.body, blob);
    let gone = raw(registry.addr(), "GET", &location, &[], &[]).await;
    assert_eq!(gone.status, 404);
    registry.shutdown().await;
}

#[tokio::test]
async fn limits_answer_with_their_status() {
    let mut limits = Limits::default();
    limits.max_manifest_bytes = 1024;
    limits.max_uploads_per_repository = 2;
    limits.max_page_entries = 2;
    limits.max_blob_bytes = 10;
    let registry = common::memory_registry(limits).await;
    let addr = registry.addr();
    let big = raw(
        addr,
        "PUT",
        "/v2/a/manifests/x",
        &[("content-type", MediaType::IMAGE_MANIFEST.as_str())],
        &[b' '; 2000],
    )
    .await;
    assert_eq!(
        (big.status, big.error()),
        (
            413,
            "SIZE_INVALID: the manifest is over the limit of 1024 bytes (Limits::max_manifest_bytes)"
                .to_owned()
        )
    );
    let blob = raw(
        addr,
        "POST",
        &format!("/v2/a/blobs/uploads/?digest={}", Digest::sha256(&[0; 11])),
        &[],
        &[0; 11],
    )
    .await;
    assert_eq!(
        (blob.status, blob.error()),
        (413, "SIZE_INVALID: the upload is over the limit of 10 bytes (Limits::max_blob_bytes)".to_owned())
    );
    for _ in 0..2 {
        assert_eq!(raw(addr, "POST", "/v2/a/blobs/uploads/", &[], &[]).await.status, 202);
    }
    let third = raw(addr, "POST", "/v2/a/blobs/uploads/", &[], &[]).await;
    assert_eq!((third.status, third.header("retry-after")), (429, Some("10")));
    assert_eq!(
        third.error(),
        "TOOMANYREQUESTS: 2 upload sessions are open in a (Limits::max_uploads_per_repository)"
    );
    let huge = "x".repeat(80 << 10);
    let head = raw(addr, "GET", "/v2/", &[("x-filler", &huge)], &[]).await;
    assert_eq!(head.status, 431);
    for repo in ["r1", "r2", "r3"] {
        push_blob(addr, repo, b"x").await;
    }
    let page = raw(addr, "GET", "/v2/_catalog?n=100", &[], &[]).await;
    // `a` has open sessions only: no repository yet.
    assert_eq!(String::from_utf8_lossy(&page.body), r#"{"repositories":["r1","r2"]}"#);
    assert_eq!(page.header("link"), Some(r#"</v2/_catalog?last=r2&n=2>; rel="next""#));
    registry.shutdown().await;
}

#[tokio::test]
async fn idle_sessions_expire_with_their_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut limits = Limits::default();
    limits.upload_idle_expiry = Duration::from_millis(300);
    let registry = disk_registry(dir.path(), limits).await;
    let post = raw(registry.addr(), "POST", "/v2/idle/blobs/uploads/", &[], &[]).await;
    let location = post.header("location").expect("a Location").to_owned();
    assert_eq!(raw(registry.addr(), "PATCH", &location, &[], b"some bytes").await.status, 202);
    let uploads = dir.path().join(".oci-registry/uploads");
    assert_eq!(std::fs::read_dir(&uploads).expect("uploads").count(), 1);
    // The sweeper (every 100 ms here) removes it; waited for, not timed.
    for _ in 0..100 {
        if std::fs::read_dir(&uploads).expect("uploads").count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(std::fs::read_dir(&uploads).expect("uploads").count(), 0);
    let status = raw(registry.addr(), "GET", &location, &[], &[]).await;
    assert_eq!((status.status, status.error().split(':').next()), (404, Some("BLOB_UPLOAD_UNKNOWN")));
    registry.shutdown().await;
}

#[tokio::test]
async fn concurrent_pushes_of_one_image_end_consistent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = disk_registry(dir.path(), Limits::default()).await;
    let addr = registry.addr();
    let mut tasks = Vec::new();
    for i in 0..8 {
        tasks.push(tokio::spawn(async move {
            let same = push_image(addr, "busy", "latest", b"the same layer", None).await;
            let own = push_image(addr, "busy", &format!("t{i}"), format!("layer {i}").as_bytes(), None).await;
            (same, own)
        }));
    }
    let mut digests = Vec::new();
    for task in tasks {
        digests.push(task.await.expect("a push"));
    }
    assert!(digests.iter().all(|(same, _)| same.digest == digests[0].0.digest));
    let tags = raw(addr, "GET", "/v2/busy/tags/list", &[], &[]).await;
    assert_eq!(
        String::from_utf8_lossy(&tags.body),
        r#"{"name":"busy","tags":["latest","t0","t1","t2","t3","t4","t5","t6","t7"]}"#
    );
    registry.shutdown().await;
    let report = oci_layout::Layout::open_dir(dir.path().join("busy")).expect("layout").fsck().expect("fsck");
    assert!(report.is_ok(), "{:?}", report.findings);
}

#[tokio::test]
async fn sparse_manifests_are_accepted_only_as_far_as_told() {
    let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().expect("platform")))
        .expect("config");
    let absent = Descriptor::new(MediaType::LAYER_TAR, Digest::sha256(b"never pushed"), 12);
    let image = Document::new(ImageManifest::new(config.descriptor(), vec![absent])).expect("image");
    let child = Descriptor::new(MediaType::IMAGE_MANIFEST, Digest::sha256(b"no such manifest"), 16);
    let index = Document::new(oci_spec_types::ImageIndex::new(vec![child])).expect("index");
    let (image_ct, index_ct) = (MediaType::IMAGE_MANIFEST.as_str(), MediaType::IMAGE_INDEX.as_str());
    for (sparse, statuses) in
        [(Sparse::Refused, (400, 400)), (Sparse::Indexes, (400, 201)), (Sparse::All, (201, 201))]
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = DiskStorage::open(dir.path(), false).expect("open the store");
        let registry =
            Registry::builder().storage(storage).sparse(sparse).bind("127.0.0.1:0").await.expect("bind");
        let addr = registry.addr();
        push_blob(addr, "sparse", config.bytes()).await;
        let put_image =
            raw(addr, "PUT", "/v2/sparse/manifests/image", &[("content-type", image_ct)], image.bytes())
                .await;
        let put_index =
            raw(addr, "PUT", "/v2/sparse/manifests/index", &[("content-type", index_ct)], index.bytes())
                .await;
        assert_eq!((put_image.status, put_index.status), statuses, "{sparse:?}");
        // What was taken is served as pushed; what was refused is absent.
        for (tag, put, bytes) in
            [("image", &put_image, &image.bytes()[..]), ("index", &put_index, &index.bytes()[..])]
        {
            let get = raw(addr, "GET", &format!("/v2/sparse/manifests/{tag}"), &[], &[]).await;
            if put.status == 201 {
                assert_eq!((get.status, &get.body[..]), (200, bytes), "{sparse:?} {tag}");
            } else {
                assert_eq!(get.status, 404, "{sparse:?} {tag}");
            }
        }
        registry.shutdown().await;
    }
}

#[tokio::test]
async fn manifests_are_checked_before_they_are_stored() {
    let registry = Registry::builder().storage(MemoryStorage::new()).bind("127.0.0.1:0").await.expect("bind");
    let addr = registry.addr();
    let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().expect("platform")))
        .expect("config");
    push_blob(addr, "check", config.bytes()).await;
    let missing = Descriptor::new(MediaType::LAYER_TAR, Digest::sha256(b"never pushed"), 12);
    let image =
        Document::new(ImageManifest::new(config.descriptor(), vec![missing.clone()])).expect("manifest");
    let ct = MediaType::IMAGE_MANIFEST.as_str();
    let refused = raw(addr, "PUT", "/v2/check/manifests/v1", &[("content-type", ct)], image.bytes()).await;
    assert_eq!(
        (refused.status, refused.error()),
        (
            400,
            format!(
                "MANIFEST_BLOB_UNKNOWN: the manifest references blob {} that check does not have",
                missing.digest
            )
        )
    );
    // A layer to be fetched from its URL is exempt.
    let mut foreign = missing.clone();
    foreign.urls = vec!["https://example.com/layer".into()];
    let image = Document::new(ImageManifest::new(config.descriptor(), vec![foreign])).expect("manifest");
    assert_eq!(
        raw(addr, "PUT", "/v2/check/manifests/v1", &[("content-type", ct)], image.bytes()).await.status,
        201
    );
    // An index whose child is not stored.
    let index = Document::new(oci_spec_types::ImageIndex::new(vec![missing.clone()])).expect("index");
    let index_ct = MediaType::IMAGE_INDEX.as_str();
    let refused =
        raw(addr, "PUT", "/v2/check/manifests/i", &[("content-type", index_ct)], index.bytes()).await;
    assert_eq!(
        refused.error(),
        format!(
            "MANIFEST_BLOB_UNKNOWN: the manifest references manifest {} that check does not have",
            missing.digest
        )
    );
    // The digest of the URL, the media type, the JSON.
    let wrong = format!("/v2/check/manifests/{}", Digest::sha256(b"other"));
    let refused = raw(addr, "PUT", &wrong, &[("content-type", ct)], image.bytes()).await;
    assert_eq!(
        refused.error(),
        format!(
            "DIGEST_INVALID: the manifest's digest is {}, not {}",
            image.digest(),
            Digest::sha256(b"other")
        )
    );
    let refused =
        raw(addr, "PUT", "/v2/check/manifests/v2", &[("content-type", index_ct)], image.bytes()).await;
    assert_eq!(refused.status, 400);
    assert!(refused.error().starts_with("MANIFEST_INVALID: invalid manifest: "), "{}", refused.error());
    let refused = raw(addr, "PUT", "/v2/check/manifests/v2", &[("content-type", ct)], b"{not json").await;
    assert!(refused.error().starts_with("MANIFEST_INVALID: invalid manifest: "), "{}", refused.error());
    let refused =
        raw(addr, "PUT", "/v2/check/manifests/bad!tag", &[("content-type", ct)], image.bytes()).await;
    assert_eq!(refused.error(), "MANIFEST_INVALID: invalid tag \"bad!tag\"");
    // What was refused was not stored.
    let tags = raw(addr, "GET", "/v2/check/tags/list", &[], &[]).await;
    assert_eq!(String::from_utf8_lossy(&tags.body), r#"{"name":"check","tags":["v1"]}"#);
    registry.shutdown().await;
}

/// A request: method, target, headers, body.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, Vec<u8>);

#[tokio::test]
async fn malformed_requests_get_spec_errors_and_the_server_stays_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = disk_registry(dir.path(), Limits::default()).await;
    let addr = registry.addr();
    let post = raw(addr, "POST", "/v2/fuzz/blobs/uploads/", &[], &[]).await;
    let session = post.header("location").expect("a Location").to_owned();
    let cases: Vec<Case<'_>> = vec![
        ("GET", "/v2/fuzz/blobs/sha256:".into(), vec![], vec![]),
        ("GET", "/v2/fuzz/blobs/md5:abcd".into(), vec![], vec![]),
        ("GET", format!("/v2/fuzz/blobs/sha256:{}", "z".repeat(64)), vec![], vec![]),
        ("GET", "/v2/fuzz/manifests/sha256:%00".into(), vec![], vec![]),
        ("GET", "/v2/fuzz/tags/list?n=-1".into(), vec![], vec![]),
        ("GET", "/v2/fuzz/tags/list?n=99999999999999999999999".into(), vec![], vec![]),
        ("PATCH", session.clone(), vec![("content-range", "bytes=x-y")], b"abc".to_vec()),
        ("PATCH", session.clone(), vec![("content-range", "5-2")], b"abc".to_vec()),
        ("PATCH", session.clone(), vec![("content-range", "0-99")], b"abc".to_vec()),
        ("PUT", format!("{session}?digest=nonsense"), vec![], vec![]),
        ("PUT", format!("{session}?digest=sha256:{}", "0".repeat(64)), vec![], vec![]),
        ("GET", "/v2/fuzz/blobs/uploads/../../etc".into(), vec![], vec![]),
        ("DELETE", "/v2/fuzz/blobs/uploads/not-a-session".into(), vec![], vec![]),
        (
            "PUT",
            "/v2/fuzz/manifests/v1".into(),
            vec![("content-type", "application/vnd.oci.image.index.v1+json")],
            b"[1,2,3]".to_vec(),
        ),
        ("PUT", "/v2/fuzz/manifests/v1".into(), vec![("content-type", "text/plain")], b"{}".to_vec()),
        ("PUT", "/v2/fuzz/manifests/v1".into(), vec![], br#"{"schemaVersion":1}"#.to_vec()),
        ("GET", "/v2/fuzz/referrers/sha256:short".into(), vec![], vec![]),
        ("POST", "/v2/fuzz/blobs/uploads/?mount=sha256:abc&from=../x".into(), vec![], vec![]),
        ("TRACE", "/v2/".into(), vec![], vec![]),
        ("GET", "/v3/".into(), vec![], vec![]),
        ("GET", "/token".into(), vec![], vec![]),
    ];
    for (method, target, headers, body) in &cases {
        let answer = raw(addr, method, target, headers, body).await;
        assert!(
            (400..500).contains(&answer.status),
            "{method} {target}: {} {}",
            answer.status,
            answer.error()
        );
        if answer.status != 431 && *method != "HEAD" {
            let parsed: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
            assert!(parsed["errors"][0]["code"].is_string(), "{method} {target}: no spec error body");
        }
        assert_eq!(raw(addr, "GET", "/v2/", &[], &[]).await.status, 200, "after {method} {target}");
    }
    // No refused chunk left bytes in the session.
    let status = raw(addr, "GET", &session, &[], &[]).await;
    assert_eq!((status.status, status.header("range")), (204, Some("0-0")));
    registry.shutdown().await;
}
