//! The manifest entries of a repository as `index.json` holds them, for both stores:
//! one untagged descriptor per manifest, and one descriptor per tag (with the
//! `org.opencontainers.image.ref.name` annotation).

use oci_spec_types::{Annotations, Descriptor};

/// A descriptor without the `ref.name` annotation that made it a tag.
pub(super) fn plain(descriptor: &Descriptor) -> Descriptor {
    let mut d = descriptor.clone();
    d.annotations.remove(Annotations::REF_NAME);
    d
}

/// Adds a manifest's untagged entry (once) and points each of `tags` at it (a tag moves).
pub(super) fn put(entries: &mut Vec<Descriptor>, descriptor: &Descriptor, tags: &[String]) {
    let entry = plain(descriptor);
    if !entries.iter().any(|d| d.digest == entry.digest && d.annotations.ref_name().is_none()) {
        entries.push(entry.clone());
    }
    for tag in tags {
        entries.retain(|d| d.annotations.ref_name() != Some(tag));
        entries.push(entry.clone().with_annotation(Annotations::REF_NAME, tag));
    }
}

/// Removes a tag; the manifest it named keeps an untagged entry (a layout written by
/// another tool may have had none), so it stays reachable by digest. Whether the tag
/// existed.
pub(super) fn untag(entries: &mut Vec<Descriptor>, tag: &str) -> bool {
    let (removed, kept): (Vec<Descriptor>, Vec<Descriptor>) =
        entries.drain(..).partition(|d| d.annotations.ref_name() == Some(tag));
    *entries = kept;
    for gone in &removed {
        if !entries.iter().any(|d| d.digest == gone.digest) {
            entries.push(plain(gone));
        }
    }
    !removed.is_empty()
}

#[cfg(test)]
mod tests {
    use oci_spec_types::{Digest, MediaType};

    use super::*;

    #[test]
    fn a_tag_moves_and_its_manifest_stays_reachable_when_it_goes() {
        let a = Descriptor::new(MediaType::IMAGE_MANIFEST, Digest::sha256(b"a"), 1);
        let b = Descriptor::new(MediaType::IMAGE_MANIFEST, Digest::sha256(b"b"), 1);
        let mut entries = Vec::new();
        put(&mut entries, &a, &["v1".to_owned()]);
        put(&mut entries, &b, &["v1".to_owned(), "v2".to_owned()]);
        let tags: Vec<_> =
            entries.iter().map(|d| (d.digest.clone(), d.annotations.ref_name().map(str::to_owned))).collect();
        assert_eq!(
            tags,
            [
                (a.digest.clone(), None),
                (b.digest.clone(), None),
                (b.digest.clone(), Some("v1".into())),
                (b.digest.clone(), Some("v2".into()))
            ]
        );
        // A layout of another tool: the tag alone names the manifest.
        let mut foreign = vec![a.clone().with_annotation(Annotations::REF_NAME, "latest")];
        assert!(untag(&mut foreign, "latest"));
        assert_eq!(foreign, std::slice::from_ref(&a));
        assert!(!untag(&mut foreign, "latest"));
    }
}
