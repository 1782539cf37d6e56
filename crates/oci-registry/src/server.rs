//! Building a registry, binding it, and stopping it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use crate::Sparse;
use crate::auth::Auth;
use crate::gc::{GcOptions, GcReport};
use crate::state::State;
use crate::storage::{MemoryStorage, Storage};
use crate::tls::TlsConfig;
use crate::{Error, ErrorKind, Limits, Result};

/// How long a shutdown waits for requests in flight before it closes their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running registry: its address, and a graceful [`shutdown`](Self::shutdown).
/// Dropped without one, it stops accepting connections at once.
#[derive(Debug)]
pub struct Registry {
    addr: SocketAddr,
    tls: bool,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// How a [`Registry`] is made: [`Registry::builder`], then [`bind`](Self::bind).
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    storage: Option<Arc<dyn Storage>>,
    limits: Limits,
    sparse: Sparse,
    auth: Auth,
    tls: Option<TlsConfig>,
    gc: Option<(Duration, GcOptions)>,
    access_log: bool,
    #[cfg(feature = "faults")]
    faults: Option<crate::faults::Faults>,
}

impl Registry {
    /// A builder: in-memory storage and default limits unless told otherwise.
    #[must_use]
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::default()
    }

    /// The address it listens on.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port`, as a reference names the registry (`127.0.0.1:5000/repo:tag`).
    #[must_use]
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://host:port`, or `https://` when it serves TLS.
    #[must_use]
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Collects garbage now (see [`crate::gc`]), on the blocking pool.
    pub async fn gc(&self, options: GcOptions) -> Result<GcReport> {
        collect(&self.state, options).await
    }

    /// Stops accepting connections, lets requests in flight finish (up to 10 s), and
    /// returns once every connection is closed.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl RegistryBuilder {
    /// Where repositories live ([`DiskStorage`](crate::DiskStorage),
    /// [`MemoryStorage`], or a store of the caller's).
    #[must_use]
    pub fn storage(mut self, storage: impl Storage) -> Self {
        self.storage = Some(Arc::new(storage));
        self
    }

    /// How requests are authenticated (see [`Auth`]); none by default.
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Serves TLS (HTTP/2 and HTTP/1.1 by ALPN) instead of plain HTTP.
    #[must_use]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Collects garbage every `every` with `options`, while it serves (see
    /// [`crate::gc`]); off by default.
    #[must_use]
    pub fn gc_every(mut self, every: Duration, options: GcOptions) -> Self {
        self.gc = Some((every, options));
        self
    }

    /// The limits (see [`Limits`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether manifests may name content their repository lacks (see [`Sparse`]);
    /// refused by default.
    #[must_use]
    pub fn sparse(mut self, sparse: Sparse) -> Self {
        self.sparse = sparse;
        self
    }

    /// Logs one line per request at `info` (target `oci_registry::access`); off by
    /// default, when requests are logged at `debug`.
    #[must_use]
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
        self
    }

    /// Misbehaves as `faults` say (see [`crate::faults`]; feature `faults`).
    #[cfg(feature = "faults")]
    #[must_use]
    pub fn faults(mut self, faults: crate::faults::Faults) -> Self {
        self.faults = Some(faults);
        self
    }

    /// Binds `addr` (`127.0.0.1:0` for a free port) and serves on the current tokio
    /// runtime.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<Registry> {
        let listener =
            TcpListener::bind(addr).await.map_err(|e| Error::io("binding the registry's address", e))?;
        self.serve(listener)
    }

    /// Serves on a listener the caller bound.
    pub fn serve(self, listener: TcpListener) -> Result<Registry> {
        let addr = listener.local_addr().map_err(|e| Error::io("reading the listener's address", e))?;
        if self.limits.max_header_bytes < 8192 {
            return Err(Error::new(ErrorKind::Config, "Limits::max_header_bytes must be at least 8192"));
        }
        let storage = self.storage.unwrap_or_else(|| Arc::new(MemoryStorage::new()));
        let tls = self.tls.map(|t| tokio_rustls::TlsAcceptor::from(t.0));
        #[cfg_attr(not(feature = "faults"), allow(unused_mut))]
        let mut state = State::new(storage, self.limits, self.sparse, self.auth, tls.is_some());
        #[cfg(feature = "faults")]
        if let Some(faults) = self.faults {
            let storage_host = if faults.redirects() {
                let plain = State::new(
                    state.storage.clone(),
                    state.limits.clone(),
                    state.sparse,
                    Auth::default(),
                    false,
                );
                Some(crate::faults::StorageHost::start(Arc::new(plain), faults.clone())?)
            } else {
                None
            };
            state.faults = Some((faults, storage_host));
        }
        let state = Arc::new(state);
        let (stop, stopped) = watch::channel(false);
        let serving = tls.is_some();
        let collector =
            self.gc.map(|(every, options)| tokio::spawn(collect_every(state.clone(), every, options)));
        let task =
            tokio::spawn(accept_loop(listener, state.clone(), stopped, tls, self.access_log, collector));
        Ok(Registry { addr, tls: serving, state, stop, task: Some(task) })
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    access_log: bool,
    collector: Option<JoinHandle<()>>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.limits.body_stall_timeout)
        .max_buf_size(state.limits.max_header_bytes);
    builder.http2().max_header_list_size(u32::try_from(state.limits.max_header_bytes).unwrap_or(u32::MAX));
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    let sweeper = tokio::spawn(crate::expiry::sweep(state.clone()));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let state_timeout = state.limits.body_stall_timeout;
        let state = state.clone();
        let service = service_fn(move |request| {
            let state = state.clone();
            async move { serve_one(state, request, peer, access_log).await }
        });
        let (builder, watcher, tls) = (builder.clone(), graceful.watcher(), tls.clone());
        let handshake_timeout = state_timeout;
        tokio::spawn(async move {
            let ended = match tls {
                None => {
                    watcher.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned()).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            watcher
                                .watch(builder.serve_connection(TokioIo::new(stream), service).into_owned())
                                .await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
        });
    }
    sweeper.abort();
    if let Some(collector) = collector {
        collector.abort();
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period were closed");
    }
}

/// A collection, then the referrers index told what it removed.
async fn collect(state: &Arc<State>, options: GcOptions) -> Result<GcReport> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let report = state.storage.gc(&options)?;
        for (repository, digest) in &report.removed {
            state.referrers.removed(repository, digest);
        }
        Ok(report)
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Io, "the collection failed").with_source(e))?
}

async fn collect_every(state: Arc<State>, every: Duration, options: GcOptions) {
    loop {
        tokio::time::sleep(every).await;
        match collect(&state, options.clone()).await {
            Ok(report) if report.blobs_removed + report.manifests_removed + report.content_removed > 0 => {
                tracing::info!(?report, "garbage collected");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "collecting garbage"),
        }
    }
}

/// The connection is closed with no answer (a fault rule said so).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by a fault rule")
    }
}

impl std::error::Error for Dropped {}

/// One request in its span: method, path, status, bytes, duration.
async fn serve_one(
    state: Arc<State>,
    #[cfg_attr(not(feature = "faults"), allow(unused_mut))] mut request: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    access_log: bool,
) -> std::result::Result<http::Response<crate::body::Body>, Dropped> {
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let span = tracing::debug_span!("request", %method, %path, %peer);
    #[cfg(feature = "faults")]
    let (fault, host) = {
        use crate::faults::{Before, before};
        let host = request.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
        let host = host.or_else(|| request.uri().authority().map(ToString::to_string)).unwrap_or_default();
        match state.faults.as_ref().map(|(faults, _)| before(faults, &mut request)) {
            None | Some(Before::Handle(None)) => (None, host),
            Some(Before::Handle(Some(fault))) => (Some(fault), host),
            Some(Before::Answer(response)) => return Ok(response),
            Some(Before::Reset) => return Err(Dropped),
        }
    };
    let response = crate::api::handle(state.clone(), request).instrument(span.clone()).await;
    #[cfg(feature = "faults")]
    let response = match (&fault, &state.faults) {
        (Some(fault), Some((faults, storage))) => {
            crate::faults::after((fault, faults), response, &host, &path, storage.as_ref()).await
        }
        _ => response,
    };
    let status = response.status().as_u16();
    let bytes = http_body::Body::size_hint(response.body()).exact().unwrap_or(0);
    let micros = started.elapsed().as_micros();
    let _entered = span.enter();
    if access_log {
        tracing::info!(target: "oci_registry::access", %method, %path, status, bytes, micros, "request");
    } else {
        tracing::debug!(target: "oci_registry::access", %method, %path, status, bytes, micros, "request");
    }
    Ok(response)
}
