//! The peers of the transport's tests: HTTP/1.1 and HTTP/2 servers over TCP or TLS,
//! a CA with server and client certificates made for the run, and a CONNECT proxy over
//! TCP or TLS.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use oci_test_support::pki::{Ca, Usage};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

pub(crate) type TestBody = BoxBody<Bytes, Infallible>;
pub(crate) type Handler =
    Arc<dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<TestBody>> + Send>> + Send + Sync>;

pub(crate) fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<TestBody>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

pub(crate) fn full(bytes: impl Into<Bytes>) -> TestBody {
    Full::new(bytes.into()).boxed()
}

pub(crate) fn reply(status: u16, body: impl Into<Bytes>) -> Response<TestBody> {
    Response::builder().status(status).body(full(body)).unwrap()
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) connections: Arc<AtomicUsize>,
}

impl Server {
    pub(crate) fn url(&self, scheme: &str, path: &str) -> String {
        format!("{scheme}://{}{path}", self.addr)
    }
}

/// An HTTP/1.1 and HTTP/2 server (over TLS when `tls` is given) that drops its first
/// `drop_first` connections unanswered.
pub(crate) async fn serve(tls: Option<Arc<ServerConfig>>, drop_first: usize, handler: Handler) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            if counter.fetch_add(1, SeqCst) < drop_first {
                drop(tcp);
                continue;
            }
            let (handler, tls) = (Arc::clone(&handler), tls.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = Arc::clone(&handler);
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let builder = auto::Builder::new(TokioExecutor::new());
                match tls {
                    None => drop(builder.serve_connection(TokioIo::new(tcp), service).await),
                    Some(tls) => {
                        if let Ok(stream) = tokio_rustls::TlsAcceptor::from(tls).accept(tcp).await {
                            drop(builder.serve_connection(TokioIo::new(stream), service).await);
                        }
                    }
                }
            });
        }
    });
    Server { addr, connections }
}

pub(crate) struct Pki {
    pub(crate) ca_pem: String,
    pub(crate) other_ca_pem: String,
    pub(crate) server: Arc<ServerConfig>,
    pub(crate) server_http1: Arc<ServerConfig>,
    pub(crate) server_mtls: Arc<ServerConfig>,
    pub(crate) client_cert_pem: String,
    pub(crate) client_key_pem: String,
}

/// A CA, a server certificate for 127.0.0.1, localhost, registry.test and 192.0.2.1, and
/// a client certificate, made once per run. `registry.test` and 192.0.2.1 (a documentation
/// address) are never connected to: the test proxies map them to 127.0.0.1.
pub(crate) fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = Ca::new("transport test CA");
        let names = ["127.0.0.1", "localhost", "registry.test", "192.0.2.1"];
        let server = ca.leaf("transport test server", &names, Usage::Server);
        let client = ca.leaf("client.test", &["client.test"], Usage::Client);
        let ca_pem = ca.pem().to_owned();
        let server_key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes()).unwrap();
        let chain = vec![CertificateDer::from_pem_slice(server.cert_pem.as_bytes()).unwrap()];
        let key = || server_key.clone_key();
        let config = |alpn: &[&[u8]], mtls: bool| {
            let builder = ServerConfig::builder();
            let builder = if mtls {
                let mut roots = RootCertStore::empty();
                roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
                builder.with_client_cert_verifier(
                    WebPkiClientVerifier::builder(Arc::new(roots)).build().unwrap(),
                )
            } else {
                builder.with_no_client_auth()
            };
            let mut config = builder.with_single_cert(chain.clone(), key()).unwrap();
            config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
            Arc::new(config)
        };
        Pki {
            other_ca_pem: Ca::new("another CA").pem().to_owned(),
            server: config(&[b"h2", b"http/1.1"], false),
            server_http1: config(&[b"http/1.1"], false),
            server_mtls: config(&[b"h2", b"http/1.1"], true),
            ca_pem,
            client_cert_pem: client.cert_pem,
            client_key_pem: client.key_pem,
        }
    })
}

pub(crate) fn echo() -> Handler {
    handler(|req: Request<Incoming>| async move {
        let agent =
            req.headers().get("user-agent").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        reply(200, format!("{} {} {:?} {agent}", req.method(), req.uri().path(), req.version()))
    })
}
/// A body that sends one chunk of a longer announced length, then nothing.
pub(crate) struct Stall(pub(crate) bool);

impl http_body::Body for Stall {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Pending
        } else {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"partial")))))
        }
    }
}

/// A proxy that records each request line and its `Proxy-Authorization`, tunnels
/// CONNECT to the requested port on 127.0.0.1 and answers other requests itself.
pub(crate) async fn proxy() -> (SocketAddr, Log) {
    proxy_over(None).await
}

/// [`proxy`], over TLS when `tls` is given; then each record starts with the ALPN
/// protocol negotiated (`tls http/1.1 | CONNECT ...`).
pub(crate) async fn proxy_over(tls: Option<Arc<ServerConfig>>) -> (SocketAddr, Log) {
    listen(move |client, log| {
        let tls = tls.clone();
        async move {
            let Some(tls) = tls else { return proxy_connection(client, String::new(), &log).await };
            let Ok(stream) = tokio_rustls::TlsAcceptor::from(tls).accept(client).await else { return };
            let alpn = stream.get_ref().1.alpn_protocol().map(String::from_utf8_lossy).unwrap_or_default();
            let prefix = format!("tls {alpn} | ");
            proxy_connection(stream, prefix, &log).await;
        }
    })
    .await
}

/// The log a test server keeps of what its clients asked for.
pub(crate) type Log = Arc<Mutex<Vec<String>>>;

/// Listens on 127.0.0.1 and serves each connection with `serve` on its own task, giving
/// it the log the server keeps; returns the address and that log.
pub(crate) async fn listen<F, Fut>(serve: F) -> (SocketAddr, Log)
where
    F: Fn(TcpStream, Log) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Log::default();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(serve(client, Arc::clone(&log)));
        }
    });
    (addr, seen)
}

async fn proxy_connection<S>(mut client: S, prefix: String, log: &Mutex<Vec<String>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if client.read(&mut byte).await.unwrap() == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let line = head.lines().next().unwrap().to_owned();
    let auth = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase().starts_with("proxy-authorization:").then(|| l[20..].trim().to_owned())
        })
        .unwrap_or_default();
    log.lock().unwrap().push(format!("{prefix}{line} | {auth}"));
    if let Some(target) = line.strip_prefix("CONNECT ") {
        let port = target.split_whitespace().next().unwrap().rsplit_once(':').unwrap().1;
        let mut upstream = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).await.unwrap();
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    } else {
        let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{line}", line.len());
        client.write_all(answer.as_bytes()).await.unwrap();
        let _ = client.shutdown().await;
    }
}
