//! Downloads that resume: a real HTTP server of the test's own plays a flaky network
//! (a connection cut mid-body, a stall) and servers that get `Range` wrong, which the real
//! registry cannot be made to do.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use http::{Request, Response};
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use oci_distribution::auth::AuthConfig;
use oci_distribution::{Client, ErrorKind, ProxyConfig, PullOptions, TransportConfig};
use oci_reference::Repository;
use oci_spec_types::{Descriptor, Digest};
use tokio::net::TcpListener;

use super::{MIB, layer, random, read_all};

/// A body of the given frames.
pub(crate) struct Frames(VecDeque<Bytes>);

impl Frames {
    pub(crate) fn new(frames: VecDeque<Bytes>) -> Self {
        Self(frames)
    }
}

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// What the server does with a request.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Answers properly (`206` from a `Range`'s offset), sends at most this many bytes
    /// of the body, then cuts the connection.
    Cut(usize),
    /// The same, then sends nothing more.
    Stall(usize),
    /// Answers properly.
    Serve,
    /// Ignores `Range`: `200` with the whole blob.
    IgnoreRange,
    /// `206` with a `Content-Range` one byte before the offset asked for.
    WrongStart,
    /// `200` without `Content-Length` (chunked encoding), the whole blob.
    NoLength,
}

enum Tail {
    End,
    Cut,
    Stall,
}

/// The server's response body: frames, then the end, an error (the connection is cut,
/// after a pause that lets the server flush what it has) or nothing ever again.
struct Served {
    frames: VecDeque<Bytes>,
    tail: Tail,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for Served {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        match self.tail {
            Tail::End => Poll::Ready(None),
            Tail::Cut => {
                let pause =
                    self.pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                std::task::ready!(pause.as_mut().poll(cx));
                Poll::Ready(Some(Err(std::io::Error::other("cut"))))
            }
            Tail::Stall => Poll::Pending,
        }
    }
}

/// A server answering blob GETs with `steps` in turn (the last one repeats).
struct Flaky {
    addr: SocketAddr,
    /// The `Range` header of each request.
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

impl Flaky {
    async fn start(blob: Bytes, steps: Vec<Step>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the flaky server");
        let addr = listener.local_addr().expect("the flaky server's address");
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&ranges);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (blob, steps, seen, count) =
                    (blob.clone(), steps.clone(), Arc::clone(&seen), Arc::clone(&count));
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let n = count.fetch_add(1, Ordering::SeqCst);
                        let step = steps[n.min(steps.len() - 1)];
                        let range =
                            req.headers().get(RANGE).map(|v| v.to_str().expect("a text Range").to_owned());
                        seen.lock().expect("the ranges seen").push(range.clone());
                        let response = answer(&blob, step, range.as_deref());
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self { addr, ranges }
    }

    fn reference(&self) -> Repository {
        Repository::parse_strict(&format!("{}/flaky/blob", self.addr)).expect("the flaky server's repository")
    }

    /// The URL of the blob `digest`, as the client's messages name it.
    fn blob_url(&self, digest: &Digest) -> String {
        format!("http://{}/v2/flaky/blob/blobs/{digest}", self.addr)
    }

    fn ranges(&self) -> Vec<Option<String>> {
        self.ranges.lock().expect("the ranges seen").clone()
    }
}

fn answer(blob: &Bytes, step: Step, range: Option<&str>) -> Response<Served> {
    let offset = range.map_or(0, |r| {
        let offset = r.strip_prefix("bytes=").and_then(|r| r.strip_suffix('-')).expect("an open range");
        offset.parse::<usize>().expect("a decimal offset")
    });
    let len = blob.len();
    let (first, limit, tail) = match step {
        Step::Cut(n) => (offset, n, Tail::Cut),
        Step::Stall(n) => (offset, n, Tail::Stall),
        Step::Serve | Step::NoLength => (offset, len, Tail::End),
        Step::IgnoreRange => (0, len, Tail::End),
        Step::WrongStart => (offset - 1, len, Tail::End),
    };
    let rest = blob.slice(first..);
    let frames = rest.slice(..limit.min(rest.len())).chunks(64 << 10).map(Bytes::copy_from_slice).collect();
    let mut response = Response::builder();
    if range.is_some() && !matches!(step, Step::IgnoreRange) {
        response = response.status(206).header(CONTENT_RANGE, format!("bytes {first}-{}/{len}", len - 1));
    }
    if !matches!(step, Step::NoLength) {
        response = response.header(CONTENT_LENGTH, rest.len());
    }
    response.body(Served { frames, tail, pause: None }).expect("a response")
}

fn client() -> Client {
    let transport = TransportConfig::default()
        .with_proxy(ProxyConfig::none())
        .with_stall_timeout(Duration::from_millis(300));
    Client::builder().transport(transport).auth(AuthConfig::anonymous()).build().expect("a client")
}

fn offset_of(range: Option<&String>) -> u64 {
    let range = range.and_then(|r| r.strip_prefix("bytes=")).and_then(|r| r.strip_suffix('-'));
    range.expect("an open range").parse().expect("a decimal offset")
}

#[tokio::test]
async fn cut_and_stalled_downloads_resume_where_they_stopped() {
    let blob = random(3 * MIB);
    let descriptor = layer(&blob);
    let server = Flaky::start(blob.clone(), vec![Step::Cut(MIB + 5), Step::Stall(MIB), Step::Serve]).await;
    let stream = client().get_blob(&server.reference(), &descriptor, PullOptions::default()).await.unwrap();
    let mut stream = stream;
    let mut got = Vec::new();
    while let Some(chunk) = stream.next_chunk().await.unwrap() {
        got.extend_from_slice(&chunk);
    }
    assert!(got == blob, "the resumed download differs");
    assert_eq!(stream.resumes(), 2);
    let ranges = server.ranges();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert_eq!(ranges[0], None);
    let (first, second) = (offset_of(ranges[1].as_ref()), offset_of(ranges[2].as_ref()));
    assert!(first > 0 && first <= (MIB + 5) as u64, "{ranges:?}");
    assert!(second > first && second <= first + MIB as u64, "{ranges:?}");

    // Through `AsyncRead` too.
    let server = Flaky::start(blob.clone(), vec![Step::Cut(2 * MIB), Step::Serve]).await;
    let mut reader =
        client().get_blob(&server.reference(), &descriptor, PullOptions::default()).await.unwrap();
    let mut back = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut back).await.unwrap();
    assert!(back == blob);
    assert_eq!(server.ranges().len(), 2);
}

#[tokio::test]
async fn resumes_go_on_while_they_bring_bytes_and_are_limited() {
    let blob = random(MIB);
    let descriptor = layer(&blob);
    // Every answer cut after 100 000 bytes: each resume brings more, so the download
    // goes on to the end.
    let server = Flaky::start(blob.clone(), vec![Step::Cut(100_000)]).await;
    let options = PullOptions::default().with_max_resumes(2);
    let stream = client().get_blob(&server.reference(), &descriptor, options.clone()).await.unwrap();
    assert!(read_all(stream).await.unwrap() == blob);
    assert_eq!(server.ranges().len(), MIB.div_ceil(100_000));

    // Cut after 10 000 bytes: ten times `max_resumes` in all, then it gives up.
    let server = Flaky::start(blob.clone(), vec![Step::Cut(10_000)]).await;
    let stream = client().get_blob(&server.reference(), &descriptor, options.clone()).await.unwrap();
    let e = read_all(stream).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "connection failed: GET {} (blob {}): gave up after 20 resumes",
            server.blob_url(&descriptor.digest),
            descriptor.digest
        )
    );
    assert_eq!(server.ranges().len(), 21);

    // Cut before the first byte, every time: `max_resumes` resumes that bring nothing.
    let server = Flaky::start(blob.clone(), vec![Step::Cut(0)]).await;
    let stream = client().get_blob(&server.reference(), &descriptor, options).await.unwrap();
    let e = read_all(stream).await.unwrap_err();
    assert!(e.to_string().ends_with("gave up after 2 resumes"), "{e}");
    assert_eq!(server.ranges().len(), 3);

    // A body cut before its first byte once is resumed.
    let server = Flaky::start(blob.clone(), vec![Step::Cut(0), Step::Serve]).await;
    let stream = client().get_blob(&server.reference(), &descriptor, PullOptions::default()).await.unwrap();
    assert!(read_all(stream).await.unwrap() == blob);
    assert_eq!(server.ranges().len(), 2);

    // Nothing when resuming is off.
    let server = Flaky::start(blob, vec![Step::Cut(MIB / 2), Step::Serve]).await;
    let options = PullOptions::default().with_max_resumes(0);
    let stream = client().get_blob(&server.reference(), &descriptor, options).await.unwrap();
    assert_eq!(read_all(stream).await.unwrap_err().kind(), ErrorKind::Connect);
    assert_eq!(server.ranges().len(), 1);
}

#[tokio::test]
async fn a_resume_must_continue_exactly() {
    let blob = random(MIB);
    let descriptor = layer(&blob);
    for (step, want) in [
        (Step::IgnoreRange, "the server ignored Range (200 instead of 206)"),
        (
            Step::WrongStart,
            "Content-Range \"bytes 524287-1048575/1048576\" does not start at the offset asked for",
        ),
    ] {
        let server = Flaky::start(blob.clone(), vec![Step::Cut(MIB / 2), step]).await;
        let stream =
            client().get_blob(&server.reference(), &descriptor, PullOptions::default()).await.unwrap();
        let e = read_all(stream).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{step:?}: {e}");
        assert_eq!(
            e.to_string(),
            format!(
                "invalid response: GET {} (blob {}): resuming at byte {}: {want}",
                server.blob_url(&descriptor.digest),
                descriptor.digest,
                MIB / 2
            ),
            "{step:?}"
        );
    }
}

/// Reads `stream` to its end; returns what was handed out and the error that stopped it.
async fn read_until_error(mut stream: oci_distribution::BlobStream) -> (Vec<u8>, oci_distribution::Error) {
    let mut got = Vec::new();
    loop {
        match stream.next_chunk().await {
            Ok(Some(chunk)) => got.extend_from_slice(&chunk),
            Ok(None) => panic!("the stream ended without an error after {} bytes", got.len()),
            Err(e) => return (got, e),
        }
    }
}

#[tokio::test]
async fn the_last_chunk_comes_only_after_the_digest_matched() {
    let blob = random(MIB);
    let mut corrupt = blob.to_vec();
    corrupt[MIB - 1] ^= 1;
    let descriptor = layer(&blob);
    for step in [Step::Serve, Step::NoLength] {
        let server = Flaky::start(corrupt.clone().into(), vec![step]).await;
        // With the size known, and without (the last chunk is held back).
        for size in [Some(descriptor.size), None] {
            let stream = client()
                .get_blob_by_digest(&server.reference(), &descriptor.digest, size, PullOptions::default())
                .await
                .unwrap();
            let (got, e) = read_until_error(stream).await;
            assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{step:?} {size:?}: {e}");
            assert!(
                got.len() < MIB && corrupt.starts_with(&got),
                "{step:?} {size:?}: {} bytes out",
                got.len()
            );
            assert_eq!(
                e.to_string(),
                format!(
                    "digest mismatch: GET {} (blob {}): the content hashes to {}",
                    server.blob_url(&descriptor.digest),
                    descriptor.digest,
                    Digest::sha256(&corrupt)
                ),
                "{step:?} {size:?}"
            );
        }
    }
    // The good blob without any size: complete and verified.
    let server = Flaky::start(blob.clone(), vec![Step::NoLength]).await;
    let stream = client()
        .get_blob_by_digest(&server.reference(), &descriptor.digest, None, PullOptions::default())
        .await
        .unwrap();
    assert_eq!(stream.size(), None);
    assert!(read_all(stream).await.unwrap() == blob);
}

#[tokio::test]
async fn more_bytes_than_expected_fail_at_once() {
    let blob = random(MIB);
    let small = Descriptor::new(layer(&blob).media_type, Digest::sha256(&blob[..MIB / 2]), (MIB / 2) as u64);
    // Announced by Content-Length: refused before reading.
    let server = Flaky::start(blob.clone(), vec![Step::Serve]).await;
    let e = client().get_blob(&server.reference(), &small, PullOptions::default()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SizeMismatch, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "size mismatch: GET {}: blob {} should have {} bytes, the response announces {MIB}",
            server.blob_url(&small.digest),
            small.digest,
            MIB / 2
        )
    );
    // Not announced: refused at the chunk that goes past the size, which is not handed out.
    let server = Flaky::start(blob, vec![Step::NoLength]).await;
    let stream = client().get_blob(&server.reference(), &small, PullOptions::default()).await.unwrap();
    let (got, e) = read_until_error(stream).await;
    assert_eq!(e.kind(), ErrorKind::SizeMismatch, "{e}");
    assert!(got.len() <= MIB / 2, "{} bytes out", got.len());
}
