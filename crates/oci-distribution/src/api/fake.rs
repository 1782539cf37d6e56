//! A scripted registry for the endpoint unit tests: an HTTP/1.1 server on 127.0.0.1
//! that answers with a handler and records the requests, for behaviours the real
//! registry of the end-to-end tests does not have (the referrers API, tag paging,
//! opaque page tokens, wrong digests).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use oci_reference::{Reference, Repository};

use crate::auth::AuthConfig;
use crate::{Client, TransportConfig};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) method: String,
    /// Path and query.
    pub(super) target: String,
    pub(super) accept: String,
    pub(super) body: Bytes,
}

/// What the server answers.
pub(super) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Reply {
    pub(super) fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self { status, headers: Vec::new(), body: body.into() }
    }

    pub(super) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

pub(super) struct Fake {
    pub(super) addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    pub(super) async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (handler, log): (Handler, _) = (Arc::new(handler), seen.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, log) = (handler.clone(), log.clone());
                let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    let (handler, log) = (handler.clone(), log.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body.collect().await.map(http_body_util::Collected::to_bytes);
                        let accept = parts.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok());
                        let seen = Seen {
                            method: parts.method.to_string(),
                            target: parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default(),
                            accept: accept.unwrap_or_default().to_owned(),
                            body: body.unwrap_or_default(),
                        };
                        log.lock().unwrap().push(seen.clone());
                        let reply = handler(&seen);
                        let mut response = Response::builder().status(reply.status);
                        for (name, value) in reply.headers {
                            response = response.header(name, value);
                        }
                        Ok::<_, std::convert::Infallible>(response.body(Full::new(reply.body)).unwrap())
                    }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Self { addr, seen }
    }

    /// A client for the server: plain HTTP (loopback), anonymous, default options
    /// changed by `options`.
    pub(super) fn client(&self, options: impl FnOnce(&mut crate::ClientOptions)) -> Client {
        let mut o = crate::ClientOptions::default();
        options(&mut o);
        Client::builder()
            .transport(TransportConfig::default().with_plain_http_host(self.addr.to_string()))
            .auth(AuthConfig::anonymous())
            .options(o)
            .build()
            .unwrap()
    }

    /// `rest` (`repo[:tag|@digest]`) on this registry.
    pub(super) fn reference(&self, rest: &str) -> Reference {
        Reference::parse_strict(&format!("{}/{rest}", self.addr)).unwrap()
    }

    /// The repository `name` on this registry.
    pub(super) fn repository(&self, name: &str) -> Repository {
        Repository::parse_strict(&format!("{}/{name}", self.addr)).unwrap()
    }

    /// `METHOD path?query` of every request so far.
    pub(super) fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().iter().map(|s| format!("{} {}", s.method, s.target)).collect()
    }

    /// Every request so far.
    pub(super) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}
