//! The content graph of a layout: index.json -> manifests and indexes -> configs,
//! layers and subjects. What uses it ([`fsck`](crate::fsck), [`gc`](crate::gc),
//! resolving a digest) judges what the walk found; the walk only says what it could
//! not follow and why.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;

use oci_spec_types::{Descriptor, Digest, Manifest};

use crate::{Error, ErrorKind, Layout, Result};

/// The largest blob the walk parses as a manifest (16 MiB; registries take 4 MiB).
pub(crate) const MAX_MANIFEST: u64 = 16 * 1024 * 1024;

/// Who references a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parent {
    /// `index.json` itself.
    Root,
    /// An index (a platform's manifest: layouts often hold only some platforms).
    Index(Digest),
    /// An image manifest (its config or a layer).
    Manifest(Digest),
    /// A manifest whose subject this is (a referrer may travel without its subject).
    Referrer(Digest),
}

impl Parent {
    /// Whether the node may be missing without the layout being broken: other platforms
    /// of an index, and subjects of referrers.
    pub(crate) fn missing_is_expected(&self) -> bool {
        matches!(self, Self::Index(_) | Self::Referrer(_))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Root => "referenced by index.json".to_owned(),
            Self::Index(d) => format!("a manifest of index {d}"),
            Self::Manifest(d) => format!("referenced by manifest {d}"),
            Self::Referrer(d) => format!("the subject of {d}"),
        }
    }
}

/// A reachable descriptor: the first way it was reached.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) descriptor: Descriptor,
    pub(crate) parent: Parent,
}

/// Why a manifest's children are unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// It could not be read (an unsafe file, an I/O error).
    Unreadable,
    /// Its content does not match its digest or size.
    DigestMismatch,
    /// It is not a manifest or index (or too large to be one).
    InvalidManifest,
}

/// A manifest the walk could not follow.
#[derive(Debug, Clone)]
pub(crate) struct Unfollowed {
    pub(crate) digest: Digest,
    pub(crate) problem: Problem,
    /// What is wrong, for people.
    pub(crate) detail: String,
}

/// Everything reachable from `index.json`, and the manifests the walk could not follow.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub(crate) nodes: BTreeMap<Digest, Node>,
    /// Manifests that could not be read or parsed, so their children are unknown.
    pub(crate) unfollowed: Vec<Unfollowed>,
}

/// Walks the graph from `index.json`. Descriptors whose media type is a manifest or an
/// index (OCI or Docker) are read and followed; every other one is a leaf, whatever its
/// media type. Missing manifests are simply not followed.
pub(crate) fn walk(layout: &Layout) -> Result<Graph> {
    let index = layout.read_index()?;
    let mut graph = Graph::default();
    let mut queue: Vec<(Descriptor, Parent)> =
        index.manifests.into_iter().rev().map(|d| (d, Parent::Root)).collect();
    // Followed apart from reached: a blob first reached as a leaf (a layer, a config)
    // and later as a manifest is followed then, or its children would count as garbage.
    let mut followed: HashSet<Digest> = HashSet::new();
    while let Some((descriptor, parent)) = queue.pop() {
        let digest = descriptor.digest.clone();
        let is_manifest = descriptor.media_type.is_manifest();
        graph.nodes.entry(digest.clone()).or_insert_with(|| Node { descriptor: descriptor.clone(), parent });
        if !is_manifest || !followed.insert(digest.clone()) {
            continue;
        }
        match read_manifest(layout, &descriptor) {
            Ok(None) => {}
            Ok(Some(manifest)) => {
                let mut children: Vec<(Descriptor, Parent)> = match &manifest {
                    Manifest::Index(i) => {
                        i.manifests.iter().map(|d| (d.clone(), Parent::Index(digest.clone()))).collect()
                    }
                    Manifest::Image(m) => {
                        m.blobs().map(|d| (d.clone(), Parent::Manifest(digest.clone()))).collect()
                    }
                    _ => Vec::new(),
                };
                if let Some(subject) = manifest.subject() {
                    children.push((subject.clone(), Parent::Referrer(digest.clone())));
                }
                queue.extend(children.into_iter().rev());
            }
            Err(unfollowed) => graph.unfollowed.push(unfollowed),
        }
    }
    Ok(graph)
}

/// Reads and parses a manifest blob; `Ok(None)` when it is not stored. Content that
/// does not match the descriptor is not followed.
fn read_manifest(layout: &Layout, descriptor: &Descriptor) -> Result<Option<Manifest>, Unfollowed> {
    let digest = &descriptor.digest;
    let finding = |problem, detail: String| Unfollowed { digest: digest.clone(), problem, detail };
    let size = match layout.driver().blob_size(digest) {
        Ok(None) => return Ok(None),
        Ok(Some(size)) => size,
        Err(e) => return Err(finding(Problem::Unreadable, e.to_string())),
    };
    if size > MAX_MANIFEST || descriptor.size > MAX_MANIFEST {
        return Err(finding(
            Problem::InvalidManifest,
            format!("{size} bytes is too large for a manifest (limit {MAX_MANIFEST})"),
        ));
    }
    let mut bytes = Vec::new();
    let read = layout
        .blob_reader(digest)
        .and_then(|mut r| r.read_to_end(&mut bytes).map_err(|e| Error::io(e).with_digest(digest.clone())));
    if let Err(e) = read {
        let kind = match e.kind() {
            ErrorKind::UnexpectedDigest | ErrorKind::UnexpectedSize => Problem::DigestMismatch,
            _ => Problem::Unreadable,
        };
        return Err(finding(kind, e.to_string()));
    }
    Manifest::from_slice(&bytes, Some(&descriptor.media_type))
        .map(Some)
        .map_err(|e| finding(Problem::InvalidManifest, e.to_string()))
}
