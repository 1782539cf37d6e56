//! Upload `POST`s are retried like idempotent requests: a proxy in front of the real
//! registry answers the first ones `503` (with `Retry-After: 1`) and `429`, as a
//! registry under load does, and every form of push still succeeds, the blob stored.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use oci_distribution::auth::AuthConfig;
use oci_distribution::{Client, PullOptions, PushOptions, PushOutcome, UploadPolicy};
use oci_reference::Repository;
use oci_spec_types::{Descriptor, MediaType};
use tokio::net::TcpListener;

use super::blobs::random;

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// A proxy to the registry at `upstream` that refuses the first `refusals` upload
/// `POST`s, alternately `503` with `Retry-After: 1` and `429`, and records every
/// request line.
struct Front {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Front {
    async fn start(upstream: SocketAddr, refusals: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let forward: HttpClient<HttpConnector, Incoming> =
            HttpClient::builder(TokioExecutor::new()).build_http();
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else { return };
                let (log, refused, forward) = (Arc::clone(&log), Arc::clone(&refused), forward.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (log, refused, forward) =
                            (Arc::clone(&log), Arc::clone(&refused), forward.clone());
                        async move {
                            Ok::<_, Infallible>(
                                relay(req, upstream, refusals, &refused, &log, &forward).await,
                            )
                        }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self { addr, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("the log").clone()
    }
}

async fn relay(
    mut req: Request<Incoming>,
    upstream: SocketAddr,
    refusals: usize,
    refused: &AtomicUsize,
    log: &Mutex<Vec<String>>,
    forward: &HttpClient<HttpConnector, Incoming>,
) -> Response<ProxyBody> {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let upload_post = req.method() == Method::POST && req.uri().path().ends_with("/blobs/uploads/");
    if upload_post && refused.fetch_add(1, Ordering::SeqCst) < refusals {
        let n = refused.load(Ordering::SeqCst);
        log.lock().expect("the log").push(format!("POST {target} -> refused"));
        let body = Full::new(Bytes::from_static(
            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
        ));
        let mut response = Response::new(body.map_err(|never| match never {}).boxed());
        if n % 2 == 1 {
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response.headers_mut().insert("retry-after", "1".parse().expect("a header value"));
        } else {
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        }
        return response;
    }
    log.lock().expect("the log").push(format!("{} {target}", req.method()));
    // The registry sees the proxy's Host, so its Locations come back here.
    *req.uri_mut() = format!("http://{upstream}{target}").parse().expect("an upstream URL");
    match forward.request(req).await {
        Ok(response) => response.map(BodyExt::boxed),
        Err(e) => {
            let body = Full::new(Bytes::from(format!("proxy: {e}")));
            let mut response = Response::new(body.map_err(|never| match never {}).boxed());
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        }
    }
}

#[tokio::test]
async fn upload_posts_answered_503_and_429_are_retried() {
    let Some(url) = std::env::var("OCI_TEST_REGISTRY_PLAIN").ok().filter(|u| !u.is_empty()) else {
        assert!(std::env::var("OCI_REQUIRE_PEERS").as_deref() != Ok("1"), "no plain registry");
        eprintln!("skipped upload_posts_answered_503_and_429_are_retried: no test registry");
        return;
    };
    let upstream: SocketAddr =
        url.trim_start_matches("http://").trim_end_matches('/').parse().expect("the registry's address");
    let name = format!("e2e/post-retries-{}", std::process::id());
    let small = random(2048);
    let large = random(600 << 10);
    let cases = [
        ("a small blob: the mount check's POST", small.clone(), PushOptions::default()),
        ("POST then PUT", large.clone(), PushOptions::default()),
        (
            "chunked",
            large.clone(),
            PushOptions::default().with_policy(UploadPolicy::Chunked { chunk_size: 256 << 10 }),
        ),
        ("single POST of bytes", random(4096), PushOptions::default().with_policy(UploadPolicy::SinglePost)),
        ("a mount from another repository", large.clone(), PushOptions::default()),
    ];
    for (i, (what, bytes, mut options)) in cases.into_iter().enumerate() {
        let front = Front::start(upstream, 2).await;
        let client = Client::builder().auth(AuthConfig::anonymous()).build().expect("a client");
        let repository =
            Repository::parse_strict(&format!("{}/{name}-{i}", front.addr)).expect("a repository");
        let descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR, &bytes);
        if what.starts_with("a mount") {
            // The source: pushed straight to the registry.
            let direct =
                Repository::parse_strict(&format!("{upstream}/{name}-source")).expect("a repository");
            client
                .push_blob(&direct, &descriptor, bytes.clone(), PushOptions::default())
                .await
                .expect("the source");
            let source =
                Repository::parse_strict(&format!("{}/{name}-source", front.addr)).expect("a repository");
            options = options.with_mount_from(source);
        }
        let outcome = client.push_blob(&repository, &descriptor, bytes.clone(), options).await;
        let outcome = outcome.unwrap_or_else(|e| panic!("{what}: {e}\n{:?}", front.requests()));
        let refused = front.requests().iter().filter(|r| r.ends_with("-> refused")).count();
        assert_eq!(refused, 2, "{what}: {:?}", front.requests());
        if what.starts_with("a mount") {
            assert!(matches!(outcome, PushOutcome::Mounted { .. }), "{what}: {outcome:?}");
        } else {
            assert!(matches!(outcome, PushOutcome::Uploaded(_)), "{what}: {outcome:?}");
        }
        let stream =
            client.get_blob(&repository, &descriptor, PullOptions::default()).await.expect("the blob");
        assert_eq!(stream.bytes(1 << 20).await.expect("its content"), bytes, "{what}");
    }
}
