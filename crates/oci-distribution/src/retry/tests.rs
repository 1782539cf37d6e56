//! The retry layer: the policy's delays and pauses, and requests to scripted servers on
//! 127.0.0.1 through a manual clock, so that every wait is known exactly and none is
//! waited for: which requests are sent again and after how long, pauses a registry asks
//! for hold every request to it, and a request stops retrying when its time is up.

use std::sync::Arc;

use oci_test_support::scripted::{Reply, Scripted};

use super::*;
use crate::clock::{Clock, Manual};
use crate::transport::TransportConfig;
use crate::{ErrorKind, ProxyConfig};

#[test]
fn retry_after_in_both_forms() {
    let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
    for (value, want) in [
        ("0", Some(0)),
        ("120", Some(120)),
        (" 7 ", Some(7)),
        ("99999999999999999999999", Some(u64::MAX)),
        ("Sun, 06 Nov 1994 08:50:07 GMT", Some(30)),
        ("Sunday, 06-Nov-94 08:49:47 GMT", Some(10)),
        ("Sun Nov  6 08:49:38 1994", Some(1)),
        ("Sun, 06 Nov 1994 08:00:00 GMT", Some(0)),
        ("-1", None),
        ("1.5", None),
        ("880.092µs", None),
        ("", None),
        ("soon", None),
    ] {
        assert_eq!(parse_retry_after(value, now), want.map(Duration::from_secs), "{value:?}");
    }
}

#[test]
fn retry_after_is_capped_and_replaces_backoff() {
    let policy = RetryPolicy::default();
    let mut headers = HeaderMap::new();
    headers.insert(RETRY_AFTER, "3600".parse().unwrap());
    assert_eq!(policy.delay(0, Some(&headers)), Duration::from_secs(60));
    headers.insert(RETRY_AFTER, "2".parse().unwrap());
    assert_eq!(policy.delay(3, Some(&headers)), Duration::from_secs(2));
    headers.insert(RETRY_AFTER, "garbage".parse().unwrap());
    assert!(policy.delay(0, Some(&headers)) <= Duration::from_millis(275));
}

#[test]
fn backoff_grows_within_bounds() {
    let policy = RetryPolicy::default();
    for (retry, base_ms) in [(0, 250.0), (1, 500.0), (2, 1000.0), (3, 2000.0), (4, 3000.0), (30, 3000.0)] {
        for _ in 0..200 {
            let ms = policy.backoff(retry).as_secs_f64() * 1000.0;
            assert!(ms >= base_ms * 0.9 - 1e-6 && ms <= base_ms * 1.1 + 1e-6, "retry {retry}: {ms} ms");
        }
    }
    let steady = RetryPolicy { jitter: 0.0, ..RetryPolicy::default() };
    assert_eq!(steady.backoff(1), Duration::from_millis(500));
    assert_eq!(RetryPolicy::none().max_retries, 0);
}

#[test]
fn pauses_come_from_429_and_retry_after() {
    let policy = RetryPolicy { jitter: 0.0, ..RetryPolicy::default() };
    let mut after = HeaderMap::new();
    after.insert(RETRY_AFTER, "7".parse().unwrap());
    let none = HeaderMap::new();
    let pause =
        |status: u16, headers: &HeaderMap| policy.pause(1, StatusCode::from_u16(status).unwrap(), headers);
    assert_eq!(pause(429, &none), Some(Duration::from_millis(500)));
    assert_eq!(pause(429, &after), Some(Duration::from_secs(7)));
    assert_eq!(pause(503, &after), Some(Duration::from_secs(7)));
    assert_eq!(pause(503, &none), None);
    assert_eq!(pause(500, &none), None);
    assert_eq!(pause(404, &after), None);
}

#[test]
fn holds_are_per_registry_and_keep_the_latest() {
    let holds = HostHolds::default();
    let a: Uri = "https://r.example/v2/x".parse().unwrap();
    let a_again: Uri = "https://r.example/v2/y/blobs/z".parse().unwrap();
    let other_port: Uri = "https://r.example:5000/v2/".parse().unwrap();
    let plain: Uri = "http://r.example/v2/".parse().unwrap();
    let now = Instant::now();
    assert_eq!(holds.remaining(&a, now), None);
    holds.hold(&a, Duration::from_secs(30), now);
    holds.hold(&a, Duration::from_secs(1), now);
    assert_eq!(holds.remaining(&a_again, now), Some(Duration::from_secs(30)));
    assert_eq!(holds.remaining(&a_again, now + Duration::from_secs(10)), Some(Duration::from_secs(20)));
    assert_eq!(holds.remaining(&other_port, now), None);
    assert_eq!(holds.remaining(&plain, now), None);
    holds.hold(&plain, Duration::ZERO, now);
    assert_eq!(holds.remaining(&plain, now), None);
    assert_eq!(holds.remaining(&a, now + Duration::from_secs(30)), None, "expired");
}

#[test]
fn which_requests_and_statuses() {
    for m in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE, Method::OPTIONS] {
        assert!(is_idempotent(&m), "{m}");
    }
    for m in [Method::POST, Method::PATCH, Method::CONNECT] {
        assert!(!is_idempotent(&m), "{m}");
    }
    for s in [408, 429, 500, 502, 503, 504] {
        assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
    }
    for s in [200, 201, 202, 400, 401, 403, 404, 416, 501, 505] {
        assert!(!is_retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
    }
}

/// A server answering request `n` with `answers[n]` (the last one repeats): a status and
/// a `Retry-After` (none when empty); the body says which answer it is.
async fn answering(answers: &'static [(u16, &'static str)]) -> Scripted {
    Scripted::start(move |seen| {
        let (status, after) = answers[seen.index.min(answers.len() - 1)];
        let reply = Reply::new(status, format!("answer {}", seen.index + 1));
        if after.is_empty() { reply } else { reply.header("retry-after", after) }
    })
    .await
}

/// The retry layer over a direct transport, on a manual clock.
fn retrying() -> (Retrying, Arc<Manual>) {
    // A root of its own: it builds without the system's roots too (it never speaks TLS).
    let unused = oci_test_support::pki::Ca::new("unused");
    let config =
        TransportConfig::default().with_proxy(ProxyConfig::none()).with_ca_pem(unused.pem().as_bytes());
    let transport = Transport::new(config).unwrap();
    let (clock, manual) = Clock::manual();
    (Retrying::with_clock(transport, clock), manual)
}

fn get(url: &str) -> Request<Body> {
    Request::get(url).body(Body::empty()).unwrap()
}

async fn text(response: Response<ResponseBody>) -> String {
    String::from_utf8(response.into_body().bytes(1 << 20).await.unwrap().to_vec()).unwrap()
}

/// Backoff without jitter: 10 ms, 20 ms, 40 ms, 50 ms, 50 ms...
fn fast() -> RetryPolicy {
    RetryPolicy { jitter: 0.0, ..RetryPolicy::default() }
        .with_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

const MS: fn(u64) -> Duration = Duration::from_millis;

#[tokio::test]
async fn a_429_holds_every_request_to_that_registry_only() {
    let paused = answering(&[(429, "1"), (200, "")]).await;
    let other = answering(&[(200, "")]).await;
    let (r, clock) = retrying();
    // Not retried (no retries allowed), but the pause is remembered.
    let first = r.send(get(&paused.url("/v2/")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another registry is not held.
    let response = r.send(get(&other.url("/v2/")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(clock.waits().is_empty(), "{:?}", clock.waits());
    // A new request to the paused one waits out the pause, then goes through.
    clock.advance(MS(400));
    let response = r.send(get(&paused.url("/v2/x")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(clock.waits(), [MS(600)]);
    assert_eq!(paused.seen().len(), 2);
}

#[tokio::test]
async fn a_pause_one_request_met_holds_the_others_until_it_ends() {
    let server = answering(&[(429, "2"), (200, "")]).await;
    let (r, clock) = retrying();
    let first = r.send(get(&server.url("/a")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);
    // Two requests sent together both wait for the end of the pause, once each.
    let policy = fast();
    let (second, third) =
        tokio::join!(r.send(get(&server.url("/b")), &policy), r.send(get(&server.url("/c")), &policy));
    assert_eq!((second.unwrap().status(), third.unwrap().status()), (StatusCode::OK, StatusCode::OK));
    let waits = clock.waits();
    assert_eq!(waits[0], Duration::from_secs(2), "{waits:?}");
    assert!(
        waits.iter().sum::<Duration>() <= Duration::from_secs(2),
        "the pause is waited out once: {waits:?}"
    );
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn retries_stop_when_their_time_is_up() {
    let server = answering(&[(503, "")]).await;
    let (r, clock) = retrying();
    let policy = fast().with_max_retries(1000).with_max_elapsed(MS(300));
    let response = r.send(get(&server.url("/")), &policy).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    // 10 + 20 + 40 + 50 * 4 = 270 ms; the next 50 ms would end after 300 ms.
    assert_eq!(clock.waits(), [MS(10), MS(20), MS(40), MS(50), MS(50), MS(50), MS(50)]);
    assert_eq!(server.seen().len(), 8);

    // A Retry-After beyond the time left is not waited for: the answer comes at once.
    let server = answering(&[(503, "5"), (200, "")]).await;
    let (r, clock) = retrying();
    let response =
        r.send(get(&server.url("/")), &fast().with_max_elapsed(Duration::from_secs(1))).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(clock.waits().is_empty(), "{:?}", clock.waits());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let server = answering(&[(503, ""), (200, "")]).await;
    let (r, clock) = retrying();
    let response = r.send(get(&server.url("/v2/")), &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "answer 2");
    assert_eq!(clock.waits(), [MS(10)]);
}

#[tokio::test]
async fn honors_retry_after_on_429() {
    let server = answering(&[(429, "1"), (200, "")]).await;
    let (r, clock) = retrying();
    let response = r.send(get(&server.url("/")), &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The retry waits for the Retry-After; the hold it set has ended by then.
    assert_eq!(clock.waits(), [Duration::from_secs(1)]);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn gives_up_with_the_last_response() {
    let server = answering(&[(503, "")]).await;
    let (r, clock) = retrying();
    let response = r.send(get(&server.url("/")), &fast().with_max_retries(2)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(text(response).await, "answer 3");
    assert_eq!(clock.waits(), [MS(10), MS(20)]);
    let none = r.send(get(&server.url("/")), &RetryPolicy::none()).await.unwrap();
    assert_eq!(none.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn replays_bytes_but_never_a_stream_or_a_post() {
    let bodies = |server: &Scripted| -> Vec<String> {
        server.seen().iter().map(|s| String::from_utf8_lossy(&s.body).into_owned()).collect()
    };
    let server = answering(&[(503, ""), (201, "")]).await;
    let (r, _) = retrying();
    let put = Request::put(server.url("/blob")).body(Body::from_bytes("layer bytes")).unwrap();
    assert_eq!(r.send(put, &fast()).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(bodies(&server), ["layer bytes", "layer bytes"]);

    let server = answering(&[(503, ""), (201, "")]).await;
    let stream = http_body_util::Full::new(bytes::Bytes::from_static(b"streamed"));
    let put = Request::put(server.url("/blob")).body(Body::from_body(stream, Some(8))).unwrap();
    assert_eq!(r.send(put, &fast()).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(bodies(&server), ["streamed"]);

    let server = answering(&[(503, ""), (202, "")]).await;
    let post = Request::post(server.url("/uploads/")).body(Body::from_bytes("x")).unwrap();
    assert_eq!(r.send(post, &fast()).await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.seen().len(), 1);

    // A POST marked safe to repeat (an upload POST) is retried like a PUT.
    let server = answering(&[(503, "1"), (429, ""), (202, "")]).await;
    let mut post = Request::post(server.url("/uploads/")).body(Body::empty()).unwrap();
    post.extensions_mut().insert(RetrySafe);
    assert_eq!(r.send(post, &fast()).await.unwrap().status(), StatusCode::ACCEPTED);
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn retries_a_refused_connection() {
    // A port nothing listens on: the connection is refused, and retried after the backoff.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (r, clock) = retrying();
    let e =
        r.send(get(&format!("http://127.0.0.1:{port}/v2/")), &fast().with_max_retries(2)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert_eq!(clock.waits(), [MS(10), MS(20)]);
}
