//! The work done with our client: pulling an image into a layout directory, pushing one
//! from it, and the raw transfers of the same blobs that serve as the limits.

use std::future::Future;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;
use http_body_util::BodyExt as _;
use oci_distribution::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use oci_distribution::{Body, Client, PushOptions};
use oci_layout::Layout;
use oci_reference::Reference;
use oci_spec_types::{Descriptor, Digest, Digester, Document, ImageManifest, Manifest, MediaType};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::Result;

/// The tag images get in the layouts the bench writes.
pub(super) const LAYOUT_TAG: &str = "bench";
/// The chunk a push reads a blob in (blobs up to this size are pushed and pulled whole).
const READ_CHUNK: usize = 1024 * 1024;
/// How many chunks a push reads ahead of what is sent.
const READ_AHEAD: usize = 2;

/// Runs `work` on every item, at most `limit` at a time, each as its own task (so that
/// they spread over the runtime's worker threads); the first error wins.
pub(super) async fn for_each_bounded<T, F, Fut>(items: Vec<T>, limit: usize, work: F) -> Result<u64>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<u64>> + Send + 'static,
{
    let semaphore = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = JoinSet::new();
    for item in items {
        let permit = Arc::clone(&semaphore).acquire_owned().await.map_err(|e| e.to_string())?;
        let future = work(item);
        tasks.spawn(async move {
            let result = future.await;
            drop(permit);
            result
        });
    }
    let mut total = 0;
    while let Some(joined) = tasks.join_next().await {
        total += joined.map_err(|e| format!("a transfer task failed: {e}"))??;
    }
    Ok(total)
}

/// The image manifest `reference` names, parsed, and as the document it came as.
async fn image_manifest(client: &Client, reference: &Reference) -> Result<(ImageManifest, Document)> {
    let document = client.get_manifest(reference).await.map_err(|e| format!("{reference}: {e}"))?;
    match document.value() {
        Manifest::Image(image) => Ok((image.clone(), document)),
        _ => Err(format!("{reference}: not an image manifest")),
    }
}

/// Pulls the image `reference` into a new layout directory at `dir`, `concurrency` blobs
/// at a time, tagged [`LAYOUT_TAG`]: the product's copy ([`oci::copy`]), every blob
/// streamed into the layout as it is verified (one hash per byte), and flushed to disk
/// with `fsync`. Returns the bytes transferred.
pub(super) async fn pull(
    client: &Client,
    reference: &Reference,
    dir: &Path,
    concurrency: usize,
    fsync: bool,
) -> Result<u64> {
    let src = oci::Location::registry(reference);
    let dst = oci::Location::Dir { path: dir.to_owned(), image: oci::LayoutRef::Tag(LAYOUT_TAG.to_owned()) };
    let options =
        oci::CopyOptions::default().with_client(client.clone()).with_jobs(concurrency).with_fsync(fsync);
    let report = oci::copy(&src, &dst, options).await.map_err(|e| format!("{src} -> {dst}: {e}"))?;
    Ok(report.bytes_copied)
}

/// Pushes the image tagged [`LAYOUT_TAG`] in the layout directory `dir` to `target` (a
/// reference with a tag), `concurrency` blobs at a time: the product's copy, each blob
/// streamed from its file through the client, which checks size and digest as it sends.
/// Returns the bytes transferred.
pub(super) async fn push(client: &Client, dir: &Path, target: &Reference, concurrency: usize) -> Result<u64> {
    let src = oci::Location::Dir { path: dir.to_owned(), image: oci::LayoutRef::Tag(LAYOUT_TAG.to_owned()) };
    let dst = oci::Location::registry(target);
    let options = oci::CopyOptions::default().with_client(client.clone()).with_jobs(concurrency);
    let report = oci::copy(&src, &dst, options).await.map_err(|e| format!("{src} -> {dst}: {e}"))?;
    Ok(report.bytes_copied)
}

/// The raw download of the layers of `reference`: `GET`s sent through
/// [`Client::execute`], `concurrency` at a time, their bodies drained without storing,
/// and with `hash`, hashed as they come and checked against their digests (the floor
/// any verifying client pays). Returns the bytes received.
pub(super) async fn raw_download(
    client: &Client,
    reference: &Reference,
    concurrency: usize,
    hash: bool,
) -> Result<u64> {
    let (image, _) = image_manifest(client, reference).await?;
    let registry = reference.registry();
    for_each_bounded(image.layers, concurrency, |blob| {
        let (client, reference, registry) = (client.clone(), reference.clone(), registry.clone());
        async move {
            let path = format!("/v2/{}/blobs/{}", reference.path(), blob.digest);
            let scopes = [format!("repository:{}:pull", reference.path())];
            let response = client
                .execute(&registry, Method::GET, &path, HeaderMap::new(), Body::empty(), &scopes)
                .await
                .map_err(|e| format!("GET {path}: {e}"))?;
            if response.status() != StatusCode::OK {
                return Err(format!("GET {path}: status {}", response.status()));
            }
            let mut body = response.into_body();
            let mut received = 0u64;
            let mut digester = hash.then(Digester::sha256);
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| format!("GET {path}: {e}"))?;
                if let Some(data) = frame.data_ref() {
                    received += data.len() as u64;
                    if let Some(digester) = &mut digester {
                        digester.update(data);
                    }
                }
            }
            if received != blob.size {
                return Err(format!("GET {path}: {received} bytes, expected {}", blob.size));
            }
            match digester.map(Digester::finalize) {
                Some(digest) if digest != blob.digest => Err(format!("GET {path}: the content is {digest}")),
                _ => Ok(received),
            }
        }
    })
    .await
}

/// What a raw upload sends for a blob: bytes in memory, or a file read in chunks (no
/// hashing either way).
pub(super) enum RawSource {
    /// Content in memory.
    Bytes(Bytes),
    /// The file of a layout's blob.
    File(PathBuf),
}

/// The raw upload of `blobs` to `target`'s repository: `POST` then `PUT ?digest=` with
/// the content, through [`Client::execute`], `concurrency` at a time, nothing hashed on
/// our side unless `hash` (the registry checks the digest either way): then each blob is
/// hashed as it is read, and a mismatch fails it. Returns the bytes sent.
pub(super) async fn raw_upload(
    client: &Client,
    target: &Reference,
    blobs: Vec<(Descriptor, RawSource)>,
    concurrency: usize,
    hash: bool,
) -> Result<u64> {
    let registry = target.registry();
    for_each_bounded(blobs, concurrency, |(blob, source)| {
        let (client, target, registry) = (client.clone(), target.clone(), registry.clone());
        async move {
            let scopes = [format!("repository:{}:pull,push", target.path())];
            let uploads = format!("/v2/{}/blobs/uploads/", target.path());
            let response = client
                .execute(&registry, Method::POST, &uploads, HeaderMap::new(), Body::empty(), &scopes)
                .await
                .map_err(|e| format!("POST {uploads}: {e}"))?;
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .filter(|_| response.status() == StatusCode::ACCEPTED)
                .map(str::to_owned)
                .ok_or_else(|| format!("POST {uploads}: status {} without a Location", response.status()))?;
            drop(response);
            let separator = if location.contains('?') { '&' } else { '?' };
            let put = format!("{location}{separator}digest={}", blob.digest);
            let body = match source {
                RawSource::Bytes(bytes) => {
                    if hash && Digest::sha256(&bytes) != blob.digest {
                        return Err(format!("{}: the content does not match", blob.digest));
                    }
                    Body::from_bytes(bytes)
                }
                RawSource::File(path) => {
                    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                    let expected = hash.then(|| blob.digest.clone());
                    Body::from_body(ReadBody::spawn(file, blob.size, expected), Some(blob.size))
                }
            };
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
            let response = client
                .execute(&registry, Method::PUT, &put, headers, body, &scopes)
                .await
                .map_err(|e| format!("PUT {put}: {e}"))?;
            if response.status() != StatusCode::CREATED {
                return Err(format!("PUT {put}: status {}", response.status()));
            }
            Ok(blob.size)
        }
    })
    .await
}

/// A body read from a [`Read`] on a blocking thread in [`READ_CHUNK`] chunks, a few
/// chunks ahead, hashed there when a digest is expected. A read error, or content that
/// does not match, ends it early: what it feeds then sees the content end short (the
/// registry refuses it).
struct ReadBody {
    rx: mpsc::Receiver<Bytes>,
}

impl ReadBody {
    /// Reads `size` bytes (the rest is not read) from `reader`; with `expected`, the
    /// last chunk is held back unless they hash to it.
    fn spawn(mut reader: impl Read + Send + 'static, size: u64, expected: Option<Digest>) -> Self {
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        tokio::task::spawn_blocking(move || {
            let mut digester = expected.as_ref().map(|_| Digester::sha256());
            let mut left = size;
            while left > 0 {
                let mut buf = vec![0u8; READ_CHUNK.min(usize::try_from(left).unwrap_or(READ_CHUNK))];
                match reader.read(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        left -= n as u64;
                        if let Some(digester) = &mut digester {
                            digester.update(&buf);
                        }
                        let wrong =
                            left == 0 && digester.take().is_some_and(|d| Some(d.finalize()) != expected);
                        if wrong || tx.blocking_send(Bytes::from(buf)).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Self { rx }
    }
}

impl http_body::Body for ReadBody {
    type Data = Bytes;
    type Error = oci_distribution::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes))))
    }
}

/// Pushes an image of `layers` (each pushed as it is made, then dropped) and a small
/// configuration to `reference` (a reference with a tag). Setup, not measured.
pub(super) async fn push_generated(
    client: &Client,
    reference: &Reference,
    layers: impl Iterator<Item = Vec<u8>>,
) -> Result<()> {
    let mut descriptors = Vec::new();
    let repository = reference.repository();
    for layer in layers {
        let descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR_GZIP, &layer);
        client
            .push_blob(&repository, &descriptor, layer, PushOptions::default())
            .await
            .map_err(|e| format!("setup: pushing a layer to {reference}: {e}"))?;
        descriptors.push(descriptor);
    }
    let config = super::image_config();
    let config_descriptor = Descriptor::for_bytes(MediaType::IMAGE_CONFIG, &config);
    client
        .push_blob(&repository, &config_descriptor, config, PushOptions::default())
        .await
        .map_err(|e| format!("setup: pushing the config to {reference}: {e}"))?;
    let manifest = Document::new(ImageManifest::new(config_descriptor, descriptors))
        .map_err(|e| format!("setup: the manifest: {e}"))?;
    client
        .put_manifest(reference, &manifest)
        .await
        .map_err(|e| format!("setup: pushing the manifest to {reference}: {e}"))?;
    Ok(())
}

/// Writes an image of `layers` into a new layout directory at `dir`, tagged
/// [`LAYOUT_TAG`]. Setup, not measured.
pub(super) fn write_layout(dir: &Path, layers: impl Iterator<Item = Vec<u8>>) -> Result<()> {
    let err = |e: oci_layout::Error| format!("setup: {}: {e}", dir.display());
    let layout = Layout::init_dir(dir).map_err(err)?;
    let mut descriptors = Vec::new();
    for layer in layers {
        descriptors.push(layout.add_blob(&layer[..], MediaType::LAYER_TAR_GZIP).map_err(err)?);
    }
    let config = layout.add_blob(&super::image_config()[..], MediaType::IMAGE_CONFIG).map_err(err)?;
    let manifest =
        Document::new(ImageManifest::new(config, descriptors)).map_err(|e| format!("setup: {e}"))?;
    let manifest = layout.write_document(&manifest).map_err(err)?;
    layout.tag(LAYOUT_TAG, manifest).map_err(err)?;
    layout.commit().map_err(err)
}
