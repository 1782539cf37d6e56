//! Connecting: TCP to the registry or to its proxy (with a `CONNECT` tunnel for
//! `https://`), and a time limit on the whole connect, TLS handshake included.

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
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower_service::Service;

use super::proxy::Proxies;

pub(super) type BoxError = Box<dyn StdError + Send + Sync>;
type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, BoxError>> + Send>>;

/// Connects to the destination, or to the proxy for it.
#[derive(Clone)]
pub(super) struct Connector {
    tcp: HttpConnector,
    proxies: Arc<Proxies>,
}

impl Connector {
    pub(super) fn new(proxies: Arc<Proxies>) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        Self { tcp, proxies }
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
        Box::pin(async move {
            let Some(proxy) = proxy else {
                let io = tcp.call(dst).await?;
                return Ok(Conn { io, proxied: false });
            };
            tracing::debug!(proxy = %proxy.uri, "connecting through a proxy");
            let mut io = tcp
                .call(proxy.uri.clone())
                .await
                .map_err(|e| io::Error::other(format!("connecting to the proxy {}: {e}", proxy.uri)))?;
            if dst.scheme_str() == Some("https") {
                tunnel(io.inner_mut(), &dst, proxy.authorization.as_ref()).await?;
                Ok(Conn { io, proxied: false })
            } else {
                Ok(Conn { io, proxied: true })
            }
        })
    }
}

/// Asks the proxy on `stream` for a tunnel to `dst`'s host and port.
async fn tunnel(stream: &mut TcpStream, dst: &Uri, authorization: Option<&HeaderValue>) -> io::Result<()> {
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

/// A connection to the destination or to a proxy.
pub(super) struct Conn {
    io: TokioIo<TcpStream>,
    /// Requests on this connection go to an HTTP proxy, in absolute form.
    proxied: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
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
