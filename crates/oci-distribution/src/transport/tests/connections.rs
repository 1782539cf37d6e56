//! The transport against real servers on 127.0.0.1: plain HTTP, TLS with a CA made for
//! the run (HTTP/2 by ALPN, HTTP/1.1 fallback, client certificates), stalls, a CONNECT
//! proxy over TCP and over TLS, and a SOCKS5 proxy. Retries are in `retry.rs`.

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use crate::transport::{ResponseBody, Transport, TransportConfig};
use crate::{Body, ErrorKind, ProxyConfig};
use http::{Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use tokio::net::TcpListener;

use super::peers::{Server, Stall, echo, handler, pki, proxy, proxy_over, reply, serve};
use super::socks::socks;

// ---------------------------------------------------------------- helpers

/// Settings that ignore the proxy variables of the environment the tests run in.
/// No proxy, and a root that signs nothing of the tests (as the system's roots do not),
/// so that the transport builds without the `native-roots` feature too.
fn config() -> TransportConfig {
    TransportConfig::default().with_proxy(ProxyConfig::none()).with_ca_pem(pki().other_ca_pem.as_bytes())
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
    assert_eq!(t.scheme(&server.addr.to_string()).await, "http", "it does not speak TLS");
    for _ in 0..3 {
        let response = t.send(get(&server.url("http", "/v2/"))).await.unwrap();
        assert_eq!(response.version(), Version::HTTP_11);
        let want = format!("GET /v2/ HTTP/1.1 oci-distribution/{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(text(response).await, want);
    }
    assert_eq!(server.connections.load(SeqCst), 2, "the probe's, then one pooled connection");
}

#[tokio::test]
async fn https_with_a_custom_ca_negotiates_http2() {
    let server = serve(Some(Arc::clone(&pki().server)), 0, echo()).await;
    let t = Transport::new(tls_config()).unwrap();
    assert_eq!(t.scheme(&server.addr.to_string()).await, "https", "found by a probe");
    let response = t.send(get(&server.url("https", "/v2/"))).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert!(text(response).await.starts_with("GET /v2/ HTTP/2.0 oci-distribution/"));

    // Another CA: the server's certificate is refused.
    let stranger = Transport::new(config().with_ca_pem(pki().other_ca_pem.as_bytes())).unwrap();
    let e = stranger.send(get(&server.url("https", "/v2/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);
    assert_eq!(e.to_string(), format!("connection failed: GET https://{}/v2/", server.addr));
    assert_eq!(
        chain(&e),
        format!(
            "connection failed: GET https://{}/v2/ / client error (Connect) / invalid peer certificate: UnknownIssuer",
            server.addr
        )
    );
}

#[tokio::test]
async fn insecure_hosts_skip_certificate_verification_and_only_they() {
    let server = serve(Some(Arc::clone(&pki().server)), 0, echo()).await;
    let url = server.url("https", "/v2/");
    // The server's CA is not trusted; its host is listed (with a port, which is ignored).
    let t =
        Transport::new(config().with_insecure_host(format!("127.0.0.1:{}", server.addr.port() + 1))).unwrap();
    let response = t.send(get(&url)).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert!(text(response).await.starts_with("GET /v2/ HTTP/2.0"));
    // Another host listed: this one is verified, and refused.
    let other = Transport::new(config().with_insecure_host("localhost")).unwrap();
    let e = other.send(get(&url)).await.unwrap_err();
    assert!(chain(&e).ends_with("invalid peer certificate: UnknownIssuer"), "{}", chain(&e));
    assert!(!e.is_transient(), "the same certificate comes again: {e:?}");
    // `*`: every host, and no root certificate is needed at all.
    let all = TransportConfig::default().with_proxy(ProxyConfig::none()).with_insecure_host("*");
    let t = Transport::new(all).unwrap();
    assert_eq!(t.send(get(&url)).await.unwrap().status(), StatusCode::OK);
    // A caller-given TLS configuration has its own verifier: both is a mistake.
    let tls = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    );
    let both = TransportConfig::default().with_tls(tls).with_insecure_host("*");
    assert_eq!(Transport::new(both).unwrap_err().kind(), ErrorKind::Config);
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
    assert_eq!(
        chain(&e),
        format!(
            "connection failed: GET https://{}/ / client error (SendRequest) / connection error / \
             received fatal alert: CertificateRequired",
            server.addr
        )
    );

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
    assert_eq!(
        e.to_string(),
        format!("timed out: GET http://{}/blob: reading the response body: no data for 300ms", server.addr)
    );
    // A timer never fires early, however loaded the machine: a lower bound only (the
    // timer started as the first frame came, a moment before `started`).
    assert!(started.elapsed() >= Duration::from_millis(250), "{:?}", started.elapsed());
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
    assert_eq!(
        e.to_string(),
        format!("timed out: GET https://{addr}/v2/: connecting took longer than 300ms")
    );

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
    assert_eq!(e.kind(), ErrorKind::Limit, "{e}");
}

#[tokio::test]
async fn errors_name_the_request() {
    let t = Transport::new(config().with_connect_timeout(Duration::from_secs(5))).unwrap();
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let e = t.send(get(&format!("http://{closed}/v2/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);
    // The OS error (connection refused) is the source, not part of the message.
    assert_eq!(e.to_string(), format!("connection failed: GET http://{closed}/v2/"));
    let e = t.send(get("ftp://r.example/x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
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
    assert_eq!(t.scheme("registry.test:5000").await, "http");
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

// ---------------------------------------------------------------- HTTPS proxies

#[tokio::test]
async fn https_proxy_carries_tls_in_tls_and_absolute_form() {
    let server = serve(Some(Arc::clone(&pki().server)), 0, echo()).await;
    // The proxy's certificate (127.0.0.1) is from the test CA; it offers h2 and
    // http/1.1, so the record shows what the client offered.
    let (proxy_addr, seen) = proxy_over(Some(Arc::clone(&pki().server))).await;
    let port = server.addr.port();
    let proxies = ProxyConfig::none()
        .with_https_proxy(format!("https://user:pw@{proxy_addr}"))
        .with_http_proxy(format!("https://a%20b:c@{proxy_addr}"));
    let t =
        Transport::new(tls_config().with_proxy(proxies.clone()).with_plain_http_host("plain.test")).unwrap();
    let response = t.send(get(&format!("https://registry.test:{port}/v2/"))).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2, "HTTP/2 with the registry, inside the tunnel");
    assert!(text(response).await.starts_with("GET /v2/ HTTP/2.0"));
    // base64("user:pw")
    let connect = format!("tls http/1.1 | CONNECT registry.test:{port} HTTP/1.1 | Basic dXNlcjpwdw==");
    assert_eq!(*seen.lock().unwrap(), std::slice::from_ref(&connect));

    let response = t.send(get("http://plain.test:5000/v2/?n=1")).await.unwrap();
    assert_eq!(text(response).await, "GET http://plain.test:5000/v2/?n=1 HTTP/1.1");
    // base64("a b:c")
    let absolute = "tls http/1.1 | GET http://plain.test:5000/v2/?n=1 HTTP/1.1 | Basic YSBiOmM=";
    assert_eq!(*seen.lock().unwrap(), [connect, absolute.to_owned()]);

    // The proxy's certificate is checked with the transport's roots.
    let stranger =
        Transport::new(config().with_ca_pem(pki().other_ca_pem.as_bytes()).with_proxy(proxies)).unwrap();
    let e = stranger.send(get(&format!("https://registry.test:{port}/"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
    let chain = chain(&e);
    assert_eq!(
        chain,
        format!(
            "connection failed: GET https://registry.test:{port}/ / client error (Connect) / through the proxy \
             https://user:***@{proxy_addr}: TLS handshake: invalid peer certificate: UnknownIssuer"
        )
    );
    assert!(!chain.contains("pw"), "{chain}");
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[cfg(not(feature = "native-roots"))]
#[test]
fn an_https_proxy_without_tls_settings_is_a_config_error() {
    // Without the system's roots and no CA given, the transport is refused at once, even
    // for plain HTTP through a TLS proxy: every TLS connection would fail.
    let proxies = ProxyConfig::none().with_http_proxy("https://u:secret@127.0.0.1:1");
    let e = Transport::new(TransportConfig::default().with_proxy(proxies).with_plain_http_host("plain.test"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert_eq!(
        e.to_string(),
        "invalid client configuration: no TLS setup: no root certificates; enable the `native-roots` \
         feature (on by default) for the system's, give a CA bundle (TransportConfig::ca_files, ca_pem) or a TLS configuration \
         (TransportConfig::tls)"
    );
}

// ---------------------------------------------------------------- SOCKS proxies

/// A server that answers with the request target (origin or absolute form) and whether
/// a `Proxy-Authorization` header came with it.
async fn targets() -> Server {
    serve(
        None,
        0,
        handler(|req: Request<Incoming>| async move {
            let auth = req.headers().contains_key("proxy-authorization");
            reply(200, format!("{} {} proxy-authorization: {auth}", req.method(), req.uri()))
        }),
    )
    .await
}

#[tokio::test]
async fn socks5h_sends_the_host_name_and_socks5_the_address() {
    let server = serve(Some(Arc::clone(&pki().server)), 0, echo()).await;
    let port = server.addr.port();
    let proxy = socks(None, 0).await;
    let t = |scheme: &str| {
        let proxies = ProxyConfig::none().with_https_proxy(format!("{scheme}://{}", proxy.addr));
        Transport::new(tls_config().with_proxy(proxies)).unwrap()
    };
    let response = t("socks5h").send(get(&format!("https://registry.test:{port}/v2/"))).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert!(text(response).await.starts_with("GET /v2/ HTTP/2.0"));
    assert_eq!(*proxy.seen.lock().unwrap(), [format!("no-auth | CONNECT domain registry.test:{port}")]);

    // 192.0.2.1 stands for an address `socks5://` resolved a name to (the unit tests
    // resolve `localhost`): the address is sent, the proxy relays to 127.0.0.1.
    let response = t("socks5").send(get(&format!("https://192.0.2.1:{port}/v2/"))).await.unwrap();
    assert!(text(response).await.starts_with("GET /v2/ HTTP/2.0"));
    assert_eq!(proxy.seen.lock().unwrap()[1], format!("no-auth | CONNECT ipv4 192.0.2.1:{port}"));

    // Loopback addresses never use the proxy.
    let response = t("socks5h").send(get(&server.url("https", "/direct"))).await.unwrap();
    assert!(text(response).await.starts_with("GET /direct"));
    assert_eq!(proxy.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn plain_http_through_socks_with_credentials_is_not_in_absolute_form() {
    let server = targets().await;
    let port = server.addr.port();
    let proxy = socks(Some(("us@er", "p:ss")), 0).await;
    for scheme in ["socks5h", "socks5"] {
        let proxies =
            ProxyConfig::none().with_http_proxy(format!("{scheme}://us%40er:p%3Ass@{}", proxy.addr));
        let config = config()
            .with_proxy(proxies)
            .with_plain_http_host("registry.test")
            .with_plain_http_host("192.0.2.1");
        let t = Transport::new(config).unwrap();
        let host = if scheme == "socks5h" { "registry.test" } else { "192.0.2.1" };
        let response = t.send(get(&format!("http://{host}:{port}/v2/?n=1"))).await.unwrap();
        assert_eq!(text(response).await, "GET /v2/?n=1 proxy-authorization: false");
    }
    assert_eq!(
        *proxy.seen.lock().unwrap(),
        [
            format!("user us@er:p:ss | CONNECT domain registry.test:{port}"),
            format!("user us@er:p:ss | CONNECT ipv4 192.0.2.1:{port}"),
        ]
    );
}

#[tokio::test]
async fn socks_failures_are_explained_without_the_password() {
    let proxy = socks(Some(("user", "right")), 0).await;
    let send = |url: String| async move {
        let proxies = ProxyConfig::none().with_https_proxy(url);
        let t = Transport::new(tls_config().with_proxy(proxies)).unwrap();
        let e = t.send(get("https://registry.test/v2/")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect, "{e}");
        assert_eq!(e.to_string(), "connection failed: GET https://registry.test/v2/");
        chain(&e)
    };

    let e = send(format!("socks5h://user:wrong@{}", proxy.addr)).await;
    let want = format!(
        "connection failed: GET https://registry.test/v2/ / client error (Connect) / through the proxy \
         socks5h://user:***@{}: the proxy rejected the username and password of user \"user\" (status 1)",
        proxy.addr
    );
    assert_eq!(e, want);
    assert!(!e.contains("wrong"), "{e}");

    let e = send(format!("socks5h://{}", proxy.addr)).await;
    let want = format!(
        "connection failed: GET https://registry.test/v2/ / client error (Connect) / through the proxy \
         socks5h://{}: the proxy accepts no offered authentication method (offered: none): give credentials \
         in the proxy URL if it needs a username and password",
        proxy.addr
    );
    assert_eq!(e, want);
    assert_eq!(*proxy.seen.lock().unwrap(), ["bad password for user", "no acceptable method in [0]"]);

    let refusing = socks(None, 4).await;
    let e = send(format!("socks5h://u:pw@{}", refusing.addr)).await;
    let want = format!(
        "connection failed: GET https://registry.test/v2/ / client error (Connect) / through the proxy \
         socks5h://u:***@{}: the proxy could not connect to registry.test:443: host unreachable (SOCKS reply 4)",
        refusing.addr
    );
    assert_eq!(e, want);
    assert_eq!(*refusing.seen.lock().unwrap(), ["no-auth | CONNECT domain registry.test:443"]);
}
