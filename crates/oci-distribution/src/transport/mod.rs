//! The low-level HTTP layer of the client: connections, TLS, proxies, timeouts.
//!
//! [`Transport`] sends one request as it is and returns the response, whatever its
//! status: no authentication, no redirects followed, retries only through
//! [`Transport::send_with_retry`]. Connections are pooled per host; over TLS, HTTP/2 is
//! offered by ALPN with HTTP/1.1 as the fallback. Plain `http://` is for the hosts
//! [`TransportConfig`] names and, by default, loopback addresses.
//!
//! Most programs use the registry client built on top of it; the transport is public
//! for the few that need raw access to a registry with the same connection settings.

mod config;
mod connector;
mod no_proxy;
mod proxy;
mod response;
mod socks;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{PROXY_AUTHORIZATION, USER_AGENT};
use http::{HeaderValue, Request, Response};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tracing::Instrument as _;

pub use config::TransportConfig;
pub use proxy::ProxyConfig;
pub use response::ResponseBody;

use self::connector::{ConnectTimeout, Connector, WithTimeout};
use self::proxy::{Proxies, ProxyKind};
use self::tls::Tls;
use crate::exchange::{BoxFuture, Exchange};
use crate::retry::RetryPolicy;
use crate::url::is_loopback_host;
use crate::{Body, Error, ErrorKind, Result};

type HttpClient = Client<WithTimeout<Connector>, Body>;
type HttpsClient = Client<WithTimeout<HttpsConnector<Connector>>, Body>;

/// Sends HTTP requests with pooled connections, TLS, proxies and timeouts.
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    https: std::result::Result<HttpsClient, &'static str>,
    proxies: Arc<Proxies>,
    plain_hosts: Vec<(String, Option<u16>)>,
    plain_loopback: bool,
    stall_timeout: Duration,
    response_timeout: Option<Duration>,
    user_agent: HeaderValue,
    /// Registries that asked for a pause.
    holds: crate::retry::HostHolds,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("Transport")
            .field("tls", &i.https.as_ref().map(|_| "ready"))
            .field("proxies", &i.proxies)
            .field("plain_hosts", &i.plain_hosts)
            .field("plain_loopback", &i.plain_loopback)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport with `config`'s settings; the proxy environment variables are read
    /// now, when the configuration says so.
    ///
    /// Fails with an error of kind [`Config`](ErrorKind::Config) for unusable settings:
    /// an unreadable or empty CA bundle, a client certificate without its key, a proxy
    /// URL that is not `http://`, `https://`, `socks5://` or `socks5h://` (see
    /// [`ProxyConfig`]), a user agent that is not a header value.
    pub fn new(mut config: TransportConfig) -> Result<Self> {
        let proxies = Arc::new(Proxies::from_config(&config.proxy)?);
        if !proxies.is_empty() {
            tracing::debug!(?proxies, "proxies");
        }
        let user_agent = std::mem::take(&mut config.user_agent);
        let user_agent = HeaderValue::try_from(user_agent.as_str()).map_err(|e| {
            Error::new(ErrorKind::Config, format!("user agent {user_agent:?}")).with_source(e)
        })?;
        let plain_hosts = config
            .plain_http_hosts
            .iter()
            .map(|h| {
                let (host, port) = split_host(h.trim());
                let port = port.map(str::parse::<u16>).transpose().map_err(|e| {
                    Error::new(ErrorKind::Config, format!("plain HTTP host {h:?}: bad port")).with_source(e)
                })?;
                Ok((host.to_ascii_lowercase(), port))
            })
            .collect::<Result<Vec<_>>>()?;

        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .http2_adaptive_window(true);
        let tls = tls::build(&config)?;
        let proxy_tls = match &tls {
            Tls::Ready(tls) => Ok(tls::for_proxy(tls)),
            Tls::Unavailable(why) => Err(*why),
        };
        let connector = Connector::new(Arc::clone(&proxies), proxy_tls);
        let timeout = config.connect_timeout;
        let http = builder.build(WithTimeout { inner: connector.clone(), timeout });
        let https = match tls {
            Tls::Ready(tls) => {
                let https = HttpsConnector::from((connector, tls));
                Ok(builder.build(WithTimeout { inner: https, timeout }))
            }
            Tls::Unavailable(why) => {
                tracing::debug!(why, "https is unavailable");
                Err(why)
            }
        };
        let inner = Inner {
            http,
            https,
            proxies,
            plain_hosts,
            plain_loopback: config.plain_http_loopback,
            stall_timeout: config.stall_timeout,
            response_timeout: config.response_timeout,
            user_agent,
            holds: crate::retry::HostHolds::default(),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The scheme to reach `host` (a host name or IP address with an optional `:port`,
    /// as in a reference) with: `"http"` for the configured plain HTTP hosts and, unless
    /// turned off, loopback hosts; `"https"` otherwise.
    #[must_use]
    pub fn scheme_for(&self, host: &str) -> &'static str {
        let (name, port) = split_host(host.trim());
        let port = port.and_then(|p| p.parse::<u16>().ok());
        let plain = (self.inner.plain_loopback && is_loopback_host(name))
            || self
                .inner
                .plain_hosts
                .iter()
                .any(|(h, p)| h.eq_ignore_ascii_case(name) && (p.is_none() || *p == port));
        if plain { "http" } else { "https" }
    }

    /// Sends `request` as it is (adding only a `User-Agent` when it has none) and returns
    /// the response, whatever its status.
    ///
    /// Fails with an error of kind [`Connect`](ErrorKind::Connect) when connecting (to
    /// the registry or through its proxy) or exchanging fails,
    /// [`Timeout`](ErrorKind::Timeout) when connecting or waiting for the response takes
    /// too long, [`Config`](ErrorKind::Config) for an `https://` URL or an `https://`
    /// proxy without a usable TLS configuration,
    /// [`InvalidInput`](ErrorKind::InvalidInput) for a URL that is not `http://` or
    /// `https://`. Errors name the method and URL.
    pub async fn send(&self, request: Request<Body>) -> Result<Response<ResponseBody>> {
        let context: Arc<str> = format!("{} {}", request.method(), redacted(request.uri())).into();
        let span = tracing::debug_span!("http", request = %context, status = tracing::field::Empty);
        self.send_inner(request, context).instrument(span).await
    }

    async fn send_inner(
        &self,
        mut request: Request<Body>,
        context: Arc<str>,
    ) -> Result<Response<ResponseBody>> {
        let inner = &*self.inner;
        if !request.headers().contains_key(USER_AGENT) {
            request.headers_mut().insert(USER_AGENT, inner.user_agent.clone());
        }
        let pending = match request.uri().scheme_str() {
            Some("https") => match &inner.https {
                Ok(client) => client.request(request),
                Err(why) => return Err(Error::new(ErrorKind::Config, format!("{context}: {why}"))),
            },
            Some("http") => {
                let proxy = inner.proxies.for_uri(request.uri());
                if let (Some(proxy), Err(why)) = (proxy, &inner.https) {
                    if proxy.kind == ProxyKind::Https {
                        let why = format!("{context}: the proxy {proxy:?} is reached over TLS: {why}");
                        return Err(Error::new(ErrorKind::Config, why));
                    }
                }
                // Sent in the request for an HTTP(S) proxy in absolute form; a SOCKS proxy has none.
                if let Some(authorization) = proxy.and_then(|p| p.authorization.clone()) {
                    request.headers_mut().insert(PROXY_AUTHORIZATION, authorization);
                }
                inner.http.request(request)
            }
            _ => {
                let why = "only http:// and https:// URLs can be requested";
                return Err(Error::new(ErrorKind::InvalidInput, format!("{context}: {why}")));
            }
        };
        let result = match inner.response_timeout {
            None => pending.await,
            Some(limit) => tokio::time::timeout(limit, pending).await.map_err(|_| {
                Error::new(ErrorKind::Timeout, format!("{context}: no response within {limit:?}"))
            })?,
        };
        let response = result.map_err(|e| client_error(e, &context))?;
        tracing::Span::current().record("status", response.status().as_u16());
        tracing::debug!(version = ?response.version(), "response");
        let stall_timeout = inner.stall_timeout;
        Ok(response.map(|body| ResponseBody::new(body, stall_timeout, context)))
    }

    /// Sends `request` as [`send`](Self::send) does, again after a delay when it fails in
    /// a way `policy` retries (see [`RetryPolicy`]). When the retries are used up on a
    /// retryable status, that last response is returned.
    pub async fn send_with_retry(
        &self,
        request: Request<Body>,
        policy: &RetryPolicy,
    ) -> Result<Response<ResponseBody>> {
        crate::retry::send_with_retry(self, &self.inner.holds, request, policy).await
    }
}

/// `uri` for errors and logs: without credentials, and with the values of query
/// parameters other than the distribution spec's replaced (storage redirects carry
/// signatures there).
fn redacted(uri: &http::Uri) -> String {
    const KEPT: [&str; 6] = ["n", "last", "digest", "mount", "from", "artifactType"];
    let mut out = String::new();
    if let Some(scheme) = uri.scheme_str() {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        out.push_str(authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, host)| host));
    }
    out.push_str(uri.path());
    if let Some(query) = uri.query() {
        for (i, pair) in query.split('&').enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            match pair.split_once('=') {
                Some((name, _)) if !KEPT.contains(&name) => {
                    out.push_str(name);
                    out.push_str("=REDACTED");
                }
                _ => out.push_str(pair),
            }
        }
    }
    out
}

/// Splits `host[:port]` and `[v6]:port`; a bare IPv6 address has no port.
fn split_host(host: &str) -> (&str, Option<&str>) {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, after)) => (h, after.strip_prefix(':')),
            None => (host, None),
        };
    }
    match host.split_once(':') {
        Some((h, port)) if !port.contains(':') => (h, Some(port)),
        _ => (host, None),
    }
}

/// Maps an error of hyper's client to ours: a connect timeout, a failure of the request
/// body (which keeps its kind), or a connection failure.
fn client_error(e: hyper_util::client::legacy::Error, context: &str) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(timeout) = s.downcast_ref::<ConnectTimeout>() {
            let context = format!("{context}: connecting took longer than {:?}", timeout.0);
            return Error::new(ErrorKind::Timeout, context).with_source(e);
        }
        if let Some(body) = s.downcast_ref::<Error>() {
            return Error::new(body.kind(), format!("{context}: sending the request body")).with_source(e);
        }
        source = s.source();
    }
    Error::new(ErrorKind::Connect, context).with_source(e)
}

impl Exchange for Transport {
    fn exchange(&self, request: Request<Body>, limit: usize) -> BoxFuture<'_, Result<Response<Bytes>>> {
        Box::pin(async move {
            let (parts, body) = self.send(request).await?.into_parts();
            let bytes = body.bytes(limit).await?;
            Ok(Response::from_parts(parts, bytes))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_for_loopback_and_listed_hosts() {
        let config = TransportConfig::default()
            .with_proxy(ProxyConfig::none())
            .with_plain_http_host("cache.internal")
            .with_plain_http_host("Mirror.Example:5000")
            .with_plain_http_host("[fd00::1]:80");
        let t = Transport::new(config).unwrap();
        for (host, scheme) in [
            ("localhost:5000", "http"),
            ("127.0.0.1", "http"),
            ("[::1]:5000", "http"),
            ("cache.internal", "http"),
            ("cache.internal:443", "http"),
            ("mirror.example:5000", "http"),
            ("mirror.example", "https"),
            ("mirror.example:5001", "https"),
            ("[fd00::1]:80", "http"),
            ("[fd00::1]", "https"),
            ("registry-1.docker.io", "https"),
        ] {
            assert_eq!(t.scheme_for(host), scheme, "{host}");
        }
        let strict = Transport::new(TransportConfig::default().with_plain_http_loopback(false)).unwrap();
        assert_eq!(strict.scheme_for("localhost:5000"), "https");
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
    #[tokio::test]
    async fn https_without_roots_is_a_config_error_and_http_still_works() {
        let t = Transport::new(TransportConfig::default().with_proxy(ProxyConfig::none())).unwrap();
        let request = Request::get("https://127.0.0.1:1/v2/").body(Body::empty()).unwrap();
        let e = t.send(request).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("GET https://127.0.0.1:1/v2/: no r"), "{e}");
        let request = Request::get("http://127.0.0.1:1/v2/").body(Body::empty()).unwrap();
        assert_eq!(t.send(request).await.unwrap_err().kind(), ErrorKind::Connect);
    }

    #[test]
    fn bad_settings_are_config_errors() {
        let bad_port = TransportConfig::default().with_plain_http_host("r:port");
        assert_eq!(Transport::new(bad_port).unwrap_err().kind(), ErrorKind::Config);
        let bad_agent = TransportConfig::default().with_user_agent("a\nb");
        assert_eq!(Transport::new(bad_agent).unwrap_err().kind(), ErrorKind::Config);
        let no_key = TransportConfig { client_cert_pem: Some(b"x".to_vec()), ..TransportConfig::default() };
        let e = Transport::new(no_key).unwrap_err();
        assert!(e.to_string().contains("both the certificate and its private key"), "{e}");
        let e = Transport::new(TransportConfig::default().with_ca_pem(&b"no PEM here"[..])).unwrap_err();
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        let missing = TransportConfig::default().with_ca_file("/nonexistent/ca.pem");
        let e = Transport::new(missing).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
