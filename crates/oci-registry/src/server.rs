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

use crate::state::State;
use crate::storage::{MemoryStorage, Storage};
use crate::{Error, ErrorKind, Limits, Result};

/// How long a shutdown waits for requests in flight before it closes their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A running registry: its address, and a graceful [`shutdown`](Self::shutdown).
/// Dropped without one, it stops accepting connections at once.
#[derive(Debug)]
pub struct Registry {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// How a [`Registry`] is made: [`Registry::builder`], then [`bind`](Self::bind).
#[derive(Debug, Default)]
pub struct RegistryBuilder {
    storage: Option<Arc<dyn Storage>>,
    limits: Limits,
    access_log: bool,
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

    /// `http://host:port`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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

    /// The limits (see [`Limits`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Logs one line per request at `info` (target `oci_registry::access`); off by
    /// default, when requests are logged at `debug`.
    #[must_use]
    pub fn access_log(mut self, on: bool) -> Self {
        self.access_log = on;
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
        let state = Arc::new(State::new(storage, self.limits));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, state, stopped, self.access_log));
        Ok(Registry { addr, stop, task: Some(task) })
    }
}

async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut stopped: watch::Receiver<bool>,
    access_log: bool,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.limits.body_stall_timeout)
        .max_buf_size(state.limits.max_header_bytes);
    builder.http2().max_header_list_size(u32::try_from(state.limits.max_header_bytes).unwrap_or(u32::MAX));
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
        let state = state.clone();
        let service = service_fn(move |request| {
            let state = state.clone();
            async move { Ok::<_, std::convert::Infallible>(serve_one(state, request, peer, access_log).await) }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
        });
    }
    sweeper.abort();
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period were closed");
    }
}

/// One request in its span: method, path, status, bytes, duration.
async fn serve_one(
    state: Arc<State>,
    request: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
    access_log: bool,
) -> http::Response<crate::body::Body> {
    let started = Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let span = tracing::debug_span!("request", %method, %path, %peer);
    let response = crate::api::handle(state, request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let bytes = http_body::Body::size_hint(response.body()).exact().unwrap_or(0);
    let micros = started.elapsed().as_micros();
    let _entered = span.enter();
    if access_log {
        tracing::info!(target: "oci_registry::access", %method, %path, status, bytes, micros, "request");
    } else {
        tracing::debug!(target: "oci_registry::access", %method, %path, status, bytes, micros, "request");
    }
    response
}
