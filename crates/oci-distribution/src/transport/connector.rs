//! Connecting: TCP to the registry or to its proxy, and a time limit on the whole
//! connect, TLS handshake included. Through an HTTP proxy (over TCP or TLS), `https://`
//! goes in a `CONNECT` tunnel and `http://` in absolute form; through a SOCKS5 proxy,
//! both go in a tunnel.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tower_service::Service;

use super::proxy::{Proxies, Proxy, ProxyKind};
use super::socks::{self, Target};
use crate::targets::{Refused, Targets, authority_key};

pub(super) type BoxError = Box<dyn StdError + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// Connects to the destination, or to the proxy for it.
#[derive(Clone)]
pub(super) struct Connector {
    tcp: HttpConnector,
    proxies: Arc<Proxies>,
    /// TLS to `https://` proxies.
    proxy_tls: TlsConnector,
    /// Told the address of every direct connection; refuses those a registry must not
    /// send the client to.
    targets: Arc<Targets>,
}

impl Connector {
    /// A connector using `proxies`; `proxy_tls` is the TLS configuration for `https://`
    /// proxies (HTTP/1.1 by ALPN).
    pub(super) fn new(
        proxies: Arc<Proxies>,
        proxy_tls: Arc<rustls::ClientConfig>,
        targets: Arc<Targets>,
    ) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        Self { tcp, proxies, proxy_tls: TlsConnector::from(proxy_tls), targets }
    }
}

impl Service<Uri> for Connector {
    type Response = Conn;
    type Error = BoxError;
    type Future = BoxFuture<Conn>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let proxy = self.proxies.for_uri(&dst).cloned();
        let mut tcp = self.tcp.clone();
        let tls = self.proxy_tls.clone();
        let targets = Arc::clone(&self.targets);
        Box::pin(async move {
            let Some(proxy) = proxy else {
                let key = authority_key(&dst);
                let io = tcp.call(dst).await?;
                if let (Some(key), Ok(peer)) = (key, io.inner().peer_addr()) {
                    targets.connected(&key, peer.ip())?;
                }
                return Ok(Conn::Tcp { io, proxied: false });
            };
            tracing::debug!(proxy = ?proxy, "connecting through a proxy");
            let io = tcp
                .call(proxy.uri.clone())
                .await
                .map_err(|e| io::Error::other(format!("connecting to the proxy {proxy:?}: {e}")))?;
            through(io, &proxy, &tls, &dst, &targets).await.map_err(|e| -> BoxError {
                let (kind, message) = (e.kind(), format!("through the proxy {proxy:?}: {e}"));
                match e.into_inner() {
                    // The policy's refusal keeps its type: it is not retried.
                    Some(inner) if inner.is::<Refused>() => inner,
                    _ => io::Error::new(kind, message).into(),
                }
            })
        })
    }
}

/// Makes `io`, a connection to `proxy`, a connection for requests to `dst`; `tls` is for
/// an `https://` proxy, `targets` checks the addresses resolved here (`socks5://`).
async fn through(
    mut io: TokioIo<TcpStream>,
    proxy: &Proxy,
    tls: &TlsConnector,
    dst: &Uri,
    targets: &Targets,
) -> io::Result<Conn> {
    let https = dst.scheme_str() == Some("https");
    match proxy.kind {
        ProxyKind::Http => {
            if https {
                tunnel(io.inner_mut(), dst, proxy.authorization.as_ref()).await?;
            }
            Ok(Conn::Tcp { io, proxied: !https })
        }
        ProxyKind::Https => {
            let host = proxy.uri.host().unwrap_or_default();
            let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
                .map_err(|e| io::Error::other(format!("{host:?} is not a TLS server name: {e}")))?;
            let mut stream = tls
                .connect(name, io.into_inner())
                .await
                .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake: {e}")))?;
            if https {
                tunnel(&mut stream, dst, proxy.authorization.as_ref()).await?;
            }
            Ok(Conn::Tls { io: Box::new(TokioIo::new(stream)), proxied: !https })
        }
        ProxyKind::Socks5 { remote_dns } => {
            let host = dst.host().ok_or_else(|| io::Error::other("the URL has no host"))?;
            let port = dst.port_u16().unwrap_or(if https { 443 } else { 80 });
            let target = Target::resolve(host, port, remote_dns).await?;
            // Resolved here: the address is known before the proxy connects to it.
            if let (Target::Addr(addr), Some(key)) = (&target, authority_key(dst)) {
                targets.connected(&key, addr.ip()).map_err(io::Error::other)?;
            }
            socks::connect(io.inner_mut(), &target, proxy.socks_credentials.as_ref()).await?;
            Ok(Conn::Tcp { io, proxied: false })
        }
    }
}

/// Asks the proxy on `stream` for a tunnel to `dst`'s host and port.
async fn tunnel<S>(stream: &mut S, dst: &Uri, authorization: Option<&HeaderValue>) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let host = dst.host().ok_or_else(|| io::Error::other("the URL has no host"))?;
    let port = dst.port_u16().unwrap_or(443);
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
    if let Some(value) = authorization {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(value.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).await?;

    let mut response = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    let head_len = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::other("the proxy closed the connection before answering CONNECT"));
        }
        response.extend_from_slice(&chunk[..n]);
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if response.len() > 16 * 1024 {
            return Err(io::Error::other("the proxy's answer to CONNECT is too long"));
        }
    };
    if head_len != response.len() {
        return Err(io::Error::other("the proxy sent data before the tunnel was used"));
    }
    let status_line = response.split(|&b| b == b'\r').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    let status = status_line.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok());
    match status {
        Some(200..=299) if status_line.starts_with("HTTP/1.") => Ok(()),
        Some(407) => Err(io::Error::other(format!(
            "the proxy requires authentication ({status_line}): give credentials in the proxy URL"
        ))),
        _ => Err(io::Error::other(format!("the proxy refused CONNECT {authority}: {status_line}"))),
    }
}

/// A connection to the destination or to a proxy: plain TCP, or TLS to an `https://`
/// proxy (with, for an `https://` destination, the registry's TLS inside it).
pub(super) enum Conn {
    /// TCP to the destination, an HTTP proxy or a SOCKS tunnel.
    Tcp {
        io: TokioIo<TcpStream>,
        /// Requests on this connection go to an HTTP proxy, in absolute form.
        proxied: bool,
    },
    /// TLS to an `https://` proxy.
    Tls {
        io: Box<TokioIo<TlsStream<TcpStream>>>,
        /// Requests on this connection go to the proxy, in absolute form.
        proxied: bool,
    },
}

/// Runs `$body` with `$io` bound to the pinned stream of either variant.
macro_rules! either {
    ($conn:expr, $io:ident => $body:expr) => {
        match $conn.get_mut() {
            Conn::Tcp { io, .. } => {
                let $io = Pin::new(io);
                $body
            }
            Conn::Tls { io, .. } => {
                let $io = Pin::new(&mut **io);
                $body
            }
        }
    };
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        match self {
            Self::Tcp { io, proxied } => io.connected().proxy(*proxied),
            Self::Tls { io, proxied } => io.inner().get_ref().0.connected().proxy(*proxied),
        }
    }
}

impl Read for Conn {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        either!(self, io => io.poll_read(cx, buf))
    }
}

impl Write for Conn {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        either!(self, io => io.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, io => io.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        either!(self, io => io.poll_shutdown(cx))
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp { io, .. } => io.is_write_vectored(),
            Self::Tls { io, .. } => io.is_write_vectored(),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        either!(self, io => io.poll_write_vectored(cx, bufs))
    }
}

/// Bounds the time a connector may take, TLS handshake and proxy tunnel included.
#[derive(Clone)]
pub(super) struct WithTimeout<S> {
    pub(super) inner: S,
    pub(super) timeout: Duration,
}

impl<S> Service<Uri> for WithTimeout<S>
where
    S: Service<Uri>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let connecting = self.inner.call(dst);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(Box::new(ConnectTimeout(timeout)) as BoxError),
            }
        })
    }
}

/// The connect time limit was reached; found in an error's source chain to tell a
/// timeout from another connection failure.
#[derive(Debug)]
pub(super) struct ConnectTimeout(pub(super) Duration);

impl fmt::Display for ConnectTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connecting took longer than {:?}", self.0)
    }
}

impl StdError for ConnectTimeout {}
