//! One end of a copy: a repository of a registry, or an image layout (directory or
//! tar), with the few operations a copy needs of either.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use oci_distribution::{
    BlobStream, Body, Client, MountOutcome, Progress, PullOptions, PushOptions, PushOutcome, ReferrersOptions,
};
use oci_layout::{AsyncBlobReader, AsyncLayout, Directory, Layout, Tar, WriteOptions};
use oci_reference::Repository;
use oci_spec_types::{Annotations, Descriptor, Digest, Document, MediaType};

use tokio::sync::{OnceCell, mpsc};

use crate::docker_archive::DockerArchive;
use crate::location::{DEFAULT_TAG, LayoutRef};
use crate::{Error, ErrorKind, Location, Result};

/// Blobs up to this size are moved whole, in memory, and never kept partial: what a
/// resume would save is less than what it costs.
const SMALL_BLOB: u64 = 1 << 20;

/// Where the copy reads or writes.
#[derive(Debug, Clone)]
pub(crate) enum Endpoint {
    /// A repository of a registry.
    Registry { client: Client, repository: Repository },
    /// A layout, named as the user wrote it (for messages), and its referrers by
    /// subject once they were asked for.
    Layout { layout: AsyncLayout, name: String, referrers: Arc<OnceCell<HashMap<Digest, Vec<Descriptor>>>> },
    /// A `docker save` archive, read as one image.
    Docker { archive: Arc<DockerArchive>, name: String },
}

/// A blob being read from an endpoint.
pub(crate) enum BlobSource {
    /// A download, verified as it streams (the last chunk comes only once size and
    /// digest matched).
    Registry(Box<BlobStream>),
    /// A stored blob, checked again by whoever writes it.
    Layout(AsyncBlobReader),
    /// A file of an archive, checked again by whoever writes it.
    File(ChannelReader),
}

/// Chunks read on a blocking thread, as an [`AsyncRead`](tokio::io::AsyncRead).
pub(crate) struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes>>,
    pending: Bytes,
}

impl tokio::io::AsyncRead for ChannelReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        if self.pending.is_empty() {
            match self.rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(std::io::Error::other(e))),
                Poll::Ready(Some(Ok(bytes))) => self.pending = bytes,
            }
        }
        let n = self.pending.len().min(buf.remaining());
        let chunk = self.pending.split_to(n);
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

impl BlobSource {
    /// Whether the stream itself proves size and digest before its end.
    fn verified(&self) -> bool {
        matches!(self, Self::Registry(_))
    }

    pub(crate) async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        match self {
            Self::Registry(s) => s.next_chunk().await.map_err(|e| Error::registry("reading a blob", e)),
            Self::Layout(r) => r.chunk().await.map_err(|e| Error::layout("reading a blob", e)),
            Self::File(r) => match std::mem::take(&mut r.pending) {
                pending if !pending.is_empty() => Ok(Some(pending)),
                _ => r.rx.recv().await.transpose(),
            },
        }
    }

    fn into_body(self, size: u64) -> Body {
        match self {
            Self::Registry(s) => Body::from_body(*s, Some(size)),
            Self::Layout(r) => Body::from_reader(r, Some(size)),
            Self::File(r) => Body::from_reader(r, Some(size)),
        }
    }
}

impl Endpoint {
    /// Opens the end `location` names: a layout to read must exist; one to write is
    /// created when it does not. With `fsync`, a layout written flushes every file to disk before it appears.
    pub(crate) async fn open(location: &Location, client: &Client, write: bool, fsync: bool) -> Result<Self> {
        let name = location.to_string();
        let options = WriteOptions::default().with_fsync(fsync);
        let opened = match location {
            Location::Registry(reference) => {
                return Ok(Self::Registry { client: client.clone(), repository: reference.repository() });
            }
            Location::Dir { path, .. } => {
                let directory = Directory::with_options(path, options);
                if write {
                    AsyncLayout::open_with(move || Layout::open_or_init(directory)).await
                } else {
                    AsyncLayout::open_with(move || Layout::open(directory)).await
                }
            }
            Location::Archive { path, .. } if write => {
                let path = path.clone();
                AsyncLayout::open_with(move || Layout::open_or_init(Tar::with_options(path, options)?)).await
            }
            Location::Archive { path, .. } => AsyncLayout::open_tar(path).await,
            Location::DockerArchive { path, reference } if !write => {
                let archive = crate::docker_archive::open(path, reference.as_ref()).await?;
                return Ok(Self::Docker { archive, name });
            }
            Location::DockerArchive { .. } => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{name}: a docker archive is written through its staging layout"),
                ));
            }
        };
        let layout = opened.map_err(|e| Error::layout(format!("opening {name}"), e))?;
        Ok(Self::Layout { layout, name, referrers: Arc::default() })
    }

    /// What the copy's concurrency budget is shared by: a registry host, or a file.
    pub(crate) fn budget_key(&self) -> String {
        match self {
            Self::Registry { repository, .. } => repository.endpoint_host().to_owned(),
            Self::Layout { layout, .. } => layout.location().display().to_string(),
            Self::Docker { name, .. } => name.clone(),
        }
    }

    /// Whether this is a layout (whose blobs are read without a request).
    pub(crate) fn is_layout(&self) -> bool {
        matches!(self, Self::Layout { .. } | Self::Docker { .. })
    }

    /// The repository, for a registry end.
    pub(crate) fn repository(&self) -> Option<&Repository> {
        match self {
            Self::Registry { repository, .. } => Some(repository),
            Self::Layout { .. } | Self::Docker { .. } => None,
        }
    }

    /// `repository@digest` or `layout@digest`, for messages.
    pub(crate) fn at(&self, digest: &Digest) -> String {
        match self {
            Self::Registry { repository, .. } => format!("{repository}@{digest}"),
            Self::Layout { name, .. } | Self::Docker { name, .. } => format!("{name}@{digest}"),
        }
    }

    /// The descriptor of the root image the location names (a tag, `latest` when it
    /// names none, or a digest).
    pub(crate) async fn resolve(&self, location: &Location) -> Result<Descriptor> {
        match (self, location) {
            (Self::Registry { client, .. }, Location::Registry(reference)) => {
                let found = client
                    .head_manifest(reference)
                    .await
                    .map_err(|e| Error::registry(format!("resolving {reference}"), e))?;
                found.ok_or_else(|| Error::new(ErrorKind::NotFound, format!("{reference}: no such manifest")))
            }
            (
                Self::Layout { layout, name, .. },
                Location::Dir { image, .. } | Location::Archive { image, .. },
            ) => {
                let wanted = match image {
                    LayoutRef::None => DEFAULT_TAG.to_owned(),
                    LayoutRef::Tag(t) => t.clone(),
                    LayoutRef::Digest(d) => d.to_string(),
                };
                let mut found = layout
                    .resolve(wanted.clone())
                    .await
                    .map_err(|e| Error::layout(format!("resolving {wanted} in {name}"), e))?;
                // The tag is the layout's name for it, not part of the image.
                found.annotations.remove(Annotations::REF_NAME);
                Ok(found)
            }
            (Self::Docker { archive, .. }, Location::DockerArchive { .. }) => Ok(archive.root().clone()),
            _ => Err(Error::new(ErrorKind::Unsupported, format!("{location}: not this end's location"))),
        }
    }

    /// The bytes of the manifest `descriptor` names, checked against its digest and
    /// size; `None` when this end does not have it.
    pub(crate) async fn manifest(&self, descriptor: &Descriptor) -> Result<Option<Bytes>> {
        let digest = &descriptor.digest;
        let bytes = match self {
            Self::Registry { client, repository } => {
                let reference = repository.with_digest(digest).map_err(|e| {
                    Error::new(ErrorKind::InvalidManifest, format!("{repository}@{digest}: {e}"))
                })?;
                match client.get_manifest(&reference).await {
                    Ok(document) => document.bytes().clone(),
                    Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => return Ok(None),
                    Err(e) => return Err(Error::registry(format!("reading {reference}"), e)),
                }
            }
            Self::Docker { archive, .. } => match archive.manifest(digest) {
                Some(bytes) => bytes,
                None => return Ok(None),
            },
            // One read: a blob that is not there is the answer "absent".
            Self::Layout { layout, name, .. } => match layout.read_blob(digest.clone()).await {
                Ok(bytes) => Bytes::from(bytes),
                Err(e) if e.kind() == oci_layout::ErrorKind::BlobNotFound => return Ok(None),
                Err(e) => return Err(Error::layout(format!("reading {name}@{digest}"), e)),
            },
        };
        let matches = bytes.len() as u64 == descriptor.size && digest.verify(&bytes).unwrap_or(false);
        if !matches {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "{}: {} bytes that are not the manifest's {} bytes",
                    self.at(digest),
                    bytes.len(),
                    descriptor.size
                ),
            ));
        }
        Ok(Some(bytes))
    }

    /// The manifest `tag` names at this end, with its bytes (checked against its
    /// digest): one `GET` by tag at a registry, which proves in one exchange that the
    /// manifest is there and that the tag names it. `None` when the tag is not there
    /// (or this end cannot say: a docker archive).
    pub(crate) async fn tagged(&self, tag: &str) -> Result<Option<(Descriptor, Bytes)>> {
        let descriptor = match self {
            Self::Registry { client, repository } => {
                let reference = repository
                    .with_tag(tag)
                    .map_err(|e| Error::new(ErrorKind::InvalidLocation, format!("tag {tag:?}: {e}")))?;
                return match client.get_manifest(&reference).await {
                    Ok(document) => Ok(Some((document.descriptor(), document.bytes().clone()))),
                    Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Ok(None),
                    Err(e) => Err(Error::registry(format!("reading {reference}"), e)),
                };
            }
            Self::Layout { layout, name, .. } => match layout.resolve(tag.to_owned()).await {
                Ok(mut found) => {
                    found.annotations.remove(Annotations::REF_NAME);
                    found
                }
                Err(e) if e.kind() == oci_layout::ErrorKind::RefNotFound => return Ok(None),
                Err(e) => return Err(Error::layout(format!("resolving {tag} in {name}"), e)),
            },
            Self::Docker { .. } => return Ok(None),
        };
        Ok(self.manifest(&descriptor).await?.map(|bytes| (descriptor, bytes)))
    }

    /// Whether this end has the blob, with its size.
    pub(crate) async fn has_blob(&self, descriptor: &Descriptor) -> Result<bool> {
        let digest = &descriptor.digest;
        let size = match self {
            Self::Registry { client, repository } => client
                .head_blob(repository, digest)
                .await
                .map_err(|e| Error::registry(format!("HEAD {repository}@{digest}"), e))?,
            Self::Layout { layout, name, .. } => layout
                .blob_size(digest.clone())
                .await
                .map_err(|e| Error::layout(format!("looking up {name}@{digest}"), e))?,
            Self::Docker { archive, .. } => archive.blob_size(digest),
        };
        Ok(size == Some(descriptor.size))
    }

    /// Opens the blob for reading.
    pub(crate) async fn read_blob(
        &self,
        descriptor: &Descriptor,
        progress: Arc<dyn Progress>,
    ) -> Result<BlobSource> {
        match self {
            Self::Registry { client, repository } => client
                .get_blob(repository, descriptor, PullOptions::default().with_progress(progress))
                .await
                .map(|s| BlobSource::Registry(Box::new(s)))
                .map_err(|e| Error::registry(format!("GET {}", self.at(&descriptor.digest)), e)),
            // Read as stored: every writer of it checks the digest (a registry client as it
            // sends, a layout as it writes), so it is hashed once.
            Self::Layout { layout, name, .. } => layout
                .blob_reader_unverified(descriptor.digest.clone())
                .await
                .map(BlobSource::Layout)
                .map_err(|e| Error::layout(format!("reading {name}@{}", descriptor.digest), e)),
            Self::Docker { archive, .. } => {
                let rx = archive.read_blob(&descriptor.digest)?;
                Ok(BlobSource::File(ChannelReader { rx, pending: Bytes::new() }))
            }
        }
    }

    /// Mounts the blob from `from`, a repository of the same registry; `false` when
    /// the registry would not (the caller transfers it then).
    pub(crate) async fn mount(&self, descriptor: &Descriptor, from: &Repository) -> bool {
        let Self::Registry { client, repository } = self else { return false };
        match client.mount_blob(repository, descriptor, Some(from)).await {
            Ok(MountOutcome::Mounted) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::debug!(error = %e, digest = %descriptor.digest, "mount refused; transferring");
                false
            }
        }
    }

    /// Downloads the blob (over [`SMALL_BLOB`]) from the registry `src` into this
    /// layout, going on from the partial blob an interrupted copy left (its bytes hashed again, only the rest asked
    /// for with `Range`), and leaving a partial blob itself when cut off. `false` when
    /// this end keeps no partial blobs (a tar, a registry): transfer it the plain way.
    pub(crate) async fn pull_resuming(
        &self,
        src: &Endpoint,
        descriptor: &Descriptor,
        progress: Arc<dyn Progress>,
    ) -> Result<bool> {
        let (Self::Layout { layout, name, .. }, Self::Registry { client, repository }) = (self, src) else {
            return Ok(false);
        };
        if descriptor.size <= SMALL_BLOB {
            return Ok(false);
        }
        let (digest, size) = (&descriptor.digest, descriptor.size);
        let err = |e| Error::layout(format!("writing {name}@{digest}"), e);
        // Twice at most: kept bytes that turn out wrong are removed, then it starts over.
        for _ in 0..2 {
            let writer = layout.resumable_blob_writer(digest.clone(), size, true).await.map_err(err)?;
            let Some(mut writer) = writer else { return Ok(false) };
            let offset = writer.bytes_written();
            let options = PullOptions::default().with_progress(Arc::clone(&progress));
            if offset < size {
                let at = format!("GET {repository}@{digest}");
                let mut stream = if offset == 0 {
                    client.get_blob(repository, descriptor, options).await
                } else {
                    tracing::debug!(%digest, offset, "going on from a partial blob");
                    client.get_blob_from(repository, descriptor, offset, options).await
                }
                .map_err(|e| Error::registry(at.clone(), e))?;
                while let Some(chunk) =
                    stream.next_chunk().await.map_err(|e| Error::registry(at.clone(), e))?
                {
                    writer.write_chunk(chunk).await.map_err(err)?;
                }
            }
            match writer.commit(size, digest.clone()).await {
                Ok(()) => return Ok(true),
                Err(e) if offset > 0 && e.kind() == oci_layout::ErrorKind::UnexpectedDigest => {
                    tracing::warn!(%digest, "the partial blob kept in {name} was not the blob's start; starting over");
                }
                Err(e) => return Err(err(e)),
            }
        }
        Err(Error::new(
            ErrorKind::Integrity,
            format!("{repository}@{digest}: the download does not match its digest"),
        ))
    }

    /// Writes the blob from `source`; nothing is stored unless size and digest match.
    /// With `ask_first`, a registry is asked in the same exchange whether it has the
    /// blob (see [`PushOptions::skip_existing`]); `true` when it had.
    pub(crate) async fn write_blob(
        &self,
        descriptor: &Descriptor,
        mut source: BlobSource,
        progress: Arc<dyn Progress>,
        ask_first: bool,
    ) -> Result<bool> {
        let digest = &descriptor.digest;
        match self {
            Self::Docker { name, .. } => return Err(not_written(name)),
            Self::Registry { client, repository } => {
                // A download reports its own progress; a layout's bytes are counted as sent.
                let mut options = PushOptions::default().with_skip_existing(ask_first);
                if !source.verified() {
                    options = options.with_progress(progress);
                }
                let outcome = client
                    .push_blob(repository, descriptor, source.into_body(descriptor.size), options)
                    .await
                    .map_err(|e| Error::registry(format!("pushing {}", self.at(digest)), e))?;
                return Ok(outcome == PushOutcome::Existed);
            }
            Self::Layout { layout, name, .. } if descriptor.size <= SMALL_BLOB => {
                // Small: received whole (verified as it came, or checked by the commit), then
                // written and committed in one blocking call.
                let mut bytes = Vec::with_capacity(usize::try_from(descriptor.size).unwrap_or(0));
                while let Some(chunk) = source.next_chunk().await? {
                    bytes.extend_from_slice(&chunk);
                }
                progress.update(digest, bytes.len() as u64, Some(descriptor.size));
                let (size, expected, verified) = (descriptor.size, digest.clone(), source.verified());
                layout
                    .blocking(move |l| {
                        let mut writer = l.blob_writer(&expected.algorithm())?;
                        if verified {
                            writer = writer.without_hashing();
                        }
                        std::io::Write::write_all(&mut writer, &bytes).map_err(oci_layout::Error::io)?;
                        writer.commit(size, &expected)
                    })
                    .await
                    .map_err(|e| Error::layout(format!("writing {name}@{digest}"), e))?;
            }
            Self::Layout { layout, name, .. } => {
                let err = |e| Error::layout(format!("writing {name}@{digest}"), e);
                let algorithm = digest.algorithm();
                let mut writer = if source.verified() {
                    layout.blob_writer_without_hashing(algorithm).await.map_err(err)?
                } else {
                    layout.blob_writer(algorithm).await.map_err(err)?
                };
                let mut done = 0;
                while let Some(chunk) = source.next_chunk().await? {
                    done += chunk.len() as u64;
                    writer.write_chunk(chunk).await.map_err(err)?;
                    if !source.verified() {
                        progress.update(digest, done, Some(descriptor.size));
                    }
                }
                writer.commit(descriptor.size, digest.clone()).await.map_err(err)?;
            }
        }
        Ok(false)
    }

    /// Stores a manifest by digest (its exact bytes); a tag is written apart.
    pub(crate) async fn put_manifest(&self, descriptor: &Descriptor, bytes: &Bytes) -> Result<()> {
        let document = document(descriptor, bytes)?;
        match self {
            Self::Docker { name, .. } => return Err(not_written(name)),
            Self::Registry { client, repository } => {
                let reference = repository
                    .with_digest(&descriptor.digest)
                    .map_err(|e| Error::new(ErrorKind::InvalidManifest, format!("{repository}: {e}")))?;
                client
                    .put_manifest(&reference, &document)
                    .await
                    .map_err(|e| Error::registry(format!("pushing {reference}"), e))?;
            }
            Self::Layout { layout, name, .. } => {
                layout
                    .write_document(document)
                    .await
                    .map_err(|e| Error::layout(format!("writing {name}@{}", descriptor.digest), e))?;
            }
        }
        Ok(())
    }

    /// Names the root: `tag`, or (`None`) an untagged entry of a layout's `index.json`
    /// (a registry keeps a manifest pushed by digest as it is).
    pub(crate) async fn name_root(
        &self,
        descriptor: &Descriptor,
        bytes: &Bytes,
        tag: Option<&str>,
    ) -> Result<()> {
        match (self, tag) {
            (Self::Docker { name, .. }, _) => return Err(not_written(name)),
            (Self::Registry { client, repository }, Some(tag)) => {
                let reference = repository
                    .with_tag(tag)
                    .map_err(|e| Error::new(ErrorKind::InvalidLocation, format!("tag {tag:?}: {e}")))?;
                let document = document(descriptor, bytes)?;
                client
                    .put_manifest(&reference, &document)
                    .await
                    .map_err(|e| Error::registry(format!("tagging {reference}"), e))?;
            }
            (Self::Registry { .. }, None) => {}
            (Self::Layout { layout, name, .. }, Some(tag)) => layout
                .tag(tag, descriptor.clone())
                .await
                .map_err(|e| Error::layout(format!("tagging {name} as {tag}"), e))?,
            (Self::Layout { layout, name, .. }, None) => layout
                .put_manifest_descriptor(descriptor.clone())
                .await
                .map_err(|e| Error::layout(format!("adding {} to {name}", descriptor.digest), e))?,
        }
        Ok(())
    }

    /// The referrers of `subject` (of `artifact_type` when one is given): a registry's
    /// referrers API or fallback tag; in a layout, the manifests of its `index.json`
    /// whose subject it is.
    pub(crate) async fn referrers(
        &self,
        subject: &Digest,
        artifact_type: Option<&MediaType>,
    ) -> Result<Vec<Descriptor>> {
        match self {
            // A docker archive keeps no referrers.
            Self::Docker { .. } => Ok(Vec::new()),
            Self::Registry { client, repository } => {
                let reference = repository.with_digest(subject).map_err(|e| {
                    Error::new(ErrorKind::InvalidManifest, format!("{repository}@{subject}: {e}"))
                })?;
                let mut options = ReferrersOptions::default();
                if let Some(t) = artifact_type {
                    options = options.with_artifact_type(t.clone());
                }
                client
                    .referrers(&reference, options)
                    .await
                    .map_err(|e| Error::registry(format!("listing the referrers of {reference}"), e))
            }
            Self::Layout { layout, name, referrers } => {
                let by_subject = Self::layout_referrers(layout, name, referrers).await?;
                let found = by_subject.get(subject).map(Vec::as_slice).unwrap_or_default();
                Ok(found
                    .iter()
                    .filter(|d| artifact_type.is_none_or(|t| d.artifact_type.as_ref() == Some(t)))
                    .cloned()
                    .collect())
            }
        }
    }

    /// Every referrer of a layout by subject: the manifests of its `index.json` that
    /// have a subject, read once per copy (a source does not change while it is read).
    async fn layout_referrers<'a>(
        layout: &AsyncLayout,
        name: &str,
        referrers: &'a OnceCell<HashMap<Digest, Vec<Descriptor>>>,
    ) -> Result<&'a HashMap<Digest, Vec<Descriptor>>> {
        referrers
            .get_or_try_init(|| async {
                let err = |e| Error::layout(format!("listing the referrers in {name}"), e);
                let index = layout.read_index().await.map_err(err)?;
                let mut by_subject: HashMap<Digest, Vec<Descriptor>> = HashMap::new();
                for entry in index.manifests.into_iter().filter(|d| d.media_type.is_manifest()) {
                    let document = layout.read_manifest(entry).await.map_err(err)?;
                    if let Some(subject) = document.value().subject() {
                        let listed = document.value().as_referrer(&document.descriptor());
                        let found = by_subject.entry(subject.digest.clone()).or_default();
                        if !found.iter().any(|d| d.digest == listed.digest) {
                            found.push(listed);
                        }
                    }
                }
                Ok(by_subject)
            })
            .await
    }

    /// Makes what was written durable and visible (a tar layout is committed).
    pub(crate) async fn finish(&self) -> Result<()> {
        if let Self::Layout { layout, name, .. } = self {
            layout.commit().await.map_err(|e| Error::layout(format!("committing {name}"), e))?;
        }
        Ok(())
    }
}

/// A docker archive source is read only.
fn not_written(name: &str) -> Error {
    Error::new(ErrorKind::Unsupported, format!("{name}: written only as a whole, by the copy's finish"))
}

/// The manifest `bytes` as a document with the descriptor's media type and digest.
pub(crate) fn document(descriptor: &Descriptor, bytes: &Bytes) -> Result<Document> {
    let invalid = |e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::InvalidManifest, format!("manifest {}: {e}", descriptor.digest))
    };
    let document =
        Document::manifest(bytes.clone(), Some(&descriptor.media_type)).map_err(|e| invalid(&e))?;
    document.with_digest_algorithm(&descriptor.digest.algorithm()).map_err(|e| invalid(&e))
}
