//! The async API (feature `tokio`, always on for tests): chunked writers, streaming
//! readers, the `spawn_blocking` boundary.

use oci_layout::{AsyncLayout, ErrorKind, Layout};
use oci_spec_types::{Digest, DigestAlgorithm, MediaType};
use tokio::io::AsyncReadExt as _;

use crate::common::random_bytes;

fn layout() -> (tempfile::TempDir, AsyncLayout) {
    let tmp = tempfile::tempdir().unwrap();
    let layout = AsyncLayout::new(Layout::init_dir(tmp.path()).unwrap());
    (tmp, layout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_in_blob_out() {
    let (_tmp, layout) = layout();
    let data = random_bytes(5, 3 * 1024 * 1024 + 333);
    let digest = Digest::sha256(&data);
    let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await.unwrap();
    for chunk in data.chunks(16 * 1024) {
        w.write_chunk(chunk.to_vec()).await.unwrap();
    }
    assert_eq!(w.bytes_written(), data.len() as u64);
    w.commit(data.len() as u64, digest.clone()).await.unwrap();
    assert!(layout.has_blob(digest.clone()).await.unwrap());

    // Read back as chunks and as an AsyncRead.
    let mut r = layout.blob_reader(digest.clone()).await.unwrap();
    assert_eq!(r.size(), data.len() as u64);
    let mut chunks = Vec::new();
    while let Some(c) = r.chunk().await.unwrap() {
        chunks.extend_from_slice(&c);
    }
    assert_eq!(chunks, data);
    let mut r = layout.blob_reader(digest.clone()).await.unwrap();
    let mut all = Vec::new();
    r.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_without_hashing_check_the_size_and_trust_the_digest() {
    let data = random_bytes(6, 3 * 1024 * 1024 + 17); // more than one pipeline chunk
    let digest = Digest::sha256(&data);
    let tmp = tempfile::tempdir().unwrap();
    let tar = tmp.path().join("a.tar");
    let dir = AsyncLayout::new(Layout::init_dir(tmp.path().join("dir")).unwrap());
    let tar = AsyncLayout::open_with(move || Layout::init_tar(tar)).await.unwrap();
    for layout in [dir, tar] {
        let mut w = layout.blob_writer_without_hashing(DigestAlgorithm::SHA256).await.unwrap();
        for chunk in data.chunks(400 * 1024) {
            w.write_chunk(chunk.to_vec()).await.unwrap();
        }
        w.commit(data.len() as u64, digest.clone()).await.unwrap();
        layout.commit().await.unwrap();
        assert_eq!(layout.read_blob(digest.clone()).await.unwrap(), data);

        let mut w = layout.blob_writer_without_hashing(DigestAlgorithm::SHA256).await.unwrap();
        w.write_all(b"abc").await.unwrap();
        let err = w.commit(4, Digest::sha256(b"abc")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
        assert!(!layout.has_blob(Digest::sha256(b"abc")).await.unwrap());

        let mut w = layout.blob_writer_without_hashing(DigestAlgorithm::SHA256).await.unwrap();
        w.write_all(b"abc").await.unwrap();
        assert_eq!(w.finish().await.unwrap_err().kind(), ErrorKind::UnexpectedDigest);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn failed_and_abandoned_writers_leave_nothing() {
    let (tmp, layout) = layout();
    let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await.unwrap();
    w.write_all(b"abc").await.unwrap();
    let err = w.commit(3, Digest::sha256(b"abd")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);

    let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await.unwrap();
    w.write_all(b"abc").await.unwrap();
    let err = w.commit(4, Digest::sha256(b"abc")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedSize);

    let alg_dir = tmp.path().join("blobs/sha256");
    let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await.unwrap();
    w.write_all(&random_bytes(1, 2 * 1024 * 1024)).await.unwrap();
    assert_eq!(std::fs::read_dir(&alg_dir).unwrap().count(), 1, "the temporary file");
    // Abandoned: once abort returns, the blocking side has removed its temporary file.
    w.abort().await.unwrap();
    assert_eq!(std::fs::read_dir(&alg_dir).unwrap().count(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_tar_layout_opened_on_the_blocking_pool() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("a.tar");
    let layout = AsyncLayout::open_with({
        let path = path.clone();
        move || Layout::open_or_init_tar(path)
    })
    .await
    .unwrap();
    let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await.unwrap();
    w.write_all(b"in a tar").await.unwrap();
    let (digest, size) = w.finish().await.unwrap();
    assert_eq!((digest.clone(), size), (Digest::sha256(b"in a tar"), 8));
    layout.commit().await.unwrap();
    let reopened = AsyncLayout::open_with(move || Layout::open_tar(path)).await.unwrap();
    assert_eq!(reopened.read_blob(digest).await.unwrap(), b"in a tar");
}

#[tokio::test(flavor = "current_thread")]
async fn a_corrupt_blob_fails_the_async_reader() {
    let (tmp, layout) = layout();
    let (digest, _) = {
        let mut w = layout.blob_writer(DigestAlgorithm::SHA256).await.unwrap();
        w.write_all(b"original").await.unwrap();
        w.finish().await.unwrap()
    };
    std::fs::write(tmp.path().join(oci_layout::blob_path(&digest)), b"tampered").unwrap();
    let mut r = layout.blob_reader(digest).await.unwrap();
    let err = r.read_to_end(&mut Vec::new()).await.unwrap_err();
    assert_eq!(oci_layout::Error::io(err).kind(), ErrorKind::UnexpectedDigest);
}

#[tokio::test(flavor = "current_thread")]
async fn index_operations_and_the_blocking_boundary() {
    let (_tmp, layout) = layout();
    let config = layout.add_blob(&br#"{"a":1}"#[..], MediaType::IMAGE_CONFIG).await.unwrap();
    let manifest = oci_spec_types::ImageManifest::new(config.clone(), vec![]);
    let manifest = layout.write_document(oci_spec_types::Document::new(manifest).unwrap()).await.unwrap();
    layout
        .blocking({
            let manifest = manifest.clone();
            move |l| l.tag("v1", manifest)
        })
        .await
        .unwrap();
    assert_eq!(layout.resolve("v1").await.unwrap().digest, manifest.digest);
    assert_eq!(layout.read_index().await.unwrap().manifests.len(), 1);
    assert!(layout.fsck().await.unwrap().is_ok());
    assert!(layout.gc().await.unwrap().removed.is_empty());
    assert_eq!(layout.read_blob(config.digest.clone()).await.unwrap(), br#"{"a":1}"#);
    layout.tag("v2", manifest.clone()).await.unwrap();
    assert_eq!(layout.tags().await.unwrap(), ["v1", "v2"]);
    assert_eq!(layout.remove_manifest_descriptor("v1").await.unwrap().len(), 1);
    assert_eq!(layout.tags().await.unwrap(), ["v2"]);
    assert_eq!(layout.blob_size(config.digest.clone()).await.unwrap(), Some(7));
    assert!(layout.delete_blob(config.digest.clone()).await.unwrap());
    assert_eq!(layout.blob_size(config.digest.clone()).await.unwrap(), None);
    layout.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_has_an_async_twin() {
    use oci_spec_types::{Descriptor, Document, ImageLayout, ImageManifest};

    let tmp = tempfile::tempdir().unwrap();
    let dir = AsyncLayout::init_dir(tmp.path().join("dir")).await.unwrap();
    assert_eq!(dir.read_image_layout().await.unwrap(), ImageLayout::default());
    assert_eq!(dir.location(), tmp.path().join("dir"));
    // Blobs from any AsyncRead: checked against a descriptor, or described once written.
    let data = random_bytes(9, 700_000);
    let layer = dir.add_blob(&data[..], MediaType::LAYER_TAR).await.unwrap();
    assert_eq!(layer, Descriptor::for_bytes(MediaType::LAYER_TAR, &data));
    let config = Descriptor::for_bytes(MediaType::EMPTY, b"{}");
    dir.write_blob(&b"{}"[..], config.clone()).await.unwrap();
    let wrong = Descriptor::for_bytes(MediaType::EMPTY, b"[]");
    let e = dir.write_blob(&b"{}"[..], wrong.clone()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnexpectedDigest);
    assert!(!dir.has_blob(wrong.digest).await.unwrap(), "nothing stored");
    let manifest = Document::new(ImageManifest::new(config, vec![layer])).unwrap();
    dir.tag("v1", dir.write_document(manifest.clone()).await.unwrap()).await.unwrap();
    let read = dir.read_manifest(dir.resolve("v1").await.unwrap()).await.unwrap();
    assert_eq!(read.bytes(), manifest.bytes());
    assert!(dir.read_index_bytes().await.unwrap().starts_with(b"{"));

    // Into a tar layout, which must be committed: copy_to does it.
    let tar = AsyncLayout::init_tar(tmp.path().join("image.tar")).await.unwrap();
    dir.copy_to(&tar).await.unwrap();
    assert!(!tar.has_uncommitted_changes());
    let reopened = AsyncLayout::open_path(tmp.path().join("image.tar")).await.unwrap();
    assert_eq!(reopened.tags().await.unwrap(), ["v1"]);
    assert!(reopened.fsck().await.unwrap().is_ok());
    reopened.remove_manifest_descriptor("v1").await.unwrap();
    assert!(reopened.has_uncommitted_changes());
    reopened.commit().await.unwrap();
    assert!(
        AsyncLayout::open_tar(tmp.path().join("image.tar")).await.unwrap().tags().await.unwrap().is_empty()
    );
}
