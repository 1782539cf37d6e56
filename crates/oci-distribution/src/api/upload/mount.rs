//! Cross-repository mounts (`POST ?mount=<digest>&from=<repository>`).

use http::HeaderMap;
use oci_reference::Repository;
use oci_spec_types::{Descriptor, Digest};

use super::driver;
use super::state::Started;
use super::{Registry, push_scopes, uploads_url};
use crate::{Body, Client, Error, ErrorKind, Result};

/// What a mount did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MountOutcome {
    /// The registry mounted the blob (`201`).
    Mounted,
    /// The registry opened an upload session instead (`202`), which was cancelled: the
    /// blob must be uploaded.
    NotMounted,
}

/// The query of a mount: `mount=<digest>`, and `from=<repository>` when one is named.
pub(super) fn mount_query(digest: &Digest, from: Option<&Repository>) -> String {
    match from {
        Some(from) => format!("mount={digest}&from={}", from.path()),
        None => format!("mount={digest}"),
    }
}

impl Client {
    /// Mounts the blob `descriptor` describes into `target`'s repository from the
    /// repository `from` of the same registry, or, with `None`, from wherever the
    /// registry finds it (an anonymous mount, which few registries honor).
    ///
    /// The request asks for `push` on the target and `pull` on the source. A registry
    /// that does not mount opens an upload session instead; it is cancelled and the
    /// answer is [`MountOutcome::NotMounted`]. A refusal (`401` for a source the
    /// credentials cannot read, `404`...) is an error of kind
    /// [`Status`](ErrorKind::Status); `from` on another registry is one of kind
    /// [`InvalidInput`](ErrorKind::InvalidInput). To fall back to an upload when the
    /// mount fails, use [`push_blob`](Self::push_blob) with
    /// [`PushOptions::mount_from`](super::PushOptions::mount_from).
    pub async fn mount_blob(
        &self,
        target: &Repository,
        descriptor: &Descriptor,
        from: Option<&Repository>,
    ) -> Result<MountOutcome> {
        let digest = &descriptor.digest;
        let url = uploads_url(self, target, &mount_query(digest, from)).await?;
        if let Some(from) = from.filter(|f| f.endpoint_host() != target.endpoint_host()) {
            let context = format!("POST {url}: cannot mount from {from}, which is on another registry");
            return Err(Error::new(ErrorKind::InvalidInput, context));
        }
        let scopes = push_scopes(target, from);
        let registry = Registry { client: self, scopes: &scopes };
        let origin = uploads_url(self, target, "").await?;
        match driver::start(&registry, &origin, digest, url, HeaderMap::new(), Body::empty()).await? {
            Started::Created => Ok(MountOutcome::Mounted),
            Started::Session { location, .. } => {
                driver::cancel(&registry, location).await;
                Ok(MountOutcome::NotMounted)
            }
        }
    }
}
