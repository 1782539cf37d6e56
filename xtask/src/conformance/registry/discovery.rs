//! Content discovery: `empty/` (tag list and referrers of a new repository), and each
//! data set's `tag-list` and `referrers`.
//!
//! The referrers API is probed raw (`GET /v2/<name>/referrers/<digest>`): a `200` index
//! means the registry has it. A registry without it (distribution 2.8 answers 404) is
//! an optional feature missing: the referrers checks then run through the client's
//! fallback tag ([`FallbackPolicy::Auto`]) and pass when it lists the right
//! descriptors, which the HTML report notes.

use std::collections::BTreeSet;

use oci_distribution::http::Method;
use oci_distribution::http::header::ACCEPT;
use oci_distribution::{FallbackPolicy, ListOptions, ReferrersOptions};
use oci_spec_types::{Descriptor, Digest, ImageIndex, MediaType, TagList};

use super::content::Rng;
use super::data::DataSet;
use super::raw;
use super::{Ctx, Recorder, Verdict};

/// What the probe learned about the registry's referrers API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReferrersApi {
    /// Whether the registry answers the referrers API.
    pub supported: bool,
    /// The probe's answer, for the notes.
    pub answer: String,
}

impl ReferrersApi {
    /// The remark on a check that went through the fallback tag.
    fn fallback_note(&self) -> String {
        format!("via fallback tag: the registry has no referrers API ({})", self.answer)
    }
}

/// `empty/tag list` and `empty/referrers`; returns what the referrers probe learned.
pub(super) async fn empty(ctx: &Ctx, rec: &mut Recorder) -> ReferrersApi {
    let tags = match ctx.client.tags(&ctx.repo1, ListOptions::default()).await {
        Ok(_) => Verdict::pass(),
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Verdict::pass(),
        Err(e) => Verdict::fail(format!("expected 200 with a tag list, or 404: {e}")),
    };
    rec.record("empty", "tag list", &tags);
    let subject = Digest::sha256(Rng::new("empty referrers").text().as_bytes());
    let (api, verdict) = probe_referrers(ctx, &subject).await;
    rec.record("empty", "referrers", &verdict);
    api
}

/// `GET /v2/<repo1>/referrers/<subject>`: a 200 index (the API), or an answer that
/// says the registry lacks it, in which case the client's fallback must find nothing.
async fn probe_referrers(ctx: &Ctx, subject: &Digest) -> (ReferrersApi, Verdict) {
    let target = format!("/v2/{}/referrers/{subject}", ctx.repo1.path());
    let headers = raw::header(ACCEPT, MediaType::IMAGE_INDEX.as_str());
    let ex = match raw::send(&ctx.client, &ctx.repo1, Method::GET, &target, headers, Vec::new().into()).await
    {
        Ok(ex) => ex,
        Err(e) => return (ReferrersApi { supported: false, answer: e.clone() }, Verdict::fail(e)),
    };
    let answer = format!("{} -> {}", ex.request, ex.status);
    if ex.status.as_u16() == 200 {
        let api = ReferrersApi { supported: true, answer };
        let content_type = ex.header("content-type").unwrap_or("none");
        if MediaType::from(content_type).essence() != MediaType::IMAGE_INDEX.as_str() {
            return (
                api,
                Verdict::fail(format!("Content-Type {content_type}, expected an index: {}", ex.describe())),
            );
        }
        let index: Result<ImageIndex, _> = serde_json::from_slice(&ex.body);
        let verdict = match index {
            Ok(i) if i.media_type.as_ref() == Some(&MediaType::IMAGE_INDEX) && i.schema_version == 2 => {
                Verdict::check(i.manifests.is_empty(), || {
                    format!("referrers of a digest never pushed: {}", ex.describe())
                })
            }
            _ => Verdict::fail(format!("not an index with mediaType and schemaVersion 2: {}", ex.describe())),
        };
        return (api, verdict);
    }
    if !matches!(ex.status.as_u16(), 404..=406) {
        let why = format!("expected 200 with an index (or 404 without the API), got {}", ex.describe());
        return (ReferrersApi { supported: false, answer }, Verdict::fail(why));
    }
    let api = ReferrersApi { supported: false, answer };
    let reference = match Ctx::at(&ctx.repo1, subject) {
        Ok(r) => r,
        Err(e) => return (api, Verdict::error(e)),
    };
    let options = ReferrersOptions::default().with_fallback(FallbackPolicy::Auto);
    let verdict = match ctx.client.referrers(&reference, options).await {
        Ok(found) if found.is_empty() => Verdict::pass_with_note(api.fallback_note()),
        Ok(found) => Verdict::fail(format!(
            "the fallback tag listed {} referrers of a digest never pushed",
            found.len()
        )),
        Err(e) => Verdict::fail(format!("the client's fallback: {e}")),
    };
    (api, verdict)
}

/// All pages of repo1's tags; a 404 (no tags yet) is an empty list.
async fn list(ctx: &Ctx, last: Option<&str>) -> Result<Vec<String>, String> {
    let mut options = ListOptions::all_pages();
    options.last = last.map(str::to_owned);
    match ctx.client.tags(&ctx.repo1, options).await {
        Ok(TagList { tags, .. }) => Ok(tags),
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Ok(Vec::new()),
        Err(e) => Err(e.to_string()),
    }
}

/// `tag-list`: every pushed tag is listed. With two tags or more, also the check of
/// `last` (`tag-list/last`): `last=` set to the middle of the sorted list lists exactly
/// the tags after it. A registry that answers every tag, `last` included, does not
/// paginate tag lists (distribution 2.8): skipped.
pub(super) async fn tag_list(ctx: &Ctx, pushed: &BTreeSet<String>) -> (Verdict, Option<Verdict>) {
    let tags = match list(ctx, None).await {
        Ok(tags) => tags,
        Err(e) => return (Verdict::fail(e), None),
    };
    let mut verdict = Verdict::pass();
    for tag in pushed.iter().filter(|t| !tags.contains(t)) {
        verdict.add(Verdict::fail(format!("GET tags/list: tag {tag:?} missing from {tags:?}")));
    }
    if tags.len() < 2 {
        return (verdict, None);
    }
    let mut sorted = tags.clone();
    sorted.sort();
    let end = sorted.len() / 2;
    let last = &sorted[end - 1];
    let partial = match list(ctx, Some(last)).await {
        Ok(tags) => tags,
        Err(e) => return (verdict, Some(Verdict::fail(e))),
    };
    let everything: BTreeSet<&String> = tags.iter().collect();
    if partial.iter().collect::<BTreeSet<_>>() == everything {
        let why = format!(
            "tag list pagination unsupported: GET tags/list?last={last} lists every tag, {last:?} included"
        );
        return (verdict, Some(Verdict::skip(why)));
    }
    let mut paged = Verdict::pass();
    for tag in sorted[..end].iter().filter(|t| partial.contains(t)) {
        paged.add(Verdict::fail(format!("GET tags/list?last={last}: listed {tag:?}, which sorts before it")));
    }
    for tag in sorted[end..].iter().filter(|t| !partial.contains(t)) {
        paged.add(Verdict::fail(format!("GET tags/list?last={last}: {tag:?} missing")));
    }
    (verdict, Some(paged))
}

/// Whether `found` lists `want`: same digest, media type, size and artifact type, and
/// at least its annotations.
fn lists(found: &[Descriptor], want: &Descriptor) -> bool {
    found.iter().any(|d| {
        d.digest == want.digest
            && d.media_type == want.media_type
            && d.size == want.size
            && d.artifact_type == want.artifact_type
            && want.annotations.iter().all(|(k, v)| d.annotations.get(k) == Some(v.as_str()))
    })
}

/// `referrers`: for each subject, every expected referrer is listed; filtered by each
/// artifact type, exactly the referrers of that type are.
pub(super) async fn referrers(ctx: &Ctx, set: &DataSet, api: &ReferrersApi) -> Verdict {
    let mut verdict = Verdict::pass();
    for (subject, expected) in &set.referrers {
        let reference = match Ctx::at(&ctx.repo1, subject) {
            Ok(r) => r,
            Err(e) => return Verdict::error(e),
        };
        let mut filters: Vec<Option<&MediaType>> = vec![None];
        for t in expected.iter().filter_map(|d| d.artifact_type.as_ref()) {
            if !filters.contains(&Some(t)) {
                filters.push(Some(t));
            }
        }
        for filter in filters {
            let mut options = ReferrersOptions::default().with_fallback(FallbackPolicy::Auto);
            if let Some(t) = filter {
                options = options.with_artifact_type(t.clone());
            }
            let asked = filter.map_or_else(
                || format!("referrers of {subject}"),
                |t| format!("referrers of {subject} of type {t}"),
            );
            let found = match ctx.client.referrers(&reference, options).await {
                Ok(found) => found,
                Err(e) => {
                    verdict.add(Verdict::fail(format!("{asked}: {e}")));
                    continue;
                }
            };
            for want in expected.iter().filter(|d| filter.is_none() || d.artifact_type.as_ref() == filter) {
                verdict.add(Verdict::check(lists(&found, want), || {
                    format!("{asked}: {} ({:?}) missing from {found:?}", want.digest, want.artifact_type)
                }));
            }
            if let Some(t) = filter {
                for d in found.iter().filter(|d| d.artifact_type.as_ref() != Some(t)) {
                    verdict.add(Verdict::fail(format!(
                        "{asked}: the filter let through {} of type {:?}",
                        d.digest, d.artifact_type
                    )));
                }
            }
        }
    }
    if !api.supported && !verdict.failed() {
        verdict.note(api.fallback_note());
    }
    verdict
}
