//! The storage host blob downloads are redirected to ([`Fault::RedirectToStorage`]):
//! a second listener on loopback that serves blobs without credentials, as a bucket
//! behind a signed URL does, and records whether a client sent it the registry's.
//!
//! [`Fault::RedirectToStorage`]: super::Fault::RedirectToStorage

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

use super::Faults;
use crate::state::State;
use crate::{Error, Result};

/// A running storage host; it stops with the registry's runtime.
#[derive(Debug)]
pub(crate) struct StorageHost {
    addr: SocketAddr,
}

impl StorageHost {
    /// Binds `127.0.0.1:0` and serves the blobs of `state` (a state without auth).
    pub(crate) fn start(state: Arc<State>, faults: Faults) -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|e| Error::io("binding the storage host", e))?;
        let addr = listener.local_addr().map_err(|e| Error::io("the storage host's address", e))?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| Error::io("the storage host's listener", e))?;
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (state, faults) = (state.clone(), faults.clone());
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let (state, faults) = (state.clone(), faults.clone());
                    async move {
                        if request.headers().contains_key(http::header::AUTHORIZATION) {
                            faults.saw_authorization();
                        }
                        Ok::<_, std::convert::Infallible>(crate::api::handle(state, request).await)
                    }
                });
                tokio::spawn(async move {
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr })
    }

    /// `host:port`.
    pub(crate) fn host(&self) -> String {
        self.addr.to_string()
    }
}
