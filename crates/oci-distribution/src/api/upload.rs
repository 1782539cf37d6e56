//! Blob uploads: the policies of the distribution spec, skipping blobs the repository
//! has, cross-repository mounts, and recovery when the registry loses track of a
//! chunked upload. The session is an explicit state machine ([`state`]) driven by
//! [`driver`].

mod content;
mod driver;
mod mount;
mod state;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method, Uri};
use oci_reference::Repository;
use oci_spec_types::Descriptor;

use self::content::Content;
use self::driver::{Exchanger, Upload};
pub use self::mount::MountOutcome;
use self::state::Answer;
use crate::api::blobs::blob_url;
use crate::auth::scope::scope_repository;
use crate::client::repository_scopes;
use crate::progress::{Progress, Reporter};
use crate::{Body, Client, Error, ErrorKind, Result};

/// How much of an upload response's body is kept (registries answer uploads with empty
/// bodies, or small JSON errors).
const ANSWER_LIMIT: usize = 64 * 1024;

/// The default of [`PushOptions::mount_check_max_size`]: a blob this small costs about
/// as much to send again as a round trip costs on a slow link.
pub const DEFAULT_MOUNT_CHECK_MAX_SIZE: u64 = 256 * 1024;

/// How a blob's content is sent (distribution-spec "pushing blobs").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UploadPolicy {
    /// `POST` to open a session, then one `PUT ?digest=` with the whole content. What
    /// every registry supports; the default.
    #[default]
    Monolithic,
    /// One `POST ?digest=` with the whole content. Registries without it (distribution
    /// 2.8) open a session instead: bytes are then sent with a `PUT` into it; a stream,
    /// already spent, fails with an error of kind [`InvalidInput`](crate::ErrorKind::InvalidInput).
    SinglePost,
    /// `POST`, `PATCH`es of `chunk_size` bytes (at least the registry's
    /// `OCI-Chunk-Min-Length`) with `Content-Range`, then an empty `PUT ?digest=`.
    /// Streamed content is buffered one chunk at a time.
    Chunked {
        /// The size of each chunk but the last, in bytes.
        chunk_size: u64,
    },
    /// `POST`, one `PATCH` with the whole content (without `Content-Length` when the
    /// stream's length is unknown), then an empty `PUT ?digest=`.
    Streamed,
}

/// How a blob is pushed; every field has a default.
#[derive(Clone)]
#[non_exhaustive]
pub struct PushOptions {
    /// How the content is sent. [`UploadPolicy::Monolithic`] by default.
    pub policy: UploadPolicy,
    /// Ask first whether the repository has the blob, and send nothing when it does. On
    /// by default. How it asks depends on the blob's size
    /// ([`mount_check_max_size`](Self::mount_check_max_size)).
    pub skip_existing: bool,
    /// With `skip_existing`, blobs of at most this many bytes are asked for with a mount
    /// from the target repository itself (`POST ?mount=<digest>&from=<repository>`)
    /// instead of a `HEAD`: the registry answers `201` when the repository has the blob,
    /// and otherwise opens the upload session the content then goes into, so that a new
    /// blob costs two requests instead of three. Larger blobs are asked for with `HEAD`,
    /// which opens nothing: a registry that neither mounts nor opens a session for a
    /// mount (it refuses it) gets the content even when it has the blob, which only
    /// small blobs are worth risking. Not used with `mount_from` or `anonymous_mount`,
    /// nor with [`UploadPolicy::SinglePost`] (whose POST carries the content). `0` asks
    /// with `HEAD` always; 256 KiB by default.
    pub mount_check_max_size: u64,
    /// A repository of the same registry that has the blob: mount it from there
    /// (`POST ?mount=<digest>&from=<repository>`) before uploading. When the registry
    /// refuses or answers with an upload session, the content is uploaded (into that
    /// session). A repository on another registry is ignored. None by default.
    pub mount_from: Option<Repository>,
    /// Without `mount_from`, try a mount without `from` (registries that find the blob
    /// by digest mount it; others open a session the content then goes into). Off by
    /// default.
    pub anonymous_mount: bool,
    /// Told how many bytes were sent, per blob. None by default.
    pub progress: Option<Arc<dyn Progress>>,
}

impl Default for PushOptions {
    fn default() -> Self {
        Self {
            policy: UploadPolicy::default(),
            skip_existing: true,
            mount_check_max_size: DEFAULT_MOUNT_CHECK_MAX_SIZE,
            mount_from: None,
            anonymous_mount: false,
            progress: None,
        }
    }
}

impl PushOptions {
    /// The same options with another upload policy.
    #[must_use]
    pub fn with_policy(mut self, policy: UploadPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The same options, checking for an existing blob first or not.
    #[must_use]
    pub fn with_skip_existing(mut self, skip_existing: bool) -> Self {
        self.skip_existing = skip_existing;
        self
    }

    /// The same options, asking for blobs of at most `size` bytes with a mount from the
    /// target repository rather than `HEAD` (`0`: `HEAD` always).
    #[must_use]
    pub fn with_mount_check_max_size(mut self, size: u64) -> Self {
        self.mount_check_max_size = size;
        self
    }

    /// The same options, mounting from `repository` first.
    #[must_use]
    pub fn with_mount_from(mut self, repository: Repository) -> Self {
        self.mount_from = Some(repository);
        self
    }

    /// The same options, trying a mount without `from` first or not.
    #[must_use]
    pub fn with_anonymous_mount(mut self, anonymous_mount: bool) -> Self {
        self.anonymous_mount = anonymous_mount;
        self
    }

    /// The same options, reporting progress to `progress`.
    #[must_use]
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }
}

impl fmt::Debug for PushOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushOptions")
            .field("policy", &self.policy)
            .field("skip_existing", &self.skip_existing)
            .field("mount_check_max_size", &self.mount_check_max_size)
            .field("mount_from", &self.mount_from.as_ref().map(ToString::to_string))
            .field("anonymous_mount", &self.anonymous_mount)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// The repository had the blob already; no content was sent.
    Existed,
    /// The registry mounted the blob from another repository (`None`: a mount without
    /// `from`); no content was sent.
    Mounted {
        /// The repository it was mounted from, when one was named.
        from: Option<Repository>,
    },
    /// The content was uploaded.
    Uploaded(UploadStats),
}

/// How an upload went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadStats {
    /// The policy the content was sent with ([`SinglePost`](UploadPolicy::SinglePost)
    /// becomes [`Monolithic`](UploadPolicy::Monolithic) when the registry opened a
    /// session instead).
    pub policy: UploadPolicy,
    /// Content bytes sent, counting those sent again after a resync.
    pub bytes_sent: u64,
    /// How many `PATCH` requests carried content.
    pub patches: u32,
    /// How often the registry lost track of the offset and the upload went on from the
    /// offset it reported.
    pub resyncs: u32,
    /// Whether the content went into a session a mount attempt opened.
    pub mount_session: bool,
    /// Whether the registry accepted the blob on a `PATCH` (`201`, as ECR does).
    pub early_accept: bool,
}

/// The client's pipeline as the upload driver's [`Exchanger`], with the push's scopes.
struct Registry<'a> {
    client: &'a Client,
    scopes: &'a [String],
}

impl Exchanger for Registry<'_> {
    async fn exchange(&self, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Result<Answer> {
        // A POST opens a session, mounts or uploads a whole blob: nothing a retry could
        // duplicate. A chunk's PATCH names its range: sent again after the registry took
        // it, it is refused (416) or answered with the registry's offset, and the upload
        // goes on from there. A PATCH without a range appends, so it is not retried.
        let retry_safe = method == Method::POST
            || (method == Method::PATCH && headers.contains_key(http::header::CONTENT_RANGE));
        let response = self
            .client
            .send_with(method.clone(), uri.clone(), headers, body, self.scopes, retry_safe)
            .await?;
        let (parts, body) = response.into_parts();
        let body = body.bytes(ANSWER_LIMIT).await.unwrap_or_default();
        Ok(Answer { method, url: uri, status: parts.status, headers: parts.headers, body })
    }
}

/// `/v2/<name>/blobs/uploads/` on `repository`'s registry, with `query` when not empty.
async fn uploads_url(client: &Client, repository: &Repository, query: &str) -> Result<Uri> {
    let path = format!("/v2/{}/blobs/uploads/", repository.path());
    if query.is_empty() {
        client.url(repository, &path).await
    } else {
        client.url(repository, &format!("{path}?{query}")).await
    }
}

/// An error for a policy that cannot work: chunks of no bytes.
fn check_policy(policy: UploadPolicy) -> Result<()> {
    if policy == (UploadPolicy::Chunked { chunk_size: 0 }) {
        return Err(Error::new(ErrorKind::InvalidInput, "a chunked upload needs a chunk size above 0"));
    }
    Ok(())
}

/// The scopes of a push to `target`, with `pull` on a mount source.
fn push_scopes(target: &Repository, from: Option<&Repository>) -> Vec<String> {
    let mut scopes = repository_scopes(target, true);
    if let Some(from) = from.filter(|f| f.path() != target.path()) {
        scopes.push(scope_repository(from.path(), &["pull"]));
    }
    scopes
}

impl Client {
    /// Pushes the blob `descriptor` describes to `repository`, with `content`; see
    /// [`PushOptions`] and [`UploadPolicy`].
    ///
    /// Content is checked against the descriptor before the blob is committed: bytes
    /// before anything is sent, a stream as it is read (the piece that completes it is
    /// sent only after its digest matched). A mismatch fails with an error of kind
    /// [`DigestMismatch`](crate::ErrorKind::DigestMismatch) or
    /// [`SizeMismatch`](crate::ErrorKind::SizeMismatch), and the upload session is cancelled:
    /// the registry never stores a blob that is not the descriptor's.
    ///
    /// Upload URLs (`Location`) are resolved against the request they answer and must
    /// stay on the registry's origin; one elsewhere fails with an error of kind
    /// [`InvalidResponse`](crate::ErrorKind::InvalidResponse) before anything is sent there.
    /// When the registry loses track of a chunked upload (`416`), the upload goes on from
    /// the offset the registry reports, as far as the content can go back (bytes: any
    /// offset; a stream: within the chunk just sent). Refusals are errors of kind
    /// [`Status`](crate::ErrorKind::Status) with the registry's error entries.
    ///
    /// ```no_run
    /// use oci_distribution::{Body, PushOptions, PushOutcome, UploadPolicy};
    /// use oci_reference::Repository;
    /// use oci_spec_types::{Descriptor, MediaType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// let repository: Repository = format!("{registry}/docs/push-blob").parse()?;
    /// let bytes = b"layer content".to_vec();
    /// let layer = Descriptor::for_bytes(MediaType::from("application/vnd.oci.image.layer.v1.tar"), &bytes);
    /// // In memory, POST then PUT; skipped when the repository has it.
    /// let outcome = client.push_blob(&repository, &layer, bytes.clone(), PushOptions::default()).await?;
    /// assert!(matches!(outcome, PushOutcome::Uploaded(_) | PushOutcome::Existed));
    /// // Streamed from a reader, in chunks of 8 MiB.
    /// let reader = std::io::Cursor::new(bytes);
    /// let options = PushOptions::default().with_policy(UploadPolicy::Chunked { chunk_size: 8 << 20 });
    /// let again = client.push_blob(&repository, &layer, Body::from_reader(reader, None), options).await?;
    /// assert_eq!(again, PushOutcome::Existed); // asked first, nothing sent
    /// # Ok(()) }
    /// ```
    pub async fn push_blob(
        &self,
        repository: &Repository,
        descriptor: &Descriptor,
        content: impl Into<Body>,
        options: PushOptions,
    ) -> Result<PushOutcome> {
        check_policy(options.policy)?;
        let digest = &descriptor.digest;
        let reporter =
            Arc::new(Reporter::new(options.progress.clone(), digest.clone(), Some(descriptor.size)));
        let mount_from =
            options.mount_from.as_ref().filter(|f| f.endpoint_host() == repository.endpoint_host());
        let scopes = push_scopes(repository, mount_from);
        let mut content = Content::new(content.into(), descriptor, Arc::clone(&reporter))?;
        let single_post_stream = options.policy == UploadPolicy::SinglePost && !content.can_send_again();
        let mount_check = options.skip_existing
            && descriptor.size <= options.mount_check_max_size
            && mount_from.is_none()
            && !options.anonymous_mount
            && options.policy != UploadPolicy::SinglePost;
        // A HEAD also learns how the registry authenticates, before a stream is sent.
        if (options.skip_existing && !mount_check) || single_post_stream {
            let size = self.head_blob_with(repository, digest, &scopes).await?;
            if options.skip_existing && size == Some(descriptor.size) {
                reporter.report(descriptor.size);
                return Ok(PushOutcome::Existed);
            }
        }
        let registry = Registry { client: self, scopes: &scopes };
        let origin = uploads_url(self, repository, "").await?;
        let blob = blob_url(self, repository, digest).await?;
        let mut upload = Upload {
            exchanger: &registry,
            origin: &origin,
            blob_url: &blob,
            digest,
            size: descriptor.size,
            policy: options.policy,
            content: &mut content,
            reporter: &reporter,
            stats: UploadStats { policy: options.policy, ..UploadStats::default() },
            resyncs_in_a_row: 0,
        };
        // A mount first: from the repository itself (asking whether it has the blob), or
        // from the one given (`None`: anonymous).
        let mount = if mount_check {
            Some(Some(repository))
        } else {
            (mount_from.is_some() || options.anonymous_mount).then_some(mount_from)
        };
        if let Some(from) = mount {
            let url = uploads_url(self, repository, &mount::mount_query(digest, from)).await?;
            match upload.try_mount(url, from).await? {
                Some(PushOutcome::Mounted { .. }) if mount_check => return Ok(PushOutcome::Existed),
                Some(outcome) => return Ok(outcome),
                None => {}
            }
        }
        let single_post = uploads_url(self, repository, &format!("digest={digest}")).await?;
        upload.start_and_run(single_post).await
    }
}
