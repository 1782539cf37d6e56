//! Blob writers: verified commits, nothing left behind, concurrent writers.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Barrier};

use oci_layout::{ErrorKind, Layout};
use oci_spec_types::{Descriptor, Digest, DigestAlgorithm, MediaType};

use crate::common::random_bytes;

/// Every file under `blobs/`, hidden ones included.
fn files_under_blobs(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let blobs = root.join("blobs");
    for alg in std::fs::read_dir(&blobs).unwrap() {
        let alg = alg.unwrap();
        for f in std::fs::read_dir(alg.path()).unwrap() {
            out.push(format!(
                "{}/{}",
                alg.file_name().to_string_lossy(),
                f.unwrap().file_name().to_string_lossy()
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn failed_commits_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let data = random_bytes(1, 3 * 1024 * 1024 + 17); // crosses the writer's chunks
    let digest = Digest::sha256(&data);

    let mut w = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    w.write_all(&data).unwrap();
    let err = w.commit(data.len() as u64 + 1, &digest).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
    assert_eq!(err.digest(), Some(&digest));
    assert!(
        err.to_string().ends_with(&format!("expected {} bytes, got {}", data.len() + 1, data.len())),
        "{err}"
    );

    let mut w = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    w.write_all(&data).unwrap();
    let wrong = Digest::sha256(b"something else");
    let err = w.commit(data.len() as u64, &wrong).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);
    assert_eq!(err.to_string(), format!("unexpected blob digest for {wrong}: got {digest}"));

    let err = layout
        .write_blob(&data[..10], &Descriptor::new(MediaType::LAYER_TAR, digest.clone(), 10))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);

    let mut w = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    w.write_all(&data).unwrap();
    drop(w); // abandoned

    assert!(files_under_blobs(tmp.path()).is_empty(), "{:?}", files_under_blobs(tmp.path()));
    assert!(!layout.has_blob(&digest).unwrap());

    layout
        .write_blob(&data[..], &Descriptor::new(MediaType::LAYER_TAR, digest.clone(), data.len() as u64))
        .unwrap();
    assert_eq!(files_under_blobs(tmp.path()), [format!("sha256/{}", digest.encoded())]);
    assert_eq!(std::fs::read(tmp.path().join(oci_layout::blob_path(&digest))).unwrap(), data);
}

#[test]
fn concurrent_writers_of_one_blob_all_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Arc::new(Layout::init_dir(tmp.path()).unwrap());
    let data = Arc::new(random_bytes(2, 2 * 1024 * 1024 + 5));
    let digest = Digest::sha256(&data);
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (layout, data, digest, barrier) =
                (layout.clone(), data.clone(), digest.clone(), barrier.clone());
            std::thread::spawn(move || {
                let mut w = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
                barrier.wait();
                for piece in data.chunks(1000 + i * 4099) {
                    w.write_all(piece).unwrap();
                }
                barrier.wait(); // everyone has written everything before anyone commits
                w.commit(data.len() as u64, &digest)
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    assert_eq!(files_under_blobs(tmp.path()), [format!("sha256/{}", digest.encoded())]);
    assert_eq!(layout.read_blob(&digest).unwrap(), *data);
}

#[test]
fn concurrent_writers_into_a_tar_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    let layout = Arc::new(Layout::init_tar(&path).unwrap());
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            let layout = layout.clone();
            std::thread::spawn(move || {
                let same = layout.add_blob(&b"shared by all"[..], MediaType::OCTET_STREAM).unwrap();
                let own = layout.add_blob(&random_bytes(i, 100_000)[..], MediaType::OCTET_STREAM).unwrap();
                (same, own)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    layout.commit().unwrap();
    let reopened = Layout::open_tar(&path).unwrap();
    assert_eq!(reopened.driver().list_blobs().unwrap().blobs.len(), 5);
    for (same, own) in results {
        assert_eq!(reopened.read_blob(&same.digest).unwrap(), b"shared by all");
        assert_eq!(reopened.blob_size(&own.digest).unwrap(), Some(100_000));
    }
}

#[test]
fn other_algorithms() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let data = b"sha512 please";
    let digest = Digest::compute(&DigestAlgorithm::SHA512, data).unwrap();
    layout.write_blob(&data[..], &Descriptor::new(MediaType::OCTET_STREAM, digest.clone(), 13)).unwrap();
    assert_eq!(files_under_blobs(tmp.path()), [format!("sha512/{}", digest.encoded())]);
    assert_eq!(layout.read_blob(&digest).unwrap(), data);

    let unknown: Digest = "md5:d41d8cd98f00b204e9800998ecf8427e".parse().unwrap();
    let err = layout.write_blob(&b""[..], &Descriptor::new(MediaType::OCTET_STREAM, unknown, 0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedAlgorithm);
}

#[test]
fn documents_are_stored_as_their_exact_bytes_and_read_back_as_manifests() {
    use oci_spec_types::{Document, ImageIndex};

    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    // White space and key order as received: the digest is over these bytes.
    let bytes =
        br#"{ "schemaVersion": 2, "manifests": [] , "mediaType": "application/vnd.oci.image.index.v1+json"}"#;
    let received = Document::manifest(&bytes[..], Some(&MediaType::IMAGE_INDEX)).unwrap();
    let d = layout.write_document(&received).unwrap();
    assert_eq!(d, Descriptor::for_bytes(MediaType::IMAGE_INDEX, bytes));
    assert_eq!(layout.read_blob(&d.digest).unwrap(), bytes);
    let read = layout.read_manifest(&d).unwrap();
    assert_eq!(
        (read.bytes(), read.digest(), read.media_type()),
        (received.bytes(), received.digest(), &MediaType::IMAGE_INDEX)
    );
    // A sha512 document is stored under its sha512 digest.
    let sha512 = Document::new(ImageIndex::new(vec![]))
        .unwrap()
        .with_digest_algorithm(&DigestAlgorithm::SHA512)
        .unwrap();
    let d = layout.write_document(&sha512).unwrap();
    assert_eq!(d.digest.algorithm(), DigestAlgorithm::SHA512);
    assert_eq!(layout.read_manifest(&d).unwrap().digest(), sha512.digest());
    // A descriptor that does not fit the blob is refused.
    let wrong_size = Descriptor::new(MediaType::IMAGE_INDEX, d.digest.clone(), d.size + 1);
    assert_eq!(layout.read_manifest(&wrong_size).unwrap_err().kind(), ErrorKind::UnexpectedSize);
    let layer = layout.add_blob(&b"not json"[..], MediaType::LAYER_TAR).unwrap();
    let as_manifest = Descriptor::new(MediaType::IMAGE_MANIFEST, layer.digest, layer.size);
    assert_eq!(layout.read_manifest(&as_manifest).unwrap_err().kind(), ErrorKind::InvalidManifest);
    let missing = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"{}");
    assert_ne!(missing.digest, Digest::sha256(b""));
    assert_eq!(layout.read_manifest(&missing).unwrap_err().kind(), ErrorKind::BlobNotFound);
}

#[test]
fn a_partial_blob_is_kept_and_continued_and_a_wrong_one_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let content = random_bytes(9, 300_000);
    let digest = Digest::sha256(&content);
    let size = content.len() as u64;
    // A writer cut short keeps its bytes.
    let mut first = layout.resumable_blob_writer(&digest, size).unwrap().unwrap();
    assert_eq!(first.bytes_written(), 0);
    first.write_all(&content[..120_000]).unwrap();
    // Another writer of the same blob meanwhile is refused (it would interleave).
    assert!(layout.resumable_blob_writer(&digest, size).unwrap().is_none());
    drop(first);
    assert!(!layout.has_blob(&digest).unwrap());
    assert_eq!(files_under_blobs(tmp.path()), [format!("sha256/.tmp-partial-{}", digest.encoded())]);
    // The next goes on from there; the commit checks the whole.
    let mut next = layout.resumable_blob_writer(&digest, size).unwrap().unwrap();
    assert_eq!(next.bytes_written(), 120_000);
    next.write_all(&content[120_000..]).unwrap();
    next.commit(size, &digest).unwrap();
    assert_eq!(layout.read_blob(&digest).unwrap(), content);
    assert_eq!(files_under_blobs(tmp.path()), [format!("sha256/{}", digest.encoded())]);

    // Bytes that are not the blob's are removed by the commit that finds them out.
    let other = random_bytes(3, 1000);
    let other_digest = Digest::sha256(&other);
    let mut wrong = layout.resumable_blob_writer(&other_digest, 1000).unwrap().unwrap();
    wrong.write_all(&[0; 600]).unwrap();
    drop(wrong);
    let mut again = layout.resumable_blob_writer(&other_digest, 1000).unwrap().unwrap();
    again.write_all(&other[600..]).unwrap();
    assert_eq!(again.commit(1000, &other_digest).unwrap_err().kind(), ErrorKind::UnexpectedDigest);
    assert_eq!(layout.resumable_blob_writer(&other_digest, 1000).unwrap().unwrap().bytes_written(), 0);
    // More than the blob's size: dropped, started over.
    let mut long = layout.resumable_blob_writer(&other_digest, 1000).unwrap().unwrap();
    long.write_all(&[1; 1500]).unwrap();
    drop(long);
    assert_eq!(layout.resumable_blob_writer(&other_digest, 1000).unwrap().unwrap().bytes_written(), 0);
    // A tar layout keeps no partial blobs.
    let tar = Layout::init_tar(tmp.path().join("x.tar")).unwrap();
    assert!(tar.resumable_blob_writer(&digest, size).unwrap().is_none());
}
