//! The transport's tests: settings, schemes and redaction here; real servers on
//! 127.0.0.1 in [`connections`] (TLS, HTTP/2, proxies), with the servers of [`peers`]
//! and [`socks`]. What is sent again and when is the retry layer's (`retry::tests`).

#![allow(clippy::unwrap_used)]

mod connections;
pub(crate) mod peers;
mod socks;
mod timeouts;

use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;

use super::*;

/// A transport with `config`, no proxy, and a root that signs nothing of the tests (as
/// the system's roots do not), so that it builds without the `native-roots` feature too.
fn transport(config: TransportConfig) -> Transport {
    let config = config.with_proxy(ProxyConfig::none()).with_ca_pem(peers::pki().other_ca_pem.as_bytes());
    Transport::new(config).unwrap()
}

#[test]
fn plain_http_for_listed_hosts_and_a_probe_for_loopback() {
    let config = TransportConfig::default()
        .with_plain_http_host("cache.internal")
        .with_plain_http_host("Mirror.Example:5000")
        .with_plain_http_host("[fd00::1]:80")
        .with_plain_http_host("127.0.0.1:5000");
    let t = transport(config);
    for (host, scheme) in [
        ("localhost:5000", None),
        ("127.0.0.1", None),
        ("[::1]:5000", None),
        ("127.0.0.1:5000", Some("http")),
        ("cache.internal", Some("http")),
        ("cache.internal:443", Some("http")),
        ("mirror.example:5000", Some("http")),
        ("mirror.example", Some("https")),
        ("mirror.example:5001", Some("https")),
        ("[fd00::1]:80", Some("http")),
        ("[fd00::1]", Some("https")),
        ("registry-1.docker.io", Some("https")),
    ] {
        assert_eq!(t.inner.schemes.configured(host), scheme, "{host}");
    }
    let strict = transport(TransportConfig::default().with_plain_http_loopback(false));
    assert_eq!(strict.inner.schemes.configured("localhost:5000"), Some("https"));
}

#[tokio::test]
async fn loopback_hosts_are_probed_for_tls_once_and_plain_hosts_stay_plain() {
    let tls = peers::serve(Some(Arc::clone(&peers::pki().server)), 0, peers::echo()).await;
    let plain = peers::serve(None, 0, peers::echo()).await;
    let config = TransportConfig::default().with_ca_pem(peers::pki().ca_pem.as_bytes());
    let t = transport(config.clone());
    let (tls_host, plain_host) = (tls.addr.to_string(), plain.addr.to_string());
    assert_eq!(t.scheme(&tls_host).await, "https");
    assert_eq!(t.scheme(&format!("localhost:{}", tls.addr.port())).await, "https");
    assert_eq!(t.scheme(&plain_host).await, "http");
    // Remembered: no second probe (the servers count their connections).
    let (tls_seen, plain_seen) = (tls.connections.load(SeqCst), plain.connections.load(SeqCst));
    assert_eq!(t.scheme(&tls_host).await, "https");
    assert_eq!(t.scheme(&plain_host).await, "http");
    assert_eq!((tls.connections.load(SeqCst), plain.connections.load(SeqCst)), (tls_seen, plain_seen));
    // A TLS server whose certificate is not trusted still speaks TLS: the request then
    // says why it failed, rather than talking HTTP to it.
    let untrusting = transport(TransportConfig::default());
    assert_eq!(untrusting.scheme(&tls_host).await, "https");
    // Configured as plain, a loopback host is never probed.
    let forced = transport(config.with_plain_http_host(tls_host.clone()));
    let before = tls.connections.load(SeqCst);
    assert_eq!(forced.scheme(&tls_host).await, "http");
    assert_eq!(tls.connections.load(SeqCst), before);
}

#[tokio::test]
async fn an_unreachable_loopback_host_is_not_remembered() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    drop(listener);
    let t = transport(TransportConfig::default());
    assert_eq!(t.scheme(&host).await, "http");
    assert!(t.inner.schemes.configured(&host).is_none());
    let cell = t.inner.schemes.probed_cell(&host);
    assert!(cell.get().is_none(), "an unreachable host is probed again next time");
}

#[test]
fn urls_in_errors_and_logs_hide_secrets() {
    for (url, want) in [
        ("https://r.example/v2/a/tags/list?n=10&last=b", "https://r.example/v2/a/tags/list?n=10&last=b"),
        ("https://u:pw@r.example:5000/v2/", "https://r.example:5000/v2/"),
        (
            "https://s3.example/blob?X-Amz-Signature=abc&X-Amz-Expires=1200&digest=sha256:1",
            "https://s3.example/blob?X-Amz-Signature=REDACTED&X-Amz-Expires=REDACTED&digest=sha256:1",
        ),
        ("/relative?flag", "/relative?flag"),
    ] {
        assert_eq!(redacted(&url.parse().unwrap()), want);
    }
}

#[cfg(not(feature = "native-roots"))]
#[test]
fn no_root_certificates_fail_the_build() {
    let e = Transport::new(TransportConfig::default().with_proxy(ProxyConfig::none())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert_eq!(
        e.to_string(),
        "invalid client configuration: no TLS setup: no root certificates; enable the `native-roots` \
         feature (on by default) for the system's, give a CA bundle (TransportConfig::ca_files, ca_pem) or a \
         TLS configuration (TransportConfig::tls)"
    );
}

#[test]
fn bad_settings_are_config_errors() {
    let bad_port = TransportConfig::default().with_plain_http_host("r:port");
    assert_eq!(Transport::new(bad_port).unwrap_err().kind(), ErrorKind::Config);
    let bad_agent = TransportConfig::default().with_user_agent("a\nb");
    assert_eq!(Transport::new(bad_agent).unwrap_err().kind(), ErrorKind::Config);
    let no_key = TransportConfig { client_cert_pem: Some(b"x".to_vec()), ..TransportConfig::default() };
    let e = Transport::new(no_key).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid client configuration: a client certificate needs both the certificate and its private key"
    );
    let e = Transport::new(TransportConfig::default().with_ca_pem(&b"no PEM here"[..])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid client configuration: the CA bundle #1 of ca_pem holds no certificate"
    );
    let missing = TransportConfig::default().with_ca_file("/nonexistent/ca.pem");
    let e = Transport::new(missing).unwrap_err();
    // The OS error is the source, not part of the message.
    assert_eq!(e.to_string(), "invalid client configuration: reading the CA bundle /nonexistent/ca.pem");
}
