//! `data/<data set>/`: push (blobs, manifests by digest, tags), tag-list, head, pull,
//! referrers and delete of one data set.
//!
//! Pushes go through the client's typed API with its default options (a blob the
//! repository has is not sent again; a manifest with a subject on a registry without
//! the referrers API also updates the subject's fallback tag). Manifests go raw where
//! the check needs what the typed API does not show or rightly refuses to send: the one
//! that must be refused (bytes that do not match the digest), and, on a registry with
//! the referrers API, those with a subject (the answer must carry `OCI-Subject`).
//!
//! Two refusals are a registry lacking an optional feature, not a failure, and skip
//! the manifests concerned: sha512 manifest digests (`DIGEST_INVALID` for a sha512
//! digest), and non-distributable layers (the registry asks for a layer that only
//! exists at its URL, as distribution does unless its URL validation allows them).

use std::collections::BTreeSet;

use oci_distribution::http::Method;
use oci_distribution::http::header::CONTENT_TYPE;
use oci_distribution::{Error, PushOptions};
use oci_reference::Reference;
use oci_spec_types::{Digest, DigestAlgorithm, ErrorCode};

use super::blobs;
use super::data::{DataSet, Manifest};
use super::discovery::{self, ReferrersApi};
use super::management;
use super::raw;
use super::{Ctx, Recorder, Verdict};

/// What a data set's push left in the registry.
#[derive(Debug, Clone, Default)]
pub(super) struct Stored {
    /// Blobs pushed.
    pub blobs: BTreeSet<Digest>,
    /// Manifests pushed by digest.
    pub manifests: BTreeSet<Digest>,
    /// Tags pushed.
    pub tags: BTreeSet<String>,
    /// Manifests the registry refused for lack of a feature, with the reason.
    pub refused: Vec<(Digest, String)>,
}

impl Stored {
    fn is_refused(&self, digest: &Digest) -> bool {
        self.refused.iter().any(|(d, _)| d == digest)
    }

    /// The remark for checks that left out refused manifests.
    fn refused_note(&self) -> Option<String> {
        (!self.refused.is_empty()).then(|| {
            format!(
                "{} manifest(s) the registry refused (see push/manifests) were not checked",
                self.refused.len()
            )
        })
    }
}

/// Runs the subtree of `set` (a disabled set is one skipped case).
pub(super) async fn run(ctx: &Ctx, rec: &mut Recorder, set: &DataSet, api: &ReferrersApi) {
    let group = format!("data/{}", set.name);
    if let Some(reason) = set.disabled {
        rec.record(&group, "", &Verdict::disabled(reason));
        return;
    }
    let stored = push(ctx, rec, &group, set, api).await;
    let (listed, last) = discovery::tag_list(ctx, &stored.tags).await;
    rec.record(&group, "tag-list", &listed);
    if let Some(last) = last {
        rec.record(&group, "tag-list/last", &last);
    }
    rec.record(&group, "head", &head(ctx, set, &stored).await);
    rec.record(&group, "pull", &pull(ctx, set, &stored).await);
    if !set.referrers.is_empty() {
        let (listed, filtered) = discovery::referrers(ctx, set, api).await;
        rec.record(&group, "referrers", &listed);
        rec.record(&group, "referrers/artifactType", &filtered);
    }
    management::delete(ctx, rec, &group, set, &stored).await;
}

/// The reason a refusal of `manifest` is a missing feature, if it is one.
fn unsupported(manifest: &Manifest, error: &Error) -> Option<String> {
    let entries = error.registry_errors();
    let digest = &manifest.descriptor.digest;
    if digest.algorithm() != DigestAlgorithm::SHA256
        && entries.iter().any(|e| e.code == ErrorCode::DIGEST_INVALID)
    {
        return Some(format!("{} manifest digests unsupported: {error}", digest.algorithm()));
    }
    let document: serde_json::Value = serde_json::from_slice(&manifest.bytes).ok()?;
    let foreign: Vec<&str> = document["layers"]
        .as_array()?
        .iter()
        .filter(|l| l["urls"].as_array().is_some_and(|u| !u.is_empty()))
        .filter_map(|l| l["digest"].as_str())
        .collect();
    let asks_foreign = entries.iter().any(|e| {
        e.code == ErrorCode::MANIFEST_BLOB_UNKNOWN
            && e.detail.as_ref().and_then(|d| d.as_str()).is_some_and(|d| foreign.contains(&d))
    });
    asks_foreign.then(|| {
        format!(
            "non-distributable layers unsupported: the registry asks for a layer only at its URL: {error}"
        )
    })
}

/// `push/blobs`, `push/manifests` and `push/tags`.
pub(super) async fn push(
    ctx: &Ctx,
    rec: &mut Recorder,
    group: &str,
    set: &DataSet,
    api: &ReferrersApi,
) -> Stored {
    let mut stored = Stored::default();
    if !set.blobs.is_empty() {
        let mut verdict = Verdict::default();
        for blob in &set.blobs {
            let pushed = ctx
                .client
                .push_blob(&ctx.repo1, &blob.descriptor, blob.bytes.clone(), PushOptions::default())
                .await;
            match pushed {
                Ok(_) => {
                    stored.blobs.insert(blob.descriptor.digest.clone());
                    verdict.add(Verdict::pass());
                }
                Err(e) => verdict.add(Verdict::fail(e.to_string())),
            }
        }
        rec.record(group, "push/blobs", &verdict);
    }
    let mut verdict = Verdict::default();
    for manifest in &set.manifests {
        verdict.add(push_manifest(ctx, manifest, &mut stored, api).await);
    }
    rec.record(group, "push/manifests", &verdict);
    if set.tags.is_empty() {
        return stored;
    }
    let mut verdict = Verdict::default();
    for (tag, digest) in &set.tags {
        let Some(manifest) = set.manifest(digest) else { continue };
        if stored.is_refused(digest) {
            verdict.add(Verdict::skip(format!("tag {tag} not pushed: the registry refused its manifest")));
            continue;
        }
        let reference = match Ctx::tagged(&ctx.repo1, tag) {
            Ok(r) => r,
            Err(e) => {
                verdict.add(Verdict::error(e));
                continue;
            }
        };
        let document = match document(manifest) {
            Ok(d) => d,
            Err(e) => {
                verdict.add(Verdict::error(e));
                continue;
            }
        };
        match ctx.client.put_manifest(&reference, &document).await {
            Ok(d) if &d == digest => {
                stored.tags.insert(tag.clone());
                verdict.add(Verdict::pass());
            }
            Ok(d) => verdict
                .add(Verdict::fail(format!("PUT manifests/{tag}: the client computed {d}, not {digest}"))),
            Err(e) => verdict.add(Verdict::fail(e.to_string())),
        }
    }
    rec.record(group, "push/tags", &verdict);
    stored
}

/// The data set's manifest as the document the client pushes: its bytes and media type.
fn document(manifest: &Manifest) -> Result<oci_spec_types::Document, String> {
    let media_type = &manifest.descriptor.media_type;
    oci_spec_types::Document::manifest(manifest.bytes.clone(), Some(media_type))
        .map_err(|e| format!("the data set's manifest {} does not parse: {e}", manifest.descriptor.digest))
}

/// `PUT /v2/<repo1>/manifests/<digest>`: stored (typed), or refused with 400 when the
/// bytes do not match the digest (raw).
async fn push_manifest(ctx: &Ctx, manifest: &Manifest, stored: &mut Stored, api: &ReferrersApi) -> Verdict {
    let digest = &manifest.descriptor.digest;
    let media_type = &manifest.descriptor.media_type;
    let target = format!("/v2/{}/manifests/{digest}", ctx.repo1.path());
    let put_raw = || async {
        let headers = raw::header(CONTENT_TYPE, media_type.as_str());
        raw::send(&ctx.client, &ctx.repo1, Method::PUT, &target, headers, manifest.bytes.clone().into()).await
    };
    if manifest.bad_digest {
        return match put_raw().await {
            Ok(ex) => match ex.expect(&[400]) {
                Ok(()) => Verdict::pass(),
                Err(e) => Verdict::fail(format!("bytes that do not match the digest: {e}")),
            },
            Err(e) => Verdict::fail(e),
        };
    }
    if let (Some(subject), true) = (&manifest.subject, api.supported) {
        // With the referrers API the answer must name the subject (`OCI-Subject`), which
        // the typed API does not show: sent raw.
        let verdict = match put_raw().await {
            Ok(ex) => ex
                .expect(&[201])
                .and_then(|()| ex.check_digest_header(digest, &manifest.bytes))
                .and_then(|_| match ex.header("oci-subject") {
                    Some(s) if s == subject.digest.as_str() => Ok(()),
                    other => {
                        Err(format!("OCI-Subject {other:?}, expected {}: {}", subject.digest, ex.describe()))
                    }
                }),
            Err(e) => Err(e),
        };
        if verdict.is_ok() {
            stored.manifests.insert(digest.clone());
        }
        return verdict.map_or_else(Verdict::fail, |()| Verdict::pass());
    }
    let reference = match Ctx::at(&ctx.repo1, digest) {
        Ok(r) => r,
        Err(e) => return Verdict::error(e),
    };
    let document = match document(manifest) {
        Ok(d) => d,
        Err(e) => return Verdict::error(e),
    };
    match ctx.client.put_manifest(&reference, &document).await {
        Ok(d) if &d == digest => {
            stored.manifests.insert(d);
            Verdict::pass()
        }
        Ok(d) => Verdict::fail(format!("PUT manifests/{digest}: the client reported {d}")),
        Err(e) => match unsupported(manifest, &e) {
            Some(reason) => {
                stored.refused.push((digest.clone(), reason.clone()));
                Verdict::skip(reason)
            }
            None => Verdict::fail(e.to_string()),
        },
    }
}

/// Compares what a HEAD or GET of `name` described with the manifest pushed.
fn same_manifest(name: &str, manifest: &Manifest, digest: &Digest, size: u64, media_type: &str) -> Verdict {
    let want = &manifest.descriptor;
    Verdict::check(
        &want.digest == digest && want.size == size && want.media_type.as_str() == media_type,
        || {
            format!(
                "{name}: {media_type} {digest} ({size} bytes), expected {} {} ({} bytes)",
                want.media_type, want.digest, want.size
            )
        },
    )
}

/// The manifests to check, by tag and by digest as upstream's head and pull do: the
/// name shown, the manifest, and the reference.
fn targets<'a>(
    ctx: &Ctx,
    set: &'a DataSet,
    stored: &Stored,
) -> Vec<(String, &'a Manifest, Result<Reference, String>)> {
    let mut out = Vec::new();
    for (tag, digest) in &set.tags {
        if let (true, Some(m)) = (stored.tags.contains(tag), set.manifest(digest)) {
            out.push((format!("manifests/{tag}"), m, Ctx::tagged(&ctx.repo1, tag)));
        }
    }
    for m in set.manifests.iter().filter(|m| stored.manifests.contains(&m.descriptor.digest)) {
        let digest = &m.descriptor.digest;
        out.push((format!("manifests/{digest}"), m, Ctx::at(&ctx.repo1, digest)));
    }
    out
}

/// `head`: HEAD of each manifest by tag and by digest (media type, digest, size), and
/// of each blob.
async fn head(ctx: &Ctx, set: &DataSet, stored: &Stored) -> Verdict {
    let mut verdict = Verdict::default();
    for (name, manifest, reference) in targets(ctx, set, stored) {
        let reference = match reference {
            Ok(r) => r,
            Err(e) => return Verdict::error(e),
        };
        verdict.add(match ctx.client.head_manifest(&reference).await {
            Ok(Some(d)) => {
                same_manifest(&format!("HEAD {name}"), manifest, &d.digest, d.size, d.media_type.as_str())
            }
            Ok(None) => Verdict::fail(format!("HEAD {name}: 404 for a pushed manifest")),
            Err(e) => Verdict::fail(e.to_string()),
        });
    }
    for blob in set.blobs.iter().filter(|b| stored.blobs.contains(&b.descriptor.digest)) {
        verdict.add(blobs::head_blob(ctx, &ctx.repo1, blob).await);
    }
    if let Some(note) = stored.refused_note() {
        verdict.note(note);
    }
    verdict.or(Verdict::skip("nothing of the data set was stored (see push)"))
}

/// `pull`: GET of each manifest by tag and by digest (exact bytes, media type,
/// digest), and of each blob (exact bytes).
async fn pull(ctx: &Ctx, set: &DataSet, stored: &Stored) -> Verdict {
    let mut verdict = Verdict::default();
    for (name, manifest, reference) in targets(ctx, set, stored) {
        let reference = match reference {
            Ok(r) => r,
            Err(e) => return Verdict::error(e),
        };
        verdict.add(match ctx.client.get_manifest(&reference).await {
            Ok(got) => {
                let size = got.bytes().len() as u64;
                same_manifest(&format!("GET {name}"), manifest, got.digest(), size, got.media_type().as_str())
                    .and(Verdict::check(got.bytes().as_ref() == manifest.bytes.as_slice(), || {
                        format!("GET {name}: bytes that are not those pushed")
                    }))
            }
            Err(e) => Verdict::fail(e.to_string()),
        });
    }
    for blob in set.blobs.iter().filter(|b| stored.blobs.contains(&b.descriptor.digest)) {
        verdict.add(blobs::get_blob(ctx, &ctx.repo1, blob).await);
    }
    if let Some(note) = stored.refused_note() {
        verdict.note(note);
    }
    verdict.or(Verdict::skip("nothing of the data set was stored (see push)"))
}
