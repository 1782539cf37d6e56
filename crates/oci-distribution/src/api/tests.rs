//! Manifests, tags and referrers against a scripted registry: what the real registry
//! of the end-to-end tests cannot show (the referrers API, tag paging with opaque
//! tokens, wrong digests, hostile links).

use http::StatusCode;
use oci_spec_types::distribution::referrers_tag;
use oci_spec_types::{Descriptor, Digest, Document, ImageIndex, ImageManifest, MediaType};

use super::fake::{Fake, Reply};
use crate::{ErrorKind, FallbackPolicy, ListOptions, ReferrersOptions};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn index_of(entries: &[Descriptor]) -> Vec<u8> {
    serde_json::to_vec(&ImageIndex::new(entries.to_vec())).unwrap()
}

fn referrer(name: &str, artifact_type: &str) -> Descriptor {
    Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, name.as_bytes())
        .with_artifact_type(MediaType::from(artifact_type))
}

#[tokio::test]
async fn tag_pages_follow_opaque_links_verbatim_and_stop_where_told() {
    let fake = Fake::start(|seen| match seen.target.as_str() {
        "/v2/org/app/tags/list?n=2" => Reply::new(200, r#"{"name":"org/app","tags":["a",null]}"#)
            .header("link", r#"</v2/org/app/tags/list?n=2&next_page=gAAA%3D%3D>; rel="next""#),
        "/v2/org/app/tags/list?n=2&next_page=gAAA%3D%3D" => {
            let digest = Digest::sha256(b"x");
            Reply::new(200, format!(r#"{{"name":"org/app","tags":["b","{digest}"]}}"#))
                .header("link", r#"<list?n=2&next_page=end>; rel="next""#)
        }
        "/v2/org/app/tags/list?n=2&next_page=end" => Reply::new(200, r#"{"name":"org/app","tags":null}"#),
        "/v2/evil/tags/list" => Reply::new(200, r#"{"name":"evil","tags":["x"]}"#)
            .header("link", r#"<http://169.254.169.254/latest/meta-data>; rel="next""#),
        _ => Reply::new(404, r#"{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}"#),
    })
    .await;
    let client = fake.client(|_| {});
    let app = fake.repository("org/app");
    let all = client.tags(&app, ListOptions::first_page(2).with_all_pages()).await.unwrap();
    assert_eq!((all.name.as_str(), all.tags.as_slice()), ("org/app", &["a".to_owned(), "b".to_owned()][..]));
    assert_eq!(
        fake.requests(),
        [
            "GET /v2/org/app/tags/list?n=2",
            "GET /v2/org/app/tags/list?n=2&next_page=gAAA%3D%3D",
            "GET /v2/org/app/tags/list?n=2&next_page=end"
        ]
    );
    assert_eq!(client.tags(&app, ListOptions::first_page(2)).await.unwrap().tags, ["a"]);

    let capped = fake.client(|o| o.max_pages = 2);
    let e = capped.tags(&app, ListOptions::first_page(2).with_all_pages()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert_eq!(
        e.to_string(),
        format!(
            "over a limit: GET http://{}/v2/org/app/tags/list?n=2&next_page=end: more than 2 pages",
            fake.host()
        )
    );
    let small = fake.client(|o| o.max_list_bytes = 16);
    let e = small.tags(&app, ListOptions::first_page(2)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit, "{e}");

    let before = fake.requests().len();
    let e = client.tags(&fake.repository("evil"), ListOptions::all_pages()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "invalid response: the next page http://169.254.169.254/latest/meta-data of http://{}/v2/evil/tags/list \
             is on another origin",
            fake.host()
        )
    );
    assert_eq!(fake.requests().len(), before + 1, "the foreign link is not followed");
    let e = client.tags(&fake.repository("gone"), ListOptions::all_pages()).await.unwrap_err();
    assert!(e.is_unknown_resource() && e.registry_errors()[0].code.as_str() == "NAME_UNKNOWN");
}

/// A digest header for other bytes.
fn wrong_header() -> String {
    Digest::sha256(b"the list").to_string()
}

#[tokio::test]
async fn manifest_digests_are_checked_against_the_bytes() {
    let image = serde_json::to_vec(&ImageManifest::new(Descriptor::empty(), vec![])).unwrap();
    let right = Digest::sha256(&image);
    let wrong = Digest::sha256(b"something else");
    let (body, header) = (image.clone(), right.to_string());
    let (tampered_path, lying_path) =
        (format!("/v2/app/manifests/{wrong}"), format!("/v2/app/manifests/{right}"));
    let fake = Fake::start(move |seen| {
        let reply = |digest: &str| {
            Reply::new(200, body.clone())
                .header("content-type", "application/vnd.oci.image.manifest.v1+json")
                .header("docker-content-digest", digest)
        };
        match (seen.method.as_str(), seen.target.as_str()) {
            // A tag whose header disagrees (Docker Hub's historic down-conversion).
            ("GET", "/v2/app/manifests/tag") => reply(&wrong_header()),
            // Bytes that are not what the digest says.
            ("GET", t) if t == tampered_path => reply(&header),
            // Right bytes, wrong header.
            ("GET", t) if t == lying_path => reply(&wrong_header()),
            ("PUT", _) => Reply::new(201, "").header("docker-content-digest", wrong_header()),
            _ => Reply::new(404, ""),
        }
    })
    .await;
    let client = fake.client(|_| {});
    let by_tag = client.get_manifest(&fake.reference("app:tag")).await.unwrap();
    assert_eq!((by_tag.bytes().as_ref(), by_tag.digest()), (image.as_slice(), &right), "the bytes win");
    assert_eq!(
        fake.seen()[0].header("accept"),
        "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, \
         application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json"
    );
    let e = client.get_manifest(&fake.reference(&format!("app@{wrong}"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    let fresh = fake.client(|_| {}); // the tag GET cached the right digest
    let e = fresh.get_manifest(&fake.reference(&format!("app@{right}"))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "digest mismatch: GET http://{}/v2/app/manifests/{right}: Docker-Content-Digest is {}, \
             the requested digest is {right}",
            fake.host(),
            wrong_header()
        )
    );
    let doc = Document::manifest(image, Some(&MediaType::IMAGE_MANIFEST)).unwrap();
    let e = client.put_manifest(&fake.reference("app:tag"), &doc).await;
    assert_eq!(e.unwrap_err().kind(), ErrorKind::DigestMismatch);
    // A PUT by digest of bytes that do not hash to it never leaves the client.
    let before = fake.requests().len();
    let e = client.put_manifest(&fake.reference(&format!("app@{wrong}")), &doc).await;
    assert_eq!((e.unwrap_err().kind(), fake.requests().len()), (ErrorKind::DigestMismatch, before));
}

#[tokio::test]
async fn small_blob_reads_verify_and_skip_needless_requests() {
    let config = b"{\"architecture\":\"amd64\",\"os\":\"linux\"}".to_vec();
    let served = config.clone();
    let fake = Fake::start(move |_| Reply::new(200, served.clone())).await;
    let client = fake.client(|_| {});
    let repo = fake.repository("app");
    let good = Descriptor::for_bytes(MediaType::IMAGE_CONFIG, &config);
    assert_eq!(client.get_blob_bytes(&repo, &good, 1024).await.unwrap().as_ref(), config.as_slice());
    assert_eq!(client.get_blob_bytes(&repo, &good, 1024).await.unwrap().as_ref(), config.as_slice());
    assert_eq!(fake.requests(), [format!("GET /v2/app/blobs/{}", good.digest)], "the second read is cached");
    assert_eq!(client.cache_stats().hits, 1);
    let e = client.get_blob_bytes(&repo, &good, 10).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit, "refused before any request: {e}");
    let embedded = Descriptor::empty();
    assert_eq!(client.get_blob_bytes(&repo, &embedded, 10).await.unwrap().as_ref(), b"{}");
    assert_eq!(fake.requests().len(), 1);
    let other = Descriptor::new(MediaType::IMAGE_CONFIG, Digest::sha256(b"other"), config.len() as u64);
    let e = client.get_blob_bytes(&repo, &other, 1024).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    let shorter = Descriptor::new(MediaType::IMAGE_CONFIG, good.digest.clone(), 5);
    let e = client.get_blob_bytes(&fake.repository("other"), &shorter, 1024).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SizeMismatch, "{e}");
}

#[tokio::test]
async fn the_referrers_api_pages_and_filters() {
    let subject = Digest::sha256(b"subject");
    let (sig, sbom, later) = (
        referrer("sig", "application/x.sig"),
        referrer("sbom", "application/x.sbom"),
        referrer("later", "application/x.sig"),
    );
    let base = format!("/v2/app/referrers/{subject}");
    let (page1, page2, filtered_page) = (
        index_of(&[sig.clone(), sbom.clone()]),
        index_of(std::slice::from_ref(&later)),
        index_of(std::slice::from_ref(&sig)),
    );
    let fake = Fake::start(move |seen| {
        let t = seen.target.as_str();
        if t == base || t == format!("{base}?artifactType=application%2Fx.sbom") {
            // Pages, and a filter the registry ignores (no OCI-Filters-Applied).
            Reply::new(200, page1.clone())
                .header("content-type", INDEX)
                .header("link", format!("<{base}?page=2>; rel=next"))
        } else if t == format!("{base}?page=2") {
            Reply::new(200, page2.clone()).header("content-type", INDEX)
        } else if t == format!("{base}?artifactType=application%2Fx.sig") {
            // A filter the registry applied (and, to show it is trusted, applied partly).
            Reply::new(200, filtered_page.clone())
                .header("content-type", INDEX)
                .header("oci-filters-applied", "artifactType")
        } else {
            Reply::new(404, "")
        }
    })
    .await;
    let client = fake.client(|_| {});
    let image = fake.reference(&format!("app@{subject}"));
    let all = client.referrers(&image, ReferrersOptions::default()).await.unwrap();
    assert_eq!(all, [sig.clone(), sbom.clone(), later]);
    let of = |t: &str| ReferrersOptions::default().with_artifact_type(MediaType::from(t));
    assert_eq!(client.referrers(&image, of("application/x.sbom")).await.unwrap(), [sbom]);
    assert_eq!(client.referrers(&image, of("application/x.sig")).await.unwrap(), [sig]);
    assert!(
        fake.requests().iter().all(|r| r.contains("/referrers/")),
        "no fallback reads: {:?}",
        fake.requests()
    );
}

#[tokio::test]
async fn without_the_api_the_fallback_tag_is_read_and_the_answer_remembered() {
    let subject = Digest::sha256(b"subject");
    let sig = referrer("sig", "application/x.sig");
    let tag_path = format!("/v2/app/manifests/{}", referrers_tag(&subject));
    let (fallback, false_positive) =
        (index_of(std::slice::from_ref(&sig)), format!("/v2/json/referrers/{subject}"));
    let fake = Fake::start(move |seen| {
        let t = seen.target.as_str();
        if t == tag_path || t == tag_path.replace("/app/", "/json/") {
            Reply::new(200, fallback.clone()).header("content-type", INDEX)
        } else if t == false_positive {
            Reply::new(200, "{}").header("content-type", "application/json") // filtered_pagetore-js#1187
        } else {
            Reply::new(404, "404 page not found")
        }
    })
    .await;
    let client = fake.client(|_| {});
    let image = fake.reference(&format!("app@{subject}"));
    assert_eq!(
        client.referrers(&image, ReferrersOptions::default()).await.unwrap(),
        std::slice::from_ref(&sig)
    );
    assert_eq!(
        client.referrers(&image, ReferrersOptions::default()).await.unwrap(),
        std::slice::from_ref(&sig)
    );
    let tag = referrers_tag(&subject);
    let expected = [
        format!("GET /v2/app/referrers/{subject}"),
        format!("GET /v2/app/manifests/{tag}"),
        format!("GET /v2/app/manifests/{tag}"), // the API is not asked again
    ];
    assert_eq!(fake.requests(), expected);
    let other = ReferrersOptions::default().with_artifact_type(MediaType::from("application/x.sbom"));
    assert!(client.referrers(&image, other).await.unwrap().is_empty());

    let json = fake.reference(&format!("json@{subject}"));
    assert_eq!(client.referrers(&json, ReferrersOptions::default()).await.unwrap(), [sig]);
    let api_only = ReferrersOptions::default().with_fallback(FallbackPolicy::ApiOnly);
    let e = fake.client(|_| {}).referrers(&json, api_only.clone()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{e}");
    let e = fake.client(|_| {}).referrers(&image, api_only).await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
}

#[tokio::test]
async fn pushes_update_the_fallback_tag_only_for_registries_without_the_api() {
    let subject = Descriptor::for_bytes(MediaType::IMAGE_MANIFEST, b"subject");
    let tag = referrers_tag(&subject.digest);
    let mut artifact = ImageManifest::new(Descriptor::empty(), vec![Descriptor::empty()])
        .with_artifact_type(MediaType::from("application/x.sbom"))
        .with_subject(subject.clone());
    artifact.annotations.insert("org.example.tool", "syft");
    let document = Document::new(artifact).unwrap();
    let (bytes, digest) = (document.bytes().clone(), document.digest().clone());
    let fake = Fake::start(|seen| {
        let t = seen.target.as_str();
        match (seen.method.as_str(), t.split('/').nth(2)) {
            ("PUT", Some("subject-header")) => Reply::new(201, "").header("oci-subject", "sha256:x"),
            ("PUT", _) => Reply::new(201, ""),
            ("GET", Some("api")) if t.contains("/referrers/") => {
                Reply::new(200, index_of(&[])).header("content-type", INDEX)
            }
            _ => Reply::new(404, ""),
        }
    })
    .await;
    let client = fake.client(|_| {});
    for repo in ["subject-header", "api", "none"] {
        let reference = fake.reference(&format!("{repo}:sbom"));
        assert_eq!(client.put_manifest(&reference, &document).await.unwrap(), digest);
    }
    let subject_digest = &subject.digest;
    assert_eq!(
        fake.requests(),
        [
            "PUT /v2/subject-header/manifests/sbom".to_owned(),
            "PUT /v2/api/manifests/sbom".to_owned(),
            format!("GET /v2/api/referrers/{subject_digest}"),
            "PUT /v2/none/manifests/sbom".to_owned(),
            format!("GET /v2/none/referrers/{subject_digest}"),
            format!("GET /v2/none/manifests/{tag}"),
            format!("PUT /v2/none/manifests/{tag}"),
        ]
    );
    let written = fake.seen().pop().unwrap().body;
    let index: ImageIndex = serde_json::from_slice(&written).unwrap();
    assert_eq!(index.media_type, Some(MediaType::IMAGE_INDEX));
    let entry = &index.manifests[0];
    assert_eq!((entry.digest.clone(), entry.size), (digest, bytes.len() as u64));
    assert_eq!(entry.artifact_type, Some(MediaType::from("application/x.sbom")));
    assert_eq!(entry.annotations.get("org.example.tool"), Some("syft"));
}
