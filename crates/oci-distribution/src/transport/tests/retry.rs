//! Retries against scripted servers on 127.0.0.1: which requests are sent again and
//! when, pauses a registry asks for hold every request to it, and a request stops
//! retrying when its time is up.

use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use crate::transport::{ResponseBody, Transport, TransportConfig};
use crate::{Body, ErrorKind, ProxyConfig, RetryPolicy};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;

use super::peers::{echo, scripted, serve};

fn transport() -> Transport {
    Transport::new(TransportConfig::default().with_proxy(ProxyConfig::none())).unwrap()
}

fn get(url: &str) -> Request<Body> {
    Request::get(url).body(Body::empty()).unwrap()
}

async fn text(response: Response<ResponseBody>) -> String {
    String::from_utf8(response.into_body().bytes(1 << 20).await.unwrap().to_vec()).unwrap()
}

fn fast() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

#[tokio::test]
async fn a_429_holds_every_request_to_that_registry_only() {
    let (paused, seen) = scripted(&[(429, "1"), (200, "")]).await;
    let (other, _) = scripted(&[(200, "")]).await;
    let t = transport();
    let started = Instant::now();
    // Not retried (no retries allowed), but the pause is remembered.
    let first = t.send_with_retry(get(&paused.url("http", "/v2/")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);

    // Another registry is not held.
    let response = t.send_with_retry(get(&other.url("http", "/v2/")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(900), "{:?}", started.elapsed());

    // A new request to the paused one waits for the pause, then goes through.
    let response = t.send_with_retry(get(&paused.url("http", "/v2/x")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn requests_in_flight_wait_for_the_pause_another_one_met() {
    let (server, seen) = scripted(&[(429, "1"), (200, ""), (200, ""), (200, "")]).await;
    let t = transport();
    let started = Instant::now();
    let first = tokio::spawn({
        let (t, url) = (t.clone(), server.url("http", "/a"));
        async move { t.send_with_retry(get(&url), &fast()).await.unwrap().status() }
    });
    // Sent once the 429 came back: held until the second Retry-After asked for is over.
    while seen.lock().unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // the answer reaches the client
    assert_eq!(seen.lock().unwrap().len(), 1);
    let policy = fast();
    let second = t.send_with_retry(get(&server.url("http", "/b")), &policy);
    let third = t.send_with_retry(get(&server.url("http", "/c")), &policy);
    let (second, third) = tokio::join!(second, third);
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
    assert_eq!((second.unwrap().status(), third.unwrap().status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(first.await.unwrap(), StatusCode::OK, "retried after Retry-After");
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn retries_stop_when_their_time_is_up() {
    let (server, seen) = scripted(&[(503, "")]).await;
    let t = transport();
    let policy = fast().with_max_retries(1000).with_max_elapsed(Duration::from_millis(300));
    let started = Instant::now();
    let response = t.send_with_retry(get(&server.url("http", "/")), &policy).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let attempts = seen.lock().unwrap().len();
    assert!((2..100).contains(&attempts), "{attempts} attempts");

    // A Retry-After beyond the time left is not waited for: the answer comes at once.
    let (server, seen) = scripted(&[(503, "5"), (200, "")]).await;
    let policy = fast().with_max_elapsed(Duration::from_secs(1));
    let started = Instant::now();
    let response = t.send_with_retry(get(&server.url("http", "/")), &policy).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let (server, seen) = scripted(&[(503, ""), (200, "")]).await;
    let t = transport();
    let response = t.send_with_retry(get(&server.url("http", "/v2/")), &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "answer 2");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn honors_retry_after_on_429() {
    let (server, seen) = scripted(&[(429, "1"), (200, "")]).await;
    let t = transport();
    let started = Instant::now();
    let response = t.send_with_retry(get(&server.url("http", "/")), &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn gives_up_with_the_last_response() {
    let (server, seen) = scripted(&[(503, "")]).await;
    let t = transport();
    let response =
        t.send_with_retry(get(&server.url("http", "/")), &fast().with_max_retries(2)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(text(response).await, "answer 3");
    let none = t.send_with_retry(get(&server.url("http", "/")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(none.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn replays_bytes_but_never_a_stream_or_a_post() {
    let (server, seen) = scripted(&[(503, ""), (201, "")]).await;
    let t = transport();
    let put = Request::put(server.url("http", "/blob")).body(Body::from_bytes("layer bytes")).unwrap();
    let response = t.send_with_retry(put, &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(*seen.lock().unwrap(), ["layer bytes", "layer bytes"]);

    let (server, seen) = scripted(&[(503, ""), (201, "")]).await;
    let stream = Full::new(Bytes::from_static(b"streamed"));
    let put = Request::put(server.url("http", "/blob")).body(Body::from_body(stream, Some(8))).unwrap();
    let response = t.send_with_retry(put, &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(*seen.lock().unwrap(), ["streamed"]);

    let (server, seen) = scripted(&[(503, ""), (202, "")]).await;
    let post = Request::post(server.url("http", "/uploads/")).body(Body::from_bytes("x")).unwrap();
    let response = t.send_with_retry(post, &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.lock().unwrap().len(), 1);

    // A POST marked safe to repeat (an upload POST) is retried like a PUT.
    let (server, seen) = scripted(&[(503, "1"), (429, ""), (202, "")]).await;
    let mut post = Request::post(server.url("http", "/uploads/")).body(Body::empty()).unwrap();
    post.extensions_mut().insert(crate::retry::RetrySafe);
    let response = t.send_with_retry(post, &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn retries_a_dropped_connection() {
    let server = serve(None, 1, echo()).await;
    let t = transport();
    let e = t.send(get(&server.url("http", "/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    let server = serve(None, 1, echo()).await;
    let response = t.send_with_retry(get(&server.url("http", "/v2/")), &fast()).await.unwrap();
    assert!(text(response).await.starts_with("GET /v2/"));
    assert_eq!(server.connections.load(SeqCst), 2);
}
