use super::*;
use crate::api::blobs::{ByteRange, resolve_range};

#[test]
fn paths_name_their_endpoint() {
    assert_eq!(route("/v2/"), Some(Route::Base));
    assert_eq!(route("/v2"), Some(Route::Base));
    assert_eq!(route("/v2/_catalog"), Some(Route::Catalog));
    assert_eq!(route("/v2/a/b/tags/list"), Some(Route::Tags { name: "a/b" }));
    assert_eq!(
        route("/v2/a/manifests/manifests/1.0"),
        Some(Route::Manifest { name: "a/manifests", reference: "1.0" })
    );
    assert_eq!(route("/v2/a/blobs/uploads/"), Some(Route::Uploads { name: "a" }));
    assert_eq!(route("/v2/a/blobs/uploads"), Some(Route::Uploads { name: "a" }));
    assert_eq!(route("/v2/a/blobs/uploads/abc"), Some(Route::Upload { name: "a", id: "abc" }));
    assert_eq!(route("/v2/a/blobs/sha256:00"), Some(Route::Blob { name: "a", digest: "sha256:00" }));
    assert_eq!(route("/v2/a/referrers/sha256:00"), Some(Route::Referrers { name: "a", digest: "sha256:00" }));
    assert_eq!(route("/v2/a/manifests/"), None);
    assert_eq!(route("/v3/a/tags/list"), None);
    assert_eq!(route("/v2/a/other/x"), None);
}

#[test]
fn names_are_checked_before_any_path_is_built() {
    for ok in ["a", "library/nginx", "a/b.c/d_e/f__g/h-i", "blobs", "a/blobsx"] {
        assert!(check_name(ok).is_ok(), "{ok}");
    }
    let refused = [
        ("..", "invalid repository name \"..\": invalid character '.' in repository path at byte 0"),
        ("a/../b", "invalid repository name \"a/../b\": invalid character '.' in repository path at byte 2"),
        (
            "%2e%2e/a",
            "invalid repository name \"%2e%2e/a\": invalid character '%' in repository path at byte 0",
        ),
        (
            "/etc/passwd",
            "invalid repository name \"/etc/passwd\": invalid character '/' in repository path at byte 0",
        ),
        ("Upper", "invalid repository name \"Upper\": invalid character 'U' in repository path at byte 0"),
        (
            "a/blobs",
            "invalid repository name \"a/blobs\": \"blobs\" is reserved by the image layout of its parent",
        ),
        (
            "a/index.json",
            "invalid repository name \"a/index.json\": \"index.json\" is reserved by the image layout of its parent",
        ),
    ];
    for (name, message) in refused {
        let e = check_name(name).unwrap_err();
        assert_eq!(
            (e.status, e.code.as_str(), e.message.as_str()),
            (StatusCode::BAD_REQUEST, "NAME_INVALID", message)
        );
    }
    let long = "a".repeat(256);
    assert_eq!(check_name(&long).unwrap_err().message, "repository name is 256 bytes, over the limit of 255");
}

#[test]
fn queries_are_percent_decoded_and_keep_plus() {
    let q = Query::parse(Some(
        "mount=sha256%3Aab&from=a%2Fb&artifactType=application/vnd.x+json&tag=1&tag=2&bad=%zz%4",
    ));
    assert_eq!(q.get("mount"), Some("sha256:ab"));
    assert_eq!(q.get("from"), Some("a/b"));
    assert_eq!(q.get("artifactType"), Some("application/vnd.x+json"));
    assert_eq!(q.all("tag").collect::<Vec<_>>(), ["1", "2"]);
    assert_eq!(q.get("bad"), Some("%zz%4"));
    assert_eq!(q.get("none"), None);
}

#[test]
fn ranges_resolve_against_the_size() {
    let r = |start, end| Ok(Some(ByteRange { start, end }));
    assert_eq!(resolve_range("bytes=500-1499", 2048), r(500, 1500));
    assert_eq!(resolve_range("bytes=500-", 2048), r(500, 2048));
    assert_eq!(resolve_range("bytes=-500", 2048), r(1548, 2048));
    assert_eq!(resolve_range("bytes=-5000", 2048), r(0, 2048));
    assert_eq!(resolve_range("bytes=2000-5000", 2048), r(2000, 2048));
    assert_eq!(resolve_range("bytes=500-0", 2048), Err(()));
    assert_eq!(resolve_range("bytes=5000-10000", 2048), Err(()));
    assert_eq!(resolve_range("bytes=-0", 2048), Err(()));
    assert_eq!(resolve_range("bytes=0-18446744073709551615", 2048), r(0, 2048));
    assert_eq!(resolve_range("bytes=x-1", 2048), Err(()));
    // Not a range this server serves: the whole blob.
    assert_eq!(resolve_range("items=0-1", 2048), Ok(None));
    assert_eq!(resolve_range("bytes=0-1,5-6", 2048), Ok(None));
}
