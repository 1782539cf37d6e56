//! What every request of one registry shares: its store, limits, sessions and
//! referrers index. Nothing is global: two registries in one process share nothing.

use std::sync::Arc;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::referrers::Referrers;
use crate::sessions::Sessions;
use crate::storage::Storage;
use crate::{Error, ErrorKind, Limits, Sparse};

/// One registry's shared state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) auth: Auth,
    /// Served over TLS (the token realm is `https://`).
    pub(crate) tls: bool,
    pub(crate) limits: Limits,
    pub(crate) sparse: Sparse,
    pub(crate) sessions: Sessions,
    pub(crate) referrers: Referrers,
    /// The fault rules and the storage host they redirect to (feature `faults`).
    #[cfg(feature = "faults")]
    pub(crate) faults: Option<(crate::faults::Faults, Option<crate::faults::StorageHost>)>,
}

impl State {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        limits: Limits,
        sparse: Sparse,
        auth: Auth,
        tls: bool,
    ) -> Self {
        Self {
            storage,
            auth,
            tls,
            limits,
            sparse,
            sessions: Sessions::default(),
            referrers: Referrers::default(),
            #[cfg(feature = "faults")]
            faults: None,
        }
    }

    /// Runs `f` with the store on tokio's blocking pool.
    pub(crate) async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Self) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| ApiError::from(Error::new(ErrorKind::Io, "a storage task failed").with_source(e)))?
    }
}
