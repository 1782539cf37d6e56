//! Blob endpoints: `HEAD`, `GET` (streamed, verified, resumed), ranged `GET`, `DELETE`.

pub(crate) mod range;
mod stream;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use http::{HeaderMap, Method, StatusCode, Uri};
use oci_reference::Repository;
use oci_spec_types::{Descriptor, Digest};

pub(crate) use self::range::{decimal, header};
pub use self::stream::BlobStream;
use self::stream::Download;
use crate::auth::scope::scope_repository;
use crate::client::repository_scopes;
use crate::progress::{Progress, Reporter};
use crate::{Body, Client, Error, ErrorKind, Result};

/// How blobs are downloaded; every field has a default.
#[derive(Clone)]
#[non_exhaustive]
pub struct PullOptions {
    /// Told how many bytes arrived, per blob. None by default.
    pub progress: Option<Arc<dyn Progress>>,
    /// How many resumes in a row that bring no byte a download allows after a dropped
    /// or stalled connection (resumes that bring bytes go on, up to ten times as many in
    /// all). 5 by default; 0 turns resuming off.
    pub max_resumes: u32,
}

impl Default for PullOptions {
    fn default() -> Self {
        Self { progress: None, max_resumes: 5 }
    }
}

impl PullOptions {
    /// The same options, reporting progress to `progress`.
    #[must_use]
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// The same options with another resume budget (see
    /// [`max_resumes`](Self::max_resumes)).
    #[must_use]
    pub fn with_max_resumes(mut self, max_resumes: u32) -> Self {
        self.max_resumes = max_resumes;
        self
    }
}

impl fmt::Debug for PullOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PullOptions")
            .field("progress", &self.progress.is_some())
            .field("max_resumes", &self.max_resumes)
            .finish()
    }
}

/// `/v2/<name>/blobs/<digest>` on `repository`'s registry.
pub(crate) async fn blob_url(client: &Client, repository: &Repository, digest: &Digest) -> Result<Uri> {
    client.url(repository, &format!("/v2/{}/blobs/{digest}", repository.path())).await
}

impl Client {
    /// Whether the blob `digest` is in `repository` (`HEAD`): its size when
    /// it is, `None` when the registry answers 404.
    ///
    /// Other statuses are errors of kind [`Status`](ErrorKind::Status); a `200` without a
    /// usable `Content-Length` is one of kind [`InvalidResponse`](ErrorKind::InvalidResponse).
    pub async fn head_blob(&self, repository: &Repository, digest: &Digest) -> Result<Option<u64>> {
        let scopes = repository_scopes(repository, false);
        self.head_blob_with(repository, digest, &scopes).await
    }

    /// [`head_blob`](Self::head_blob) with the scopes of the operation it is part of.
    pub(crate) async fn head_blob_with(
        &self,
        repository: &Repository,
        digest: &Digest,
        scopes: &[String],
    ) -> Result<Option<u64>> {
        let uri = blob_url(self, repository, digest).await?;
        let context = format!("HEAD {uri}");
        let response = self.send(Method::HEAD, uri, HeaderMap::new(), Body::empty(), scopes).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = Self::expect(response, &[StatusCode::OK], &context).await?;
        let length = response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(decimal);
        length.map(Some).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidResponse,
                format!("{context}: no usable Content-Length for blob {digest}"),
            )
        })
    }

    /// Deletes the blob `digest` from `repository` (`DELETE`, `202`).
    ///
    /// Registries answer 405 (an error with [`is_unsupported`](Error::is_unsupported))
    /// when deletes are turned off, and 404 for a blob they do not have.
    pub async fn delete_blob(&self, repository: &Repository, digest: &Digest) -> Result<()> {
        let uri = blob_url(self, repository, digest).await?;
        let context = format!("DELETE {uri}");
        let scopes = vec![scope_repository(repository.path(), &["delete"])];
        let response = self.send(Method::DELETE, uri, HeaderMap::new(), Body::empty(), &scopes).await?;
        Self::expect(response, &[StatusCode::ACCEPTED, StatusCode::OK, StatusCode::NO_CONTENT], &context)
            .await
            .map(drop)
    }

    /// Downloads the blob `descriptor` points at from `repository`, verified
    /// against its digest and size while streaming; see [`BlobStream`].
    ///
    /// Redirects to storage are followed (without the registry's credentials). Errors:
    /// kind [`Status`](ErrorKind::Status) for a refusal (a missing blob is
    /// [`is_unknown_resource`](Error::is_unknown_resource)), kind
    /// [`InvalidInput`](ErrorKind::InvalidInput) for a digest this build cannot compute,
    /// [`SizeMismatch`](ErrorKind::SizeMismatch) when the announced length is not the
    /// descriptor's size; reading the stream reports the rest.
    ///
    /// ```no_run
    /// use oci_distribution::PullOptions;
    /// use oci_reference::Repository;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let layer = &oci_spec_types::Descriptor::for_bytes(oci_spec_types::MediaType::LAYER_TAR, &[7; 100_000]);
    /// let repository: Repository = format!("{registry}/docs/get-blob").parse()?;
    /// # client.push_blob(&repository, layer, vec![7; 100_000], Default::default()).await?;
    /// let mut blob = client.get_blob(&repository, layer, PullOptions::default()).await?;
    /// let mut written = 0;
    /// while let Some(chunk) = blob.next_chunk().await? {
    ///     written += chunk.len(); // write it out; commit once the loop ends without an error
    /// }
    /// assert_eq!(written as u64, layer.size);
    /// # Ok(()) }
    /// ```
    pub async fn get_blob(
        &self,
        repository: &Repository,
        descriptor: &Descriptor,
        options: PullOptions,
    ) -> Result<BlobStream> {
        self.get_blob_by_digest(repository, &descriptor.digest, Some(descriptor.size), options).await
    }

    /// Downloads the blob `digest` from `repository`, as
    /// [`get_blob`](Self::get_blob) does, with its size when known (otherwise the
    /// response's `Content-Length` is taken, or the last chunk is held back until the end
    /// of the body so that it is handed out only once the digest matched).
    pub async fn get_blob_by_digest(
        &self,
        repository: &Repository,
        digest: &Digest,
        size: Option<u64>,
        options: PullOptions,
    ) -> Result<BlobStream> {
        let uri = blob_url(self, repository, digest).await?;
        if !digest.is_verifiable() {
            let context = format!("GET {uri}: blob {digest} cannot be verified by this build");
            return Err(Error::new(ErrorKind::InvalidInput, context));
        }
        let scopes = repository_scopes(repository, false);
        let response = self.send(Method::GET, uri.clone(), HeaderMap::new(), Body::empty(), &scopes).await?;
        let response = Self::expect(response, &[StatusCode::OK], &format!("GET {uri}")).await?;
        let download = Download {
            client: self.clone(),
            uri,
            scopes,
            digest: digest.clone(),
            size,
            max_resumes: options.max_resumes,
            reporter: Reporter::new(options.progress, digest.clone(), size),
        };
        BlobStream::new(download, response)
    }

    /// The rest of the blob `descriptor` names from byte `offset` on, for a caller that
    /// holds the bytes before it (a download cut short, kept in a file) and checks the
    /// digest of the whole itself: `Range: bytes=<offset>-`, the answer a `206` that
    /// starts exactly there (anything else is an error of kind
    /// [`InvalidResponse`](ErrorKind::InvalidResponse)). The stream checks the size and
    /// resumes after a cut as [`get_blob`](Self::get_blob)'s does; it does **not** check
    /// the digest, which needs the bytes it did not see. `offset` must be below the size.
    pub async fn get_blob_from(
        &self,
        repository: &Repository,
        descriptor: &Descriptor,
        offset: u64,
        options: PullOptions,
    ) -> Result<BlobStream> {
        let digest = &descriptor.digest;
        let uri = blob_url(self, repository, digest).await?;
        if offset >= descriptor.size {
            let context =
                format!("GET {uri}: offset {offset} is not inside the blob's {} bytes", descriptor.size);
            return Err(Error::new(ErrorKind::InvalidInput, context));
        }
        let download = Download {
            client: self.clone(),
            uri,
            scopes: repository_scopes(repository, false),
            digest: digest.clone(),
            size: Some(descriptor.size),
            max_resumes: options.max_resumes,
            reporter: Reporter::new(options.progress, digest.clone(), Some(descriptor.size)),
        };
        BlobStream::from_offset(download, offset).await
    }

    /// The bytes `range` (end exclusive) of the blob `digest`, asked for with
    /// `Range: bytes=<start>-<end - 1>`.
    ///
    /// The registry must answer `206` with a `Content-Range` starting at `range.start`;
    /// it may end earlier when the blob is shorter. A `200` (the registry ignored
    /// `Range`) is an error of kind [`InvalidResponse`](ErrorKind::InvalidResponse), as is
    /// a body that is not the announced range. The bytes are not verified (a part of a
    /// blob has no digest to check); an empty range is an error of kind
    /// [`InvalidInput`](ErrorKind::InvalidInput).
    pub async fn get_blob_range(
        &self,
        repository: &Repository,
        digest: &Digest,
        range: Range<u64>,
    ) -> Result<Bytes> {
        let uri = blob_url(self, repository, digest).await?;
        let context = format!("GET {uri} (bytes {}..{})", range.start, range.end);
        if range.is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, format!("{context}: an empty range")));
        }
        let wanted = usize::try_from(range.end - range.start).map_err(|e| {
            Error::new(ErrorKind::InvalidInput, format!("{context}: too large")).with_source(e)
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(RANGE, range::range_between(range.start, range.end - 1)?);
        let scopes = repository_scopes(repository, false);
        let response = self.send(Method::GET, uri, headers, Body::empty(), &scopes).await?;
        let invalid = |why: String| Error::new(ErrorKind::InvalidResponse, format!("{context}: {why}"));
        if response.status() == StatusCode::OK {
            return Err(invalid("the server ignored Range (200 instead of 206)".to_owned()));
        }
        let response = Self::expect(response, &[StatusCode::PARTIAL_CONTENT], &context).await?;
        let value =
            response.headers().get(CONTENT_RANGE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let got = range::parse_content_range(&value)
            .filter(|r| r.first == range.start && r.last < range.end)
            .ok_or_else(|| invalid(format!("Content-Range {value:?} is not the range asked for")))?;
        let bytes = response.into_body().bytes(wanted).await?;
        if Some(bytes.len() as u64) != got.len() {
            return Err(invalid(format!("{} bytes for Content-Range {value:?}", bytes.len())));
        }
        Ok(bytes)
    }
}
