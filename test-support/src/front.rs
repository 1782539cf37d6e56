//! A proxy in front of a real registry that answers some requests itself, as a
//! registry under load or with a bug does, and forwards the others unchanged. The
//! registry sees the proxy's `Host`, so the URLs it hands out (upload `Location`s) lead
//! back through the proxy.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

pub use crate::scripted::Reply;

/// A request as the proxy received it, before deciding what to do with it.
#[derive(Debug, Clone)]
pub struct Intercepted {
    /// The method.
    pub method: String,
    /// Path and query.
    pub target: String,
}

impl Intercepted {
    /// Whether this is an upload `POST` (`/v2/<name>/blobs/uploads/`, with any query).
    #[must_use]
    pub fn is_upload_post(&self) -> bool {
        self.method == "POST" && self.target.split('?').next().is_some_and(|p| p.ends_with("/blobs/uploads/"))
    }
}

type Rule = Arc<dyn Fn(&Intercepted) -> Option<Reply> + Send + Sync>;
type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// A running proxy.
#[derive(Debug, Clone)]
pub struct Front {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Front {
    /// A proxy to the plain-HTTP registry at `upstream` that answers a request itself
    /// when `rule` gives a reply for it, and forwards it otherwise.
    ///
    /// # Panics
    /// When no port of 127.0.0.1 can be bound.
    pub async fn start(
        upstream: SocketAddr,
        rule: impl Fn(&Intercepted) -> Option<Reply> + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let forward: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new()).build_http();
        let (rule, seen): (Rule, _) = (Arc::new(rule), Arc::clone(&log));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (rule, seen, forward) = (Arc::clone(&rule), Arc::clone(&seen), forward.clone());
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (rule, seen, forward) = (Arc::clone(&rule), Arc::clone(&seen), forward.clone());
                    async move {
                        Ok::<_, std::convert::Infallible>(relay(req, upstream, &rule, &seen, &forward).await)
                    }
                });
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self { addr, log }
    }

    /// `127.0.0.1:<port>`, as a registry host.
    #[must_use]
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Every request so far as `METHOD target`, with ` -> <status> (answered)` for those
    /// the proxy answered itself.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many requests the proxy answered itself.
    #[must_use]
    pub fn answered(&self) -> usize {
        self.requests().iter().filter(|r| r.ends_with("(answered)")).count()
    }
}

async fn relay(
    mut req: Request<Incoming>,
    upstream: SocketAddr,
    rule: &Rule,
    log: &Mutex<Vec<String>>,
    forward: &Client<HttpConnector, Incoming>,
) -> Response<ProxyBody> {
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let seen = Intercepted { method: req.method().to_string(), target: target.clone() };
    if let Some(reply) = rule(&seen) {
        let response = reply.into_response();
        let line = format!("{} {target} -> {} (answered)", seen.method, response.status().as_u16());
        log.lock().unwrap_or_else(PoisonError::into_inner).push(line);
        return response.map(|body| body.map_err(|never| match never {}).boxed());
    }
    log.lock().unwrap_or_else(PoisonError::into_inner).push(format!("{} {target}", seen.method));
    *req.uri_mut() = match format!("http://{upstream}{target}").parse() {
        Ok(uri) => uri,
        Err(_) => return text(StatusCode::BAD_REQUEST, "proxy: an unusable target"),
    };
    match forward.request(req).await {
        Ok(response) => response.map(BodyExt::boxed),
        Err(e) => text(StatusCode::BAD_GATEWAY, &format!("proxy: {e}")),
    }
}

fn text(status: StatusCode, message: &str) -> Response<ProxyBody> {
    let mut response =
        Response::new(Full::new(Bytes::from(message.to_owned())).map_err(|never| match never {}).boxed());
    *response.status_mut() = status;
    response
}
