//! Garbage collection while the registry serves: what nothing references goes once its
//! grace period is over, what a push is about to reference never does, and every
//! layout stays valid.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::raw;
use oci_registry::{DiskStorage, GcOptions, MemoryStorage, Registry, Storage};
use oci_spec_types::{Descriptor, Digest, Document, ImageConfig, ImageManifest, MediaType, Platform};

/// Pushes `bytes` as one blob; its digest.
async fn blob(addr: SocketAddr, repo: &str, bytes: &[u8]) -> Digest {
    let digest = Digest::sha256(bytes);
    let answer = raw(addr, "POST", &format!("/v2/{repo}/blobs/uploads/?digest={digest}"), &[], bytes).await;
    assert_eq!(answer.status, 201, "{}", answer.error());
    digest
}

/// An image of one layer pushed under `reference` (a tag or its digest); the manifest's
/// descriptor and the layer's digest. `None` when the registry refused the manifest.
async fn image(
    addr: SocketAddr,
    repo: &str,
    reference: Option<&str>,
    layer: &[u8],
) -> (Descriptor, Digest, u16) {
    let layer_digest = blob(addr, repo, layer).await;
    let config = Document::new(ImageConfig::new(&"linux/amd64".parse::<Platform>().unwrap())).unwrap();
    blob(addr, repo, config.bytes()).await;
    let layer_descriptor = Descriptor::new(MediaType::LAYER_TAR, layer_digest.clone(), layer.len() as u64);
    let manifest = Document::new(ImageManifest::new(config.descriptor(), vec![layer_descriptor])).unwrap();
    let reference = reference.map_or_else(|| manifest.digest().to_string(), str::to_owned);
    let ct = manifest.media_type().to_string();
    let put = raw(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{reference}"),
        &[("content-type", &ct)],
        manifest.bytes(),
    )
    .await;
    (manifest.descriptor(), layer_digest, put.status)
}

async fn status(addr: SocketAddr, method: &str, target: &str) -> u16 {
    raw(addr, method, target, &[], &[]).await.status
}

async fn removes_only_what_nothing_references(registry: Registry) {
    let addr = registry.addr();
    let (tagged, layer, put) = image(addr, "app", Some("v1"), b"kept layer").await;
    assert_eq!(put, 201);
    let orphan = blob(addr, "app", b"an orphan").await;
    // Within the grace period, nothing goes.
    let report = registry.gc(GcOptions::default()).await.unwrap();
    assert_eq!((report.blobs_removed, report.content_removed), (0, 0), "{report:?}");
    // Past it, the orphan goes from the repository and from the store.
    let now = GcOptions::default().with_grace(Duration::ZERO);
    let report = registry.gc(now.clone()).await.unwrap();
    assert_eq!(
        (report.blobs_removed, report.content_removed, report.manifests_removed),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(status(addr, "HEAD", &format!("/v2/app/blobs/{orphan}")).await, 404);
    assert_eq!(status(addr, "HEAD", &format!("/v2/app/blobs/{layer}")).await, 200);
    assert_eq!(status(addr, "GET", "/v2/app/manifests/v1").await, 200);

    // Untagged manifests go only when asked, and a referrer of a kept subject stays.
    let (untagged, untagged_layer, put) = image(addr, "app", None, b"untagged layer").await;
    assert_eq!(put, 201);
    let referrer = ImageManifest::new(Descriptor::empty(), vec![Descriptor::empty()])
        .with_artifact_type(MediaType::from("application/vnd.example.sig"))
        .with_subject(tagged.clone());
    blob(addr, "app", b"{}").await;
    let referrer = Document::new(referrer).unwrap();
    let target = format!("/v2/app/manifests/{}", referrer.digest());
    let ct = referrer.media_type().to_string();
    assert_eq!(raw(addr, "PUT", &target, &[("content-type", &ct)], referrer.bytes()).await.status, 201);
    assert_eq!(registry.gc(now.clone()).await.unwrap().manifests_removed, 0);
    let report = registry.gc(now.with_untagged(true)).await.unwrap();
    assert_eq!(report.manifests_removed, 1, "{report:?}");
    assert_eq!(report.removed, [("app".to_owned(), untagged.digest.clone())]);
    assert_eq!(status(addr, "GET", &format!("/v2/app/manifests/{}", untagged.digest)).await, 404);
    assert_eq!(status(addr, "HEAD", &format!("/v2/app/blobs/{untagged_layer}")).await, 404);
    assert_eq!(status(addr, "GET", &target).await, 200, "the referrer stays");
    assert_eq!(status(addr, "HEAD", &format!("/v2/app/blobs/{layer}")).await, 200);
    registry.shutdown().await;
}

#[tokio::test]
async fn a_collection_removes_only_what_nothing_references_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DiskStorage::open(dir.path(), false).unwrap();
    removes_only_what_nothing_references(
        Registry::builder().storage(storage).bind("127.0.0.1:0").await.unwrap(),
    )
    .await;
    let report = oci_layout::Layout::open_dir(dir.path().join("app")).unwrap().fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
}

#[tokio::test]
async fn a_collection_removes_only_what_nothing_references_in_memory() {
    let storage = MemoryStorage::new();
    removes_only_what_nothing_references(
        Registry::builder().storage(storage.clone()).bind("127.0.0.1:0").await.unwrap(),
    )
    .await;
    assert_eq!(storage.repositories().unwrap(), ["app"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_and_pulls_never_miss_a_blob_while_gc_runs_every_100_ms() {
    let dir = tempfile::tempdir().unwrap();
    let storage = DiskStorage::open(dir.path(), false).unwrap();
    let options = GcOptions::default().with_grace(Duration::from_secs(1));
    let registry = Registry::builder()
        .storage(storage)
        .gc_every(Duration::from_millis(100), options)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let addr = registry.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let (pushed, pulled, refused, missing) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut tasks = Vec::new();
    for pusher in 0..3 {
        let (stop, pushed, refused) = (stop.clone(), pushed.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let layer = format!("layer {pusher}-{n}");
                let (_, _, status) =
                    image(addr, "soak", Some(&format!("t{pusher}-{n}")), layer.as_bytes()).await;
                if status == 201 {
                    pushed.fetch_add(1, Ordering::Relaxed)
                } else {
                    refused.fetch_add(1, Ordering::Relaxed)
                };
                // Garbage for the collector: a blob nothing will reference.
                blob(addr, "soak", format!("orphan {pusher}-{n}").as_bytes()).await;
                n += 1;
            }
        }));
    }
    for _ in 0..2 {
        let (stop, pulled, missing) = (stop.clone(), pulled.clone(), missing.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let tags = raw(addr, "GET", "/v2/soak/tags/list", &[], &[]).await;
                let tags: serde_json::Value = serde_json::from_slice(&tags.body).unwrap_or_default();
                for tag in tags["tags"].as_array().into_iter().flatten().rev().take(5) {
                    let manifest =
                        raw(addr, "GET", &format!("/v2/soak/manifests/{}", tag.as_str().unwrap()), &[], &[])
                            .await;
                    let manifest: ImageManifest = serde_json::from_slice(&manifest.body).unwrap();
                    for blob in manifest.blobs() {
                        if status(addr, "GET", &format!("/v2/soak/blobs/{}", blob.digest)).await != 200 {
                            missing.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    pulled.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let (pushed, pulled) = (pushed.load(Ordering::Relaxed), pulled.load(Ordering::Relaxed));
    assert!(pushed > 10 && pulled > 10, "{pushed} pushes, {pulled} pulls");
    assert_eq!(
        (refused.load(Ordering::Relaxed), missing.load(Ordering::Relaxed)),
        (0, 0),
        "MANIFEST_BLOB_UNKNOWN, missing blobs"
    );
    // The collector removed the orphans older than the grace period; a last one now
    // removes every orphan and nothing else.
    let report = registry.gc(GcOptions::default().with_grace(Duration::ZERO)).await.unwrap();
    let remaining = report.blobs_removed;
    assert!(remaining < pushed, "the background collector ran: {remaining} orphans left of {pushed}");
    for tag in 0..3 {
        assert_eq!(status(addr, "GET", &format!("/v2/soak/manifests/t{tag}-0")).await, 200);
    }
    registry.shutdown().await;
    let fsck = oci_layout::Layout::open_dir(dir.path().join("soak")).unwrap().fsck().unwrap();
    assert!(fsck.is_ok(), "{:?}", fsck.findings);
}
