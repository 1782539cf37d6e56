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
use super::data::{self, DataSet};
use super::datasets::Stored;
use super::raw;
use super::{Ctx, Recorder, Verdict};

/// What upstream accepts of a delete: 202, or 404 (not there); 400 and 405 mean the
/// registry does not delete (unsupported).
fn deleted(status: Option<u16>, what: &str, error: impl std::fmt::Display) -> Result<Verdict, Verdict> {
    match status {
        Some(404) => Ok(Verdict::pass_with_note(format!("{what}: 404, it was not there"))),
        Some(400 | 405) => Err(Verdict::skip(format!("{what} unsupported: {error}"))),
        _ => Err(Verdict::fail(format!("{what}: {error}"))),
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
        if stored.refused.iter().any(|(d, _)| d == digest) {
            continue;
        }
        any = true;
        verdict.add(delete_manifest(ctx, digest).await);
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
    let ex = match raw::send(
        &ctx.client,
        &ctx.repo1,
        Method::DELETE,
        &target,
        HeaderMap::new(),
        Vec::new().into(),
    )
    .await
    {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    let verdict = match ex.status.as_u16() {
        202 => Verdict::pass(),
        status => match deleted(Some(status), "tag delete", ex.describe()) {
            Ok(v) => v,
            Err(v) => return v,
        },
    };
    let reference = match Ctx::tagged(&ctx.repo1, tag) {
        Ok(r) => r,
        Err(e) => return Verdict::error(e),
    };
    match ctx.client.head_manifest(&reference).await {
        Ok(None) => verdict,
        Ok(Some(d)) => {
            Verdict::fail(format!("HEAD manifests/{tag} after its DELETE: still names {}", d.digest))
        }
        Err(e) => Verdict::fail(format!("HEAD after a tag delete: {e}")),
    }
}

/// Deletes the manifest `digest` (typed), then `HEAD` by digest must answer 404.
async fn delete_manifest(ctx: &Ctx, digest: &Digest) -> Verdict {
    let reference = match Ctx::at(&ctx.repo1, digest) {
        Ok(r) => r,
        Err(e) => return Verdict::error(e),
    };
    let verdict = match ctx.client.delete_manifest(&reference).await {
        Ok(()) => Verdict::pass(),
        Err(e) => match deleted(e.status().map(|s| s.as_u16()), "manifest delete", &e) {
            Ok(v) => v,
            Err(v) => return v,
        },
    };
    match ctx.client.head_manifest(&reference).await {
        Ok(None) => verdict,
        Ok(Some(_)) => Verdict::fail(format!("HEAD manifests/{digest} after its DELETE: still there (200)")),
        Err(e) => Verdict::fail(format!("HEAD after a manifest delete: {e}")),
    }
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
        match ctx
            .client
            .push_blob(&ctx.repo1, &blob.descriptor, blob.bytes.clone(), PushOptions::default())
            .await
        {
            Ok(_) => {
                stored.blobs.insert(blob.descriptor.digest.clone());
                pushed.add(Verdict::pass());
            }
            Err(e) => pushed.add(Verdict::fail(e.to_string())),
        }
    }
    rec.record(group, "push blobs", &pushed);
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
/// A registry that takes the malformed digest for a tag name and then fails in its
/// storage (distribution 2.8: 500 naming `_manifests/tags/sha256:baddigeststring`) does
/// not validate digests in references: skipped.
fn invalid_digest(exchange: Result<raw::Exchange, String>, statuses: &[u16]) -> Verdict {
    let ex = match exchange {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    let as_tag = String::from_utf8_lossy(&ex.body).contains("/_manifests/tags/sha256:baddigeststring/");
    if ex.status.is_server_error() && as_tag {
        return Verdict::skip(format!(
            "digest validation of references unsupported: the registry took sha256:baddigeststring for a tag \
             and failed: {}",
            ex.describe()
        ));
    }
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
