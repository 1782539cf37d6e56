//! Content management: each data set's `delete` (tags, then manifests in reverse push
//! order, then blobs, each checked gone at once), the manifest error cases
//! (`missing-manifest/`, `invalid-digest-format/`), and a final sweep of leftover tags.

use oci_distribution::http::header::CONTENT_TYPE;
use oci_distribution::http::{HeaderMap, Method};
use oci_distribution::{ListOptions, PushOptions};
use oci_reference::Reference;
use oci_spec_types::Digest;

use super::blobs;
use super::content::Rng;
use super::data::{self, DataSet, Stored};
use super::raw;
use super::{Ctx, Recorder, Verdict};

/// `DELETE target` of something this run stored, then `HEAD target`: 202 then 404. A
/// 400 or 405 means the registry does not delete (unsupported, as the spec allows); a
/// 404 for what the registry holds is wrong (upstream lets it pass, as it cannot know).
async fn delete_then_gone(ctx: &Ctx, what: &str, target: &str) -> Verdict {
    let send =
        |method| raw::send(&ctx.client, &ctx.repo1, method, target, HeaderMap::new(), Vec::new().into());
    let ex = match send(Method::DELETE).await {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    match ex.status.as_u16() {
        202 => {}
        400 | 405 => return Verdict::skip(format!("{what} unsupported: {}", ex.describe())),
        _ => return Verdict::fail(format!("{what}: expected 202, got {}", ex.describe())),
    }
    match send(Method::HEAD).await {
        Ok(head) if head.status.as_u16() == 404 => Verdict::pass(),
        Ok(head) => Verdict::fail(format!("after the {what}: expected 404, got {}", head.describe())),
        Err(e) => Verdict::fail(e),
    }
}

/// `delete/tags`, `delete/manifests` and `delete/blobs` of `set`.
pub(super) async fn delete(ctx: &Ctx, rec: &mut Recorder, group: &str, set: &DataSet, stored: &Stored) {
    if !stored.tags.is_empty() {
        let mut verdict = Verdict::default();
        for tag in &stored.tags {
            verdict.add(delete_tag(ctx, tag).await);
        }
        rec.record(group, "delete/tags", &verdict);
    }
    let mut verdict = Verdict::default();
    let mut any = false;
    for manifest in set.manifests.iter().rev() {
        let digest = &manifest.descriptor.digest;
        if !stored.manifests.contains(digest) {
            continue; // refused, or failed: nothing to delete
        }
        any = true;
        let target = format!("/v2/{}/manifests/{digest}", ctx.repo1.path());
        verdict.add(delete_then_gone(ctx, "manifest delete", &target).await);
    }
    if any {
        rec.record(group, "delete/manifests", &verdict);
    }
    if !stored.blobs.is_empty() {
        let mut verdict = Verdict::default();
        for blob in set.blobs.iter().filter(|b| stored.blobs.contains(&b.descriptor.digest)) {
            verdict.add(blobs::delete_blob(ctx, &ctx.repo1, &blob.descriptor).await);
        }
        rec.record(group, "delete/blobs", &verdict);
    }
}

/// `DELETE /v2/<repo1>/manifests/<tag>` (raw: the typed API deletes by digest only),
/// then `HEAD` of the tag must answer 404.
async fn delete_tag(ctx: &Ctx, tag: &str) -> Verdict {
    let target = format!("/v2/{}/manifests/{tag}", ctx.repo1.path());
    delete_then_gone(ctx, "tag delete", &target).await
}

/// `missing-manifest/` and `invalid-digest-format/`.
pub(super) async fn manifest_errors(ctx: &Ctx, rec: &mut Recorder) {
    let mut rng = Rng::new("missing-manifest");
    let digest = Digest::sha256(&rng.bytes(1024));
    let by_digest = Ctx::at(&ctx.repo1, &digest);
    rec.record("missing-manifest", "by-digest", &missing(ctx, by_digest).await);
    let tag = format!("missing-{}", rng.text().to_lowercase().chars().take(20).collect::<String>());
    rec.record("missing-manifest", "by-tag", &missing(ctx, Ctx::tagged(&ctx.repo1, &tag)).await);

    let group = "invalid-digest-format";
    let set = data::invalid_manifest_digest();
    let mut stored = Stored::default();
    let mut pushed = Verdict::default();
    for blob in &set.blobs {
        let options = PushOptions::default().with_skip_existing(false);
        match ctx.client.push_blob(&ctx.repo1, &blob.descriptor, blob.bytes.clone(), options).await {
            Ok(_) => {
                stored.blobs.insert(blob.descriptor.digest.clone());
                pushed.add(Verdict::pass());
            }
            Err(e) => pushed.add(Verdict::fail(e.to_string())),
        }
    }
    rec.record(group, "push blobs", &pushed);
    // Never stored under a digest: nothing of it to delete but its blobs.
    let target = format!("/v2/{}/manifests/sha256:baddigeststring", ctx.repo1.path());
    let Some(manifest) = set.manifests.last() else { return };
    let headers = raw::header(CONTENT_TYPE, manifest.descriptor.media_type.as_str());
    let put =
        raw::send(&ctx.client, &ctx.repo1, Method::PUT, &target, headers, manifest.bytes.clone().into())
            .await;
    rec.record(group, "manifest-put", &invalid_digest(put, &[400]));
    let get =
        raw::send(&ctx.client, &ctx.repo1, Method::GET, &target, HeaderMap::new(), Vec::new().into()).await;
    rec.record(group, "manifest-get", &invalid_digest(get, &[404, 400]));
    delete(ctx, rec, group, &set, &stored).await;
}

/// The answer to a request for `manifests/sha256:baddigeststring`: one of `statuses`.
fn invalid_digest(exchange: Result<raw::Exchange, String>, statuses: &[u16]) -> Verdict {
    let ex = match exchange {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    match ex.expect(statuses) {
        Ok(()) => Verdict::pass(),
        Err(e) => Verdict::fail(e),
    }
}

/// `GET` of a manifest that does not exist: 404.
async fn missing(ctx: &Ctx, reference: Result<Reference, String>) -> Verdict {
    let reference = match reference {
        Ok(r) => r,
        Err(e) => return Verdict::error(e),
    };
    match ctx.client.get_manifest(&reference).await {
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Verdict::pass(),
        Err(e) => Verdict::fail(format!("expected 404: {e}")),
        Ok(m) => Verdict::fail(format!("GET {reference}: expected 404, got a manifest {}", m.digest())),
    }
}

/// Deletes the manifests the tags of repo1 and repo2 still name (what failed checks
/// left behind); returns how many were removed.
pub(super) async fn sweep(ctx: &Ctx) -> usize {
    let mut removed = 0;
    for repository in [&ctx.repo1, &ctx.repo2] {
        let Ok(list) = ctx.client.tags(repository, ListOptions::all_pages()).await else { continue };
        for tag in list.tags {
            let Ok(tagged) = Ctx::tagged(repository, &tag) else { continue };
            let Ok(Some(found)) = ctx.client.head_manifest(&tagged).await else { continue };
            let Ok(pinned) = Ctx::at(repository, &found.digest) else { continue };
            if ctx.client.delete_manifest(&pinned).await.is_ok() {
                removed += 1;
            }
        }
    }
    if removed > 0 {
        println!("registry: removed {removed} manifest(s) left behind by failed checks");
    }
    removed
}
