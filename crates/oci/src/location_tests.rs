//! Location strings: what they parse to, how they print, where they break.

#![allow(clippy::unwrap_used)]

use super::*;

const DIGEST: &str = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";

#[test]
fn each_form_parses_and_prints_back() {
    let cases = [
        ("docker://nginx", "docker://docker.io/library/nginx:latest"),
        ("docker://nginx:1.27", "docker://docker.io/library/nginx:1.27"),
        ("docker://localhost:5000/team/app:v1", "docker://localhost:5000/team/app:v1"),
        (&format!("docker://ghcr.io/o/a@{DIGEST}"), &format!("docker://ghcr.io/o/a@{DIGEST}")),
        ("oci:./out", "oci:./out"),
        ("oci:/tmp/out:app", "oci:/tmp/out:app"),
        (&format!("oci:out@{DIGEST}"), &format!("oci:out@{DIGEST}")),
        ("oci-archive:img.tar", "oci-archive:img.tar"),
        ("oci-archive:img.tar:v1.2", "oci-archive:img.tar:v1.2"),
        ("docker-archive:img.tar", "docker-archive:img.tar"),
        ("docker-archive:img.tar:busybox", "docker-archive:img.tar:docker.io/library/busybox:latest"),
        ("docker-archive:img.tar:busybox:1", "docker-archive:img.tar:docker.io/library/busybox:1"),
    ];
    for (input, printed) in cases {
        let location: Location = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(location.to_string(), printed, "{input}");
        let again: Location = printed.parse().unwrap();
        assert_eq!(again, location, "{printed} round-trips");
    }
}

#[test]
fn the_parts_are_where_they_belong() {
    let dir: Location = "oci:/data/out:app".parse().unwrap();
    assert_eq!(dir, Location::Dir { path: "/data/out".into(), image: LayoutRef::Tag("app".into()) });
    assert_eq!((dir.path(), dir.tag(), dir.digest()), (Some(Path::new("/data/out")), Some("app"), None));
    let by_digest: Location = format!("oci:out@{DIGEST}").parse().unwrap();
    assert_eq!(by_digest.digest().map(Digest::as_str), Some(DIGEST));
    let registry: Location = "docker://nginx".parse().unwrap();
    assert_eq!(registry.tag(), Some(DEFAULT_TAG));
    let archive: Location = "docker-archive:a.tar:app:2".parse().unwrap();
    assert_eq!(archive.tag(), Some("2"));
}

#[test]
fn a_bare_reference_is_a_registry_where_asked() {
    let location = Location::parse_or_registry("localhost:5000/app").unwrap();
    assert_eq!(location.to_string(), "docker://localhost:5000/app:latest");
    assert_eq!(Location::parse_or_registry("oci:out:x").unwrap().tag(), Some("x"));
}

#[test]
fn errors_name_the_part_that_is_wrong() {
    let cases = [
        (
            "nginx",
            r#"location "nginx": unknown transport "nginx" (docker://, oci:, oci-archive: or docker-archive:)"#,
        ),
        (
            "dir:/tmp/x",
            r#"location "dir:/tmp/x": unknown transport "dir" (docker://, oci:, oci-archive: or docker-archive:)"#,
        ),
        ("oci:", r#"location "oci:": no path"#),
        ("oci::tag", r#"location "oci::tag": no path"#),
        ("oci:out:bad tag", r#"location "oci:out:bad tag": invalid tag "bad tag""#),
        ("oci:out@sha256:abc", r#"location "oci:out@sha256:abc": invalid digest: "#),
        ("docker://Nginx", r#"location "docker://Nginx": invalid reference: "#),
        ("oci-archive:a.tar:", r#"location "oci-archive:a.tar:": invalid tag """#),
        ("docker-archive:a.tar:UP", r#"location "docker-archive:a.tar:UP": invalid reference: "#),
    ];
    for (input, message) in cases {
        let err = input.parse::<Location>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidLocation, "{input}");
        assert!(err.to_string().starts_with(message), "{input}: {err}");
    }
    let err = Location::parse_or_registry("docker/Docker").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"location "docker/Docker": invalid reference: invalid character 'D' in repository path at byte 7"#
    );
}
