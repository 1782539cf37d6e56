//! The upload driver against scripted answers: each test lists the registry's answers in
//! order and checks the requests the driver sent (method, URL, headers, body).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode, Uri};
use http_body_util::BodyExt as _;
use oci_reference::Repository;
use oci_spec_types::{Descriptor, Digest, MediaType};

use super::content::Content;
use super::driver::{Exchanger, Upload};
use super::state::Answer;
use super::{PushOutcome, UploadPolicy, UploadStats};
use crate::progress::Reporter;
use crate::{Body, ErrorKind, Result};

const ORIGIN: &str = "http://r.test:5000/v2/repo/blobs/uploads/";
const SINGLE_POST: &str = "http://r.test:5000/v2/repo/blobs/uploads/?digest=x";
const BLOB: &str = "http://r.test:5000/v2/repo/blobs/x";

/// One request as the registry received it; `body` is `None` when sending it failed.
#[derive(Debug)]
struct Sent {
    method: Method,
    uri: String,
    headers: HeaderMap,
    body: Option<Bytes>,
}

/// A status and headers.
type Scripted = (u16, Vec<(&'static str, String)>);

#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Scripted>>,
    sent: Mutex<Vec<Sent>>,
}

impl Script {
    fn new(answers: Vec<Scripted>) -> Self {
        Self { answers: Mutex::new(answers.into()), sent: Mutex::default() }
    }

    /// `METHOD url` of every request sent.
    fn lines(&self) -> Vec<String> {
        self.sent.lock().unwrap().iter().map(|s| format!("{} {}", s.method, s.uri)).collect()
    }

    fn assert_done(&self) {
        let left = self.answers.lock().unwrap();
        assert!(left.is_empty(), "answers left: {left:?}");
    }

    fn header(&self, i: usize, name: &str) -> Option<String> {
        let sent = self.sent.lock().unwrap();
        sent[i].headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    fn body(&self, i: usize) -> Option<Bytes> {
        self.sent.lock().unwrap()[i].body.clone()
    }
}

impl Exchanger for Script {
    async fn exchange(&self, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Result<Answer> {
        let collected = body.collect().await.map(http_body_util::Collected::to_bytes);
        let sent = Sent {
            method: method.clone(),
            uri: uri.to_string(),
            headers,
            body: collected.as_ref().ok().cloned(),
        };
        self.sent.lock().unwrap().push(sent);
        collected?;
        if method == Method::DELETE {
            // Cancelling a session: always accepted, not part of the scripts.
            let status = StatusCode::ACCEPTED;
            return Ok(Answer { method, url: uri, status, headers: HeaderMap::new(), body: Bytes::new() });
        }
        let (status, headers) = self.answers.lock().unwrap().pop_front().unwrap_or_else(|| {
            panic!("unexpected request {method} {uri}; sent so far: {:?}", self.lines());
        });
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(name, value.parse().unwrap());
        }
        let status = StatusCode::from_u16(status).unwrap();
        Ok(Answer { method, url: uri, status, headers: map, body: Bytes::new() })
    }
}

fn loc(path: &str) -> Vec<(&'static str, String)> {
    vec![("location", path.to_owned())]
}

fn data(n: usize) -> Bytes {
    (0..n).map(|i| u8::try_from(i % 251).unwrap()).collect::<Vec<u8>>().into()
}

fn descriptor(bytes: &[u8]) -> Descriptor {
    Descriptor::for_bytes(MediaType::from("application/octet-stream"), bytes)
}

/// A stream of `bytes` in frames of `frame` bytes, of unknown length.
fn stream(bytes: &Bytes, frame: usize) -> Body {
    let frames = bytes.chunks(frame).map(Bytes::copy_from_slice).collect();
    Body::from_body(Frames(frames), None)
}

/// A body yielding the given frames.
struct Frames(VecDeque<Bytes>);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }
}

async fn push(
    script: &Script,
    descriptor: &Descriptor,
    content: Body,
    policy: UploadPolicy,
    mount: bool,
) -> Result<PushOutcome> {
    let reporter = Arc::new(Reporter::new(None, descriptor.digest.clone(), Some(descriptor.size)));
    let mut content = Content::new(content, descriptor, Arc::clone(&reporter))?;
    let (origin, blob): (Uri, Uri) = (ORIGIN.parse().unwrap(), BLOB.parse().unwrap());
    let mut upload = Upload {
        exchanger: script,
        origin: &origin,
        blob_url: &blob,
        digest: &descriptor.digest,
        size: descriptor.size,
        policy,
        content: &mut content,
        reporter: &reporter,
        stats: UploadStats { policy, ..UploadStats::default() },
        resyncs_in_a_row: 0,
    };
    if mount {
        let from = Repository::parse_strict("r.test:5000/other").unwrap();
        let url = format!("{ORIGIN}?mount={}&from=other", descriptor.digest).parse().unwrap();
        if let Some(outcome) = upload.try_mount(url, Some(&from)).await? {
            return Ok(outcome);
        }
    }
    upload.start_and_run(SINGLE_POST.parse().unwrap()).await
}

fn uploaded(outcome: PushOutcome) -> UploadStats {
    match outcome {
        PushOutcome::Uploaded(stats) => stats,
        other => panic!("not an upload: {other:?}"),
    }
}

fn put_url(location: &str, descriptor: &Descriptor) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("PUT http://r.test:5000{location}{sep}digest={}", descriptor.digest)
}

#[tokio::test]
async fn monolithic_posts_then_puts_keeping_the_state_query() {
    let blob = data(1000);
    let d = descriptor(&blob);
    let script = Script::new(vec![
        (202, loc("/v2/repo/blobs/uploads/u1?_state=abc")),
        (201, vec![("docker-content-digest", d.digest.to_string())]),
    ]);
    let outcome = push(&script, &d, blob.clone().into(), UploadPolicy::Monolithic, false).await.unwrap();
    script.assert_done();
    assert_eq!(
        script.lines(),
        [format!("POST {ORIGIN}"), put_url("/v2/repo/blobs/uploads/u1?_state=abc", &d)]
    );
    assert_eq!(script.body(1).unwrap(), blob);
    assert_eq!(script.header(1, "content-length").as_deref(), Some("1000"));
    assert_eq!(script.header(1, "content-type").as_deref(), Some("application/octet-stream"));
    assert!(script.header(1, "content-range").is_none());
    let want = UploadStats { policy: UploadPolicy::Monolithic, bytes_sent: 1000, ..UploadStats::default() };
    assert_eq!(uploaded(outcome), want);
}

#[tokio::test]
async fn chunks_honor_the_minimum_and_follow_every_location() {
    let blob = data(10);
    let d = descriptor(&blob);
    let script = Script::new(vec![
        (202, vec![("location", "/v2/repo/blobs/uploads/u1".into()), ("oci-chunk-min-length", "4".into())]),
        (202, loc("http://r.test:5000/gcr/2")),
        (204, loc("/gcr/3?sig=1")),
        (202, vec![]),
        (201, vec![]),
    ]);
    // Frames of 3 bytes do not line up with chunks of 4.
    let outcome =
        push(&script, &d, stream(&blob, 3), UploadPolicy::Chunked { chunk_size: 3 }, false).await.unwrap();
    assert_eq!(
        script.lines(),
        [
            format!("POST {ORIGIN}"),
            "PATCH http://r.test:5000/v2/repo/blobs/uploads/u1".to_owned(),
            "PATCH http://r.test:5000/gcr/2".to_owned(),
            "PATCH http://r.test:5000/gcr/3?sig=1".to_owned(),
            put_url("/gcr/3?sig=1", &d),
        ]
    );
    for (i, range, bytes) in [(1, "0-3", &blob[0..4]), (2, "4-7", &blob[4..8]), (3, "8-9", &blob[8..10])] {
        assert_eq!(script.header(i, "content-range").as_deref(), Some(range));
        assert_eq!(script.header(i, "content-length"), Some(bytes.len().to_string()));
        assert_eq!(script.body(i).unwrap(), bytes);
    }
    assert_eq!(script.header(4, "content-length").as_deref(), Some("0"));
    assert_eq!(script.body(4).unwrap(), "");
    let stats = uploaded(outcome);
    assert_eq!((stats.patches, stats.bytes_sent, stats.resyncs), (3, 10, 0));
}

#[tokio::test]
async fn a_chunk_minimum_too_large_to_buffer_gets_one_streamed_patch() {
    let blob = data(10);
    let d = descriptor(&blob);
    let huge = vec![("location", "/u1".into()), ("oci-chunk-min-length", (1u64 << 30).to_string())];
    let policy = UploadPolicy::Chunked { chunk_size: 3 };
    // A stream: chunks would be buffers of the registry's size, so it goes whole, unbuffered.
    let script = Script::new(vec![(202, huge.clone()), (202, vec![]), (201, vec![])]);
    let stats = uploaded(push(&script, &d, stream(&blob, 4), policy, false).await.unwrap());
    script.assert_done();
    assert_eq!(script.lines()[1..], ["PATCH http://r.test:5000/u1".to_owned(), put_url("/u1", &d)]);
    assert!(script.header(1, "content-range").is_none());
    assert_eq!(script.body(1).unwrap(), blob);
    assert_eq!((stats.patches, stats.bytes_sent), (1, 10));
    // Bytes: chunks are slices, and the registry's minimum is honoured as it is.
    let script = Script::new(vec![(202, huge), (202, vec![]), (201, vec![])]);
    uploaded(push(&script, &d, blob.clone().into(), policy, false).await.unwrap());
    script.assert_done();
    assert_eq!(script.header(1, "content-range").as_deref(), Some("0-9"));
    // A minimum within the buffer cap keeps chunks of its size.
    let min = vec![("location", "/u1".into()), ("oci-chunk-min-length", "5".into())];
    let script = Script::new(vec![(202, min), (202, vec![]), (202, vec![]), (201, vec![])]);
    uploaded(push(&script, &d, stream(&blob, 4), policy, false).await.unwrap());
    script.assert_done();
    assert_eq!(script.header(2, "content-range").as_deref(), Some("5-9"));
}

#[tokio::test]
async fn a_416_asks_the_status_and_resumes_from_the_registry_offset() {
    let blob = data(9);
    let d = descriptor(&blob);
    let u1 = "/v2/repo/blobs/uploads/u1";
    let script = Script::new(vec![
        (202, loc(u1)),
        (202, vec![]),
        (416, vec![]),
        (204, vec![("range", "0-2".into()), ("location", u1.into())]),
        (202, vec![]),
        (202, vec![]),
        (201, vec![]),
    ]);
    let outcome = push(&script, &d, blob.clone().into(), UploadPolicy::Chunked { chunk_size: 3 }, false);
    let stats = uploaded(outcome.await.unwrap());
    script.assert_done();
    let patch = format!("PATCH http://r.test:5000{u1}");
    assert_eq!(
        script.lines(),
        [
            format!("POST {ORIGIN}"),
            patch.clone(),
            patch.clone(),
            format!("GET http://r.test:5000{u1}"),
            patch.clone(),
            patch,
            put_url(u1, &d)
        ]
    );
    let ranges: Vec<_> = [1, 2, 4, 5].iter().map(|&i| script.header(i, "content-range").unwrap()).collect();
    assert_eq!(ranges, ["0-2", "3-5", "3-5", "6-8"]);
    assert_eq!((stats.patches, stats.bytes_sent, stats.resyncs), (4, 12, 1));
}

#[tokio::test]
async fn a_4xx_with_range_resumes_inside_the_chunk_a_stream_still_holds() {
    let blob = data(9);
    let d = descriptor(&blob);
    let script = Script::new(vec![
        (202, loc("/u1")),
        (202, vec![]),
        (400, vec![("location", "/u2".into()), ("range", "0-3".into())]),
        (202, vec![]),
        (202, vec![]),
        (201, vec![]),
    ]);
    let outcome = push(&script, &d, stream(&blob, 2), UploadPolicy::Chunked { chunk_size: 3 }, false);
    let stats = uploaded(outcome.await.unwrap());
    script.assert_done();
    let ranges: Vec<_> = (1..=4).map(|i| script.header(i, "content-range").unwrap()).collect();
    assert_eq!(ranges, ["0-2", "3-5", "4-5", "6-8"]);
    assert_eq!(script.body(3).unwrap(), &blob[4..6]);
    assert_eq!(script.lines()[3], "PATCH http://r.test:5000/u2");
    assert_eq!(stats.resyncs, 1);
}

#[tokio::test]
async fn a_stream_cannot_go_back_before_its_last_chunk() {
    let blob = data(9);
    let d = descriptor(&blob);
    let script = Script::new(vec![
        (202, loc("/u1")),
        (202, vec![]),
        (416, vec![]),
        (204, vec![("range", "0-0".into())]),
    ]);
    let e = push(&script, &d, stream(&blob, 9), UploadPolicy::Chunked { chunk_size: 3 }, false)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        e.to_string(),
        "invalid input: the registry asks for the content from byte 0; a stream cannot go back there"
    );
    assert_eq!(script.lines().last().unwrap(), "DELETE http://r.test:5000/u1");
}

#[tokio::test]
async fn too_many_resyncs_give_up() {
    let blob = data(9);
    let d = descriptor(&blob);
    let mut answers = vec![(202, loc("/u1"))];
    for _ in 0..=super::driver::MAX_RESYNCS {
        answers.push((416, vec![]));
        answers.push((204, vec![("range", "0-0".into())]));
    }
    answers.pop();
    let script = Script::new(answers);
    let e = push(&script, &d, blob.into(), UploadPolicy::Chunked { chunk_size: 3 }, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert_eq!(
        e.to_string(),
        "invalid response: PATCH http://r.test:5000/u1: the registry lost track of the upload 6 times \
         in a row (last at byte 0)"
    );
}

#[tokio::test]
async fn an_early_accept_is_checked_with_head() {
    let blob = data(10);
    let d = descriptor(&blob);
    let script = Script::new(vec![
        (202, loc("/u1")),
        (202, vec![]),
        (201, vec![]),
        (200, vec![("content-length", "10".into())]),
    ]);
    let outcome = push(&script, &d, blob.clone().into(), UploadPolicy::Chunked { chunk_size: 5 }, false);
    let stats = uploaded(outcome.await.unwrap());
    script.assert_done();
    assert!(stats.early_accept);
    assert_eq!(script.lines().last().unwrap(), &format!("HEAD {BLOB}"));

    // 201 on a PATCH, but the blob is not there (a registry that answers every PATCH so):
    // the session is asked where it is, and the upload goes on.
    let script = Script::new(vec![
        (202, loc("/u1")),
        (201, vec![]),
        (404, vec![]),
        (204, vec![("range", "0-4".into())]),
        (202, vec![]),
        (201, vec![]),
    ]);
    let outcome = push(&script, &d, blob.clone().into(), UploadPolicy::Chunked { chunk_size: 5 }, false);
    let stats = uploaded(outcome.await.unwrap());
    script.assert_done();
    assert!(!stats.early_accept);
    let lines = script.lines();
    assert_eq!(lines[2..4], [format!("HEAD {BLOB}"), "GET http://r.test:5000/u1".to_owned()]);

    // There, but not what was sent: an error, and the session is cancelled.
    let script =
        Script::new(vec![(202, loc("/u1")), (201, vec![]), (200, vec![("content-length", "3".into())])]);
    let e = push(&script, &d, blob.into(), UploadPolicy::Chunked { chunk_size: 5 }, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert_eq!(script.lines().last().unwrap(), "DELETE http://r.test:5000/u1");
}

#[tokio::test]
async fn upload_urls_on_another_origin_are_refused() {
    let blob = data(10);
    let d = descriptor(&blob);
    for evil in [
        "https://evil.test/upload",
        "//evil.test/upload",
        "https://r.test:5000/upload",
        "http://r.test:5001/u",
    ] {
        let script = Script::new(vec![(202, loc(evil))]);
        let e = push(&script, &d, blob.clone().into(), UploadPolicy::Monolithic, false).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{evil}");
        assert_eq!(script.lines(), [format!("POST {ORIGIN}")], "{evil}");
    }
    // A PATCH's new Location elsewhere: nothing goes there, the session is cancelled.
    let script = Script::new(vec![(202, loc("/u1")), (202, loc("https://evil.test/u2"))]);
    let e = push(&script, &d, blob.into(), UploadPolicy::Chunked { chunk_size: 5 }, false).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid response: PATCH http://r.test:5000/u1: refusing the upload location \"https://evil.test/u2\": \
         it leaves the registry http://r.test:5000"
    );
    let lines = script.lines();
    assert_eq!(lines[1..], ["PATCH http://r.test:5000/u1", "DELETE http://r.test:5000/u1"]);
}

#[tokio::test]
async fn bad_content_is_never_committed() {
    let blob = data(10);
    let d = descriptor(&blob);
    let mut bad = blob.to_vec();
    bad[9] ^= 1;
    let bad = Bytes::from(bad);

    // Bytes: refused before anything is sent.
    let script = Script::new(vec![]);
    let e = push(&script, &d, bad.clone().into(), UploadPolicy::Monolithic, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch);
    assert!(script.lines().is_empty());

    // A chunked stream: the last chunk is not sent, no PUT, the session is cancelled.
    let script = Script::new(vec![(202, loc("/u1")), (202, vec![]), (202, vec![])]);
    let e =
        push(&script, &d, stream(&bad, 3), UploadPolicy::Chunked { chunk_size: 4 }, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch);
    assert_eq!(
        e.to_string(),
        format!("digest mismatch: blob {}: the content hashes to {}", d.digest, Digest::sha256(&bad))
    );
    let lines = script.lines();
    assert_eq!(
        lines[1..],
        ["PATCH http://r.test:5000/u1", "PATCH http://r.test:5000/u1", "DELETE http://r.test:5000/u1"]
    );

    // A monolithic stream: the PUT's body fails before its last frame.
    for policy in [UploadPolicy::Monolithic, UploadPolicy::Streamed] {
        let script = Script::new(vec![(202, loc("/u1"))]);
        let e = push(&script, &d, stream(&bad, 4), policy, false).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{policy:?}");
        assert!(script.body(1).is_none(), "{policy:?}: the request body failed");
        assert_eq!(script.lines().last().unwrap(), "DELETE http://r.test:5000/u1");
    }

    // Longer or shorter than the descriptor.
    for (content, want) in [
        (data(11), "the content is longer than the descriptor's 10 bytes"),
        (data(9), "the content ended after 9 of the descriptor's 10 bytes"),
    ] {
        let script = Script::new(vec![(202, loc("/u1"))]);
        let e = push(&script, &d, stream(&content, 4), UploadPolicy::Monolithic, false).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SizeMismatch);
        assert_eq!(
            e.to_string(),
            format!("size mismatch: PUT http://r.test:5000/u1: blob {}: {want}", d.digest)
        );
    }
    let e =
        push(&Script::new(vec![]), &d, data(9).into(), UploadPolicy::Monolithic, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SizeMismatch);
}

#[tokio::test]
async fn refusals_cancel_the_session() {
    let blob = data(10);
    let d = descriptor(&blob);
    let script = Script::new(vec![(202, loc("/u1")), (400, vec![])]);
    let e = push(&script, &d, blob.clone().into(), UploadPolicy::Monolithic, false).await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(script.lines().last().unwrap(), "DELETE http://r.test:5000/u1");

    let wrong = vec![("docker-content-digest", "sha256:0000".to_owned())];
    let script = Script::new(vec![(202, loc("/u1")), (201, wrong)]);
    let e = push(&script, &d, blob.into(), UploadPolicy::Monolithic, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch);
}

#[tokio::test]
async fn streamed_sends_one_patch_then_an_empty_put() {
    let blob = data(10);
    let d = descriptor(&blob);
    for (content, length) in [(Body::from(blob.clone()), Some("10")), (stream(&blob, 3), None)] {
        let script = Script::new(vec![(202, loc("/u1")), (202, vec![]), (201, vec![])]);
        let stats = uploaded(push(&script, &d, content, UploadPolicy::Streamed, false).await.unwrap());
        script.assert_done();
        assert_eq!(script.lines()[1..], ["PATCH http://r.test:5000/u1".to_owned(), put_url("/u1", &d)]);
        assert!(script.header(1, "content-range").is_none());
        assert_eq!(script.header(1, "content-length").as_deref(), length);
        assert_eq!(script.body(1).unwrap(), blob);
        assert_eq!((stats.patches, stats.bytes_sent), (1, 10));
    }
}

#[tokio::test]
async fn single_post_falls_back_to_a_put_for_bytes_only() {
    let blob = data(10);
    let d = descriptor(&blob);
    let script = Script::new(vec![(201, vec![])]);
    let stats = uploaded(push(&script, &d, stream(&blob, 4), UploadPolicy::SinglePost, false).await.unwrap());
    script.assert_done();
    assert_eq!(script.lines(), [format!("POST {SINGLE_POST}")]);
    assert_eq!(script.body(0).unwrap(), blob);
    assert_eq!((stats.policy, stats.bytes_sent), (UploadPolicy::SinglePost, 10));

    let script = Script::new(vec![(202, loc("/u1")), (201, vec![])]);
    let stats =
        uploaded(push(&script, &d, blob.clone().into(), UploadPolicy::SinglePost, false).await.unwrap());
    assert_eq!(script.lines()[1], put_url("/u1", &d));
    assert_eq!((stats.policy, stats.bytes_sent), (UploadPolicy::Monolithic, 10));

    let script = Script::new(vec![(202, loc("/u1"))]);
    let e = push(&script, &d, stream(&blob, 4), UploadPolicy::SinglePost, false).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        e.to_string(),
        format!(
            "invalid input: {ORIGIN}: the registry opened an upload session instead of taking blob {} \
             in one request, and a stream cannot be sent again (use another upload policy)",
            d.digest
        )
    );
    assert_eq!(script.lines()[1], "DELETE http://r.test:5000/u1");
}

#[tokio::test]
async fn mounts_finish_continue_or_fall_back() {
    let blob = data(10);
    let d = descriptor(&blob);
    let mount = format!("POST {ORIGIN}?mount={}&from=other", d.digest);

    let script = Script::new(vec![(201, vec![])]);
    let outcome = push(&script, &d, stream(&blob, 4), UploadPolicy::Monolithic, true).await.unwrap();
    script.assert_done();
    assert!(matches!(outcome, PushOutcome::Mounted { from: Some(_) }), "{outcome:?}");
    assert_eq!(script.lines(), std::slice::from_ref(&mount));

    // 202: the content goes into the session the mount opened.
    let script = Script::new(vec![(202, loc("/u9")), (201, vec![])]);
    let stats = uploaded(push(&script, &d, stream(&blob, 4), UploadPolicy::SinglePost, true).await.unwrap());
    script.assert_done();
    assert_eq!(script.lines(), [mount.clone(), put_url("/u9", &d)]);
    assert!(stats.mount_session);

    // A refusal (Harbor answers 401 for a source it does not know): a plain upload.
    let script = Script::new(vec![(401, vec![]), (202, loc("/u1")), (201, vec![])]);
    let stats = uploaded(push(&script, &d, stream(&blob, 4), UploadPolicy::Monolithic, true).await.unwrap());
    script.assert_done();
    assert_eq!(script.lines(), [mount, format!("POST {ORIGIN}"), put_url("/u1", &d)]);
    assert!(!stats.mount_session);
}

#[tokio::test]
async fn an_empty_blob_is_committed_with_an_empty_put() {
    let d = descriptor(b"");
    for policy in [UploadPolicy::Chunked { chunk_size: 4 }, UploadPolicy::Monolithic, UploadPolicy::Streamed]
    {
        let script = Script::new(vec![(202, loc("/u1")), (201, vec![])]);
        let content = Body::from_body(http_body_util::Empty::<Bytes>::new(), None);
        push(&script, &d, content, policy, false).await.unwrap();
        script.assert_done();
        assert_eq!(script.lines()[1], put_url("/u1", &d), "{policy:?}");
    }
}

#[test]
fn chunks_of_no_bytes_are_refused() {
    let e = super::check_policy(UploadPolicy::Chunked { chunk_size: 0 }).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(super::check_policy(UploadPolicy::Chunked { chunk_size: 1 }).is_ok());
}
