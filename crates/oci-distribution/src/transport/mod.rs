//! The low-level HTTP layer of the client: connections, TLS, proxies, timeouts.
//!
//! [`TransportConfig`] says how the client connects; inside the crate a `Transport`
//! sends one request as it is and returns the response, whatever its status: no
//! authentication, no redirects followed, retries only when asked. Connections are
//! pooled per host; over TLS, HTTP/2 is offered by ALPN with HTTP/1.1 as the fallback.
//! Plain `http://` is for the hosts [`TransportConfig`] names and for loopback hosts
//! that do not answer a TLS handshake (tried first, once per host).

mod config;
mod connector;
mod no_proxy;
mod proxy;
mod response;
mod scheme;
mod socks;
#[cfg(test)]
pub(crate) mod tests;
mod tls;
mod verifier;

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
use self::proxy::Proxies;
use self::scheme::Schemes;
use crate::body::Activity;
use crate::exchange::{BoxFuture, Exchange};
use crate::targets::{Refused, Targets};
use crate::{Body, Error, ErrorKind, Result};

type HttpClient = Client<WithTimeout<Connector>, Body>;
type HttpsClient = Client<WithTimeout<HttpsConnector<Connector>>, Body>;

/// Sends HTTP requests with pooled connections, TLS, proxies and timeouts.
///
/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub(crate) struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    https: HttpsClient,
    proxies: Arc<Proxies>,
    /// Which hosts are spoken to over plain HTTP.
    schemes: Schemes,
    stall_timeout: Duration,
    response_timeout: Option<Duration>,
    user_agent: HeaderValue,
    /// Where registries may send the client (see [`crate::targets`]).
    targets: Arc<Targets>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("Transport")
            .field("proxies", &i.proxies)
            .field("schemes", &i.schemes)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport with `config`'s settings; the proxy environment variables are read
    /// now, when the configuration says so.
    ///
    /// Fails with an error of kind [`Config`](ErrorKind::Config) for unusable settings:
    /// no TLS setup (no crypto provider or no root certificate at all), an unreadable or
    /// empty CA bundle, a client certificate without its key, a proxy URL that is not
    /// `http://`, `https://`, `socks5://` or `socks5h://` (see [`ProxyConfig`]), a user
    /// agent that is not a header value.
    pub(crate) fn new(mut config: TransportConfig) -> Result<Self> {
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
        let targets = Arc::new(Targets::new(config.allow_private_targets));
        #[cfg(test)]
        let targets = config.targets.clone().unwrap_or(targets);
        let connector = Connector::new(Arc::clone(&proxies), tls::for_proxy(&tls), Arc::clone(&targets));
        let timeout = config.connect_timeout;
        let http = builder.build(WithTimeout { inner: connector.clone(), timeout });
        let schemes = Schemes::new(
            plain_hosts,
            config.plain_http_loopback,
            tokio_rustls::TlsConnector::from(Arc::clone(&tls)),
            timeout,
        );
        let https = builder.build(WithTimeout { inner: HttpsConnector::from((connector, tls)), timeout });
        let inner = Inner {
            http,
            https,
            proxies,
            schemes,
            stall_timeout: config.stall_timeout,
            response_timeout: config.response_timeout,
            user_agent,
            targets,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// The scheme to reach `host` (a host name or IP address with an optional `:port`,
    /// as in a reference) with: `"http"` for the configured plain HTTP hosts, `"https"`
    /// for other hosts, and for loopback hosts (unless turned off) what a TLS handshake
    /// finds, once per host.
    pub(crate) async fn scheme(&self, host: &str) -> &'static str {
        self.inner.schemes.scheme(host).await
    }

    /// The target policy of URLs registries hand the client, shared with the connector.
    pub(crate) fn targets(&self) -> &Arc<Targets> {
        &self.inner.targets
    }

    /// Sends `request` as it is (adding only a `User-Agent` when it has none) and returns
    /// the response, whatever its status.
    ///
    /// Fails with an error of kind [`Connect`](ErrorKind::Connect) when connecting (to
    /// the registry or through its proxy) or exchanging fails,
    /// [`Timeout`](ErrorKind::Timeout) when connecting or waiting for the response takes
    /// too long, [`InvalidInput`](ErrorKind::InvalidInput) for a URL that is not
    /// `http://` or `https://`. Errors name the method and URL.
    pub(crate) async fn send(&self, request: Request<Body>) -> Result<Response<ResponseBody>> {
        let context: Arc<str> = format!("{} {}", request.method(), redacted(request.uri())).into();
        let span = tracing::debug_span!("http", request = %context, status = tracing::field::Empty);
        self.send_inner(request, context).instrument(span).await
    }

    async fn send_inner(&self, request: Request<Body>, context: Arc<str>) -> Result<Response<ResponseBody>> {
        let inner = &*self.inner;
        let activity = Activity::now();
        let mut request = request.map(|body| body.watched(Arc::clone(&activity)));
        if !request.headers().contains_key(USER_AGENT) {
            request.headers_mut().insert(USER_AGENT, inner.user_agent.clone());
        }
        let pending = match request.uri().scheme_str() {
            Some("https") => inner.https.request(request),
            Some("http") => {
                let proxy = inner.proxies.for_uri(request.uri());
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
            Some(limit) => within(pending, &activity, limit).await.ok_or_else(|| {
                let why = format!("{context}: no response within {limit:?} of the request's last progress");
                Error::new(ErrorKind::Timeout, why)
            })?,
        };
        let response = result.map_err(|e| client_error(e, &context))?;
        tracing::Span::current().record("status", response.status().as_u16());
        tracing::debug!(version = ?response.version(), "response");
        let stall_timeout = inner.stall_timeout;
        Ok(response.map(|body| ResponseBody::new(body, stall_timeout, context)))
    }
}

/// The output of `pending`, unless it takes longer than `limit` from the request's last
/// progress (its start, or the last frame of its body the connection took): a body sent
/// slowly is not cut short, a server that takes it all and never answers is.
async fn within<F: Future>(pending: F, activity: &Activity, limit: std::time::Duration) -> Option<F::Output> {
    let mut pending = std::pin::pin!(pending);
    loop {
        match tokio::time::timeout_at(activity.last() + limit, &mut pending).await {
            Ok(output) => return Some(output),
            Err(_) if activity.last() + limit <= tokio::time::Instant::now() => return None,
            Err(_) => {}
        }
    }
}

/// `uri` for errors and logs: without credentials, and with the values of query
/// parameters other than the distribution spec's replaced (storage redirects carry
/// signatures there).
pub(crate) fn redacted(uri: &http::Uri) -> String {
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

/// Maps an error of hyper's client to ours: a connect timeout, a connection the target
/// policy refused (kind `InvalidResponse`: the registry sent the client there), a failure
/// of the request body (which keeps its kind), or a connection failure.
fn client_error(e: hyper_util::client::legacy::Error, context: &str) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(timeout) = s.downcast_ref::<ConnectTimeout>() {
            let context = format!("{context}: connecting took longer than {:?}", timeout.0);
            return Error::new(ErrorKind::Timeout, context).with_source(e);
        }
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return Error::new(ErrorKind::InvalidResponse, format!("{context}: {refused}"));
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
