//! Copying whole image graphs between any two [`Location`]s.
//!
//! A copy runs in four steps:
//! 1. **Walk**: the root is resolved (a `HEAD` at a registry), then every manifest
//!    under it is read, each level in parallel, from the destination when it has it,
//!    else from the source ([`graph`]); the root is asked for by the destination tag
//!    first, so that a tag already naming it is seen in the same exchange and left as
//!    it is. The platform selection happens at the root.
//! 2. **Check**: every blob is looked up at the destination (`HEAD`, or the layout's
//!    files), all before any bulk transfer starts: small requests go first.
//! 3. **Transfer**: the missing blobs, largest first, each streamed from source to
//!    destination without touching the disk in between (a registry's bytes are
//!    verified as they arrive; a layout's as they are written), or mounted when both
//!    ends are repositories of one registry. One budget of concurrent requests per host
//!    is shared by both ends ([`CopyOptions::jobs`]).
//! 4. **Commit**: the manifests the destination lacks are written as their exact
//!    bytes, children before parents, then the tags, last; a tar is committed.
//!
//! A copy that fails, or whose future is dropped, leaves the destination as it was plus
//! complete blobs (and, in a directory, complete manifests): never a tag naming
//! something missing. Run again, it moves only what is missing: a blob over 1 MiB cut
//! off on its way from a registry into a directory goes on from the bytes it kept
//! (hidden in the layout, hashed again, the rest asked for with `Range`).
//!
//! A `docker-archive:` source is read as the one image it names; as a destination it
//! takes one image (choose a platform of an index) and is written whole at the end, as
//! an OCI layout tar with the `manifest.json` `docker load` reads.

mod budget;
mod endpoint;
mod fetch;
mod graph;
mod options;
mod referrers;

use std::sync::Arc;

use oci_distribution::{Client, DEFAULT_MOUNT_CHECK_MAX_SIZE, Progress};
use oci_spec_types::{Descriptor, Digest, Manifest};
use tokio::task::JoinSet;

use self::budget::Budgets;
use self::endpoint::Endpoint;
pub use self::fetch::{Fetched, fetch_blob, fetch_manifest};
use self::graph::{Ends, Graph};
pub use self::options::{CopyEvent, CopyOptions, CopyReport, DEFAULT_JOBS, ProgressFn};
use crate::docker_archive::ArchiveWriter;
use crate::{Error, ErrorKind, Location, Result};

/// Copies the image (or index, with everything under it) that `src` names to `dst`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let layout = oci::Layout::init_dir(dir.path().join("in"))?;
/// # let config = layout.add_blob(&b"{}"[..], oci::MediaType::EMPTY)?;
/// # let image = oci::Document::new(oci::spec::ImageManifest::new(config, vec![]))?;
/// # layout.tag("v1", layout.write_document(&image)?)?;
/// use oci::{CopyOptions, Location};
///
/// let src: Location = format!("oci:{}:v1", dir.path().join("in").display()).parse()?;
/// let dst: Location = format!("oci-archive:{}:v1", dir.path().join("out.tar").display()).parse()?;
/// let report = oci::copy(&src, &dst, CopyOptions::default()).await?;
/// assert_eq!(report.destination.digest, report.source.digest);
/// assert_eq!((report.manifests_copied, report.blobs_copied), (1, 1));
/// // Again: everything is there already.
/// let again = oci::copy(&src, &dst, CopyOptions::default()).await?;
/// assert_eq!((again.manifests_skipped, again.blobs_skipped, again.bytes_copied), (1, 1, 0));
/// # Ok(()) }
/// ```
pub async fn copy(src: &Location, dst: &Location, options: CopyOptions) -> Result<CopyReport> {
    // Boxed: the state of a whole copy is large, and callers' futures stay small.
    Box::pin(run(src, dst, options)).await
}

async fn run(src: &Location, dst: &Location, options: CopyOptions) -> Result<CopyReport> {
    let client = match &options.client {
        Some(client) => client.clone(),
        None => Client::builder()
            .build()
            .map_err(|e| Error::new(ErrorKind::Registry, "building the registry client").with_source(e))?,
    };
    let source = Endpoint::open(src, &client, false, false).await?;
    // A docker archive is written as a layout tar first, then with its manifest.json.
    let docker_out = match dst {
        Location::DockerArchive { path, .. } => Some(ArchiveWriter::new(path)),
        _ => None,
    };
    let written = docker_out.as_ref().map_or_else(|| dst.clone(), ArchiveWriter::staging);
    let destination = Endpoint::open(&written, &client, true, options.fsync).await?;
    let root = source.resolve(src).await?;
    if let Some(wanted) = dst.digest() {
        if options.platforms.is_empty() && wanted != &root.digest {
            return Err(Error::new(
                ErrorKind::InvalidLocation,
                format!("{dst} names {wanted}, but {src} is {}", root.digest),
            ));
        }
    }
    let ends = Ends {
        src: Arc::new(source),
        dst: Arc::new(destination),
        budgets: Arc::new(Budgets::new(options.jobs())),
        retry: client.retry_policy().clone(),
    };
    let tags = dest_tags(src, dst, &options);
    // With a platform chosen, the tag names another manifest than the source's root.
    let tag = tags.first().filter(|_| options.platforms.is_empty() && docker_out.is_none());
    let (root_node, tagged) = ends.fetch_root(root.clone(), tag.map(String::as_str)).await?;
    let root_node = graph::select(&ends, root_node, &options.platforms).await?;
    let docker_image = match (&docker_out, &root_node.manifest) {
        (None, _) => None,
        (Some(_), Manifest::Image(image)) => Some(image.clone()),
        (Some(_), _) => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{dst} holds one image and {src} is an index: choose a platform"),
            ));
        }
    };
    let mut report = CopyReport::new(root, root_node.descriptor.clone());
    let graph = graph::walk(&ends, root_node, options.include_foreign).await?;
    report.foreign_skipped = graph.foreign;
    transfer_blobs(&ends, &graph, &options, &mut report).await?;
    write_manifests(&ends, &graph, &options, &mut report).await?;
    if options.referrers {
        let subjects = graph.manifests.iter().map(|m| m.descriptor.digest.clone()).collect();
        referrers::copy_all(&ends, subjects, &options, &mut report).await?;
    }
    let root =
        graph.manifests.last().ok_or_else(|| Error::new(ErrorKind::InvalidManifest, "an empty graph"))?;
    if tags.is_empty() {
        ends.dst.name_root(&root.descriptor, &root.bytes, None).await?;
    }
    // The first tag is not written again when it named the root already.
    for tag in tags.iter().skip(usize::from(tagged)) {
        ends.dst.name_root(&root.descriptor, &root.bytes, Some(tag)).await?;
    }
    report.tags = tags;
    ends.dst.finish().await?;
    if let (Some(writer), Some(image)) = (docker_out, docker_image) {
        let name = match (dst, src) {
            (Location::DockerArchive { reference: Some(r), .. }, _) | (_, Location::Registry(r)) => Some(r),
            _ => None,
        };
        writer.finish(image, ArchiveWriter::repo_tags(name), options.fsync).await?;
    }
    Ok(report)
}

/// The tags to write: those asked for, else the destination's own, else the source's
/// when the source was named by tag (a copy by digest into a layout stays untagged).
fn dest_tags(src: &Location, dst: &Location, options: &CopyOptions) -> Vec<String> {
    if !options.dest_tags.is_empty() {
        return options.dest_tags.clone();
    }
    if dst.digest().is_some() {
        return Vec::new();
    }
    dst.tag().or_else(|| src.tag()).map(|t| vec![t.to_owned()]).unwrap_or_default()
}

fn emit(options: &CopyOptions, event: &CopyEvent) {
    if let Some(progress) = &options.progress {
        progress(event);
    }
}

/// What one blob's task did.
enum Moved {
    Skipped,
    Mounted,
    Copied,
}

/// Steps 2 and 3: every blob checked at the destination, then the missing ones moved.
async fn transfer_blobs(
    ends: &Ends,
    graph: &Graph,
    options: &CopyOptions,
    report: &mut CopyReport,
) -> Result<()> {
    // Small blobs read from a layout and pushed to a registry are asked for in the push
    // itself (a mount check that opens the upload when the registry lacks the blob): one
    // exchange fewer than a HEAD first.
    let asks_on_push = |blob: &Descriptor| {
        ends.src.is_layout() && ends.dst.repository().is_some() && blob.size <= DEFAULT_MOUNT_CHECK_MAX_SIZE
    };
    let mut checks = JoinSet::new();
    let mut missing = Vec::new();
    for blob in graph.blobs.iter().cloned() {
        if asks_on_push(&blob) {
            missing.push(blob);
            continue;
        }
        let ends = ends.clone();
        checks.spawn(async move {
            let _permit = ends.budgets.acquire(&[ends.dst.budget_key()]).await;
            let present = ends.dst.has_blob(&blob).await?;
            Ok::<_, Error>((blob, present))
        });
    }
    while let Some(joined) = checks.join_next().await {
        let (blob, present) = joined.map_err(|e| task_failed(&e))??;
        if present {
            report.blobs_skipped += 1;
            report.bytes_skipped += blob.size;
            emit(options, &CopyEvent::BlobSkipped { digest: blob.digest.clone(), size: blob.size });
        } else {
            missing.push(blob);
        }
    }
    // Largest first: the long transfers start early and the small ones fill in.
    missing.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.digest.cmp(&b.digest)));
    let mut transfers = JoinSet::new();
    for blob in missing {
        let (ends, options) = (ends.clone(), options.clone());
        let ask_first = asks_on_push(&blob);
        transfers.spawn(async move {
            let moved = move_blob(&ends, &blob, &options, ask_first).await?;
            Ok::<_, Error>((blob, moved))
        });
    }
    while let Some(joined) = transfers.join_next().await {
        let (blob, moved) = joined.map_err(|e| task_failed(&e))??;
        match moved {
            Moved::Skipped => {
                report.blobs_skipped += 1;
                report.bytes_skipped += blob.size;
            }
            Moved::Mounted => {
                report.blobs_mounted += 1;
                report.bytes_skipped += blob.size;
            }
            Moved::Copied => {
                report.blobs_copied += 1;
                report.bytes_copied += blob.size;
            }
        }
    }
    Ok(())
}

/// Mounts the blob when both ends are repositories of one registry, else streams it.
async fn move_blob(ends: &Ends, blob: &Descriptor, options: &CopyOptions, ask_first: bool) -> Result<Moved> {
    let keys = [ends.src.budget_key(), ends.dst.budget_key()];
    let _permits = ends.budgets.acquire(&keys).await;
    let same_registry = match (ends.src.repository(), ends.dst.repository()) {
        (Some(from), Some(to)) if from.endpoint_host() == to.endpoint_host() => {
            if from == to {
                return Ok(Moved::Skipped);
            }
            Some(from.clone())
        }
        _ => None,
    };
    if let Some(from) = same_registry {
        if ends.dst.mount(blob, &from).await {
            emit(options, &CopyEvent::BlobMounted { digest: blob.digest.clone(), size: blob.size });
            return Ok(Moved::Mounted);
        }
    }
    emit(options, &CopyEvent::BlobStarted { digest: blob.digest.clone(), size: blob.size });
    let policy = &ends.retry;
    let mut attempt = 0;
    loop {
        match stream_blob(ends, blob, options, ask_first).await {
            // A request's own retries could not hide it (a stream cannot be sent again
            // by them): the transfer starts over, from what a layout kept of it.
            Err(e) if e.is_transient() && attempt < policy.max_retries => {
                let delay = policy.backoff(attempt);
                tracing::debug!(digest = %blob.digest, error = %e, ?delay, "transferring the blob again");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            moved => return moved,
        }
    }
}

/// One attempt at moving `blob` by streaming it.
async fn stream_blob(
    ends: &Ends,
    blob: &Descriptor,
    options: &CopyOptions,
    ask_first: bool,
) -> Result<Moved> {
    let progress = progress_of(options, blob.size);
    if !ends.dst.pull_resuming(&ends.src, blob, Arc::clone(&progress)).await? {
        let source = ends.src.read_blob(blob, Arc::clone(&progress)).await?;
        if ends.dst.write_blob(blob, source, progress, ask_first).await? {
            emit(options, &CopyEvent::BlobSkipped { digest: blob.digest.clone(), size: blob.size });
            return Ok(Moved::Skipped);
        }
    }
    emit(options, &CopyEvent::BlobDone { digest: blob.digest.clone(), size: blob.size });
    Ok(Moved::Copied)
}

/// The client's byte counts as [`CopyEvent::BlobProgress`].
fn progress_of(options: &CopyOptions, size: u64) -> Arc<dyn Progress> {
    let sink = options.progress.clone();
    Arc::new(move |digest: &Digest, done: u64, _: Option<u64>| {
        if let Some(sink) = &sink {
            sink(&CopyEvent::BlobProgress { digest: digest.clone(), done, size });
        }
    })
}

/// Step 4: the manifests the destination lacks, children before parents.
async fn write_manifests(
    ends: &Ends,
    graph: &Graph,
    options: &CopyOptions,
    report: &mut CopyReport,
) -> Result<()> {
    for node in &graph.manifests {
        if node.present {
            report.manifests_skipped += 1;
        } else {
            let _permit = ends.budgets.acquire(&[ends.dst.budget_key()]).await;
            ends.dst.put_manifest(&node.descriptor, &node.bytes).await?;
            report.manifests_copied += 1;
        }
        emit(options, &CopyEvent::Manifest { digest: node.descriptor.digest.clone(), skipped: node.present });
    }
    Ok(())
}

fn task_failed(e: &tokio::task::JoinError) -> Error {
    Error::new(ErrorKind::Io, format!("a copy task failed: {e}"))
}
