//! Manifests, tags, catalog and referrers against the real registry.

use oci_distribution::auth::AuthConfig;
use oci_distribution::auth::credentials::{Credential, StaticCredentials};
use oci_distribution::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use oci_distribution::{
    Body, Client, ClientOptions, ErrorKind, FallbackPolicy, ListOptions, ReferrersOptions, TransportConfig,
};
use oci_spec_types::distribution::referrers_tag;
use oci_spec_types::{
    Annotations, Descriptor, Document, ExecConfig, ImageConfig, ImageIndex, ImageManifest, Manifest,
    MediaType, Platform,
};

use crate::common::{Target, targets, targets_without_referrers_api};

/// A client for `target` with other options (the same credentials and CA).
fn client_with(target: &Target, options: ClientOptions) -> Client {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut transport = TransportConfig::default();
    if let Some(ca) = env("OCI_TEST_CA_FILE") {
        transport = transport.with_ca_file(ca);
    }
    let mut credentials = StaticCredentials::new();
    if let (Some(user), Some(password)) = (env("OCI_TEST_USERNAME"), env("OCI_TEST_PASSWORD")) {
        credentials.insert(&target.host, Credential::basic(user, password));
    }
    Client::builder()
        .transport(transport)
        .auth(AuthConfig::anonymous().with_credentials(credentials))
        .options(options)
        .build()
        .expect("a client for the test registry")
}

/// Manifest `bytes` of `media_type`, as a document to push.
fn doc(bytes: &[u8], media_type: &MediaType) -> Document {
    Document::manifest(bytes.to_vec(), Some(media_type)).expect("a manifest")
}

/// Pushes `bytes` as a blob with a POST and a monolithic PUT through the client's
/// pipeline (the typed upload API lives beside this test).
async fn push_blob(target: &Target, repository: &str, media_type: MediaType, bytes: &[u8]) -> Descriptor {
    let descriptor = Descriptor::for_bytes(media_type, bytes);
    let registry = target.repo(repository).registry();
    let scopes = [format!("repository:{repository}:pull,push")];
    let client = &target.client;
    let path = format!("/v2/{repository}/blobs/uploads/");
    let started =
        client.execute(&registry, Method::POST, &path, HeaderMap::new(), Body::empty(), &scopes).await;
    let started = started.expect("the upload POST");
    if started.status() != StatusCode::ACCEPTED {
        let status = started.status();
        let body = started.into_body().bytes(4096).await.unwrap_or_default();
        panic!("{}: starting an upload: {status} {}", target.name, String::from_utf8_lossy(&body));
    }
    let location = started.headers()[header::LOCATION].to_str().expect("a text Location");
    let separator = if location.contains('?') { '&' } else { '?' };
    let put = format!("{location}{separator}digest={}", descriptor.digest);
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let body = Body::from_bytes(bytes.to_vec());
    let done = client.execute(&registry, Method::PUT, &put, headers, body, &scopes).await;
    assert_eq!(done.expect("the upload PUT").status(), StatusCode::CREATED, "{}: upload done", target.name);
    descriptor
}

/// Pushes a one-layer image for `platform` with a label and an annotation; returns the
/// manifest bytes and their descriptor.
async fn push_image(target: &Target, repository: &str, tag: &str, platform: &str) -> (Vec<u8>, Descriptor) {
    let platform: Platform = platform.parse().expect("a test platform");
    let mut config = ImageConfig::new(&platform);
    let mut labels = Annotations::new();
    labels.insert("org.opencontainers.image.version", "from-label");
    labels.insert("org.example.label", platform.to_string());
    let mut exec = ExecConfig::default();
    exec.labels = Some(labels);
    config.config = Some(exec);
    let config_bytes = serde_json::to_vec(&config).expect("a config serializes");
    let config = push_blob(target, repository, MediaType::IMAGE_CONFIG, &config_bytes).await;
    let layer =
        push_blob(target, repository, MediaType::LAYER_TAR, format!("layer {platform}").as_bytes()).await;
    let mut manifest = ImageManifest::new(config, vec![layer]);
    manifest.annotations.insert("org.opencontainers.image.version", "from-manifest");
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
    let reference = target.reference(&format!("{repository}:{tag}"));
    let digest = target
        .client
        .put_manifest(&reference, &doc(&bytes, &MediaType::IMAGE_MANIFEST))
        .await
        .expect("the image push");
    let descriptor = Descriptor::new(MediaType::IMAGE_MANIFEST, digest, bytes.len() as u64);
    assert_eq!(descriptor.digest, oci_spec_types::Digest::sha256(&bytes));
    (bytes, descriptor.with_platform(platform))
}

#[tokio::test]
async fn image_round_trip_head_cache_config_and_annotations() {
    for target in targets("image_round_trip_head_cache_config_and_annotations").await {
        let repository = target.repository("manifests");
        let (bytes, pushed) = push_image(&target, &repository, "v1", "linux/amd64").await;
        let tagged = target.reference(&format!("{repository}:v1"));
        let by_digest = target.reference(&format!("{repository}@{}", pushed.digest));

        // A fresh client, so the cache starts empty.
        let client = client_with(&target, ClientOptions::default());
        let got = client.get_manifest(&tagged).await.unwrap();
        assert_eq!(got.bytes().as_ref(), bytes.as_slice(), "{}: the bytes as pushed", target.name);
        assert_eq!(
            (got.digest().clone(), got.media_type().clone()),
            (pushed.digest.clone(), MediaType::IMAGE_MANIFEST)
        );
        assert!(matches!(got.value(), Manifest::Image(m) if m.layers.len() == 1));

        let head = client.head_manifest(&tagged).await.unwrap().expect("the tag exists");
        assert_eq!(
            head,
            Descriptor::new(MediaType::IMAGE_MANIFEST, pushed.digest.clone(), bytes.len() as u64)
        );
        let missing = target.reference(&format!("{repository}:nope"));
        assert_eq!(client.head_manifest(&missing).await.unwrap(), None, "{}", target.name);
        let e = client.get_manifest(&missing).await.unwrap_err();
        assert!(e.is_unknown_resource() && e.status() == Some(StatusCode::NOT_FOUND), "{e}");

        // The tag GET filled the cache: both GETs by digest are hits, no request made.
        let before = client.cache_stats();
        for _ in 0..2 {
            let again = client.get_manifest(&by_digest).await.unwrap();
            assert_eq!((again.bytes().as_ref(), again.digest()), (bytes.as_slice(), &pushed.digest));
        }
        assert_eq!(client.cache_stats().hits, before.hits + 2, "{}", target.name);
        // Without the tag GET: a miss, then a hit.
        let cold = client_with(&target, ClientOptions::default());
        cold.get_manifest(&by_digest).await.unwrap();
        cold.get_manifest(&by_digest).await.unwrap();
        let stats = cold.cache_stats();
        assert_eq!((stats.misses, stats.hits, stats.entries), (1, 1, 1), "{}", target.name);

        let config = client.get_config(&tagged).await.unwrap();
        assert_eq!(config.platform(), "linux/amd64".parse().unwrap());
        let annotations = client.annotations(&by_digest, None).await.unwrap();
        assert_eq!(annotations.version(), Some("from-manifest"), "the manifest wins over the label");
        assert_eq!(annotations.get("org.example.label"), Some("linux/amd64"));
    }
}

#[tokio::test]
async fn size_caps_refuse_large_manifests() {
    for target in targets("size_caps_refuse_large_manifests").await {
        let repository = target.repository("too-large");
        let (bytes, _) = push_image(&target, &repository, "big", "linux/amd64").await;
        let mut options = ClientOptions::default();
        options.max_manifest_bytes = 100;
        let small = client_with(&target, options);
        let reference = target.reference(&format!("{repository}:big"));
        let e = small.get_manifest(&reference).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit, "{}: {e}", target.name);
        assert!(!e.is_verification(), "a limit is not a verification failure");
        assert_eq!(
            e.to_string(),
            format!(
                "over a limit: GET {}/v2/{repository}/manifests/big: the response body exceeds 100 bytes",
                target.origin()
            )
        );
        let e = small.put_manifest(&reference, &doc(&bytes, &MediaType::IMAGE_MANIFEST)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Limit, "{e}");
        assert_eq!(
            e.to_string(),
            format!(
                "over a limit: PUT {}/v2/{repository}/manifests/big: the manifest is {} bytes, more than the \
                 limit of 100",
                target.origin(),
                bytes.len()
            )
        );
    }
}

#[tokio::test]
async fn delete_by_digest_then_404() {
    for target in targets("delete_by_digest_then_404").await {
        let repository = target.repository("delete");
        let (_, pushed) = push_image(&target, &repository, "gone", "linux/amd64").await;
        let by_digest = target.reference(&format!("{repository}@{}", pushed.digest));
        let e = target
            .client
            .delete_manifest(&target.reference(&format!("{repository}:gone")))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "a tag is refused: {e}");
        target.client.get_manifest(&by_digest).await.unwrap(); // cached now
        target.client.delete_manifest(&by_digest).await.unwrap();
        assert_eq!(target.client.head_manifest(&by_digest).await.unwrap(), None, "{}", target.name);
        let e = target.client.get_manifest(&by_digest).await.unwrap_err();
        assert!(e.is_unknown_resource(), "{}: the cache forgot it too: {e}", target.name);
    }
}

#[tokio::test]
async fn tags_list_every_tag() {
    for target in targets("tags_list_every_tag").await {
        let repository = target.repository("tags");
        let (bytes, _) = push_image(&target, &repository, "t1", "linux/amd64").await;
        for i in 2..=7 {
            let reference = target.reference(&format!("{repository}:t{i}"));
            target.client.put_manifest(&reference, &doc(&bytes, &MediaType::IMAGE_MANIFEST)).await.unwrap();
        }
        let reference = target.repo(&repository);
        let client = &target.client;
        let seven = ["t1", "t2", "t3", "t4", "t5", "t6", "t7"];
        let all = client.tags(&reference, ListOptions::all_pages()).await.unwrap();
        assert_eq!(all.name, repository);
        // Registry 2.8 lists tags in no particular order (and ignores `n` and `last`:
        // paging is exercised on the catalog below, through the same code).
        let mut sorted = all.tags.clone();
        sorted.sort();
        assert_eq!(sorted, seven, "{}", target.name);
        let first = client.tags(&reference, ListOptions::first_page(3)).await.unwrap();
        if first.tags.len() == 3 {
            assert_eq!(first.tags, seven[..3]);
            let paged = client.tags(&reference, ListOptions::first_page(3).with_all_pages()).await.unwrap();
            assert_eq!(paged.tags, seven);
        } else {
            assert_eq!(first.tags, all.tags, "{}: a registry without tag paging", target.name);
        }
        let e = client.tags(&target.repo(&target.repository("no-such")), ListOptions::all_pages()).await;
        assert!(e.unwrap_err().is_unknown_resource(), "{}", target.name);
    }
}

#[tokio::test]
async fn catalog_pages_follow_links() {
    for target in targets("catalog_pages_follow_links").await {
        let prefix = target.repository("catalog");
        let names: Vec<String> = (1..=7).map(|i| format!("{prefix}/r{i}")).collect();
        for name in &names {
            push_image(&target, name, "latest", "linux/amd64").await;
        }
        let registry = &target.repo(&names[0]).registry();
        let client = &target.client;
        let first = client.catalog(registry, ListOptions::after(format!("{prefix}/r0"), 3)).await.unwrap();
        assert_eq!(first.repositories, names[..3], "{}", target.name);
        let next = client.catalog(registry, ListOptions::after(&names[2], 3)).await.unwrap();
        assert_eq!(next.repositories, names[3..6]);
        // Every page from there: ours first, in order, then whatever sorts after them.
        let from = ListOptions::after(format!("{prefix}/r0"), 3).with_all_pages();
        let all = client.catalog(registry, from.clone()).await.unwrap();
        assert_eq!(all.repositories[..7], names[..], "{}", target.name);
        // At least three pages of three: a cap of two pages is an error, not a silent cut.
        let mut options = ClientOptions::default();
        options.max_pages = 2;
        let e = client_with(&target, options).catalog(registry, from).await.unwrap_err();
        // The third page, at the link the registry sent after the second.
        assert_eq!(
            e.to_string(),
            format!(
                "over a limit: GET {}/v2/_catalog?last={}&n=3: more than 2 pages",
                target.origin(),
                names[5].replace('/', "%2F")
            )
        );
        let whole = client.catalog(registry, ListOptions::all_pages()).await.unwrap();
        assert!(names.iter().all(|n| whole.repositories.contains(n)), "{}", target.name);
    }
}

#[tokio::test]
async fn index_resolves_to_the_platform_image() {
    for target in targets("index_resolves_to_the_platform_image").await {
        let repository = target.repository("index");
        let (_, amd64) = push_image(&target, &repository, "amd64", "linux/amd64").await;
        let (arm_bytes, arm64) = push_image(&target, &repository, "arm64", "linux/arm64/v8").await;
        let mut index = ImageIndex::new(vec![amd64.clone(), arm64.clone()]);
        index.annotations.insert("org.example.index", "yes");
        let index_bytes = serde_json::to_vec(&index).unwrap();
        let reference = target.reference(&format!("{repository}:multi"));
        let digest = target
            .client
            .put_manifest(&reference, &doc(&index_bytes, &MediaType::IMAGE_INDEX))
            .await
            .unwrap();

        let got = target.client.get_manifest(&reference).await.unwrap();
        assert_eq!((got.bytes().as_ref(), got.digest()), (index_bytes.as_slice(), &digest));
        assert_eq!(got.media_type(), &MediaType::IMAGE_INDEX);
        let client = &target.client;
        let arm =
            client.get_manifest_for_platform(&reference, &"linux/arm64".parse().unwrap()).await.unwrap();
        assert_eq!(
            (arm.digest().clone(), arm.bytes().as_ref()),
            (arm64.digest.clone(), arm_bytes.as_slice())
        );
        let amd =
            client.get_manifest_for_platform(&reference, &"linux/amd64".parse().unwrap()).await.unwrap();
        assert_eq!(amd.digest(), &amd64.digest, "{}", target.name);
        let e =
            client.get_manifest_for_platform(&reference, &"linux/s390x".parse().unwrap()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PlatformNotFound, "{e}");

        let narrowed = client.annotations(&reference, Some(&"linux/arm64".parse().unwrap())).await.unwrap();
        assert_eq!(narrowed.get("org.example.label"), Some("linux/arm64/v8"));
        assert_eq!(narrowed.version(), Some("from-manifest"));
        let own = client.annotations(&reference, None).await.unwrap();
        assert_eq!(own.get("org.example.index"), Some("yes"));
        assert_eq!(own.len(), 1);
        let e = client.get_config(&reference).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "an index has no config: {e}");
    }
}

/// Pushes an artifact of `artifact_type` about `subject`, by digest only; returns its descriptor.
async fn push_referrer(
    target: &Target,
    repository: &str,
    subject: &Descriptor,
    artifact_type: &str,
) -> Descriptor {
    let empty = push_blob(target, repository, MediaType::EMPTY, b"{}").await;
    let mut manifest = ImageManifest::new(empty.clone(), vec![empty])
        .with_artifact_type(MediaType::from(artifact_type))
        .with_subject(Descriptor::new(subject.media_type.clone(), subject.digest.clone(), subject.size));
    manifest.annotations.insert("org.example.kind", artifact_type);
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
    let digest = oci_spec_types::Digest::sha256(&bytes);
    let reference = target.reference(&format!("{repository}@{digest}"));
    let pushed = target
        .client
        .put_manifest(&reference, &doc(&bytes, &MediaType::IMAGE_MANIFEST))
        .await
        .expect("the referrer push");
    assert_eq!(pushed, digest);
    Descriptor::new(MediaType::IMAGE_MANIFEST, digest, bytes.len() as u64)
}

#[ignore = "needs distribution, a registry without the referrers API: `cargo xtask test` starts it and runs it"]
#[tokio::test]
async fn referrers_through_the_fallback_tag() {
    for target in targets_without_referrers_api("referrers_through_the_fallback_tag") {
        let repository = target.repository("referrers");
        let (_, image) = push_image(&target, &repository, "v1", "linux/amd64").await;
        let subject = target.reference(&format!("{repository}@{}", image.digest));
        let client = &target.client;
        assert!(client.referrers(&subject, ReferrersOptions::default()).await.unwrap().is_empty());

        let sbom = push_referrer(&target, &repository, &image, "application/vnd.example.sbom").await;
        let sig = push_referrer(&target, &repository, &image, "application/vnd.example.sig").await;
        push_referrer(&target, &repository, &image, "application/vnd.example.sig").await; // again: no duplicate

        // Registry 2.8 has no referrers API: the entries come from the fallback tag.
        let tags = client.tags(&target.repo(&repository), ListOptions::all_pages()).await.unwrap();
        assert!(tags.tags.contains(&referrers_tag(&image.digest)), "{}: {:?}", target.name, tags.tags);
        let found = client.referrers(&subject, ReferrersOptions::default()).await.unwrap();
        let digests: Vec<_> = found.iter().map(|d| d.digest.clone()).collect();
        assert_eq!(digests, [sbom.digest.clone(), sig.digest.clone()], "{}", target.name);
        assert_eq!(found[0].artifact_type, Some(MediaType::from("application/vnd.example.sbom")));
        assert_eq!(found[0].annotations.get("org.example.kind"), Some("application/vnd.example.sbom"));
        assert_eq!((found[1].size, found[1].media_type.clone()), (sig.size, MediaType::IMAGE_MANIFEST));

        let sigs =
            ReferrersOptions::default().with_artifact_type(MediaType::from("application/vnd.example.sig"));
        let only = client.referrers(&subject, sigs.clone()).await.unwrap();
        assert_eq!(only.iter().map(|d| &d.digest).collect::<Vec<_>>(), [&sig.digest]);
        let by_tag = client.referrers(&subject, sigs.with_fallback(FallbackPolicy::TagOnly)).await.unwrap();
        assert_eq!(by_tag, only);
        // A tag names the subject too (resolved with HEAD).
        let tagged = target.reference(&format!("{repository}:v1"));
        assert_eq!(client.referrers(&tagged, ReferrersOptions::default()).await.unwrap(), found);
        let api_only = ReferrersOptions::default().with_fallback(FallbackPolicy::ApiOnly);
        let e = client.referrers(&subject, api_only).await.unwrap_err();
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND), "{}: {e}", target.name);

        // Deleting a referrer takes it out of the fallback index.
        client.delete_manifest(&target.reference(&format!("{repository}@{}", sbom.digest))).await.unwrap();
        let left = client_with(&target, ClientOptions::default())
            .referrers(&subject, ReferrersOptions::default())
            .await;
        assert_eq!(
            left.unwrap().iter().map(|d| &d.digest).collect::<Vec<_>>(),
            [&sig.digest],
            "{}",
            target.name
        );
    }
}

#[tokio::test]
async fn referrers_through_the_api() {
    for target in targets("referrers_through_the_api").await.into_iter().filter(|t| t.full_spec) {
        let repository = target.repository("referrers-api");
        let (_, image) = push_image(&target, &repository, "v1", "linux/amd64").await;
        let subject = target.reference(&format!("{repository}@{}", image.digest));
        let client = &target.client;
        let api_only = ReferrersOptions::default().with_fallback(FallbackPolicy::ApiOnly);
        assert!(client.referrers(&subject, api_only.clone()).await.unwrap().is_empty());

        let sbom = push_referrer(&target, &repository, &image, "application/vnd.example.sbom").await;
        let sig = push_referrer(&target, &repository, &image, "application/vnd.example.sig").await;
        // The registry indexes them: no fallback tag is written.
        let tags = client.tags(&target.repo(&repository), ListOptions::all_pages()).await.unwrap();
        assert_eq!(tags.tags, ["v1"], "{}", target.name);
        let mut found = client.referrers(&subject, api_only.clone()).await.unwrap();
        found.sort_by(|a, b| a.artifact_type.cmp(&b.artifact_type));
        assert_eq!(found.iter().map(|d| &d.digest).collect::<Vec<_>>(), [&sbom.digest, &sig.digest]);
        assert_eq!(found[0].annotations.get("org.example.kind"), Some("application/vnd.example.sbom"));
        assert_eq!((found[1].size, found[1].media_type.clone()), (sig.size, MediaType::IMAGE_MANIFEST));
        let sigs = api_only.clone().with_artifact_type(MediaType::from("application/vnd.example.sig"));
        let only = client.referrers(&subject, sigs).await.unwrap();
        assert_eq!(only.iter().map(|d| &d.digest).collect::<Vec<_>>(), [&sig.digest]);

        // A deleted referrer leaves the index.
        client.delete_manifest(&target.reference(&format!("{repository}@{}", sbom.digest))).await.unwrap();
        let left = client.referrers(&subject, api_only).await.unwrap();
        assert_eq!(left.iter().map(|d| &d.digest).collect::<Vec<_>>(), [&sig.digest], "{}", target.name);
    }
}

/// An artifact about `subject` whose config and layer are the empty blob (pushed
/// already); its bytes and digest.
fn artifact(subject: &Descriptor, artifact_type: &str, n: usize) -> (Vec<u8>, oci_spec_types::Digest) {
    let mut manifest = ImageManifest::new(Descriptor::empty(), vec![Descriptor::empty()])
        .with_artifact_type(MediaType::from(artifact_type))
        .with_subject(Descriptor::new(subject.media_type.clone(), subject.digest.clone(), subject.size));
    manifest.annotations.insert("org.example.n", n.to_string());
    let bytes = serde_json::to_vec(&manifest).expect("a manifest serializes");
    let digest = oci_spec_types::Digest::sha256(&bytes);
    (bytes, digest)
}

#[ignore = "needs distribution, a registry without the referrers API: `cargo xtask test` starts it and runs it"]
#[tokio::test]
async fn concurrent_referrer_pushes_all_land_and_replaced_indexes_are_collected() {
    for target in targets_without_referrers_api(
        "concurrent_referrer_pushes_all_land_and_replaced_indexes_are_collected",
    ) {
        let repository = target.repository("referrers-gc");
        let (_, image) = push_image(&target, &repository, "v1", "linux/amd64").await;
        push_blob(&target, &repository, MediaType::EMPTY, b"{}").await;
        let mut options = ClientOptions::default();
        options.referrers_tag_gc = true;
        let client = client_with(&target, options);
        let fallback = target.reference(&format!("{repository}:{}", referrers_tag(&image.digest)));

        let (first, first_digest) = artifact(&image, "application/vnd.example.sig", 0);
        let reference = target.reference(&format!("{repository}@{first_digest}"));
        client.put_manifest(&reference, &doc(&first, &MediaType::IMAGE_MANIFEST)).await.unwrap();
        let first_index = client.head_manifest(&fallback).await.unwrap().expect("the fallback index");

        // Five pushes at once through one client: the per-tag lock keeps every entry.
        let mut tasks = Vec::new();
        let mut digests = vec![first_digest];
        for n in 1..=5 {
            let (bytes, digest) = artifact(&image, "application/vnd.example.sig", n);
            digests.push(digest.clone());
            let (client, reference) = (client.clone(), target.reference(&format!("{repository}@{digest}")));
            tasks.push(tokio::spawn(async move {
                client.put_manifest(&reference, &doc(&bytes, &MediaType::IMAGE_MANIFEST)).await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let subject = target.reference(&format!("{repository}@{}", image.digest));
        let mut found: Vec<_> = client
            .referrers(&subject, ReferrersOptions::default())
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.digest)
            .collect();
        found.sort();
        digests.sort();
        assert_eq!(found, digests, "{}", target.name);
        // The replaced index was deleted (referrers_tag_gc).
        let old = target.reference(&format!("{repository}@{}", first_index.digest));
        assert_eq!(client.head_manifest(&old).await.unwrap(), None, "{}", target.name);

        // Deleting every referrer leaves no fallback index behind.
        for digest in &digests {
            client.delete_manifest(&target.reference(&format!("{repository}@{digest}"))).await.unwrap();
        }
        assert_eq!(client.head_manifest(&fallback).await.unwrap(), None, "{}", target.name);
        assert!(client.referrers(&subject, ReferrersOptions::default()).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_fallback_tag_naming_the_subject_itself_is_ignored() {
    for target in targets("a_fallback_tag_naming_the_subject_itself_is_ignored").await {
        // GitLab resolves the tag `sha256-<hex>` to the manifest `sha256:<hex>`; here the
        // subject (an index) is pushed under its own fallback tag to the same effect.
        let repository = target.repository("gitlab-quirk");
        let (_, image) = push_image(&target, &repository, "v1", "linux/amd64").await;
        let index = serde_json::to_vec(&ImageIndex::new(vec![image])).unwrap();
        let index_digest = oci_spec_types::Digest::sha256(&index);
        let quirk = target.reference(&format!("{repository}:{}", referrers_tag(&index_digest)));
        target.client.put_manifest(&quirk, &doc(&index, &MediaType::IMAGE_INDEX)).await.unwrap();
        let subject = target.reference(&format!("{repository}@{index_digest}"));
        let client = client_with(&target, ClientOptions::default());
        assert!(client.referrers(&subject, ReferrersOptions::default()).await.unwrap().is_empty());

        // A write starts from an empty index rather than from the subject's children.
        push_blob(&target, &repository, MediaType::EMPTY, b"{}").await;
        let subject_descriptor =
            Descriptor::new(MediaType::IMAGE_INDEX, index_digest.clone(), index.len() as u64);
        let (bytes, digest) = artifact(&subject_descriptor, "application/vnd.example.sig", 1);
        let reference = target.reference(&format!("{repository}@{digest}"));
        client.put_manifest(&reference, &doc(&bytes, &MediaType::IMAGE_MANIFEST)).await.unwrap();
        let found = client.referrers(&subject, ReferrersOptions::default()).await.unwrap();
        assert_eq!(found.iter().map(|d| &d.digest).collect::<Vec<_>>(), [&digest], "{}", target.name);
        assert_eq!(found[0].annotations.get("org.example.n"), Some("1"));
    }
}
