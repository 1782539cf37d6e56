//! The transport against real servers on 127.0.0.1: plain HTTP, TLS with a CA made for
//! the run (HTTP/2 by ALPN, HTTP/1.1 fallback, client certificates), stalls, retries and
//! a CONNECT proxy.

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "transport/peers.rs"]
mod peers;

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use oci_distribution::transport::{ResponseBody, Transport, TransportConfig};
use oci_distribution::{Body, ErrorKind, ProxyConfig, RetryPolicy};
use tokio::net::TcpListener;

use peers::{Stall, echo, handler, pki, proxy, reply, scripted, serve};

// ---------------------------------------------------------------- helpers

/// Settings that ignore the proxy variables of the environment the tests run in.
fn config() -> TransportConfig {
    TransportConfig::default().with_proxy(ProxyConfig::none())
}

fn tls_config() -> TransportConfig {
    config().with_ca_pem(pki().ca_pem.as_bytes())
}

fn get(url: &str) -> Request<Body> {
    Request::get(url).body(Body::empty()).unwrap()
}

async fn text(response: Response<ResponseBody>) -> String {
    String::from_utf8(response.into_body().bytes(1 << 20).await.unwrap().to_vec()).unwrap()
}

/// The messages of `e` and its sources.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out = format!("{out} / {s}");
        source = s.source();
    }
    out
}

// ---------------------------------------------------------------- plain HTTP and TLS

#[tokio::test]
async fn plain_http_to_loopback_by_default_with_pooled_connections() {
    let server = serve(None, 0, echo()).await;
    let t = Transport::new(config()).unwrap();
    assert_eq!(t.scheme_for(&server.addr.to_string()), "http");
    for _ in 0..3 {
        let response = t.send(get(&server.url("http", "/v2/"))).await.unwrap();
        assert_eq!(response.version(), Version::HTTP_11);
        let want = format!("GET /v2/ HTTP/1.1 oci-distribution/{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(text(response).await, want);
    }
    assert_eq!(server.connections.load(SeqCst), 1, "the connection is pooled");
}

#[tokio::test]
async fn https_with_a_custom_ca_negotiates_http2() {
    let server = serve(Some(Arc::clone(&pki().server)), 0, echo()).await;
    let t = Transport::new(tls_config()).unwrap();
    assert_eq!(
        Transport::new(tls_config().with_plain_http_loopback(false)).unwrap().scheme_for("127.0.0.1"),
        "https"
    );
    let response = t.send(get(&server.url("https", "/v2/"))).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert!(text(response).await.starts_with("GET /v2/ HTTP/2.0 oci-distribution/"));

    // Another CA: the server's certificate is refused.
    let stranger = Transport::new(config().with_ca_pem(pki().other_ca_pem.as_bytes())).unwrap();
    let e = stranger.send(get(&server.url("https", "/v2/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);
    assert!(e.to_string().contains(&format!("GET https://{}/v2/", server.addr)), "{e}");
    assert!(chain(&e).contains("certificate"), "{}", chain(&e));
}

#[tokio::test]
async fn http1_when_the_server_or_the_config_says_so() {
    let http1_server = serve(Some(Arc::clone(&pki().server_http1)), 0, echo()).await;
    let t = Transport::new(tls_config()).unwrap();
    let response = t.send(get(&http1_server.url("https", "/"))).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
    assert!(text(response).await.starts_with("GET / HTTP/1.1"));

    let h2_server = serve(Some(Arc::clone(&pki().server)), 0, echo()).await;
    let t = Transport::new(tls_config().with_http2(false)).unwrap();
    let response = t.send(get(&h2_server.url("https", "/"))).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_11);
}

#[tokio::test]
async fn client_certificate_for_a_server_that_requires_one() {
    let server = serve(Some(Arc::clone(&pki().server_mtls)), 0, echo()).await;
    let without = Transport::new(tls_config()).unwrap();
    let e = without.send(get(&server.url("https", "/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    assert!(chain(&e).contains("CertificateRequired"), "{}", chain(&e));

    let p = pki();
    let with = Transport::new(
        tls_config().with_client_cert(p.client_cert_pem.as_bytes(), p.client_key_pem.as_bytes()),
    )
    .unwrap();
    let response = with.send(get(&server.url("https", "/v2/"))).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(text(response).await.starts_with("GET /v2/"));
}

// ---------------------------------------------------------------- timeouts and limits

#[tokio::test]
async fn a_stalled_body_times_out() {
    let server = serve(
        None,
        0,
        handler(|_| async {
            Response::builder().header("content-length", "100").body(Stall(false).boxed()).unwrap()
        }),
    )
    .await;
    let t = Transport::new(config().with_stall_timeout(Duration::from_millis(300))).unwrap();
    let mut body = t.send(get(&server.url("http", "/blob"))).await.unwrap().into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "partial");
    let started = Instant::now();
    let e = body.frame().await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("/blob: reading the response body: no data for 300ms"), "{e}");
    assert!(started.elapsed() >= Duration::from_millis(290) && started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn connect_and_response_timeouts() {
    // A TLS server that never answers the handshake.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let t = Transport::new(tls_config().with_connect_timeout(Duration::from_millis(300))).unwrap();
    let e = t.send(get(&format!("https://{addr}/v2/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("connecting took longer than 300ms"), "{e}");

    let slow = serve(
        None,
        0,
        handler(|_| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            reply(200, "late")
        }),
    )
    .await;
    let t = Transport::new(config().with_response_timeout(Duration::from_millis(300))).unwrap();
    let e = t.send(get(&slow.url("http", "/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn bodies_are_read_up_to_a_limit() {
    let server = serve(None, 0, handler(|_| async { reply(200, "0123456789") })).await;
    let t = Transport::new(config()).unwrap();
    let body = t.send(get(&server.url("http", "/"))).await.unwrap().into_body();
    assert_eq!(body.bytes(10).await.unwrap(), "0123456789");
    let body = t.send(get(&server.url("http", "/"))).await.unwrap().into_body();
    let e = body.bytes(9).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SizeMismatch, "{e}");
}

#[tokio::test]
async fn errors_name_the_request() {
    let t = Transport::new(config().with_connect_timeout(Duration::from_secs(5))).unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let e = t.send(get(&format!("http://{closed}/v2/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);
    assert!(e.to_string().starts_with(&format!("connection failed: GET http://{closed}/v2/")), "{e}");
    let e = t.send(get("ftp://r.example/x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

// ---------------------------------------------------------------- retries

fn fast() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

#[tokio::test]
async fn retries_503_then_succeeds() {
    let (server, seen) = scripted(&[(503, ""), (200, "")]).await;
    let t = Transport::new(config()).unwrap();
    let response = t.send_with_retry(get(&server.url("http", "/v2/")), &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(text(response).await, "answer 2");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn honors_retry_after_on_429() {
    let (server, seen) = scripted(&[(429, "1"), (200, "")]).await;
    let t = Transport::new(config()).unwrap();
    let started = Instant::now();
    let response = t.send_with_retry(get(&server.url("http", "/")), &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(950), "{:?}", started.elapsed());
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn gives_up_with_the_last_response() {
    let (server, seen) = scripted(&[(503, "")]).await;
    let t = Transport::new(config()).unwrap();
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
    let t = Transport::new(config()).unwrap();
    let put = Request::put(server.url("http", "/blob")).body(Body::from_bytes("layer bytes")).unwrap();
    let response = t.send_with_retry(put, &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(*seen.lock().unwrap(), ["layer bytes", "layer bytes"]);

    let (server, seen) = scripted(&[(503, ""), (201, "")]).await;
    let stream = Full::new(Bytes::from_static(b"streamed")).map_err(|never| match never {});
    let put = Request::put(server.url("http", "/blob")).body(Body::stream(stream, Some(8))).unwrap();
    let response = t.send_with_retry(put, &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(*seen.lock().unwrap(), ["streamed"]);

    let (server, seen) = scripted(&[(503, ""), (202, "")]).await;
    let post = Request::post(server.url("http", "/uploads/")).body(Body::from_bytes("x")).unwrap();
    let response = t.send_with_retry(post, &fast()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn retries_a_dropped_connection() {
    let server = serve(None, 1, echo()).await;
    let t = Transport::new(config()).unwrap();
    let e = t.send(get(&server.url("http", "/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    let server = serve(None, 1, echo()).await;
    let response = t.send_with_retry(get(&server.url("http", "/v2/")), &fast()).await.unwrap();
    assert!(text(response).await.starts_with("GET /v2/"));
    assert_eq!(server.connections.load(SeqCst), 2);
}

// ---------------------------------------------------------------- proxies

#[tokio::test]
async fn https_goes_through_a_connect_proxy_unless_no_proxy_says_otherwise() {
    let server = serve(Some(Arc::clone(&pki().server)), 0, echo()).await;
    let (proxy_addr, seen) = proxy().await;
    let port = server.addr.port();
    let proxies = ProxyConfig::none().with_https_proxy(format!("http://user:pw@{proxy_addr}"));
    let t = Transport::new(tls_config().with_proxy(proxies.clone())).unwrap();
    let response = t.send(get(&format!("https://registry.test:{port}/v2/"))).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert!(text(response).await.starts_with("GET /v2/ HTTP/2.0"));
    // base64("user:pw")
    assert_eq!(
        *seen.lock().unwrap(),
        [format!("CONNECT registry.test:{port} HTTP/1.1 | Basic dXNlcjpwdw==")]
    );

    // Loopback addresses never use the proxy.
    let response = t.send(get(&server.url("https", "/direct"))).await.unwrap();
    assert!(text(response).await.starts_with("GET /direct"));
    assert_eq!(seen.lock().unwrap().len(), 1);

    // NO_PROXY: the client goes to registry.test itself (a name that does not resolve).
    let bypass = proxies.with_no_proxy("localhost, .example.com,registry.test");
    let t =
        Transport::new(tls_config().with_proxy(bypass).with_connect_timeout(Duration::from_secs(5))).unwrap();
    let e = t.send(get(&format!("https://registry.test:{port}/v2/"))).await.unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Connect | ErrorKind::Timeout), "{e}");
    assert_eq!(seen.lock().unwrap().len(), 1, "the proxy was not asked");
}

#[tokio::test]
async fn plain_http_goes_to_the_proxy_in_absolute_form() {
    let (proxy_addr, seen) = proxy().await;
    let proxies = ProxyConfig::none().with_http_proxy(format!("a%20b:c@{proxy_addr}"));
    let t = Transport::new(config().with_proxy(proxies).with_plain_http_host("registry.test")).unwrap();
    assert_eq!(t.scheme_for("registry.test:5000"), "http");
    let response = t.send(get("http://registry.test:5000/v2/?n=1")).await.unwrap();
    assert_eq!(text(response).await, "GET http://registry.test:5000/v2/?n=1 HTTP/1.1");
    // base64("a b:c")
    assert_eq!(*seen.lock().unwrap(), ["GET http://registry.test:5000/v2/?n=1 HTTP/1.1 | Basic YSBiOmM="]);
}

#[tokio::test]
async fn methods_and_headers_are_sent_as_given() {
    let server = serve(
        None,
        0,
        handler(|req: Request<Incoming>| async move {
            let accept = req.headers().get("accept").unwrap().to_str().unwrap().to_owned();
            let agent = req.headers().get("user-agent").unwrap().to_str().unwrap().to_owned();
            reply(200, format!("{} {accept} {agent}", req.method()))
        }),
    )
    .await;
    let t = Transport::new(config()).unwrap();
    let request = Request::builder()
        .method(Method::HEAD)
        .uri(server.url("http", "/v2/a/manifests/b"))
        .header("accept", "application/vnd.oci.image.index.v1+json")
        .header("user-agent", "mine/1")
        .body(Body::empty())
        .unwrap();
    let response = t.send(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-length"], "51");
    assert_eq!(text(response).await, "");
}
