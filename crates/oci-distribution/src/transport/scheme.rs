//! Which scheme a registry host is spoken to with: `http` for the hosts configured as
//! plain, `https` for every other host but loopback ones, and for loopback hosts what
//! a probe finds, once per host: TLS when the host answers a TLS handshake, else plain
//! HTTP (a development registry on `localhost` serves either).

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio::sync::OnceCell;
use tokio_rustls::TlsConnector;

use super::split_host;
use crate::url::is_loopback_host;

/// The longest a probe waits for a handshake (or the connection) to get anywhere; a
/// loopback server answers a TLS `ClientHello`, or refuses it, at once.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// The scheme of each registry host.
pub(super) struct Schemes {
    /// Hosts spoken to over plain HTTP, with a port or for any port.
    plain_hosts: Vec<(String, Option<u16>)>,
    /// Whether loopback hosts may be plain HTTP (probed) rather than always HTTPS.
    plain_loopback: bool,
    /// The TLS configuration a probe's handshake uses (the transport's).
    tls: TlsConnector,
    /// The time limit of a probe.
    limit: Duration,
    /// What the probe of each loopback host found, by `host[:port]` in lowercase.
    probed: Mutex<HashMap<String, Arc<OnceCell<&'static str>>>>,
}

impl std::fmt::Debug for Schemes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schemes")
            .field("plain_hosts", &self.plain_hosts)
            .field("plain_loopback", &self.plain_loopback)
            .finish_non_exhaustive()
    }
}

impl Schemes {
    pub(super) fn new(
        plain_hosts: Vec<(String, Option<u16>)>,
        plain_loopback: bool,
        tls: TlsConnector,
        connect_timeout: Duration,
    ) -> Self {
        let limit = connect_timeout.min(PROBE_LIMIT);
        Self { plain_hosts, plain_loopback, tls, limit, probed: Mutex::default() }
    }

    /// The scheme configuration decides for `host`, or `None` for a loopback host to probe.
    pub(super) fn configured(&self, host: &str) -> Option<&'static str> {
        let (name, port) = split_host(host.trim());
        let port = port.and_then(|p| p.parse::<u16>().ok());
        if self.plain_hosts.iter().any(|(h, p)| h.eq_ignore_ascii_case(name) && (p.is_none() || *p == port)) {
            return Some("http");
        }
        if self.plain_loopback && is_loopback_host(name) {
            return None;
        }
        Some("https")
    }

    /// The probe result of `host`, filled in once a probe got through.
    fn cell(&self, host: &str) -> Arc<OnceCell<&'static str>> {
        let mut probed = self.probed.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(probed.entry(host.trim().to_ascii_lowercase()).or_default())
    }

    #[cfg(test)]
    pub(super) fn probed_cell(&self, host: &str) -> Arc<OnceCell<&'static str>> {
        self.cell(host)
    }

    /// The scheme for `host` (`name[:port]`, as in a reference), probing a loopback host
    /// the first time. A host that cannot be reached is not remembered: its requests go
    /// over plain HTTP (and fail to connect, saying so) until a probe gets through.
    pub(super) async fn scheme(&self, host: &str) -> &'static str {
        if let Some(scheme) = self.configured(host) {
            return scheme;
        }
        match self.cell(host).get_or_try_init(|| self.probe(host)).await {
            Ok(scheme) => scheme,
            Err(Unreachable) => "http",
        }
    }

    /// Connects to `host` and tries a TLS handshake.
    async fn probe(&self, host: &str) -> Result<&'static str, Unreachable> {
        let (name, port) = split_host(host.trim());
        let port = port.and_then(|p| p.parse::<u16>().ok()).unwrap_or(443);
        let tcp = match tokio::time::timeout(self.limit, TcpStream::connect((name, port))).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(e)) => {
                tracing::debug!(host, error = %e, "probing a loopback registry: no connection");
                return Err(Unreachable);
            }
            Err(_) => return Err(Unreachable),
        };
        let Ok(server_name) = ServerName::try_from(name.to_owned()) else { return Ok("http") };
        let scheme = match tokio::time::timeout(self.limit, self.tls.connect(server_name, tcp)).await {
            Ok(Ok(_)) => "https",
            Ok(Err(e)) if speaks_tls(&e) => "https",
            Ok(Err(_)) | Err(_) => "http",
        };
        tracing::debug!(host, scheme, "probed a loopback registry");
        Ok(scheme)
    }
}

/// The probe could not connect at all.
struct Unreachable;

/// Whether a failed handshake still shows a TLS server (a certificate it does not
/// trust, an alert): anything but a peer that sent no TLS record or hung up.
fn speaks_tls(e: &io::Error) -> bool {
    if matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    ) {
        return false;
    }
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|tls| !matches!(tls, rustls::Error::InvalidMessage(_)))
}
