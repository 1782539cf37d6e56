//! The transport's settings.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::ProxyConfig;

/// How the client connects: TLS, plain HTTP hosts, proxies,
/// timeouts, pooling.
///
/// Start from [`TransportConfig::default()`] and change fields or chain the `with_*`
/// helpers:
///
/// ```
/// use std::time::Duration;
/// use oci_distribution::transport::{ProxyConfig, TransportConfig};
///
/// let config = TransportConfig::default()
///     .with_ca_file("/etc/docker/certs.d/r.example:5000/ca.crt")
///     .with_plain_http_host("build-cache.internal:5000")
///     .with_insecure_host("dev-registry.internal")
///     .with_proxy(ProxyConfig::none());
/// assert_eq!(config.connect_timeout, Duration::from_secs(30));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct TransportConfig {
    /// The rustls configuration for `https://`, used as given except for its ALPN
    /// protocols, which the transport sets (`h2` and `http/1.1`, or `http/1.1` only).
    /// When set, the CA and client certificate fields below must stay empty.
    ///
    /// When `None` (the default), one is built: the crypto provider installed
    /// process-wide (else ring's, with the `ring` feature), the system's roots (with the
    /// `native-roots` feature) plus [`ca_files`](Self::ca_files) and
    /// [`ca_pem`](Self::ca_pem), and the client certificate if given. The system's roots
    /// are read at the first TLS handshake that needs them, so that a client that only
    /// speaks plain HTTP never reads them. When there is no provider, or no root
    /// certificate at all (without the system's), building the client fails with an
    /// error of kind [`Config`](crate::ErrorKind::Config) that says what is missing; a
    /// system store without one fails each handshake, saying the same.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// PEM files of CA certificates to trust, besides the system's roots.
    pub ca_files: Vec<PathBuf>,
    /// PEM bundles of CA certificates to trust, besides the system's roots.
    pub ca_pem: Vec<Vec<u8>>,
    /// The client certificate chain (PEM) to present to servers that ask for one;
    /// needs [`client_key_pem`](Self::client_key_pem).
    pub client_cert_pem: Option<Vec<u8>>,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1) of the client certificate.
    pub client_key_pem: Option<Vec<u8>>,
    /// Hosts whose TLS certificate is not verified (`--tls-verify=false`): names or IP
    /// addresses, a `:port` allowed but ignored (a certificate names a host, not a
    /// port), or `*` for every host. The connection is still encrypted, to whoever
    /// holds the key of the certificate the host shows; meant for development
    /// registries with self-signed certificates. Not with a caller-given
    /// [`tls`](Self::tls), which has its own verifier.
    pub insecure_hosts: Vec<String>,
    /// Hosts, each with an optional `:port` (without one, any port matches), that are
    /// always spoken to over plain `http://`, loopback hosts included.
    pub plain_http_hosts: Vec<String>,
    /// Whether loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) not listed in
    /// [`plain_http_hosts`](Self::plain_http_hosts) may be plain HTTP: each is tried
    /// with a TLS handshake first, once per host, and spoken to over plain HTTP when it
    /// does not answer one (a development registry serves either). When `false`,
    /// loopback hosts are HTTPS like any other. Default: `true`.
    pub plain_http_loopback: bool,
    /// The time limit for connecting: TCP, a proxy tunnel and the TLS handshake.
    /// Default: 30 s.
    pub connect_timeout: Duration,
    /// How long a response body may go without delivering a byte before reading it
    /// fails with an error of kind [`Timeout`](crate::ErrorKind::Timeout). It bounds
    /// each wait, not the whole body, so large downloads are not cut short.
    /// Default: 60 s.
    pub stall_timeout: Duration,
    /// How long a request may go without progress before the response's headers come:
    /// counted from the start of the request, then from each piece of its body the
    /// connection takes, so that an upload sent slowly is not cut short while a server
    /// that never answers (a registry, a token server) fails the request with an error
    /// of kind [`Timeout`](crate::ErrorKind::Timeout). `None` waits forever.
    /// Default: 60 s.
    pub response_timeout: Option<Duration>,
    /// How long an idle pooled connection is kept. Default: 90 s.
    pub pool_idle_timeout: Duration,
    /// How many idle connections are kept per host. Default: 32.
    pub pool_max_idle_per_host: usize,
    /// The `User-Agent` of requests that do not set one.
    /// Default: `oci-distribution/<version>`.
    pub user_agent: String,
    /// Offer HTTP/2 by ALPN over TLS (falling back to HTTP/1.1 when the server does not
    /// take it). Plain HTTP always uses HTTP/1.1. Default: `true`.
    pub http2: bool,
    /// Proxies. Default: from the environment.
    pub proxy: ProxyConfig,
    /// Whether a URL a registry hands the client (a redirect, a token realm, the token
    /// server's redirect) may lead to a loopback, private or link-local address when the
    /// registry itself is not on one. The address connected to is checked, not only the
    /// URL's spelling; an `https` registry never sends the client to plain `http`,
    /// whatever this says. Default: `false`.
    pub allow_private_targets: bool,
    /// Tests: the target policy to use instead of the one the settings above make.
    #[cfg(test)]
    pub(crate) targets: Option<Arc<crate::targets::Targets>>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            tls: None,
            ca_files: Vec::new(),
            ca_pem: Vec::new(),
            client_cert_pem: None,
            client_key_pem: None,
            insecure_hosts: Vec::new(),
            plain_http_hosts: Vec::new(),
            plain_http_loopback: true,
            connect_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(60),
            response_timeout: Some(Duration::from_secs(60)),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 32,
            user_agent: concat!("oci-distribution/", env!("CARGO_PKG_VERSION")).to_owned(),
            http2: true,
            proxy: ProxyConfig::default(),
            allow_private_targets: false,
            #[cfg(test)]
            targets: None,
        }
    }
}

impl fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TransportConfig");
        d.field("tls", &self.tls.as_ref().map(|_| "ClientConfig { .. }"))
            .field("ca_files", &self.ca_files)
            .field("ca_pem", &self.ca_pem.len())
            .field("client_cert_pem", &self.client_cert_pem.is_some())
            .field("client_key_pem", &self.client_key_pem.as_ref().map(|_| "<redacted>"))
            .field("insecure_hosts", &self.insecure_hosts)
            .field("plain_http_hosts", &self.plain_http_hosts)
            .field("plain_http_loopback", &self.plain_http_loopback)
            .field("connect_timeout", &self.connect_timeout)
            .field("stall_timeout", &self.stall_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("user_agent", &self.user_agent)
            .field("http2", &self.http2)
            .field("proxy", &self.proxy)
            .field("allow_private_targets", &self.allow_private_targets);
        #[cfg(test)]
        d.field("targets", &self.targets);
        d.finish()
    }
}

impl TransportConfig {
    /// The same settings with `tls` as the TLS configuration.
    #[must_use]
    pub fn with_tls(mut self, tls: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The same settings, also trusting the CA certificates of the PEM file at `path`.
    #[must_use]
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// The same settings, also trusting the CA certificates of a PEM bundle.
    #[must_use]
    pub fn with_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pem.push(pem.into());
        self
    }

    /// The same settings with a client certificate chain and its private key (PEM).
    #[must_use]
    pub fn with_client_cert(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.client_cert_pem = Some(cert_pem.into());
        self.client_key_pem = Some(key_pem.into());
        self
    }

    /// The same settings, not verifying the TLS certificate of `host` (`name`,
    /// `name:port` or `*`; see [`insecure_hosts`](Self::insecure_hosts)).
    #[must_use]
    pub fn with_insecure_host(mut self, host: impl Into<String>) -> Self {
        self.insecure_hosts.push(host.into());
        self
    }

    /// The same settings, also speaking plain HTTP to `host` (`name` or `name:port`).
    #[must_use]
    pub fn with_plain_http_host(mut self, host: impl Into<String>) -> Self {
        self.plain_http_hosts.push(host.into());
        self
    }

    /// The same settings, with or without plain HTTP for loopback hosts that do not
    /// speak TLS.
    #[must_use]
    pub fn with_plain_http_loopback(mut self, plain: bool) -> Self {
        self.plain_http_loopback = plain;
        self
    }

    /// The same settings with another connect time limit.
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The same settings with another stall timeout for response bodies.
    #[must_use]
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// The same settings with another time limit for response headers (see
    /// [`response_timeout`](Self::response_timeout)); `None` waits forever.
    #[must_use]
    pub fn with_response_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.response_timeout = timeout.into();
        self
    }

    /// The same settings with another pool idle timeout and idle connections per host.
    #[must_use]
    pub fn with_pool(mut self, idle_timeout: Duration, max_idle_per_host: usize) -> Self {
        self.pool_idle_timeout = idle_timeout;
        self.pool_max_idle_per_host = max_idle_per_host;
        self
    }

    /// The same settings with another default `User-Agent`.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// The same settings, offering HTTP/2 over TLS or not.
    #[must_use]
    pub fn with_http2(mut self, http2: bool) -> Self {
        self.http2 = http2;
        self
    }

    /// The same settings with other proxies.
    #[must_use]
    pub fn with_proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = proxy;
        self
    }

    /// The same settings, letting registries send the client to internal addresses or
    /// not (see [`allow_private_targets`](Self::allow_private_targets)).
    #[must_use]
    pub fn with_private_targets(mut self, allow: bool) -> Self {
        self.allow_private_targets = allow;
        self
    }
}
