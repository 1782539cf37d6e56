//! Garbage collection, online: blobs no manifest of their repository references are
//! removed from it, blobs no repository holds are removed from the store, and (on
//! request) untagged manifests that nothing refers to go first.
//!
//! It cannot remove a blob a push is about to reference, by two rules together:
//!
//! - **A grace period** ([`GcOptions::grace`]): a blob is removed only when it has not
//!   been linked into the repository for that long (the file's change time, which a
//!   commit, a mount or a new link renews), so the blobs of a push in progress, whose
//!   manifest has not arrived yet, stay.
//! - **A lock**: a manifest `PUT` checks that its blobs and children are there and
//!   stores itself under the repository's lock, which a collection of that repository
//!   holds too; a manifest is therefore stored only with every blob it names present,
//!   and a collection sees every manifest stored before it (a blob older than the grace
//!   period and unreferenced when the lock is taken is removed, and a manifest pushed
//!   after that is refused with `MANIFEST_BLOB_UNKNOWN`, never stored broken).

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use oci_spec_types::{Descriptor, Digest, Manifest};

/// How a collection runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcOptions {
    /// How long a blob stays after it was last linked into a repository, referenced
    /// or not. Default: one hour.
    pub grace: Duration,
    /// Also remove manifests that have no tag and that no other manifest names as a
    /// child or as its subject. Default: off.
    pub untagged: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self { grace: Duration::from_secs(3600), untagged: false }
    }
}

impl GcOptions {
    /// The same options with the grace period `grace`.
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// The same options, removing untagged manifests too.
    #[must_use]
    pub fn with_untagged(mut self, untagged: bool) -> Self {
        self.untagged = untagged;
        self
    }
}

/// What a collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GcReport {
    /// Repositories looked at.
    pub repositories: usize,
    /// Untagged manifests removed from their repository.
    pub manifests_removed: usize,
    /// Blobs removed from a repository.
    pub blobs_removed: usize,
    /// Blobs removed from the store (no repository held them).
    pub content_removed: usize,
    /// Bytes freed (files whose last link went).
    pub bytes_freed: u64,
    /// The untagged manifests removed, by repository.
    pub removed: Vec<(String, Digest)>,
}

impl GcReport {
    /// Adds another report's counts.
    pub fn add(&mut self, other: &Self) {
        self.repositories += other.repositories;
        self.manifests_removed += other.manifests_removed;
        self.blobs_removed += other.blobs_removed;
        self.content_removed += other.content_removed;
        self.bytes_freed += other.bytes_freed;
        self.removed.extend(other.removed.iter().cloned());
    }
}

/// The digests reachable from `roots` (a repository's manifests): the manifests, their
/// children, configs and layers, following `read` (the bytes of a manifest, `None` when
/// it is not stored or not a manifest).
pub(crate) fn reachable(
    roots: &[Descriptor],
    mut read: impl FnMut(&Descriptor) -> Option<Vec<u8>>,
) -> BTreeSet<Digest> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<Descriptor> = roots.iter().cloned().collect();
    while let Some(descriptor) = queue.pop_front() {
        if !seen.insert(descriptor.digest.clone()) {
            continue;
        }
        if !descriptor.media_type.is_manifest() {
            continue;
        }
        let Some(bytes) = read(&descriptor) else { continue };
        let Ok(manifest) = Manifest::from_slice(&bytes, Some(&descriptor.media_type)) else { continue };
        queue.extend(manifest.references().into_iter().cloned());
    }
    seen
}

/// The untagged manifests of `entries` (an `index.json`) that nothing names: no tag,
/// not a child of another manifest, not a referrer whose subject is still there.
pub(crate) fn unreferenced_untagged(
    entries: &[Descriptor],
    mut read: impl FnMut(&Descriptor) -> Option<Vec<u8>>,
) -> BTreeSet<Digest> {
    let tagged: BTreeSet<&Digest> =
        entries.iter().filter(|d| d.annotations.ref_name().is_some()).map(|d| &d.digest).collect();
    let mut named = BTreeSet::new();
    let mut subjects = Vec::new();
    for entry in entries {
        let Some(bytes) = read(entry) else { continue };
        let Ok(manifest) = Manifest::from_slice(&bytes, Some(&entry.media_type)) else { continue };
        if let Manifest::Index(index) = &manifest {
            named.extend(index.manifests.iter().map(|d| d.digest.clone()));
        }
        if let Some(subject) = manifest.subject() {
            subjects.push((entry.digest.clone(), subject.digest.clone()));
        }
    }
    let present: BTreeSet<&Digest> = entries.iter().map(|d| &d.digest).collect();
    for (referrer, subject) in subjects {
        if present.contains(&subject) {
            named.insert(referrer);
        }
    }
    entries
        .iter()
        .map(|d| &d.digest)
        .filter(|d| !tagged.contains(d) && !named.contains(*d))
        .cloned()
        .collect()
}

/// What a manifest needs in its repository before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// A blob (config or layer).
    Blob(Digest),
    /// A manifest (child of an index).
    Manifest(Digest),
}
