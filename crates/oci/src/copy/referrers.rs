//! Referrers (signatures, SBOMs, attestations): found at the source for every manifest
//! copied, each copied as a graph of its own after its subject, and theirs in turn.

use std::collections::BTreeSet;

use oci_spec_types::{Descriptor, Digest};

use super::graph::{self, Ends};
use super::{CopyOptions, CopyReport};
use crate::Result;

/// Copies the referrers of `subjects` (the manifests just copied), then the referrers
/// of what that copied, until there are none left. At a registry the client keeps the
/// referrers API or the fallback tag up to date; in a layout each referrer gets an
/// untagged entry of `index.json`, where a later copy finds it.
pub(crate) async fn copy_all(
    ends: &Ends,
    subjects: Vec<Digest>,
    options: &CopyOptions,
    report: &mut CopyReport,
) -> Result<()> {
    let mut seen: BTreeSet<Digest> = subjects.iter().cloned().collect();
    let mut queue = subjects;
    while !queue.is_empty() {
        let mut found: Vec<Descriptor> = Vec::new();
        for subject in queue.drain(..) {
            found.extend(list(ends, &subject, options).await?);
        }
        for referrer in found {
            if !seen.insert(referrer.digest.clone()) {
                continue;
            }
            let node = ends.fetch(plain(&referrer)).await?;
            let graph = graph::walk(ends, node, options.include_foreign).await?;
            super::transfer_blobs(ends, &graph, options, report).await?;
            super::write_manifests(ends, &graph, options, report).await?;
            if let Some(root) = graph.manifests.last() {
                ends.dst.name_root(&root.descriptor, &root.bytes, None).await?;
            }
            report.referrers += 1;
            queue.extend(graph.manifests.iter().map(|m| m.descriptor.digest.clone()));
        }
    }
    Ok(())
}

/// The referrers of `subject` at the source, of the types asked for.
async fn list(ends: &Ends, subject: &Digest, options: &CopyOptions) -> Result<Vec<Descriptor>> {
    let _permit = ends.budgets.acquire(&[ends.src.budget_key()]).await;
    if let [one] = options.referrer_types.as_slice() {
        return ends.src.referrers(subject, Some(one)).await;
    }
    let all = ends.src.referrers(subject, None).await?;
    Ok(all
        .into_iter()
        .filter(|d| {
            options.referrer_types.is_empty()
                || d.artifact_type.as_ref().is_some_and(|t| options.referrer_types.contains(t))
        })
        .collect())
}

/// The manifest's own descriptor: what the referrers list lifted onto it (artifact
/// type, annotations) stays in the manifest.
fn plain(listed: &Descriptor) -> Descriptor {
    Descriptor::new(listed.media_type.clone(), listed.digest.clone(), listed.size)
}
