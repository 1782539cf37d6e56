//! Layouts written and read back in both drivers; archives are deterministic and
//! replaced atomically.

use std::io::Read;
use std::path::{Path, PathBuf};

use oci_layout::{
    BlobListing, BlobReader, BlobWriter, Directory, Driver, ErrorKind, Layout, LayoutFile, Tar,
};
use oci_spec_types::{Digest, DigestAlgorithm, MediaType};

use crate::common::{all_blobs, digests, read, write_image};

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn directory_layout_has_the_spec_files_and_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("l");
    let layout = Layout::init_dir(&root).unwrap();
    assert_eq!(names_in(&root), ["blobs", "index.json", "oci-layout"]);
    assert_eq!(read(&root.join("oci-layout")), br#"{"imageLayoutVersion":"1.0.0"}"#);
    assert_eq!(
        read(&root.join("index.json")),
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| std::fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("oci-layout"), 0o444);
        assert_eq!(mode("index.json"), 0o644);
        let image = write_image(&layout, "v1", 1, 10, 1);
        assert_eq!(mode(&oci_layout::blob_path(&image.manifest.digest)), 0o644);
        assert_eq!(mode("index.json"), 0o644, "still after a rewrite");
    }
}

#[test]
fn directory_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let image = write_image(&layout, "v1", 3, 100_000, 7);
    let reopened = Layout::open_dir(tmp.path()).unwrap();
    assert_eq!(reopened.tags().unwrap(), ["v1"]);
    assert_eq!(reopened.resolve("v1").unwrap(), layout.resolve("v1").unwrap());
    assert_eq!(reopened.read_blob(&image.manifest.digest).unwrap(), image.manifest_bytes);
    for layer in &image.layers {
        let mut bytes = Vec::new();
        reopened.blob_reader(&layer.digest).unwrap().read_to_end(&mut bytes).unwrap();
        assert_eq!(Digest::sha256(&bytes), layer.digest);
        assert_eq!(bytes.len() as u64, layer.size);
    }
    let report = reopened.fsck().unwrap();
    assert!(report.is_ok() && report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.blobs_verified, 5);
    assert!(report.unreferenced.is_empty());
}

#[test]
fn tar_layout_is_staged_until_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("image.tar");
    let layout = Layout::init_tar(&path).unwrap();
    let empty = read(&path);
    assert_eq!(empty.len() % 512, 0);

    // Edits are visible through the driver at once, in the file only after commit.
    let blob = layout.add_blob(&b"staged"[..], MediaType::OCTET_STREAM).unwrap();
    layout.tag("t", blob.clone()).unwrap();
    assert_eq!(layout.read_blob(&blob.digest).unwrap(), b"staged");
    assert_eq!(layout.tags().unwrap(), ["t"]);
    assert_eq!(read(&path), empty, "nothing written before commit");
    assert_eq!(names_in(tmp.path()).len(), 2, "the archive and a hidden staging archive");

    layout.commit().unwrap();
    assert_eq!(names_in(tmp.path()), ["image.tar"], "staging removed after commit");
    let reopened = Layout::open_tar(&path).unwrap();
    assert_eq!(reopened.read_blob(&blob.digest).unwrap(), b"staged");
    assert_eq!(reopened.tags().unwrap(), ["t"]);

    // Dropped without commit: the archive keeps its bytes, staging goes away.
    let committed = read(&path);
    let edit = Layout::open_tar(&path).unwrap();
    edit.remove_manifest_descriptor("t").unwrap();
    edit.delete_blob(&blob.digest).unwrap();
    assert!(!edit.has_blob(&blob.digest).unwrap());
    drop(edit);
    assert_eq!(read(&path), committed);
    assert_eq!(names_in(tmp.path()), ["image.tar"]);
}

#[test]
fn tar_round_trip_and_edits() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("image.tar");
    let layout = Layout::init_tar(&path).unwrap();
    let first = write_image(&layout, "one", 2, 70_000, 1);
    let reopened = Layout::open_tar(&path).unwrap();
    let second = write_image(&reopened, "two", 2, 70_000, 2);
    let report = reopened.fsck().unwrap();
    assert!(report.is_ok() && report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.blobs_verified, 8);

    // Untag the first image and collect it: only the second image's blobs remain.
    reopened.remove_manifest_descriptor("one").unwrap();
    let gc = reopened.gc().unwrap();
    assert_eq!(gc.removed.len(), 4);
    assert_eq!(
        gc.bytes_freed,
        first.layers.iter().map(|l| l.size).sum::<u64>() + first.config.size + first.manifest.size
    );
    reopened.commit().unwrap();
    let after = Layout::open_tar(&path).unwrap();
    assert_eq!(after.tags().unwrap(), ["two"]);
    let mut expected: Vec<Digest> = second.layers.iter().map(|l| l.digest.clone()).collect();
    expected.extend([second.config.digest.clone(), second.manifest.digest.clone()]);
    expected.sort();
    assert_eq!(digests(&after), expected);
    assert!(after.fsck().unwrap().is_ok());
}

#[test]
fn archives_are_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Layout::init_dir(tmp.path().join("dir")).unwrap();
    write_image(&dir, "a", 2, 5_000, 3);
    write_image(&dir, "b", 1, 700, 4);
    let exported = tmp.path().join("exported.tar");
    Tar::export(&dir, &exported).unwrap();

    // The tar driver writes the same bytes for the same content ...
    let through_driver = tmp.path().join("driver.tar");
    let tar = Layout::init_tar(&through_driver).unwrap();
    dir.copy_to(&tar).unwrap();
    assert_eq!(read(&through_driver), read(&exported));
    // ... and so does a second export, at another time, from a copy.
    let again = tmp.path().join("again.tar");
    Tar::export(&Layout::open_tar(&exported).unwrap(), &again).unwrap();
    assert_eq!(read(&again), read(&exported));

    // Entry order and headers: oci-layout, blobs/, blobs/sha256/, sorted blobs, index.json last.
    let bytes = read(&exported);
    let mut archive = tar::Archive::new(&bytes[..]);
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let h = entry.header();
        assert_eq!((h.mtime().unwrap(), h.uid().unwrap(), h.gid().unwrap()), (0, 0, 0));
        assert_eq!(h.username_bytes(), Some(&b""[..]));
        assert_eq!(h.groupname_bytes(), Some(&b""[..]));
        let expected_mode = if h.entry_type().is_dir() { 0o755 } else { 0o644 };
        assert_eq!(h.mode().unwrap(), expected_mode);
        names.push(String::from_utf8(entry.path_bytes().into_owned()).unwrap());
    }
    let mut blob_names: Vec<String> = digests(&dir).iter().map(oci_layout::blob_path).collect();
    blob_names.sort();
    let mut expected = vec!["oci-layout".to_owned(), "blobs/".to_owned(), "blobs/sha256/".to_owned()];
    expected.extend(blob_names);
    expected.push("index.json".to_owned());
    assert_eq!(names, expected);
}

#[test]
fn directory_tar_directory_keeps_every_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let start = Layout::init_dir(tmp.path().join("start")).unwrap();
    write_image(&start, "x", 3, 40_000, 9);
    // A sha512 blob survives too.
    let data = b"sha512 content";
    let d512 = Digest::compute(&DigestAlgorithm::SHA512, data).unwrap();
    let mut w = start.blob_writer(&DigestAlgorithm::SHA512).unwrap();
    std::io::Write::write_all(&mut w, data).unwrap();
    w.commit(data.len() as u64, &d512).unwrap();

    let archive = tmp.path().join("x.tar");
    Tar::export(&start, &archive).unwrap();
    let back = Layout::init_dir(tmp.path().join("back")).unwrap();
    Layout::open_tar(&archive).unwrap().copy_to(&back).unwrap();
    assert_eq!(all_blobs(&back), all_blobs(&start));
    assert_eq!(back.read_index_bytes().unwrap(), start.read_index_bytes().unwrap());
    assert!(back.has_blob(&d512).unwrap());
}

/// A directory whose reader of one blob fails halfway.
#[derive(Debug)]
struct Failing {
    inner: Directory,
    bad: Digest,
}

impl Driver for Failing {
    fn location(&self) -> &Path {
        self.inner.location()
    }
    fn init(&self) -> oci_layout::Result<()> {
        self.inner.init()
    }
    fn remove(&self) -> oci_layout::Result<()> {
        self.inner.remove()
    }
    fn read_file(&self, file: LayoutFile) -> oci_layout::Result<Option<Vec<u8>>> {
        self.inner.read_file(file)
    }
    fn write_file(&self, file: LayoutFile, bytes: &[u8]) -> oci_layout::Result<()> {
        self.inner.write_file(file, bytes)
    }
    fn blob_size(&self, digest: &Digest) -> oci_layout::Result<Option<u64>> {
        self.inner.blob_size(digest)
    }
    fn blob_reader(&self, digest: &Digest) -> oci_layout::Result<BlobReader> {
        let reader = self.inner.blob_reader(digest)?;
        if digest != &self.bad {
            return Ok(reader);
        }
        let size = reader.size();
        let half = reader.take(size / 2).chain(FailingRead);
        Ok(BlobReader::new(Box::new(half), size))
    }
    fn blob_writer(&self, algorithm: &DigestAlgorithm) -> oci_layout::Result<BlobWriter> {
        self.inner.blob_writer(algorithm)
    }
    fn delete_blob(&self, digest: &Digest) -> oci_layout::Result<bool> {
        self.inner.delete_blob(digest)
    }
    fn list_blobs(&self) -> oci_layout::Result<BlobListing> {
        self.inner.list_blobs()
    }
}

struct FailingRead;

impl Read for FailingRead {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other("the disk went away"))
    }
}

#[test]
fn a_failed_archive_write_leaves_the_old_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().join("src");
    let plain = Layout::init_dir(&root).unwrap();
    let image = write_image(&plain, "v", 2, 30_000, 5);
    let target = tmp.path().join("out").join("image.tar");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, b"the previous archive").unwrap();

    let failing =
        Layout::open(Failing { inner: Directory::new(&root), bad: image.layers[1].digest.clone() }).unwrap();
    let err = Tar::export(&failing, &target).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.digest(), Some(&image.layers[1].digest));
    assert!(crate::common::chain(&err).ends_with("the disk went away"), "{err}");
    assert_eq!(read(&target), b"the previous archive");
    assert_eq!(names_in(target.parent().unwrap()), ["image.tar"], "no temporary file left");

    // Copying into a directory stops the same way, and leaves no partial blob.
    let dst = Layout::init_dir(tmp.path().join("dst")).unwrap();
    let err = failing.copy_to(&dst).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(!dst.has_blob(&image.layers[1].digest).unwrap());
    assert!(dst.driver().list_blobs().unwrap().invalid_paths.is_empty());
}

#[test]
fn open_path_and_open_or_init_pick_the_driver() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Layout::open_or_init_dir(tmp.path().join("d")).unwrap();
    write_image(&dir, "x", 1, 10, 1);
    assert_eq!(Layout::open_or_init_dir(tmp.path().join("d")).unwrap().tags().unwrap(), ["x"]);
    let tar = Layout::open_or_init_tar(tmp.path().join("t.tar")).unwrap();
    write_image(&tar, "y", 1, 10, 2);
    assert_eq!(Layout::open_or_init_tar(tmp.path().join("t.tar")).unwrap().tags().unwrap(), ["y"]);
    assert_eq!(Layout::open_path(tmp.path().join("d")).unwrap().tags().unwrap(), ["x"]);
    assert_eq!(Layout::open_path(tmp.path().join("t.tar")).unwrap().tags().unwrap(), ["y"]);
    assert_eq!(Layout::init_tar(tmp.path().join("t.tar")).unwrap_err().kind(), ErrorKind::AlreadyExists);
    assert_eq!(Layout::init_dir(tmp.path().join("d")).unwrap_err().kind(), ErrorKind::AlreadyExists);

    // remove: the whole layout, only when it is one.
    tar.driver().remove().unwrap();
    assert!(!tmp.path().join("t.tar").exists());
    dir.driver().remove().unwrap();
    assert!(!tmp.path().join("d").exists());
}
