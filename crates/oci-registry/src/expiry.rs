//! Stale upload sessions: removed, bytes and all, once idle past
//! [`Limits::upload_idle_expiry`](crate::Limits::upload_idle_expiry).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::state::State;
use crate::storage::UploadInfo;

/// Removes the session `upload`, bytes and all, when it has been idle past the expiry
/// (blocking); whether it had expired.
pub(crate) fn expire_if_idle(state: &State, upload: &UploadInfo) -> crate::Result<bool> {
    let idle = SystemTime::now().duration_since(upload.modified).unwrap_or_default();
    if idle <= state.limits.upload_idle_expiry {
        return Ok(false);
    }
    state.storage.upload_cancel(&upload.repository, &upload.id)?;
    state.sessions.remove(&upload.id);
    Ok(true)
}

/// Checks every session now and then (a quarter of the expiry, at most a minute).
pub(crate) async fn sweep(state: Arc<State>) {
    let expiry = state.limits.upload_idle_expiry;
    let every = (expiry / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    loop {
        tokio::time::sleep(every).await;
        let removed = state
            .blocking(move |s| {
                let mut removed = 0usize;
                for upload in s.storage.uploads()? {
                    removed += usize::from(expire_if_idle(s, &upload)?);
                }
                Ok(removed)
            })
            .await;
        match removed {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "removed upload sessions idle past the expiry"),
            Err(e) => tracing::warn!(error = %e.message, "sweeping upload sessions"),
        }
    }
}
