//! A scripted HTTP/1.1 and HTTP/2 server on 127.0.0.1: a handler chooses each answer
//! from the request, and every request is recorded, for behaviours a real registry does
//! not have (wrong digests, the referrers API, answers that change from one request to
//! the next).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The method (`GET`).
    pub method: String,
    /// Path and query (`/v2/a/tags/list?n=2`).
    pub target: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// How many requests came before this one.
    pub index: usize,
}

impl Seen {
    /// The path of the target, without the query.
    #[must_use]
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(self.target.as_str(), |(path, _)| path)
    }

    /// The query of the target, `""` without one.
    #[must_use]
    pub fn query(&self) -> &str {
        self.target.split_once('?').map_or("", |(_, query)| query)
    }

    /// The value of header `name`, or `""`.
    #[must_use]
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// What the server answers: a status, headers and a body.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
    delay: Duration,
}

impl Reply {
    /// The answer as an HTTP response.
    #[must_use]
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name.as_bytes()), value.parse()) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }

    /// An answer of `status` with `body`.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self { status, headers: Vec::new(), body: body.into(), delay: Duration::ZERO }
    }

    /// The same answer, sent `delay` after the request came (other requests are
    /// answered meanwhile).
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The same answer with header `name: value` added.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A running scripted server; it stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct Scripted {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Scripted {
    /// Starts a server answering each request with `handler`.
    ///
    /// # Panics
    /// When no port of 127.0.0.1 can be bound.
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port on 127.0.0.1");
        let addr = listener.local_addr().expect("the server's address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (handler, log): (Handler, _) = (Arc::new(handler), Arc::clone(&seen));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                    async move { Ok::<_, std::convert::Infallible>(answer(request, &handler, &log).await) }
                });
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, seen }
    }

    /// The server's address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>`, as a registry host.
    #[must_use]
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port><path>`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `METHOD path?query` of every request so far.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        self.seen().iter().map(|s| format!("{} {}", s.method, s.target)).collect()
    }

    /// Every request so far.
    #[must_use]
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

async fn answer(
    request: Request<hyper::body::Incoming>,
    handler: &Handler,
    log: &Mutex<Vec<Seen>>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
    let seen = {
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = Seen {
            method: parts.method.to_string(),
            target: parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
            headers: parts.headers,
            body,
            index: log.len(),
        };
        log.push(seen.clone());
        seen
    };
    let reply = handler(&seen);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    reply.into_response()
}
