//! `data/<data set>/`: push (blobs, manifests by digest, tags), tag-list, head, pull,
//! referrers and delete of one data set.
//!
//! Blobs are pushed through the client's typed API, always uploaded. Manifests, tags
//! and their reads go raw, judged on the registry's answers: a PUT is 201 with a
//! `Location` and the manifest's `Docker-Content-Digest` (when sent), and `OCI-Subject`
//! for a manifest with a subject once the registry has shown the referrers API; a HEAD
//! or GET is 200 with the manifest's `Content-Type`, `Content-Length` and digest, and a
//! GET its exact bytes.
//!
//! Two refusals are a registry lacking an optional feature, not a failure, and skip
//! the manifests concerned: sha512 manifest digests (`DIGEST_INVALID` for a sha512
//! digest), and non-distributable layers (the registry asks for a layer that only
//! exists at its URL, as distribution does unless its URL validation allows them).

use oci_distribution::http::Method;
use oci_distribution::http::header::{ACCEPT, CONTENT_TYPE};
use oci_distribution::{PushOptions, PushOutcome};
use oci_spec_types::{DigestAlgorithm, MediaType};

use super::blobs;
use super::data::{DISABLED_BY_DEFAULT, DataSet, Manifest, Stored};
use super::discovery::{self, ReferrersApi};
use super::management;
use super::raw;
use super::{Ctx, Recorder, Verdict};

/// Runs the subtree of `set` (a disabled set is one skipped case).
pub(super) async fn run(ctx: &Ctx, rec: &mut Recorder, set: &DataSet, api: &mut ReferrersApi) {
    let group = format!("data/{}", set.name);
    if (set.tag_params && !ctx.optional.tag_param) || (set.sparse && !ctx.optional.sparse) {
        rec.record(&group, "", &Verdict::disabled(DISABLED_BY_DEFAULT));
        return;
    }
    let stored = push(ctx, rec, &group, set, api).await;
    // A data set pushed by digest only has no tag-list node: there is nothing to list.
    if !set.tags.is_empty() {
        let (listed, last) = discovery::tag_list(ctx, &stored.tags).await;
        rec.record(&group, "tag-list", &listed);
        if let Some(last) = last {
            rec.record(&group, "tag-list/last", &last);
        }
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
fn unsupported(manifest: &Manifest, refusal: &raw::Exchange) -> Option<String> {
    if refusal.status.as_u16() != 400 {
        return None;
    }
    let errors = refusal.registry_errors();
    let digest = &manifest.descriptor.digest;
    if digest.algorithm() != DigestAlgorithm::SHA256
        && errors.iter().any(|(code, _)| code == "DIGEST_INVALID")
    {
        return Some(format!("{} manifest digests unsupported: {}", digest.algorithm(), refusal.describe()));
    }
    let document: serde_json::Value = serde_json::from_slice(&manifest.bytes).ok()?;
    let foreign: Vec<&str> = document["layers"]
        .as_array()?
        .iter()
        .filter(|l| l["urls"].as_array().is_some_and(|u| !u.is_empty()))
        .filter_map(|l| l["digest"].as_str())
        .collect();
    let asks_foreign = errors.iter().any(|(code, detail)| {
        code == "MANIFEST_BLOB_UNKNOWN" && detail.as_deref().is_some_and(|d| foreign.contains(&d))
    });
    asks_foreign.then(|| {
        format!(
            "non-distributable layers unsupported: the registry asks for a layer only at its URL: {}",
            refusal.describe()
        )
    })
}

/// `push/blobs`, `push/manifests` and `push/tags`.
pub(super) async fn push(
    ctx: &Ctx,
    rec: &mut Recorder,
    group: &str,
    set: &DataSet,
    api: &mut ReferrersApi,
) -> Stored {
    let mut stored = Stored::default();
    if !set.blobs.is_empty() {
        let mut verdict = Verdict::default();
        for blob in &set.blobs {
            // Always uploaded: a blob "already there" would pass on the registry's word.
            let options = PushOptions::default().with_skip_existing(false);
            match ctx.client.push_blob(&ctx.repo1, &blob.descriptor, blob.bytes.clone(), options).await {
                Ok(PushOutcome::Uploaded(_)) => {
                    stored.blobs.insert(blob.descriptor.digest.clone());
                    verdict.add(Verdict::pass());
                }
                Ok(other) => verdict.add(Verdict::fail(format!(
                    "{}: expected an upload, the client reported {other:?}",
                    blob.descriptor.digest
                ))),
                Err(e) => verdict.add(Verdict::fail(e.to_string())),
            }
        }
        rec.record(group, "push/blobs", &verdict);
    }
    let mut verdict = Verdict::default();
    for manifest in &set.manifests {
        verdict.add(if set.tag_params {
            let digest = &manifest.descriptor.digest;
            let tags: Vec<&str> =
                set.tags.iter().filter(|(_, d)| *d == digest).map(|(t, _)| t.as_str()).collect();
            push_with_tag_params(ctx, manifest, &tags, &mut stored).await
        } else {
            push_manifest(ctx, manifest, &mut stored, api).await
        });
    }
    rec.record(group, "push/manifests", &verdict);
    if set.tags.is_empty() || set.tag_params {
        return stored;
    }
    let mut verdict = Verdict::default();
    for (tag, digest) in &set.tags {
        let Some(manifest) = set.manifest(digest) else { continue };
        if stored.is_refused(digest) {
            verdict.add(Verdict::skip(format!("tag {tag} not pushed: the registry refused its manifest")));
            continue;
        }
        match put_manifest(ctx, manifest, tag).await.and_then(|ex| stored_answer(&ex, manifest, tag)) {
            Ok(v) => {
                stored.tags.insert(tag.clone());
                verdict.add(v);
            }
            Err(e) => verdict.add(Verdict::fail(e)),
        }
    }
    rec.record(group, "push/tags", &verdict);
    stored
}

/// `PUT /v2/<repo1>/manifests/<digest>?tag=<tag>...`: stored as [`push_manifest`]
/// checks, and every tag answered with an `OCI-Tag` header (none at all: the registry
/// ignores the parameter, a missing feature).
pub(super) async fn push_with_tag_params(
    ctx: &Ctx,
    manifest: &Manifest,
    tags: &[&str],
    stored: &mut Stored,
) -> Verdict {
    let digest = &manifest.descriptor.digest;
    let query: Vec<String> = tags.iter().map(|t| format!("tag={t}")).collect();
    let reference = format!("{digest}?{}", query.join("&"));
    let ex = match put_manifest(ctx, manifest, &reference).await {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    let verdict = match stored_answer(&ex, manifest, &reference) {
        Ok(v) => v,
        Err(e) => return Verdict::fail(e),
    };
    stored.manifests.insert(digest.clone());
    let echoed: Vec<&str> = ex.headers.get_all("oci-tag").iter().filter_map(|v| v.to_str().ok()).collect();
    if !tags.is_empty() && echoed.is_empty() {
        return Verdict::skip(format!("tag parameters unsupported: no OCI-Tag: {}", ex.describe()));
    }
    let missing: Vec<&&str> = tags.iter().filter(|t| !echoed.contains(t)).collect();
    if !missing.is_empty() {
        return verdict
            .and(Verdict::fail(format!("OCI-Tag {echoed:?} lacks {missing:?}: {}", ex.describe())));
    }
    stored.tags.extend(tags.iter().map(|t| (*t).to_owned()));
    verdict
}

/// `PUT /v2/<repo1>/manifests/<reference>` with the manifest's bytes and media type.
async fn put_manifest(ctx: &Ctx, manifest: &Manifest, reference: &str) -> Result<raw::Exchange, String> {
    let target = format!("/v2/{}/manifests/{reference}", ctx.repo1.path());
    let headers = raw::header(CONTENT_TYPE, manifest.descriptor.media_type.as_str());
    raw::send(&ctx.client, &ctx.repo1, Method::PUT, &target, headers, manifest.bytes.clone().into()).await
}

/// What a manifest PUT must answer: 201, a `Location`, and a `Docker-Content-Digest`
/// (when sent) that is the manifest's.
fn stored_answer(ex: &raw::Exchange, manifest: &Manifest, reference: &str) -> Result<Verdict, String> {
    ex.expect(&[201]).map_err(|e| format!("PUT manifests/{reference}: {e}"))?;
    ex.location()?;
    let note = ex.check_digest_header(&manifest.descriptor.digest, &manifest.bytes)?;
    Ok(note.map_or_else(Verdict::pass, Verdict::pass_with_note))
}

/// `PUT /v2/<repo1>/manifests/<digest>`: stored (201, `Location`, the digest, and
/// `OCI-Subject` for a manifest with a subject on a registry with the referrers API),
/// or refused with 400 when the bytes do not match the digest.
pub(super) async fn push_manifest(
    ctx: &Ctx,
    manifest: &Manifest,
    stored: &mut Stored,
    api: &mut ReferrersApi,
) -> Verdict {
    let digest = &manifest.descriptor.digest;
    let ex = match put_manifest(ctx, manifest, digest.as_str()).await {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    if manifest.bad_digest {
        return match ex.expect(&[400]) {
            Ok(()) => Verdict::pass(),
            Err(e) => Verdict::fail(format!("bytes that do not match the digest: {e}")),
        };
    }
    if let Some(reason) = unsupported(manifest, &ex) {
        stored.refused.push((digest.clone(), reason.clone()));
        return Verdict::skip(reason);
    }
    let verdict = match stored_answer(&ex, manifest, digest.as_str()) {
        Ok(v) => v,
        Err(e) => return Verdict::fail(e),
    };
    stored.manifests.insert(digest.clone());
    let Some(subject) = &manifest.subject else { return verdict };
    match (ex.header("oci-subject"), api.supported()) {
        (Some(s), _) if s == subject.digest.as_str() => {
            api.learn_supported(&ex);
            verdict
        }
        (Some(other), _) => verdict.and(Verdict::fail(format!(
            "OCI-Subject {other}, expected {}: {}",
            subject.digest,
            ex.describe()
        ))),
        (None, Some(true)) => verdict.and(Verdict::fail(format!(
            "no OCI-Subject from a registry with the referrers API, expected {}: {}",
            subject.digest,
            ex.describe()
        ))),
        (None, _) => verdict,
    }
}

/// `method /v2/<repo1>/manifests/<reference>` asking for the manifest's media type.
async fn get_manifest(
    ctx: &Ctx,
    method: Method,
    manifest: &Manifest,
    reference: &str,
) -> Result<raw::Exchange, String> {
    let target = format!("/v2/{}/manifests/{reference}", ctx.repo1.path());
    let headers = raw::header(ACCEPT, manifest.descriptor.media_type.as_str());
    raw::send(&ctx.client, &ctx.repo1, method, &target, headers, Vec::new().into()).await
}

/// The registry's answer to a HEAD or GET of a manifest: 200, `Content-Type` its media
/// type, `Content-Length` its size, `Docker-Content-Digest` (when sent) its digest.
fn same_manifest(ex: &raw::Exchange, manifest: &Manifest) -> Result<Option<String>, String> {
    let want = &manifest.descriptor;
    ex.expect(&[200])?;
    let content_type = ex.header(CONTENT_TYPE.as_str()).unwrap_or("none");
    if MediaType::from(content_type).essence() != want.media_type.as_str() {
        return Err(format!("Content-Type {content_type}, expected {}: {}", want.media_type, ex.describe()));
    }
    ex.expect_length(want.size)?;
    ex.check_digest_header(&want.digest, &manifest.bytes)
}

/// The manifests to check, by tag and by digest as upstream's head and pull do: the
/// reference and the manifest.
fn targets<'a>(set: &'a DataSet, stored: &Stored) -> Vec<(String, &'a Manifest)> {
    let mut out = Vec::new();
    for (tag, digest) in &set.tags {
        if let (true, Some(m)) = (stored.tags.contains(tag), set.manifest(digest)) {
            out.push((tag.clone(), m));
        }
    }
    for m in set.manifests.iter().filter(|m| stored.manifests.contains(&m.descriptor.digest)) {
        out.push((m.descriptor.digest.to_string(), m));
    }
    out
}

/// `head` (HEAD) or `pull` (GET, with the exact bytes) of each manifest by tag and by
/// digest, then of each blob.
async fn read_back(ctx: &Ctx, set: &DataSet, stored: &Stored, method: Method) -> Verdict {
    let mut verdict = Verdict::default();
    for (reference, manifest) in targets(set, stored) {
        let checked = get_manifest(ctx, method.clone(), manifest, &reference).await.and_then(|ex| {
            let note = same_manifest(&ex, manifest)?;
            if method == Method::GET && ex.body.as_ref() != manifest.bytes.as_slice() {
                return Err(format!("{}: bytes that are not those pushed", ex.request));
            }
            Ok(note)
        });
        verdict.add(match checked {
            Ok(None) => Verdict::pass(),
            Ok(Some(note)) => Verdict::pass_with_note(note),
            Err(e) => Verdict::fail(e),
        });
    }
    for blob in set.blobs.iter().filter(|b| stored.blobs.contains(&b.descriptor.digest)) {
        verdict.add(if method == Method::GET {
            blobs::get_blob(ctx, &ctx.repo1, blob).await
        } else {
            blobs::head_blob(ctx, &ctx.repo1, blob).await
        });
    }
    if let Some(note) = stored.refused_note() {
        verdict.note(note);
    }
    verdict.or(Verdict::skip("nothing of the data set was stored (see push)"))
}

/// `head`: HEAD of each manifest by tag and by digest, and of each blob.
async fn head(ctx: &Ctx, set: &DataSet, stored: &Stored) -> Verdict {
    read_back(ctx, set, stored, Method::HEAD).await
}

/// `pull`: GET of each manifest by tag and by digest (exact bytes), and of each blob.
async fn pull(ctx: &Ctx, set: &DataSet, stored: &Stored) -> Verdict {
    read_back(ctx, set, stored, Method::GET).await
}
