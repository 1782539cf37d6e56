//! The limits the other tests do not reach: the cap on upload sessions in all, the page
//! size given when a client asks for none, and clients that stall mid-request (in the
//! head, in a chunk, in a manifest): each is cut off, holds no lock, and leaves no
//! half-written blob or manifest behind.

use std::net::SocketAddr;
use std::time::Duration;

mod common;

use common::raw;
use oci_registry::{DiskStorage, Limits, Registry};
use oci_spec_types::{Digest, MediaType};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Sends a request head and the first `sent` bytes of a `len`-byte body, then nothing:
/// returns what the server answered, once it closed the connection.
async fn stall(addr: SocketAddr, head: &str, len: usize, body: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!("{head}\r\nhost: {addr}\r\ncontent-length: {len}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write");
    let mut out = Vec::new();
    // A deadline against a hang, far past the limit under test: the test waits for the
    // server to close, it does not time it.
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out))
        .await
        .expect("the server closes a stalled request")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

fn stalling() -> Limits {
    let mut limits = Limits::default();
    limits.body_stall_timeout = Duration::from_millis(200);
    limits
}

#[tokio::test]
async fn a_chunk_that_stalls_is_cut_off_and_its_session_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = DiskStorage::open(dir.path(), false).expect("open the store");
    let registry =
        Registry::builder().storage(storage).limits(stalling()).bind("127.0.0.1:0").await.expect("bind");
    let addr = registry.addr();
    let blob: Vec<u8> = (0..100u8).collect();
    let post = raw(addr, "POST", "/v2/slow/blobs/uploads/", &[], &[]).await;
    let location = post.header("location").expect("a Location").to_owned();
    let answer =
        stall(addr, &format!("PATCH {location} HTTP/1.1\r\ncontent-range: 0-99"), 100, &blob[..40]).await;
    assert!(
        answer.starts_with("HTTP/1.1 400")
            && answer.contains(r#""code":"BLOB_UPLOAD_INVALID","message":"the request body stalled""#),
        "{answer}"
    );
    // The session kept what arrived, and nothing holds it: the client goes on from there.
    let status = raw(addr, "GET", &location, &[], &[]).await;
    assert_eq!((status.status, status.header("range")), (204, Some("0-39")));
    let rest = raw(addr, "PATCH", &location, &[("content-range", "40-99")], &blob[40..]).await;
    assert_eq!(rest.status, 202, "{}", rest.error());
    let digest = Digest::sha256(&blob);
    let put = raw(addr, "PUT", &format!("{location}?digest={digest}"), &[], &[]).await;
    assert_eq!(put.status, 201, "{}", put.error());
    assert_eq!(raw(addr, "GET", &format!("/v2/slow/blobs/{digest}"), &[], &[]).await.body, blob);
    // A monolithic upload that stalls becomes no blob.
    let other = Digest::sha256(b"never whole");
    let answer =
        stall(addr, &format!("POST /v2/slow/blobs/uploads/?digest={other} HTTP/1.1"), 11, b"never").await;
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("the request body stalled"), "{answer}");
    assert_eq!(raw(addr, "HEAD", &format!("/v2/slow/blobs/{other}"), &[], &[]).await.status, 404);
    registry.shutdown().await;
    let fsck = oci_layout::Layout::open_dir(dir.path().join("slow")).expect("layout").fsck().expect("fsck");
    assert!(fsck.is_ok(), "{:?}", fsck.findings);
}

#[tokio::test]
async fn a_manifest_or_a_head_that_stalls_stores_nothing_and_locks_nothing() {
    let registry = common::memory_registry(stalling()).await;
    let addr = registry.addr();
    let manifest =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    let ct = MediaType::IMAGE_INDEX.as_str();
    let answer = stall(
        addr,
        &format!("PUT /v2/slow/manifests/v1 HTTP/1.1\r\ncontent-type: {ct}"),
        manifest.len(),
        &manifest[..20],
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 400")
            && answer.contains(r#""code":"MANIFEST_INVALID","message":"the request body stalled""#),
        "{answer}"
    );
    assert_eq!(raw(addr, "GET", "/v2/slow/manifests/v1", &[], &[]).await.status, 404);
    // The repository is not locked by the abandoned request.
    let put = raw(addr, "PUT", "/v2/slow/manifests/v1", &[("content-type", ct)], manifest).await;
    assert_eq!(put.status, 201, "{}", put.error());
    // A request head that never ends is cut off too.
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(b"GET /v2/ HTTP/1.1\r\nhost: x\r\n").await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out))
        .await
        .expect("the server closes a stalled head")
        .expect("read");
    assert!(!String::from_utf8_lossy(&out).starts_with("HTTP/1.1 200"), "no answer to half a request");
    registry.shutdown().await;
}

#[tokio::test]
async fn upload_sessions_are_capped_in_all_and_pages_have_a_default_size() {
    let mut limits = Limits::default();
    limits.max_uploads = 3;
    limits.default_page_entries = 2;
    let registry = common::memory_registry(limits).await;
    let addr = registry.addr();
    let mut open = Vec::new();
    for repo in ["a", "b", "c"] {
        let post = raw(addr, "POST", &format!("/v2/{repo}/blobs/uploads/"), &[], &[]).await;
        assert_eq!(post.status, 202);
        open.push(post.header("location").expect("a Location").to_owned());
    }
    let fourth = raw(addr, "POST", "/v2/d/blobs/uploads/", &[], &[]).await;
    assert_eq!((fourth.status, fourth.header("retry-after")), (429, Some("10")));
    assert_eq!(fourth.error(), "TOOMANYREQUESTS: 3 upload sessions are open (Limits::max_uploads)");
    // A session that ends makes room.
    assert_eq!(raw(addr, "DELETE", &open[0], &[], &[]).await.status, 204);
    assert_eq!(raw(addr, "POST", "/v2/d/blobs/uploads/", &[], &[]).await.status, 202);
    // Tags of an image index pushed under five tags: no `n`, a page of two and a link.
    let manifest =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    for tag in ["t1", "t2", "t3", "t4", "t5"] {
        let target = format!("/v2/paged/manifests/{tag}");
        let put =
            raw(addr, "PUT", &target, &[("content-type", MediaType::IMAGE_INDEX.as_str())], manifest).await;
        assert_eq!(put.status, 201, "{}", put.error());
    }
    let page = raw(addr, "GET", "/v2/paged/tags/list", &[], &[]).await;
    assert_eq!(String::from_utf8_lossy(&page.body), r#"{"name":"paged","tags":["t1","t2"]}"#);
    assert_eq!(page.header("link"), Some(r#"</v2/paged/tags/list?last=t2&n=2>; rel="next""#));
    let all = raw(addr, "GET", "/v2/paged/tags/list?n=10", &[], &[]).await;
    assert_eq!(String::from_utf8_lossy(&all.body), r#"{"name":"paged","tags":["t1","t2","t3","t4","t5"]}"#);
    registry.shutdown().await;
}

#[tokio::test]
async fn the_chunk_minimum_is_advertised_and_a_smaller_last_chunk_is_taken() {
    let mut limits = Limits::default();
    limits.chunk_min_length = 1024;
    let registry = common::memory_registry(limits).await;
    let addr = registry.addr();
    let post = raw(addr, "POST", "/v2/chunks/blobs/uploads/", &[], &[]).await;
    assert_eq!((post.status, post.header("oci-chunk-min-length")), (202, Some("1024")));
    let location = post.header("location").expect("a Location").to_owned();
    let blob = vec![5u8; 1030];
    let first = raw(addr, "PATCH", &location, &[("content-range", "0-1023")], &blob[..1024]).await;
    assert_eq!((first.status, first.header("range")), (202, Some("0-1023")));
    let last = raw(addr, "PATCH", &location, &[("content-range", "1024-1029")], &blob[1024..]).await;
    assert_eq!((last.status, last.header("range")), (202, Some("0-1029")));
    let digest = Digest::sha256(&blob);
    let put = raw(addr, "PUT", &format!("{location}?digest={digest}"), &[], &[]).await;
    assert_eq!(put.status, 201, "{}", put.error());
    registry.shutdown().await;
}
