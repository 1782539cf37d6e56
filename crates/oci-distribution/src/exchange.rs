//! The seam between the transport and the parts of the client that need whole,
//! small responses (token endpoints, error bodies, lists): send a request, read the
//! body up to a limit.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::{Body, Result};

/// A boxed future, as trait objects need.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends a request and reads its whole response body.
pub(crate) trait Exchange: Send + Sync {
    /// Sends `request` as is (no authentication added, no retries) and reads the whole
    /// response body; a body over `limit` bytes is an error of kind
    /// [`SizeMismatch`](crate::ErrorKind::SizeMismatch). Any status is returned as a
    /// response, not an error.
    fn exchange(
        &self,
        request: http::Request<Body>,
        limit: usize,
    ) -> BoxFuture<'_, Result<http::Response<Bytes>>>;
}
