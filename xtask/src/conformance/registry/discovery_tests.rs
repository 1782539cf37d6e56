//! The discovery verdicts against scripted registries that get things wrong: each
//! verdict fails (or skips, with the reason) when the registry is at fault, whatever our
//! client could make up for.

#![allow(clippy::unwrap_used)]

use oci_spec_types::{Descriptor, Digest, ImageIndex, MediaType};
use oci_test_support::scripted::{Reply, Scripted};

use super::super::{Ctx, Status};
use super::*;

const SIG: &str = "application/vnd.example.sig";
const SBOM: &str = "application/vnd.example.sbom";

fn referrer(name: &str, artifact_type: &str) -> Descriptor {
    Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, name.as_bytes())
        .with_artifact_type(MediaType::from(artifact_type))
}

fn index_of(entries: &[Descriptor]) -> String {
    serde_json::to_string(&ImageIndex::new(entries.to_vec())).unwrap()
}

/// A context whose client talks to `server` the way the suite's does.
fn ctx(server: &Scripted) -> Ctx {
    Ctx::scripted(server)
}

/// A data set with one subject and a signature and an SBOM about it.
fn data_set(subject: &Digest) -> (DataSet, Descriptor, Descriptor) {
    let (sig, sbom) = (referrer("sig", SIG), referrer("sbom", SBOM));
    let mut set = DataSet::default();
    set.referrers.insert(subject.clone(), vec![sig.clone(), sbom.clone()]);
    (set, sig, sbom)
}

/// How a scripted registry answers referrers requests.
#[derive(Clone, Copy)]
enum Registry {
    /// Filters and says so.
    Filters,
    /// Ignores `artifactType` and says nothing (allowed: the filter is then skipped).
    Ignores,
    /// Ignores `artifactType` but claims it filtered.
    Lies,
    /// Forgets the SBOM.
    Forgets,
    /// Has no referrers API.
    Absent,
    /// Has it, but answers `NAME_UNKNOWN` for a repository before anything is pushed.
    Lazy,
}

async fn registry(kind: Registry, subject: &Digest) -> Scripted {
    let (_, sig, sbom) = data_set(subject);
    let base = format!("/v2/t/repo1/referrers/{subject}");
    Scripted::start(move |seen| {
        let index = |entries: &[Descriptor]| {
            Reply::new(200, index_of(entries)).header("content-type", MediaType::IMAGE_INDEX.as_str())
        };
        let filtered = seen.target.starts_with(&format!("{base}?artifactType="));
        match (kind, seen.target == base, filtered) {
            (Registry::Absent, _, _) => Reply::new(404, "404 page not found"),
            (Registry::Lazy, _, _) if seen.index == 0 => Reply::new(
                404,
                r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#,
            ),
            (Registry::Forgets, true, _) => index(std::slice::from_ref(&sig)),
            (_, true, _) => index(&[sig.clone(), sbom.clone()]),
            (Registry::Filters, _, true) => {
                let only = if seen.target.ends_with("sig") { &sig } else { &sbom };
                index(std::slice::from_ref(only)).header("oci-filters-applied", "artifactType")
            }
            (Registry::Lies, _, true) => {
                index(&[sig.clone(), sbom.clone()]).header("oci-filters-applied", "artifactType")
            }
            (_, _, true) => index(&[sig.clone(), sbom.clone()]),
            // Any other subject has no referrers.
            _ if seen.target.starts_with("/v2/t/repo1/referrers/") => index(&[]),
            _ => Reply::new(404, ""),
        }
    })
    .await
}

async fn verdicts(kind: Registry) -> (Status, Status, Vec<String>) {
    let subject = Digest::sha256(b"the subject");
    let server = registry(kind, &subject).await;
    let ctx = ctx(&server);
    let (set, _, _) = data_set(&subject);
    let mut api = ReferrersApi::unknown();
    probe_referrers(&ctx, &Digest::sha256(b"never pushed"), &mut api, true).await;
    let (listed, filtered) = referrers(&ctx, &set, &mut api).await;
    (listed.status(), filtered.status(), server.requests())
}

#[tokio::test]
async fn the_referrers_api_is_judged_on_its_own_answers() {
    let (listed, filtered, _) = verdicts(Registry::Filters).await;
    assert_eq!((listed, filtered), (Status::Pass, Status::Pass));
    // Not filtering is allowed, and says so: a skip, not a pass through our own filter.
    let (listed, filtered, _) = verdicts(Registry::Ignores).await;
    assert_eq!((listed, filtered), (Status::Pass, Status::Skip));
    let (listed, filtered, _) = verdicts(Registry::Lies).await;
    assert_eq!((listed, filtered), (Status::Pass, Status::Fail));
    let (listed, _, _) = verdicts(Registry::Forgets).await;
    assert_eq!(listed, Status::Fail);
}

#[tokio::test]
async fn without_the_api_the_referrers_checks_are_skipped_not_passed_by_the_fallback() {
    let (listed, filtered, requests) = verdicts(Registry::Absent).await;
    assert_eq!((listed, filtered), (Status::Skip, Status::Skip));
    assert!(requests.iter().all(|r| r.contains("/referrers/")), "no fallback tag read: {requests:?}");
}

#[tokio::test]
async fn a_probe_is_judged_on_one_answer() {
    // A registry that answers 503 once: the client of the suite does not retry.
    let server =
        Scripted::start(|seen| if seen.index == 0 { Reply::new(503, "") } else { Reply::new(200, "{}") })
            .await;
    let ctx = ctx(&server);
    let mut api = ReferrersApi::unknown();
    let verdict = probe_referrers(&ctx, &Digest::sha256(b"x"), &mut api, true).await;
    assert_eq!(verdict.status(), Status::Fail, "{verdict:?}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_new_repository_unknown_to_the_registry_leaves_the_api_to_ask_again() {
    let (listed, filtered, requests) = verdicts(Registry::Lazy).await;
    assert_eq!((listed, filtered), (Status::Pass, Status::Skip), "{requests:?}");
    assert_eq!(requests.len(), 5, "the probe, the probe again, the list, two filters: {requests:?}");
}

#[tokio::test]
async fn a_registry_that_showed_the_api_is_held_to_it() {
    let server = Scripted::start(|_| Reply::new(404, "404 page not found")).await;
    let ctx = ctx(&server);
    let mut api = ReferrersApi { supported: Some(true), answer: "PUT x answered OCI-Subject".into() };
    let verdict = probe_referrers(&ctx, &Digest::sha256(b"x"), &mut api, false).await;
    assert_eq!(verdict.status(), Status::Fail, "{verdict:?}");
}

/// A registry whose tag list is always `body`.
async fn tag_lists(body: &'static str) -> (Status, Option<Status>) {
    let server = Scripted::start(move |_| Reply::new(200, body)).await;
    let (listed, last) = tag_list(&ctx(&server), &BTreeSet::from(["a".to_owned()])).await;
    (listed.status(), last.map(|v| v.status()))
}

#[tokio::test]
async fn tag_lists_are_read_as_sent() {
    assert_eq!(tag_lists(r#"{"name":"t/repo1","tags":["a"]}"#).await, (Status::Pass, None));
    // Another name, entries that are no tags, tags that are no list: each fails.
    assert_eq!(tag_lists(r#"{"name":"t/other","tags":["a"]}"#).await.0, Status::Fail);
    assert_eq!(tag_lists(r#"{"name":"t/repo1","tags":["a",null]}"#).await.0, Status::Fail);
    assert_eq!(tag_lists(r#"{"name":"t/repo1","tags":["a","-x"]}"#).await.0, Status::Fail);
    assert_eq!(tag_lists(r#"{"name":"t/repo1","tags":"a"}"#).await.0, Status::Fail);
    // `last` ignored: every tag listed after it, the one named too.
    assert_eq!(
        tag_lists(r#"{"name":"t/repo1","tags":["a","b","c","d"]}"#).await,
        (Status::Pass, Some(Status::Fail))
    );
}

#[tokio::test]
async fn a_new_repository_lists_no_tags() {
    let server = Scripted::start(|seen| match seen.target.as_str() {
        "/v2/t/repo1/tags/list" => Reply::new(200, r#"{"name":"t/repo1","tags":["ghost"]}"#),
        _ => Reply::new(404, "404 page not found"),
    })
    .await;
    let mut rec = Recorder::default();
    empty(&ctx(&server), &mut rec).await;
    let results = rec.into_results();
    let cases = &results[0].cases;
    assert_eq!(cases[0].name, "empty/tag list");
    assert_eq!(
        cases[0].outcome,
        crate::conformance::Outcome::Fail(r#"a new repository lists tags ["ghost"]"#.into())
    );
    assert!(
        matches!(&cases[1].outcome, crate::conformance::Outcome::Skip(m) if m.starts_with("no referrers API"))
    );
}

#[tokio::test]
async fn a_data_set_without_tags_has_no_tag_list_to_pass() {
    let server = Scripted::start(|_| Reply::new(200, r#"{"name":"t/repo1","tags":[]}"#)).await;
    let (listed, last) = tag_list(&ctx(&server), &BTreeSet::new()).await;
    assert_eq!((listed.status(), last.is_none()), (Status::Skip, true));
    assert!(server.requests().is_empty());
    let (listed, _) = tag_list(&ctx(&server), &BTreeSet::from(["v1".to_owned()])).await;
    assert_eq!(listed.status(), Status::Fail, "a stored tag missing from the list fails");
}
