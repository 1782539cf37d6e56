//! The registry API side of a reference: the repository name inside `/v2/<name>/...`
//! paths.

use crate::grammar;
use crate::reference::NAME_MAX_LEN;

/// The repository name in a distribution API path, such as `library/nginx` in
/// `/v2/library/nginx/manifests/latest`; `None` when the path is not one of the
/// repository endpoints or the name is not a valid repository path.
///
/// The endpoints are `/v2/<name>/manifests/<reference>`, `/v2/<name>/blobs/<digest>`,
/// `/v2/<name>/blobs/uploads/[<id>]`, `/v2/<name>/tags/list` and
/// `/v2/<name>/referrers/<digest>`; a query string is ignored. Since a name may itself
/// contain `manifests` or `blobs` components, the last endpoint keyword wins.
///
/// ```
/// use oci_reference::name_from_api;
///
/// assert_eq!(name_from_api("/v2/library/nginx/manifests/latest"), Some("library/nginx"));
/// assert_eq!(name_from_api("/v2/a/blobs/uploads/"), Some("a"));
/// assert_eq!(name_from_api("/v2/a/manifests/manifests/1.0"), Some("a/manifests"));
/// assert_eq!(name_from_api("/v2/tags/list?n=10"), None);
/// assert_eq!(name_from_api("/v2/Upper/tags/list"), None);
/// ```
#[must_use]
pub fn name_from_api(path: &str) -> Option<&str> {
    let path = path.split_once(['?', '#']).map_or(path, |(p, _)| p);
    let rest = path.strip_prefix("/v2/")?;
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return valid(name);
    }
    if let Some((name, id)) = rest.rsplit_once("/blobs/uploads/") {
        if !id.contains('/') {
            return valid(name);
        }
    }
    // The last `/<keyword>/` followed by one non-empty segment.
    let (before, segment) = rest.rsplit_once('/')?;
    if segment.is_empty() {
        return None;
    }
    let (name, keyword) = before.rsplit_once('/')?;
    match keyword {
        "manifests" | "blobs" | "referrers" => valid(name),
        _ => None,
    }
}

/// `name` when it is a valid repository path.
fn valid(name: &str) -> Option<&str> {
    (name.len() <= NAME_MAX_LEN && grammar::path_at(name, 0).is_ok_and(|end| end == name.len()))
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_every_endpoint() {
        let d = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
        let cases: &[(&str, Option<&str>)] = &[
            ("/v2/ubuntu/manifests/22.04", Some("ubuntu")),
            (&format!("/v2/org/app/blobs/{d}"), Some("org/app")),
            (&format!("/v2/org/app/referrers/{d}?artifactType=x"), Some("org/app")),
            ("/v2/org/app/blobs/uploads/5d3c-11", Some("org/app")),
            ("/v2/org/app/tags/list", Some("org/app")),
            ("/v2/blobs/blobs/x", Some("blobs")),
            ("/v2/", None),
            ("/v2/_catalog", None),
            ("/v2/app/manifests/", None),
            ("/v2/app/other/x", None),
            ("/v1/app/manifests/x", None),
            ("/v2//manifests/x", None),
        ];
        for (path, name) in cases {
            assert_eq!(name_from_api(path), *name, "{path}");
        }
    }
}
