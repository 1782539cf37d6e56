//! Writing a tar layout in one pass: blobs streamed into a staging archive beside the
//! target, failed writes rolled back byte for byte, concurrent writers, dedupe, and
//! nothing left behind without a commit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use oci_layout::{Driver, ErrorKind, Layout, Tar};
use oci_spec_types::{Descriptor, Digest, DigestAlgorithm, ImageLayout, MediaType};

use crate::common::{random_bytes, read, write_image};

/// The names of the temporary files (`.tmp-*`) in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    names.sort();
    names
}

/// The only temporary file in `dir`: the staging archive.
fn staging_archive(dir: &Path) -> PathBuf {
    let names = temp_files(dir);
    assert_eq!(names.len(), 1, "{names:?}");
    dir.join(&names[0])
}

/// The entry names of an archive, in order.
fn entry_names(path: &Path) -> Vec<String> {
    let bytes = read(path);
    let mut archive = tar::Archive::new(&bytes[..]);
    archive
        .entries()
        .unwrap()
        .map(|e| String::from_utf8(e.unwrap().path_bytes().into_owned()).unwrap())
        .collect()
}

fn put(layout: &Layout, data: &[u8]) -> Descriptor {
    layout.add_blob(data, MediaType::OCTET_STREAM).unwrap()
}

#[test]
fn a_failed_blob_commit_leaves_the_staging_archive_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    let layout = Layout::init_tar(&path).unwrap();
    let first = put(&layout, b"first");
    let staging = staging_archive(tmp.path());
    let before = read(&staging);
    assert_eq!(before.len() % 512, 0);

    let data = random_bytes(1, 3 * 1024 * 1024 + 17); // crosses the writer's chunks
    let digest = Digest::sha256(&data);
    let mut w = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    w.write_all(&data).unwrap();
    let err = w.commit(data.len() as u64 + 1, &digest).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedSize);
    assert!(read(&staging) == before, "a size mismatch leaves the staging archive as it was");

    let mut w = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    w.write_all(&data).unwrap();
    let err = w.commit(data.len() as u64, &Digest::sha256(b"other")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);
    assert!(read(&staging) == before, "a digest mismatch leaves the staging archive as it was");

    // The first sha512 blob also writes `blobs/sha512/`: rolled back too.
    let mut w = layout.blob_writer(&DigestAlgorithm::SHA512).unwrap();
    w.write_all(&data).unwrap();
    let err = w.commit(data.len() as u64, &Digest::sha256(&data)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);
    assert!(read(&staging) == before);

    let mut w = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    w.write_all(&data[..2 * 1024 * 1024]).unwrap();
    drop(w);
    assert!(read(&staging) == before, "a dropped writer leaves the staging archive as it was");
    assert_eq!(temp_files(tmp.path()).len(), 1, "no other temporary file");
    assert!(!layout.has_blob(&digest).unwrap());

    // Then a good one, and the commit: the archive holds exactly the two blobs.
    let d512 = Digest::compute(&DigestAlgorithm::SHA512, &data).unwrap();
    layout
        .write_blob(&data[..], &Descriptor::new(MediaType::OCTET_STREAM, d512.clone(), data.len() as u64))
        .unwrap();
    assert_eq!(layout.read_blob(&d512).unwrap(), data, "readable before the commit");
    layout.commit().unwrap();
    assert!(temp_files(tmp.path()).is_empty());
    let reopened = Layout::open_tar(&path).unwrap();
    let listed: Vec<Digest> =
        reopened.driver().list_blobs().unwrap().blobs.into_iter().map(|(d, _)| d).collect();
    assert_eq!(listed, [first.digest.clone(), d512.clone()]);
    assert_eq!(reopened.read_blob(&d512).unwrap(), data);
    assert_eq!(
        entry_names(&path),
        [
            "oci-layout".to_owned(),
            "blobs/".to_owned(),
            "blobs/sha256/".to_owned(),
            oci_layout::blob_path(&first.digest),
            "blobs/sha512/".to_owned(),
            oci_layout::blob_path(&d512),
            "index.json".to_owned(),
        ]
    );
}

#[test]
fn dropping_without_commit_leaves_the_archive_and_no_temporary_files() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("image.tar");
    let layout = Layout::init_tar(&path).unwrap();
    let image = write_image(&layout, "v1", 2, 50_000, 1);
    drop(layout);
    let committed = read(&path);

    let edit = Layout::open_tar(&path).unwrap();
    edit.remove_manifest_descriptor("v1").unwrap();
    edit.delete_blob(&image.layers[0].digest).unwrap();
    put(&edit, b"committed blob, not the layout");
    // Writers in flight: one streaming into the staging archive, one into its own file,
    // and one finished but waiting for the first (pending).
    let mut streaming = edit.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    streaming.write_all(&random_bytes(2, 1_500_000)).unwrap();
    let mut own = edit.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    own.write_all(b"in flight").unwrap();
    let pending = put(&edit, b"pending");
    assert_eq!(edit.read_blob(&pending.digest).unwrap(), b"pending");
    assert_eq!(temp_files(tmp.path()).len(), 3, "staging archive, a writer's file, a pending blob");

    // The crash: everything dropped, nothing committed.
    drop(edit);
    drop(streaming);
    drop(own);
    assert!(read(&path) == committed, "the archive keeps its bytes");
    assert!(temp_files(tmp.path()).is_empty(), "{:?}", temp_files(tmp.path()));
    let reopened = Layout::open_tar(&path).unwrap();
    assert_eq!(reopened.tags().unwrap(), ["v1"]);
    assert!(reopened.fsck().unwrap().is_ok());
}

#[test]
fn concurrent_writers_of_one_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    let layout = Arc::new(Layout::init_tar(&path).unwrap());
    let shared = Arc::new(random_bytes(99, 1_300_000));
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (layout, shared, barrier) = (layout.clone(), shared.clone(), barrier.clone());
            std::thread::spawn(move || {
                let own = random_bytes(i as u64, 1_200_000 + i * 1000);
                let mut writers = [
                    layout.blob_writer(&DigestAlgorithm::SHA256).unwrap(),
                    layout.blob_writer(&DigestAlgorithm::SHA256).unwrap(),
                    layout.blob_writer(&DigestAlgorithm::SHA256).unwrap(),
                ];
                barrier.wait();
                let (mine, same): (Vec<&[u8]>, Vec<&[u8]>) =
                    (own.chunks(70_001 + i).collect(), shared.chunks(50_003 + i).collect());
                for k in 0..mine.len().max(same.len()) {
                    if let Some(piece) = mine.get(k) {
                        writers[0].write_all(piece).unwrap();
                    }
                    if let Some(piece) = same.get(k) {
                        writers[1].write_all(piece).unwrap();
                        writers[2].write_all(piece).unwrap();
                    }
                }
                barrier.wait(); // everyone has written everything before anyone commits
                let [mine, same, wrong] = writers;
                let err = wrong.commit(shared.len() as u64, &Digest::sha256(b"not it")).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::UnexpectedDigest);
                same.commit(shared.len() as u64, &Digest::sha256(&shared)).unwrap();
                mine.commit(own.len() as u64, &Digest::sha256(&own)).unwrap();
                own
            })
        })
        .collect();
    let owns: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for own in &owns {
        assert_eq!(layout.read_blob(&Digest::sha256(own)).unwrap(), *own, "readable before the commit");
    }
    layout.commit().unwrap();
    assert!(temp_files(tmp.path()).is_empty(), "{:?}", temp_files(tmp.path()));

    let reopened = Layout::open_tar(&path).unwrap(); // refuses duplicate entries
    assert_eq!(reopened.driver().list_blobs().unwrap().blobs.len(), threads + 1);
    assert_eq!(reopened.read_blob(&Digest::sha256(&shared)).unwrap(), *shared);
    for own in &owns {
        assert_eq!(reopened.read_blob(&Digest::sha256(own)).unwrap(), *own);
    }
    assert!(reopened.fsck().unwrap().is_ok());
}

#[test]
fn a_second_writer_waits_its_turn_and_a_commit_does_not_lose_a_writer_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    let layout = Layout::init_tar(&path).unwrap();
    let (a, b, c) = (random_bytes(1, 2_000_000), random_bytes(2, 300_000), random_bytes(3, 2_500_000));
    let (da, db, dc) = (Digest::sha256(&a), Digest::sha256(&b), Digest::sha256(&c));

    // Two writers on one thread: the second commits first, and is appended after the first.
    let mut first = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    first.write_all(&a[..1_000_000]).unwrap();
    let mut second = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    second.write_all(&b).unwrap();
    second.commit(b.len() as u64, &db).unwrap();
    assert_eq!(layout.read_blob(&db).unwrap(), b);
    first.write_all(&a[1_000_000..]).unwrap();
    first.commit(a.len() as u64, &da).unwrap();

    // A commit while a writer is streaming: the writer goes on, its blob comes next time.
    let mut third = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    third.write_all(&c[..1_500_000]).unwrap();
    layout.commit().unwrap();
    let names = |p: &Path| entry_names(p).into_iter().filter(|n| n.len() > 20).collect::<Vec<_>>();
    assert_eq!(names(&path), [oci_layout::blob_path(&da), oci_layout::blob_path(&db)]);
    third.write_all(&c[1_500_000..]).unwrap();
    third.commit(c.len() as u64, &dc).unwrap();
    layout.commit().unwrap();
    assert_eq!(
        names(&path),
        [oci_layout::blob_path(&da), oci_layout::blob_path(&db), oci_layout::blob_path(&dc)]
    );
    let reopened = Layout::open_tar(&path).unwrap();
    assert_eq!(reopened.read_blob(&dc).unwrap(), c);
    assert_eq!(reopened.read_blob(&da).unwrap(), a);
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn blobs_already_stored_are_not_stored_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    let layout = Layout::init_tar(&path).unwrap();
    let data = random_bytes(5, 700_000);
    put(&layout, &data);
    let staging = staging_archive(tmp.path());
    let once = read(&staging);
    put(&layout, &data); // staged already
    let mut a = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    let mut b = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    a.write_all(b"twice at once").unwrap();
    b.write_all(b"twice at once").unwrap();
    b.finish().unwrap();
    a.finish().unwrap();
    put(&layout, b"twice at once");
    let tag = put(&layout, b"tagged");
    layout.tag("t", tag).unwrap();
    let staged = read(&staging);
    assert!(staged[..once.len()] == once[..], "appended to, never rewritten");
    layout.commit().unwrap();
    let committed = read(&path);
    assert_eq!(entry_names(&path).len(), 3 + 3 + 1, "oci-layout, blobs/, blobs/sha256/, 3 blobs, index.json");

    // Committed already: writing every blob again and committing gives the same bytes.
    let again = Layout::open_tar(&path).unwrap();
    for content in [&data[..], b"twice at once", b"tagged"] {
        put(&again, content);
    }
    again.commit().unwrap();
    assert!(read(&path) == committed);
}

#[test]
fn the_same_writes_give_the_same_bytes_in_one_session_or_several() {
    let tmp = tempfile::tempdir().unwrap();
    let blobs: Vec<Vec<u8>> = (1..=4usize).map(|i| random_bytes(i as u64, 10_000 * i)).collect();
    let write = |layout: &Layout, range: std::ops::Range<usize>| {
        for data in &blobs[range] {
            put(layout, data);
        }
        let last = layout.driver().list_blobs().unwrap().blobs.len();
        layout.tag("v", put(layout, format!("manifest {last}").as_bytes())).unwrap();
        layout.commit().unwrap();
    };
    let once = tmp.path().join("once.tar");
    write(&Layout::init_tar(&once).unwrap(), 0..4);
    let twice = tmp.path().join("twice.tar");
    write(&Layout::init_tar(&twice).unwrap(), 0..4);
    assert!(read(&once) == read(&twice));

    // An edit copies the committed blobs in their order, then appends.
    let edited = tmp.path().join("edited.tar");
    let layout = Layout::init_tar(&edited).unwrap();
    for data in &blobs[..2] {
        put(&layout, data);
    }
    layout.commit().unwrap();
    write(&Layout::open_tar(&edited).unwrap(), 2..4);
    assert!(read(&edited) == read(&once));
}

#[test]
fn deleting_staged_blobs_and_changing_oci_layout_rebuild_the_staging_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    let layout = Layout::init_tar(&path).unwrap();
    let image = write_image(&layout, "v", 3, 20_000, 4);
    let edit = Layout::open_tar(&path).unwrap();
    let extra = put(&edit, b"extra"); // the staging archive now holds a copy of everything
    assert!(edit.delete_blob(&image.layers[1].digest).unwrap());
    assert!(edit.delete_blob(&extra.digest).unwrap());
    assert!(!edit.delete_blob(&extra.digest).unwrap());
    assert!(!edit.has_blob(&image.layers[1].digest).unwrap());
    // An `oci-layout` of another length (an extra field), then the standard one again.
    let mut padded = ImageLayout::default();
    padded.extra.insert("padding".to_owned(), serde_json::Value::String("x".repeat(600)));
    edit.write_image_layout(&padded).unwrap();
    assert_eq!(edit.read_image_layout().unwrap(), padded);
    edit.commit().unwrap();
    assert!(temp_files(tmp.path()).is_empty());
    assert_eq!(Layout::open_tar(&path).unwrap().read_image_layout().unwrap(), padded);
    let edit = Layout::open_tar(&path).unwrap();
    edit.write_image_layout(&ImageLayout::default()).unwrap();
    edit.commit().unwrap();

    let mut expected = vec!["oci-layout".to_owned(), "blobs/".to_owned(), "blobs/sha256/".to_owned()];
    let written = [&image.layers[0], &image.layers[2], &image.config, &image.manifest];
    expected.extend(written.iter().map(|d| oci_layout::blob_path(&d.digest)));
    expected.push("index.json".to_owned());
    assert_eq!(entry_names(&path), expected, "the remaining blobs keep their order");
    let reopened = Layout::open_tar(&path).unwrap();
    assert_eq!(reopened.read_image_layout().unwrap(), ImageLayout::default());
    assert_eq!(reopened.read_blob(&image.layers[2].digest).unwrap().len() as u64, image.layers[2].size);
    assert!(!reopened.has_blob(&image.layers[1].digest).unwrap());
}

#[test]
fn blobs_written_before_init_wait_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tar");
    let tar = Tar::new(&path).unwrap();
    let mut w = tar.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    w.write_all(b"early").unwrap();
    w.commit(5, &Digest::sha256(b"early")).unwrap();
    let err = tar.commit().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotALayout);
    assert!(err.to_string().ends_with("there is no oci-layout file"), "{err}");
    assert!(!path.exists());

    // `oci-layout` goes first: the commit rebuilds the staging archive with it.
    tar.init().unwrap();
    tar.commit().unwrap();
    assert_eq!(
        entry_names(&path),
        [
            "oci-layout".to_owned(),
            "blobs/".to_owned(),
            "blobs/sha256/".to_owned(),
            oci_layout::blob_path(&Digest::sha256(b"early")),
            "index.json".to_owned()
        ]
    );
    let layout = Layout::open_tar(&path).unwrap();
    assert_eq!(layout.read_blob(&Digest::sha256(b"early")).unwrap(), b"early");
    assert!(temp_files(tmp.path()).is_empty());
}

/// The warnings logged through `tracing` while `f` runs on this thread.
fn warnings_during(f: impl FnOnce()) -> Vec<String> {
    let capture = oci_test_support::logs::Logs::warnings();
    f();
    capture.lines()
}

#[test]
fn a_tar_layout_dropped_with_changes_says_they_are_discarded() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("image.tar");
    let layout = Layout::init_tar(&path).unwrap();
    assert!(!layout.has_uncommitted_changes(), "init commits");
    write_image(&layout, "v1", 1, 1000, 1); // commits
    assert!(!layout.has_uncommitted_changes());
    let committed = read(&path);

    // Read-only use and a committed edit: nothing to say.
    let warnings = warnings_during(|| {
        let edit = Layout::open_tar(&path).unwrap();
        edit.tags().unwrap();
        edit.tag("v2", edit.resolve("v1").unwrap()).unwrap();
        assert!(edit.has_uncommitted_changes());
        edit.commit().unwrap();
        assert!(!edit.has_uncommitted_changes());
    });
    assert!(warnings.is_empty(), "{warnings:?}");
    let committed_v2 = read(&path);
    assert_ne!(committed, committed_v2);

    // An edit never committed: discarded, and a warning names the archive.
    let warnings = warnings_during(|| {
        let edit = Layout::open_tar(&path).unwrap();
        edit.remove_manifest_descriptor("v1").unwrap();
        assert!(edit.has_uncommitted_changes());
    });
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("never committed") && warnings[0].contains("image.tar"), "{}", warnings[0]);
    assert_eq!(read(&path), committed_v2, "the archive is as it was");
    assert_eq!(Layout::open_tar(&path).unwrap().tags().unwrap(), ["v1", "v2"]);
    // A directory's changes are visible at once: nothing is ever pending.
    let dir = Layout::init_dir(tmp.path().join("dir")).unwrap();
    dir.tag("v1", Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"{}")).unwrap();
    assert!(!dir.has_uncommitted_changes());
}
