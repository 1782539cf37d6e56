//! Content discovery: `empty/` (tag list and referrers of a new repository), and each
//! data set's `tag-list`, `referrers` and `referrers/artifactType`.
//!
//! Tag lists and referrers are the registry's answers, read raw (every page followed by
//! its `Link`): the client's own filtering, forgiving parsing and fallback tag play no
//! part. A tag list names the repository and lists tags, nothing else.
//!
//! A registry without the referrers API (it answers `404`, as the spec asks) lacks an
//! optional feature, and the referrers checks are skipped with that answer as the
//! reason; a `404 NAME_UNKNOWN` for the new, empty repository says nothing yet, so the
//! API is asked again once a data set is stored. A registry that showed the API (a
//! `200` index, or `OCI-Subject` on a push) is then held to it. A filtered answer must
//! carry `OCI-Filters-Applied: artifactType` and only referrers of the type; without
//! the header the registry does not filter, which skips `referrers/artifactType`.

use std::collections::BTreeSet;

use oci_distribution::http::header::ACCEPT;
use oci_distribution::http::{HeaderMap, Method};
use oci_spec_types::{Descriptor, Digest, ImageIndex, MediaType};

use super::content::Rng;
use super::data::DataSet;
use super::raw;
use super::{Ctx, Recorder, Verdict};

/// What the registry has shown of its referrers API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReferrersApi {
    /// `Some(true)`: it answered the API; `Some(false)`: it answered 404 for a
    /// repository it has; `None`: not known yet.
    supported: Option<bool>,
    /// The answer that showed it, for the reasons.
    answer: String,
}

impl ReferrersApi {
    /// Nothing shown yet.
    #[must_use]
    pub(super) fn unknown() -> Self {
        Self { supported: None, answer: String::new() }
    }

    /// What the registry has shown: `Some(true)` the API, `Some(false)` its absence.
    #[must_use]
    pub(super) fn supported(&self) -> Option<bool> {
        self.supported
    }

    /// A push answered `OCI-Subject`: the registry has the API.
    pub(super) fn learn_supported(&mut self, push: &raw::Exchange) {
        if self.supported != Some(true) {
            self.supported = Some(true);
            self.answer = format!("{} answered OCI-Subject", push.request);
        }
    }

    /// The reason the referrers checks are skipped.
    fn absent(&self) -> String {
        format!("no referrers API ({})", self.answer)
    }
}

/// `empty/tag list` and `empty/referrers`; returns what the referrers probe learned.
pub(super) async fn empty(ctx: &Ctx, rec: &mut Recorder) -> ReferrersApi {
    let tags = match tags_raw(ctx, None).await {
        Ok(tags) => Verdict::check(tags.is_empty(), || format!("a new repository lists tags {tags:?}")),
        Err(e) => Verdict::fail(e),
    };
    rec.record("empty", "tag list", &tags);
    let subject = Digest::sha256(Rng::new("empty referrers").text().as_bytes());
    let mut api = ReferrersApi::unknown();
    let verdict = probe_referrers(ctx, &subject, &mut api, true).await;
    rec.record("empty", "referrers", &verdict);
    api
}

/// `GET /v2/<repo1>/referrers/<subject>` for a subject never pushed: a 200 index (the
/// API) listing nothing, or a `404` (no referrers API: skipped, with the answer as the
/// reason; a `NAME_UNKNOWN` while the repository is `empty` leaves it unknown). After
/// the registry showed the API, a 404 fails.
async fn probe_referrers(ctx: &Ctx, subject: &Digest, api: &mut ReferrersApi, empty: bool) -> Verdict {
    let target = format!("/v2/{}/referrers/{subject}", ctx.repo1.path());
    let ex = match get_index(ctx, &target).await {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    let answer = format!("{} -> {}", ex.request, ex.status);
    match ex.status.as_u16() {
        200 => {
            (api.supported, api.answer) = (Some(true), answer);
            match referrers_index(&ex) {
                Ok(index) => Verdict::check(index.manifests.is_empty(), || {
                    format!("referrers of a digest never pushed: {}", ex.describe())
                }),
                Err(e) => Verdict::fail(e),
            }
        }
        404 if api.supported == Some(true) => Verdict::fail(format!(
            "the registry showed the referrers API ({}), then answered {}",
            api.answer,
            ex.describe()
        )),
        404 if empty && ex.registry_errors().iter().any(|(code, _)| code == "NAME_UNKNOWN") => {
            api.answer = answer;
            Verdict::skip(format!(
                "the new repository is unknown to the registry ({}), which the spec allows; the referrers \
                 API is asked again once a data set is stored",
                ex.describe()
            ))
        }
        404 => {
            (api.supported, api.answer) = (Some(false), answer);
            Verdict::skip(api.absent())
        }
        _ => Verdict::fail(format!(
            "expected 200 with an index (or 404 without the API), got {}",
            ex.describe()
        )),
    }
}

/// `GET target` asking for an index.
async fn get_index(ctx: &Ctx, target: &str) -> Result<raw::Exchange, String> {
    let headers = raw::header(ACCEPT, MediaType::IMAGE_INDEX.as_str());
    raw::send(&ctx.client, &ctx.repo1, Method::GET, target, headers, Vec::new().into()).await
}

/// The index of a `200` referrers answer: `Content-Type` and `mediaType` an OCI index,
/// `schemaVersion` 2.
fn referrers_index(ex: &raw::Exchange) -> Result<ImageIndex, String> {
    let content_type = ex.header("content-type").unwrap_or("none");
    if MediaType::from(content_type).essence() != MediaType::IMAGE_INDEX.as_str() {
        return Err(format!("Content-Type {content_type}, expected an index: {}", ex.describe()));
    }
    match serde_json::from_slice::<ImageIndex>(&ex.body) {
        Ok(i) if i.media_type.as_ref() == Some(&MediaType::IMAGE_INDEX) && i.schema_version == 2 => Ok(i),
        _ => Err(format!("not an index with mediaType and schemaVersion 2: {}", ex.describe())),
    }
}

/// The registry's referrers of `subject` (filtered by `artifact_type` when given), every
/// page followed by its `Link`, and whether every page said it applied the filter.
async fn referrers_raw(
    ctx: &Ctx,
    subject: &Digest,
    artifact_type: Option<&MediaType>,
) -> Result<(Vec<Descriptor>, bool), String> {
    let mut target = format!("/v2/{}/referrers/{subject}", ctx.repo1.path());
    if let Some(t) = artifact_type {
        target = raw::with_query(&target, "artifactType", &query_escape(t.as_str()));
    }
    let (mut found, mut filtered) = (Vec::new(), true);
    for _ in 0..MAX_PAGES {
        let ex = get_index(ctx, &target).await?;
        ex.expect(&[200])?;
        found.extend(referrers_index(&ex)?.manifests);
        filtered &= ex
            .header("oci-filters-applied")
            .is_some_and(|v| v.split(',').any(|f| f.trim().eq_ignore_ascii_case("artifactType")));
        match ex.header("link").and_then(next_link) {
            Some(next) => target = next,
            None => return Ok((found, filtered)),
        }
    }
    Err(format!("GET {target}: more than {MAX_PAGES} pages of referrers"))
}

/// The most pages of referrers read for one subject.
const MAX_PAGES: usize = 100;

/// The target of a `Link` header's `rel="next"` entry.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|entry| {
        let (target, params) = entry.trim().strip_prefix('<')?.split_once('>')?;
        params.split(';').any(|p| matches!(p.trim(), "rel=next" | "rel=\"next\"")).then(|| target.to_owned())
    })
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
fn query_escape(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Every page of repo1's tags (after `last`, when given), read raw: each a 200 naming
/// the repository and listing tags (`null` for none), or a 404 for a repository without
/// any.
async fn tags_raw(ctx: &Ctx, last: Option<&str>) -> Result<Vec<String>, String> {
    let mut target = format!("/v2/{}/tags/list", ctx.repo1.path());
    if let Some(last) = last {
        target = raw::with_query(&target, "last", &query_escape(last));
    }
    let mut tags = Vec::new();
    for _ in 0..MAX_PAGES {
        let ex =
            raw::send(&ctx.client, &ctx.repo1, Method::GET, &target, HeaderMap::new(), Vec::new().into())
                .await?;
        if ex.status.as_u16() == 404 && tags.is_empty() {
            return Ok(tags);
        }
        ex.expect(&[200]).map_err(|e| format!("a tag list: {e}"))?;
        let page: serde_json::Value = serde_json::from_slice(&ex.body)
            .map_err(|e| format!("a tag list that is not JSON ({e}): {}", ex.describe()))?;
        if page["name"] != ctx.repo1.path() {
            return Err(format!("a tag list of another name than {}: {}", ctx.repo1.path(), ex.describe()));
        }
        match &page["tags"] {
            serde_json::Value::Null => {}
            serde_json::Value::Array(entries) => {
                for tag in entries {
                    match tag.as_str() {
                        Some(t) if oci_reference::grammar::tag(t).is_ok_and(|(_, rest)| rest.is_empty()) => {
                            tags.push(t.to_owned());
                        }
                        _ => {
                            return Err(format!("a tag list with {tag}, which is no tag: {}", ex.describe()));
                        }
                    }
                }
            }
            other => return Err(format!("a tag list whose tags are {other}: {}", ex.describe())),
        }
        match ex.header("link").and_then(next_link) {
            Some(next) => target = next,
            None => return Ok(tags),
        }
    }
    Err(format!("GET {target}: more than {MAX_PAGES} pages of tags"))
}

/// `tag-list`: every pushed tag is listed. With two tags or more, also the check of
/// `last` (`tag-list/last`): `last=` set to the middle of the sorted list lists exactly
/// the tags after it, as upstream requires (a registry that ignores `last` fails).
pub(super) async fn tag_list(ctx: &Ctx, pushed: &BTreeSet<String>) -> (Verdict, Option<Verdict>) {
    if pushed.is_empty() {
        return (Verdict::skip("no tag of the data set was stored, so none can be listed"), None);
    }
    let tags = match tags_raw(ctx, None).await {
        Ok(tags) => tags,
        Err(e) => return (Verdict::fail(e), None),
    };
    let mut verdict = Verdict::default();
    for tag in pushed {
        verdict.add(Verdict::check(tags.contains(tag), || {
            format!("GET tags/list: tag {tag:?} missing from {tags:?}")
        }));
    }
    if tags.len() < 2 {
        return (verdict, None);
    }
    let mut sorted = tags.clone();
    sorted.sort();
    let end = sorted.len() / 2;
    let last = &sorted[end - 1];
    let partial = match tags_raw(ctx, Some(last)).await {
        Ok(tags) => tags,
        Err(e) => return (verdict, Some(Verdict::fail(e))),
    };
    let everything: BTreeSet<&String> = tags.iter().collect();
    if partial.iter().collect::<BTreeSet<_>>() == everything {
        let why = format!("GET tags/list?last={last} lists every tag, {last:?} included: `last` is ignored");
        return (verdict, Some(Verdict::fail(why)));
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

/// `referrers` and `referrers/artifactType`: for each subject the registry lists every
/// expected referrer; asked for each artifact type, it says it filtered
/// (`OCI-Filters-Applied`) and lists exactly the referrers of that type, or it does not
/// filter (the second verdict is then a skip). Both are skipped without the API.
pub(super) async fn referrers(ctx: &Ctx, set: &DataSet, api: &mut ReferrersApi) -> (Verdict, Verdict) {
    if api.supported.is_none() {
        // The repository now exists: ask again.
        let subject = Digest::sha256(Rng::new(&format!("{} referrers", set.name)).text().as_bytes());
        let probe = probe_referrers(ctx, &subject, api, false).await;
        if probe.status() == super::Status::Fail {
            return (probe.clone(), probe);
        }
    }
    if api.supported != Some(true) {
        return (Verdict::skip(api.absent()), Verdict::skip(api.absent()));
    }
    let (mut listed, mut filtered) = (Verdict::default(), Verdict::default());
    for (subject, expected) in &set.referrers {
        match referrers_raw(ctx, subject, None).await {
            Ok((found, _)) => {
                for want in expected {
                    listed.add(Verdict::check(lists(&found, want), || {
                        format!(
                            "referrers of {subject}: {} ({:?}) missing from {found:?}",
                            want.digest, want.artifact_type
                        )
                    }));
                }
            }
            Err(e) => listed.add(Verdict::fail(format!("referrers of {subject}: {e}"))),
        }
        let mut types: Vec<&MediaType> = Vec::new();
        for t in expected.iter().filter_map(|d| d.artifact_type.as_ref()) {
            if !types.contains(&t) {
                types.push(t);
            }
        }
        for t in types {
            filtered.add(filtered_check(ctx, subject, t, expected).await);
        }
    }
    if filtered.status() == super::Status::Unknown {
        filtered = Verdict::skip("no referrer of the data set has an artifact type to filter by");
    }
    (listed, filtered)
}

/// `GET .../referrers/<subject>?artifactType=<t>`: with `OCI-Filters-Applied`, exactly
/// the expected referrers of type `t`; without it, a skip (the registry does not filter).
async fn filtered_check(ctx: &Ctx, subject: &Digest, t: &MediaType, expected: &[Descriptor]) -> Verdict {
    let asked = format!("referrers of {subject} of type {t}");
    let (found, applied) = match referrers_raw(ctx, subject, Some(t)).await {
        Ok(answer) => answer,
        Err(e) => return Verdict::fail(format!("{asked}: {e}")),
    };
    if !applied {
        return Verdict::skip(format!(
            "{asked}: no OCI-Filters-Applied: artifactType, so the registry does not filter"
        ));
    }
    let mut verdict = Verdict::default();
    for want in expected.iter().filter(|d| d.artifact_type.as_ref() == Some(t)) {
        verdict.add(Verdict::check(lists(&found, want), || {
            format!("{asked}: {} missing from {found:?}", want.digest)
        }));
    }
    for d in found.iter().filter(|d| d.artifact_type.as_ref() != Some(t)) {
        verdict.add(Verdict::fail(format!(
            "{asked}: OCI-Filters-Applied says filtered, but {} of type {:?} is listed",
            d.digest, d.artifact_type
        )));
    }
    verdict
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
