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
