//! The registry under abuse: traversal attempts in every part of a path (encoded too),
//! oversized headers and bodies, a client that sends one byte a second, many clients
//! pushing one blob and one tag at once, and a soak of pushes, pulls, deletes and GC
//! (`OCI_REGISTRY_SOAK_SECONDS`, 8 by default). Each prints its figures.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{push_blob, push_image, raw};
use oci_registry::{DiskStorage, GcOptions, Limits, Registry};
use oci_spec_types::{Descriptor, Digest, Document, ImageManifest, MediaType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn disk_registry(root: &Path, limits: Limits) -> Registry {
    let storage = DiskStorage::open(root, false).unwrap();
    Registry::builder().storage(storage).limits(limits).bind("127.0.0.1:0").await.unwrap()
}

/// Every file under `dir`, as paths relative to it.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn traversal_in_digests_sessions_and_references_is_refused_and_writes_nothing_outside() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let registry = disk_registry(&root, Limits::default()).await;
    let addr = registry.addr();
    let hex = "a".repeat(64);
    let attempts = [
        ("GET", "/v2/a/blobs/sha256:..%2F..%2F..%2Fescape".to_owned()),
        ("GET", "/v2/a/blobs/..%2F..%2Fescape".to_owned()),
        ("GET", format!("/v2/a/blobs/sha256:{hex}%2F..%2F..")),
        ("GET", "/v2/a/blobs/sha256%3A..%2Fescape".to_owned()),
        ("PUT", "/v2/a/manifests/..%2F..%2Fescape".to_owned()),
        ("PUT", "/v2/a/manifests/%2e%2e".to_owned()),
        ("PUT", "/v2/a/manifests/sha256:..%2F..%2Fescape".to_owned()),
        ("GET", "/v2/a/referrers/sha256:..%2F..%2Fescape".to_owned()),
        ("PATCH", "/v2/a/blobs/uploads/..%2F..%2F..%2Fescape".to_owned()),
        ("PATCH", "/v2/a/blobs/uploads/%2e%2e%2f%2e%2e%2fescape".to_owned()),
        ("PUT", format!("/v2/a/blobs/uploads/..%2Fescape?digest=sha256:{hex}")),
        ("DELETE", "/v2/a/blobs/uploads/..%2F..".to_owned()),
        ("GET", "/v2/a/blobs/uploads/%00".to_owned()),
        ("GET", "/v2/a/blobs/uploads/..".to_owned()),
        ("POST", "/v2/a/blobs/uploads/?digest=sha256:..%2F..%2Fescape".to_owned()),
        ("POST", format!("/v2/a/blobs/uploads/?mount=sha256:{hex}&from=..%2F..%2Fescape")),
        ("POST", "/v2/a/blobs/uploads/?mount=..%2F..%2Fescape&from=b".to_owned()),
        ("GET", "/v2/a%2F..%2F..%2Fescape/tags/list".to_owned()),
        ("GET", "/v2/a/tags/list?last=..%2F..%2Fescape".to_owned()),
        ("GET", "/v2/_catalog?last=..%2F..%2F..".to_owned()),
        ("DELETE", "/v2/a/manifests/..%2F..%2Fescape".to_owned()),
        ("GET", "/v2/a\\..\\..\\escape/tags/list".to_owned()),
        ("GET", "//etc/passwd".to_owned()),
    ];
    let mut statuses = Vec::new();
    for (method, target) in &attempts {
        let answer = raw(addr, method, target, &[], b"{}").await;
        // `last` of a list is only a place in the order: a list answers.
        let list = target.contains("/tags/list?") || target.contains("_catalog?");
        assert!(
            (400..500).contains(&answer.status) || (answer.status == 200 && list),
            "{method} {target}: {} {}",
            answer.status,
            answer.error()
        );
        statuses.push(answer.status);
    }
    // An upload session that exists, addressed through a traversal of its own id.
    let post = raw(addr, "POST", "/v2/a/blobs/uploads/", &[], &[]).await;
    let location = post.header("location").unwrap().to_owned();
    let id = location.rsplit('/').next().unwrap().to_owned();
    for target in [
        format!("/v2/b/blobs/uploads/..%2F..%2Fa%2Fblobs%2Fuploads%2F{id}"),
        format!("/v2/a/blobs/uploads/{id}%2F..%2F..%2Fescape"),
        format!("/v2/a/blobs/uploads/..%2F{id}"),
    ] {
        let answer = raw(addr, "PATCH", &target, &[], b"bytes").await;
        assert!((400..500).contains(&answer.status), "PATCH {target}: {}", answer.status);
    }
    registry.shutdown().await;
    let outside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(outside, ["store"]);
    let written = files(&root);
    assert!(written.iter().all(|f| !f.contains("escape")), "{written:?}");
    println!(
        "traversal: {} attempts, all refused but a list that answered ({statuses:?}); nothing written outside",
        attempts.len() + 3
    );
}

/// Sends `head` and then a chunked body of `chunk`s until the server answers; the answer's
/// status line and how many bytes of body were sent before it came.
async fn chunked_until_answered(
    addr: SocketAddr,
    head: &str,
    chunk: &[u8],
    at_most: usize,
) -> (String, usize) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write.write_all(head.as_bytes()).await.unwrap();
    let answered = Arc::new(AtomicBool::new(false));
    let stop = answered.clone();
    let chunk = chunk.to_vec();
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        while sent < at_most && !stop.load(Ordering::SeqCst) {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
            if write.write_all(&framed).await.is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let mut answer = vec![0; 512];
    let n = tokio::time::timeout(Duration::from_secs(30), read.read(&mut answer)).await.unwrap().unwrap_or(0);
    answered.store(true, Ordering::SeqCst);
    let sent = writer.await.unwrap();
    let status = String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or("").to_owned();
    (status, sent)
}

#[tokio::test]
async fn oversized_headers_and_bodies_are_refused_without_being_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut limits = Limits::default();
    limits.max_manifest_bytes = 64 << 10;
    limits.max_blob_bytes = 1 << 20;
    let registry = disk_registry(dir.path(), limits).await;
    let addr = registry.addr();
    // Many small headers, over the header limit in all.
    let many: Vec<(String, String)> = (0..2000).map(|i| (format!("x-h{i}"), "v".repeat(40))).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    assert_eq!(raw(addr, "GET", "/v2/", &many, &[]).await.status, 431);
    // A path of 70 KiB.
    let long = format!("/v2/{}/tags/list", "a/".repeat(35 << 10));
    assert!([400, 414, 431].contains(&raw(addr, "GET", &long, &[], &[]).await.status));
    // Declared lengths over the limits are refused before any body is read.
    let ct = MediaType::IMAGE_MANIFEST.as_str();
    for (target, length) in [
        ("/v2/big/manifests/x", "1099511627776"),
        (
            "/v2/big/blobs/uploads/?digest=sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "2097152",
        ),
    ] {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let method = if target.contains("manifests") { "PUT" } else { "POST" };
        let head = format!(
            "{method} {target} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {ct}\r\ncontent-length: {length}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = vec![0; 256];
        let n =
            tokio::time::timeout(Duration::from_secs(30), stream.read(&mut answer)).await.unwrap().unwrap();
        let status = String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or("").to_owned();
        assert!(status.contains(" 413 "), "{target} with {length} bytes declared: {status}");
    }
    // Bodies without a declared length, over the limits: cut off once over.
    let manifest_head = format!(
        "PUT /v2/big/manifests/y HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {ct}\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    let (status, sent) = chunked_until_answered(addr, &manifest_head, &[b' '; 8192], 64 << 20).await;
    assert!(status.contains(" 413 "), "an endless manifest: {status}");
    let post = raw(addr, "POST", "/v2/big/blobs/uploads/", &[], &[]).await;
    let location = post.header("location").unwrap().to_owned();
    let patch_head =
        format!("PATCH {location} HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\n\r\n");
    let (patch_status, patch_sent) =
        chunked_until_answered(addr, &patch_head, &vec![7; 65536], 256 << 20).await;
    assert!(patch_status.contains(" 413 "), "an endless chunk: {patch_status}");
    assert!(sent < 64 << 20 && patch_sent < 256 << 20, "the server read to the end: {sent}, {patch_sent}");
    registry.shutdown().await;
    let stored: u64 =
        files(dir.path()).iter().map(|f| std::fs::metadata(dir.path().join(f)).unwrap().len()).sum();
    assert!(stored < 2 << 20, "{stored} bytes stored");
    println!(
        "oversized: 431 for 2000 headers, 413 for declared lengths, endless manifest cut after {} KiB sent, endless chunk after {} KiB; {stored} bytes stored",
        sent >> 10,
        patch_sent >> 10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sending_one_byte_a_second_holds_no_lock() {
    let dir = tempfile::tempdir().unwrap();
    let registry = disk_registry(dir.path(), Limits::default()).await;
    let addr = registry.addr();
    let layer = b"the layer everyone pushes".to_vec();
    let digest = Digest::sha256(&layer);
    // The slow client: a monolithic push of the same blob, one byte a second, 6 bytes.
    let done = Arc::new(AtomicBool::new(false));
    let slow_done = done.clone();
    let (slow_layer, slow_digest) = (layer.clone(), digest.clone());
    let slow = tokio::spawn(async move {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST /v2/same/blobs/uploads/?digest={slow_digest} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
            slow_layer.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        for byte in &slow_layer[..6] {
            stream.write_all(&[*byte]).await.unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        slow_done.store(true, Ordering::SeqCst);
        stream.write_all(&slow_layer[6..]).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_owned()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Meanwhile: others push the same blob, the same tag, and read them back.
    let mut others = Vec::new();
    for i in 0..8 {
        others.push(tokio::spawn(async move {
            push_image(addr, "same", "latest", b"the layer everyone pushes", Some(&format!("fast {i}"))).await
        }));
    }
    for other in others {
        other.await.unwrap();
    }
    assert!(!done.load(Ordering::SeqCst), "the others waited for the slow client");
    let get = raw(addr, "GET", &format!("/v2/same/blobs/{digest}"), &[], &[]).await;
    assert_eq!(get.body, layer);
    let slow_status = slow.await.unwrap();
    assert!(slow_status.contains(" 201 "), "the slow push: {slow_status}");
    registry.shutdown().await;
    println!(
        "slow client: 8 pushes of its blob and tag finished while it sent its first 6 bytes, one a second; then its own push was taken"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_clients_pushing_one_blob_and_one_tag_at_once_agree() {
    const CLIENTS: usize = 32;
    let dir = tempfile::tempdir().unwrap();
    let registry = disk_registry(dir.path(), Limits::default()).await;
    let addr = registry.addr();
    let layer = vec![42u8; 256 << 10];
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let layer = layer.clone();
        tasks.push(tokio::spawn(async move {
            push_image(addr, "race", "latest", &layer, Some(&format!("client {i}"))).await
        }));
    }
    let mut pushed = Vec::new();
    for task in tasks {
        pushed.push(task.await.unwrap().digest);
    }
    let head = raw(addr, "HEAD", "/v2/race/manifests/latest", &[], &[]).await;
    let tagged = Digest::parse(head.header("docker-content-digest").unwrap()).unwrap();
    assert!(pushed.contains(&tagged), "the tag names a manifest nobody pushed");
    for digest in &pushed {
        let get = raw(addr, "GET", &format!("/v2/race/manifests/{digest}"), &[], &[]).await;
        assert_eq!((get.status, Digest::sha256(&get.body)), (200, digest.clone()));
    }
    let blob = raw(addr, "GET", &format!("/v2/race/blobs/{}", Digest::sha256(&layer)), &[], &[]).await;
    assert_eq!(blob.body, layer);
    registry.shutdown().await;
    let layout = oci_layout::Layout::open_dir(dir.path().join("race")).unwrap();
    let report = layout.fsck().unwrap();
    assert!(report.is_ok(), "{:?}", report.findings);
    let layers = files(&dir.path().join("race"))
        .iter()
        .filter(|f| f.contains(Digest::sha256(&layer).encoded()))
        .count();
    assert_eq!(layers, 1, "the layer is stored once");
    println!(
        "race: {CLIENTS} clients, one blob and one tag: {} manifests, the tag names one of them, fsck clean",
        pushed.len()
    );
}

/// What the soak counted.
#[derive(Default)]
struct Counts {
    pushes: AtomicUsize,
    pulls: AtomicUsize,
    deletes: AtomicUsize,
    gcs: AtomicUsize,
    /// Answers a correct registry gives under concurrent deletes (a manifest deleted
    /// between a HEAD and a GET).
    raced: AtomicUsize,
}

/// One worker of the soak: pushes, pulls, deletes, until `until`.
async fn soak_worker(addr: SocketAddr, worker: usize, until: Instant, counts: Arc<Counts>) {
    let mut rng = fastrand::Rng::with_seed(worker as u64);
    let mut n = 0;
    while Instant::now() < until {
        n += 1;
        let tag = format!("t{}", rng.usize(..6));
        match rng.u8(..10) {
            0..4 => {
                let layer = format!("worker {worker} layer {n}").repeat(rng.usize(1..2000));
                push_image(addr, "soak", &tag, layer.as_bytes(), Some(&format!("{worker}-{n}"))).await;
                counts.pushes.fetch_add(1, Ordering::SeqCst);
            }
            4..8 => {
                let get = raw(addr, "GET", &format!("/v2/soak/manifests/{tag}"), &[], &[]).await;
                counts.pulls.fetch_add(1, Ordering::SeqCst);
                match get.status {
                    404 => continue, // never pushed, or deleted
                    200 => {}
                    other => panic!("GET {tag}: {other} {}", get.error()),
                }
                let manifest = Document::<ImageManifest>::from_slice(get.body.clone()).unwrap();
                for blob in manifest.value().blobs() {
                    let got = raw(addr, "GET", &format!("/v2/soak/blobs/{}", blob.digest), &[], &[]).await;
                    if got.status == 404 {
                        // Right only if the manifest is no longer what the tag names.
                        let head = raw(addr, "HEAD", &format!("/v2/soak/manifests/{tag}"), &[], &[]).await;
                        assert_ne!(head.header("docker-content-digest"), Some(manifest.digest().as_str()));
                        counts.raced.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    assert_eq!((got.status, Digest::sha256(&got.body)), (200, blob.digest.clone()));
                }
            }
            _ => {
                let head = raw(addr, "HEAD", &format!("/v2/soak/manifests/{tag}"), &[], &[]).await;
                let Some(digest) = head.header("docker-content-digest") else { continue };
                let delete = raw(addr, "DELETE", &format!("/v2/soak/manifests/{digest}"), &[], &[]).await;
                assert!([202, 404].contains(&delete.status), "DELETE: {} {}", delete.status, delete.error());
                if delete.status == 202 {
                    counts.deletes.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soak_of_pushes_pulls_deletes_and_gc_gives_no_wrong_answer() {
    let seconds = std::env::var("OCI_REGISTRY_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(disk_registry(dir.path(), Limits::default()).await);
    let addr = registry.addr();
    let until = Instant::now() + Duration::from_secs(seconds);
    let counts = Arc::new(Counts::default());
    let workers: Vec<_> = (0..4).map(|w| tokio::spawn(soak_worker(addr, w, until, counts.clone()))).collect();
    let collector = {
        let (registry, counts) = (registry.clone(), counts.clone());
        tokio::spawn(async move {
            let mut removed = 0;
            while Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(500)).await;
                // Blobs younger than the grace belong to pushes under way.
                let report =
                    registry.gc(GcOptions::default().with_grace(Duration::from_secs(3))).await.unwrap();
                removed += report.blobs_removed;
                counts.gcs.fetch_add(1, Ordering::SeqCst);
            }
            removed
        })
    };
    for worker in workers {
        worker.await.unwrap();
    }
    let removed = collector.await.unwrap();
    let registry = Arc::into_inner(registry).unwrap();
    registry.shutdown().await;
    let report = oci_layout::Layout::open_dir(dir.path().join("soak")).unwrap().fsck().unwrap();
    assert!(report.errors().next().is_none(), "{:?}", report.findings);
    let c = |a: &AtomicUsize| a.load(Ordering::SeqCst);
    println!(
        "soak: {seconds} s, {} pushes, {} pulls, {} deletes, {} GC runs ({removed} blobs removed), {} reads raced by a delete, 0 wrong answers, fsck clean",
        c(&counts.pushes),
        c(&counts.pulls),
        c(&counts.deletes),
        c(&counts.gcs),
        c(&counts.raced)
    );
}

/// Found by the `server` fuzz target: deleting, as a blob, the bytes of a manifest left
/// `index.json` naming a manifest that was not there, and the manifest and its
/// subject's referrers answered 500 from then on. Both stores refuse it now.
#[tokio::test]
async fn a_manifest_cannot_be_deleted_as_a_blob() {
    let dir = tempfile::tempdir().unwrap();
    let disk = disk_registry(dir.path(), Limits::default()).await;
    let memory = common::memory_registry(Limits::default()).await;
    for registry in [disk, memory] {
        let addr = registry.addr();
        push_blob(addr, "r", b"{}").await;
        let subject = Descriptor::new(MediaType::IMAGE_MANIFEST, Digest::sha256(b"subject"), 7);
        let config = Descriptor::for_bytes(MediaType::EMPTY, b"{}");
        let manifest =
            Document::new(ImageManifest::new(config, vec![]).with_subject(subject.clone())).unwrap();
        let ct = [("content-type", MediaType::IMAGE_MANIFEST.as_str())];
        let put =
            raw(addr, "PUT", &format!("/v2/r/manifests/{}", manifest.digest()), &ct, manifest.bytes()).await;
        assert_eq!(put.status, 201);
        let delete = raw(addr, "DELETE", &format!("/v2/r/blobs/{}", manifest.digest()), &[], &[]).await;
        assert_eq!(
            (delete.status, delete.error()),
            (
                405,
                format!(
                    "UNSUPPORTED: {} is a manifest of r: delete it through /manifests/, not as a blob",
                    manifest.digest()
                )
            )
        );
        let get = raw(addr, "GET", &format!("/v2/r/manifests/{}", manifest.digest()), &[], &[]).await;
        assert_eq!((get.status, &get.body[..]), (200, &manifest.bytes()[..]));
        let referrers = raw(addr, "GET", &format!("/v2/r/referrers/{}", subject.digest), &[], &[]).await;
        assert_eq!(referrers.status, 200);
        assert!(String::from_utf8_lossy(&referrers.body).contains(manifest.digest().as_str()));
        // A blob that is only a layer or a config is deleted as before.
        let config = raw(addr, "DELETE", &format!("/v2/r/blobs/{}", Digest::sha256(b"{}")), &[], &[]).await;
        assert_eq!(config.status, 202);
        registry.shutdown().await;
    }
}
