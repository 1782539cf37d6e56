//! The test peers: scripted servers on 127.0.0.1 that record what they see, and a plain
//! hyper client standing in for the transport.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Request, Response};
use http_body_util::{BodyExt as _, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use oci_test_support::scripted::Scripted;

use crate::exchange::{BoxFuture, Exchange};
use crate::{Body, Error, ErrorKind, Result};

/// The transport's stand-in: hyper's legacy client over plain HTTP.
pub(super) struct TestExchange(Client<HttpConnector, Body>);

impl Exchange for TestExchange {
    fn exchange(&self, request: Request<Body>, limit: usize) -> BoxFuture<'_, Result<Response<Bytes>>> {
        Box::pin(async move {
            let response = self
                .0
                .request(request)
                .await
                .map_err(|e| Error::new(ErrorKind::Connect, "test").with_source(e))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| Error::new(ErrorKind::SizeMismatch, "test body").with_source(e))?;
            Ok(Response::from_parts(parts, body.to_bytes()))
        })
    }
}

pub(super) fn exchange() -> Arc<TestExchange> {
    Arc::new(TestExchange(Client::builder(TokioExecutor::new()).build_http()))
}

/// A request as a test server saw it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: String,
    pub(super) authorization: String,
    pub(super) content_type: String,
    pub(super) body: String,
}

/// What a test server answers.
pub(super) type Reply = oci_test_support::scripted::Reply;

/// A server on 127.0.0.1 that records every request (`oci_test_support`'s scripted
/// server, seen through the fields these tests read).
pub(super) struct Server {
    pub(super) addr: SocketAddr,
    server: Scripted,
}

impl Server {
    pub(super) async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        let server = Scripted::start(move |seen| handler(&Seen::from(seen))).await;
        Self { addr: server.addr(), server }
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(super) fn seen(&self) -> Vec<Seen> {
        self.server.seen().iter().map(Seen::from).collect()
    }

    pub(super) fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

impl From<&oci_test_support::scripted::Seen> for Seen {
    fn from(s: &oci_test_support::scripted::Seen) -> Self {
        Self {
            method: s.method.clone(),
            path: s.path().to_owned(),
            query: s.query().to_owned(),
            authorization: s.header(AUTHORIZATION.as_str()).to_owned(),
            content_type: s.header(http::header::CONTENT_TYPE.as_str()).to_owned(),
            body: String::from_utf8_lossy(&s.body).into_owned(),
        }
    }
}
