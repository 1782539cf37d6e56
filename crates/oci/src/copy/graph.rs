//! The graph a copy moves: every manifest under the root (children before parents,
//! the root last), the blobs they name, and which of them the destination has.
//!
//! A manifest is read from the destination when it has it (one request proves it is
//! there and gives its bytes; content is addressed, so those are the source's bytes),
//! else from the source. A manifest the destination has does not stop the walk: its
//! children and blobs are checked too, so that a destination left partial (an
//! interrupted copy, a pull-through cache) is healed by a plain re-run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use oci_spec_types::{Descriptor, Digest, Document, ImageIndex, Manifest, Platform};
use tokio::task::JoinSet;

use super::budget::Budgets;
use super::endpoint::Endpoint;
use super::options::is_foreign;
use crate::{Error, ErrorKind, Result};

/// A manifest of the graph.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) descriptor: Descriptor,
    pub(crate) bytes: Bytes,
    pub(crate) manifest: Manifest,
    /// The destination has it.
    pub(crate) present: bool,
}

/// What the copy moves.
#[derive(Debug)]
pub(crate) struct Graph {
    /// Children before parents; the root last.
    pub(crate) manifests: Vec<Node>,
    /// Every blob the manifests name, once, foreign layers left out unless asked for.
    pub(crate) blobs: Vec<Descriptor>,
    /// Foreign layers left out.
    pub(crate) foreign: usize,
}

/// The two ends and their budget, shared by the tasks of a copy.
#[derive(Debug, Clone)]
pub(crate) struct Ends {
    pub(crate) src: Arc<Endpoint>,
    pub(crate) dst: Arc<Endpoint>,
    pub(crate) budgets: Arc<Budgets>,
    /// The client's retry policy, for transfers started again.
    pub(crate) retry: oci_distribution::RetryPolicy,
}

impl Ends {
    /// The manifest `descriptor` names: from the destination when it has it, else from
    /// the source.
    pub(crate) async fn fetch(&self, descriptor: Descriptor) -> Result<Node> {
        let from_dst = {
            let _permit = self.budgets.acquire(&[self.dst.budget_key()]).await;
            self.dst.manifest(&descriptor).await
        };
        let (bytes, present) = match from_dst {
            Ok(Some(bytes)) => (bytes, true),
            Ok(None) => (self.read_source(&descriptor).await?, false),
            Err(e) => {
                // Unreadable there (no pull right, a failure): taken from the source and
                // written again, which is harmless.
                tracing::debug!(error = %e, digest = %descriptor.digest, "reading the destination's copy");
                (self.read_source(&descriptor).await?, false)
            }
        };
        let manifest = super::endpoint::document(&descriptor, &bytes)?.into_parts().0;
        Ok(Node { descriptor, bytes, manifest, present })
    }

    /// The root, as [`fetch`](Self::fetch) gives it, asked for by `tag` at the
    /// destination first when there is one: when the tag already names the root there,
    /// one exchange proves both (the `bool`), and the tag need not be written again.
    pub(crate) async fn fetch_root(&self, root: Descriptor, tag: Option<&str>) -> Result<(Node, bool)> {
        if let Some(tag) = tag {
            let tagged = {
                let _permit = self.budgets.acquire(&[self.dst.budget_key()]).await;
                self.dst.tagged(tag).await
            };
            match tagged {
                Ok(Some((found, bytes))) if found.digest == root.digest && found.size == root.size => {
                    let manifest = super::endpoint::document(&root, &bytes)?.into_parts().0;
                    return Ok((Node { descriptor: root, bytes, manifest, present: true }, true));
                }
                Ok(_) => {}
                Err(e) => tracing::debug!(error = %e, tag, "reading the destination's tag"),
            }
        }
        Ok((self.fetch(root).await?, false))
    }

    async fn read_source(&self, descriptor: &Descriptor) -> Result<Bytes> {
        let _permit = self.budgets.acquire(&[self.src.budget_key()]).await;
        self.src.manifest(descriptor).await?.ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("{}: no such manifest", self.src.at(&descriptor.digest)))
        })
    }
}

/// Walks the graph under `root`, fetching the manifests of each level in parallel.
pub(crate) async fn walk(ends: &Ends, root: Node, include_foreign: bool) -> Result<Graph> {
    let root_digest = root.descriptor.digest.clone();
    let mut nodes: BTreeMap<Digest, Node> = BTreeMap::new();
    let mut frontier = children(&root);
    nodes.insert(root_digest.clone(), root);
    while !frontier.is_empty() {
        let mut tasks = JoinSet::new();
        for descriptor in frontier.drain(..) {
            if nodes.contains_key(&descriptor.digest) {
                continue;
            }
            let ends = ends.clone();
            tasks.spawn(async move { ends.fetch(descriptor).await });
        }
        let mut level = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let node =
                joined.map_err(|e| Error::new(ErrorKind::Io, format!("a manifest task failed: {e}")))??;
            level.push(node);
        }
        for node in level {
            frontier.extend(children(&node).into_iter().filter(|c| !nodes.contains_key(&c.digest)));
            nodes.insert(node.descriptor.digest.clone(), node);
        }
        let mut unique = BTreeSet::new();
        frontier.retain(|d| unique.insert(d.digest.clone()));
    }
    // Post-order from the root: every manifest after what it names.
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    post_order(&root_digest, &nodes, &mut done, &mut order);
    let mut manifests = Vec::new();
    let mut blobs = Vec::new();
    let mut seen = BTreeSet::new();
    let mut foreign = 0;
    for digest in order {
        let Some(node) = nodes.remove(&digest) else { continue };
        if let Manifest::Image(image) = &node.manifest {
            for blob in image.blobs() {
                if !include_foreign && is_foreign(blob) {
                    foreign += 1;
                } else if seen.insert(blob.digest.clone()) {
                    blobs.push(blob.clone());
                }
            }
        }
        manifests.push(node);
    }
    Ok(Graph { manifests, blobs, foreign })
}

/// The manifests an index names (an image names none).
fn children(node: &Node) -> Vec<Descriptor> {
    match &node.manifest {
        Manifest::Index(index) => index.manifests.clone(),
        _ => Vec::new(),
    }
}

fn post_order(
    digest: &Digest,
    nodes: &BTreeMap<Digest, Node>,
    done: &mut BTreeSet<Digest>,
    out: &mut Vec<Digest>,
) {
    if !done.insert(digest.clone()) {
        return;
    }
    if let Some(node) = nodes.get(digest) {
        for child in children(node) {
            post_order(&child.digest, nodes, done, out);
        }
    }
    out.push(digest.clone());
}

/// The root after the platform selection: the root itself when it is an image or no
/// platform is asked for; else the one image of the one platform asked for, or a new
/// index of the images of the several asked for (in the order asked), looked for in
/// nested indexes too. A platform no image has is an error that lists those there are.
pub(crate) async fn select(ends: &Ends, root: Node, platforms: &[Platform]) -> Result<Node> {
    let Manifest::Index(index) = &root.manifest else { return Ok(root) };
    if platforms.is_empty() {
        return Ok(root);
    }
    let mut images = Vec::new();
    let mut indexes = vec![index.clone()];
    while let Some(index) = indexes.pop() {
        for entry in &index.manifests {
            if entry.media_type.is_index() {
                let Manifest::Index(nested) = ends.fetch(entry.clone()).await?.manifest else { continue };
                indexes.push(nested);
            } else if entry.platform.is_some() {
                images.push(entry.clone());
            }
        }
    }
    let mut chosen: Vec<Descriptor> = Vec::new();
    for wanted in platforms {
        let found = images.iter().find(|d| d.platform.as_ref().is_some_and(|p| wanted.matches(p)));
        let Some(found) = found else {
            let there: Vec<String> =
                images.iter().filter_map(|d| d.platform.as_ref()).map(ToString::to_string).collect();
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("no image for {wanted} in {} (it has {})", root.descriptor.digest, there.join(", ")),
            ));
        };
        if !chosen.iter().any(|c| c.digest == found.digest) {
            chosen.push(found.clone());
        }
    }
    if let [one] = chosen.as_slice() {
        return ends.fetch(one.clone()).await;
    }
    let mut subset: ImageIndex = index.clone();
    subset.manifests = chosen;
    let document = Document::new(subset).map_err(|e| {
        Error::new(ErrorKind::InvalidManifest, format!("the index of the platforms asked for: {e}"))
    })?;
    let descriptor = document.descriptor();
    let present = ends.dst.manifest(&descriptor).await.ok().flatten().is_some();
    let (value, bytes) = document.into_parts();
    Ok(Node { descriptor, bytes, manifest: Manifest::Index(value), present })
}
