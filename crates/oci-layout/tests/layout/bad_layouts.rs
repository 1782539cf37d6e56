//! Bad layouts give clear errors; unknown files are tolerated.

use std::path::Path;

use oci_layout::{ErrorKind, FindingKind, Layout, Tar};

use crate::common::write_image;

fn dir_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let path = tmp.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    tmp
}

fn open_error(path: &Path) -> oci_layout::Error {
    Layout::open_dir(path).unwrap_err()
}

const GOOD_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
const GOOD_INDEX: &[u8] = br#"{"schemaVersion":2,"manifests":[]}"#;

#[test]
fn each_bad_file_has_its_error() {
    let nothing = tempfile::tempdir().unwrap();
    let err = open_error(&nothing.path().join("missing"));
    assert_eq!(err.kind(), ErrorKind::NotALayout);
    assert!(err.to_string().ends_with("there is no oci-layout file"), "{err}");

    let tmp = dir_with(&[("index.json", GOOD_INDEX)]);
    assert_eq!(open_error(tmp.path()).kind(), ErrorKind::NotALayout);

    let tmp = dir_with(&[("oci-layout", b"whatever"), ("index.json", GOOD_INDEX)]);
    let err = open_error(tmp.path());
    assert_eq!(err.kind(), ErrorKind::InvalidLayoutFile);
    assert_eq!(err.path(), Some(tmp.path().join("oci-layout").as_path()));
    assert!(err.to_string().starts_with("invalid oci-layout file in "), "{err}");

    let tmp = dir_with(&[("oci-layout", br#"{"imageLayoutVersion":"2.0.0"}"#), ("index.json", GOOD_INDEX)]);
    let err = open_error(tmp.path());
    assert_eq!(err.kind(), ErrorKind::UnsupportedLayoutVersion);
    assert!(err.to_string().ends_with(r#"imageLayoutVersion is "2.0.0", this crate reads "1.0.0""#), "{err}");

    let tmp = dir_with(&[("oci-layout", GOOD_LAYOUT), ("index.json", b"whatever")]);
    let err = open_error(tmp.path());
    assert_eq!(err.kind(), ErrorKind::InvalidIndex);
    assert!(std::error::Error::source(&err).is_some(), "the JSON error is the source");

    let tmp = dir_with(&[("oci-layout", GOOD_LAYOUT)]);
    let err = open_error(tmp.path());
    assert_eq!(err.kind(), ErrorKind::InvalidIndex);
    assert!(err.to_string().ends_with("there is no index.json file"), "{err}");

    let tmp =
        dir_with(&[("oci-layout", GOOD_LAYOUT), ("index.json", br#"{"schemaVersion":2,"manifests":{}}"#)]);
    assert_eq!(open_error(tmp.path()).kind(), ErrorKind::InvalidIndex);
}

#[test]
fn unknown_files_are_tolerated_and_bad_blob_paths_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let image = write_image(&layout, "v1", 1, 100, 1);
    std::fs::write(tmp.path().join("manifest.json"), b"[]").unwrap();
    std::fs::write(tmp.path().join("README"), b"hello").unwrap();
    std::fs::create_dir_all(tmp.path().join("other/dir")).unwrap();
    std::fs::write(tmp.path().join("blobs/sha256/.DS_Store"), b"junk").unwrap();
    let reopened = Layout::open_dir(tmp.path()).unwrap();
    assert!(reopened.fsck().unwrap().is_ok());
    assert_eq!(reopened.resolve("v1").unwrap().digest, image.manifest.digest);

    std::fs::write(tmp.path().join("blobs/sha256/not-a-digest"), b"x").unwrap();
    std::fs::write(tmp.path().join("blobs/stray-file"), b"x").unwrap();
    let report = reopened.fsck().unwrap();
    assert!(!report.is_ok());
    let bad: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::InvalidBlobPath)
        .map(|f| f.path.clone().unwrap())
        .collect();
    assert_eq!(bad, ["blobs/sha256/not-a-digest", "blobs/stray-file"]);
    assert_eq!(
        report.findings[0].to_string(),
        "error: blobs/sha256/not-a-digest: not blobs/<algorithm>/<encoded> of a digest"
    );
    let err = Tar::export(&reopened, tmp.path().join("x.tar")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBlobPath);
    let other = tempfile::tempdir().unwrap();
    let err = reopened.copy_to(&Layout::init_dir(other.path()).unwrap()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBlobPath);
}

/// Root files a user did not write: a link (to `/dev/zero`, endless), a FIFO (which
/// blocks whoever opens it to read), a file far larger than the cap. Each is refused
/// without reading more than the cap or waiting.
#[cfg(unix)]
#[test]
fn root_files_that_are_links_fifos_or_huge_are_refused() {
    let tmp = dir_with(&[("oci-layout", GOOD_LAYOUT)]);
    let index = tmp.path().join("index.json");
    std::os::unix::fs::symlink("/dev/zero", &index).unwrap();
    let err = open_error(tmp.path());
    assert_eq!(err.kind(), ErrorKind::UnsafeEntry, "{err}");
    assert!(err.to_string().ends_with("index.json is a symbolic link"), "{err}");

    std::fs::remove_file(&index).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&index).status().unwrap();
    assert!(made.success());
    let err = open_error(tmp.path());
    assert_eq!(err.kind(), ErrorKind::UnsafeEntry, "{err}");
    assert!(err.to_string().ends_with("index.json is not a regular file"), "{err}");

    // A sparse gigabyte: read up to the cap and one byte, then refused.
    std::fs::remove_file(&index).unwrap();
    std::fs::File::create(&index).unwrap().set_len(1 << 30).unwrap();
    let err = open_error(tmp.path());
    assert_eq!(err.kind(), ErrorKind::InvalidIndex, "{err}");
    assert!(err.to_string().ends_with("the file is larger than the limit of 67108864 bytes"), "{err}");

    // oci-layout through a link to a good file elsewhere: refused as well.
    let elsewhere = dir_with(&[("oci-layout", GOOD_LAYOUT)]);
    let linked = dir_with(&[("index.json", GOOD_INDEX)]);
    std::os::unix::fs::symlink(elsewhere.path().join("oci-layout"), linked.path().join("oci-layout"))
        .unwrap();
    let err = open_error(linked.path());
    assert_eq!(err.kind(), ErrorKind::UnsafeEntry, "{err}");
    assert!(err.to_string().ends_with("oci-layout is a symbolic link"), "{err}");
}

/// `blobs/` or `blobs/<alg>/` replaced by a link: writes, deletes and reads through it
/// would act on files outside the layout.
#[cfg(unix)]
#[test]
fn symlinked_blob_directories_are_refused() {
    use oci_spec_types::{Digest, DigestAlgorithm, MediaType};
    let outside = tempfile::tempdir().unwrap();
    let victim = Digest::sha256(b"victim");
    std::fs::create_dir_all(outside.path().join("sha256")).unwrap();
    std::fs::write(outside.path().join("sha256").join(victim.encoded()), b"victim").unwrap();
    for linked in ["blobs", "blobs/sha256"] {
        let tmp = tempfile::tempdir().unwrap();
        let layout = Layout::init_dir(tmp.path()).unwrap();
        let link = tmp.path().join(linked);
        let target =
            if linked == "blobs" { outside.path().to_owned() } else { outside.path().join("sha256") };
        std::fs::remove_dir_all(&link).ok();
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();

        let unsafe_entry = |e: oci_layout::Error| {
            assert_eq!(e.kind(), ErrorKind::UnsafeEntry, "{linked}: {e}");
            assert!(e.to_string().ends_with("the blob directory is a symbolic link"), "{linked}: {e}");
        };
        unsafe_entry(layout.add_blob(&b"written"[..], MediaType::OCTET_STREAM).unwrap_err());
        unsafe_entry(layout.blob_writer(&DigestAlgorithm::SHA256).map(|_| ()).unwrap_err());
        unsafe_entry(layout.delete_blob(&victim).unwrap_err());
        unsafe_entry(layout.read_blob(&victim).unwrap_err());
        unsafe_entry(layout.has_blob(&victim).unwrap_err());
        let names: Vec<_> = std::fs::read_dir(outside.path().join("sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(victim.encoded())], "{linked}: the outside changed");
    }
}

/// A writer opened before `blobs/<alg>` is swapped for a link does not persist through it.
#[cfg(unix)]
#[test]
fn a_blob_directory_swapped_for_a_link_during_a_write_is_refused() {
    use oci_spec_types::DigestAlgorithm;
    use std::io::Write as _;
    let outside = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::init_dir(tmp.path()).unwrap();
    let mut writer = layout.blob_writer(&DigestAlgorithm::SHA256).unwrap();
    writer.write_all(b"late").unwrap();
    let moved = tmp.path().join("moved");
    std::fs::rename(tmp.path().join("blobs/sha256"), &moved).unwrap();
    std::os::unix::fs::symlink(outside.path(), tmp.path().join("blobs/sha256")).unwrap();
    let err = writer.finish().map(|_| ()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsafeEntry, "{err}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
}
