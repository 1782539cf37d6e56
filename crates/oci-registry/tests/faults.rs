//! The client against the registry's fault rules, one deterministic rule at a time: the
//! failures `cargo xtask faults` found, each kept fixed here.

#![allow(clippy::unwrap_used)]

use oci_distribution::http::Method;
use oci_distribution::{Client, PullOptions, PushOptions, UploadPolicy};
use oci_reference::Reference;
use oci_registry::faults::{Fault, Faults, Matcher, PathKind, RetryAfter, Rule};
use oci_registry::{MemoryStorage, Registry};
use oci_spec_types::{Descriptor, Document, ImageManifest, MediaType};

/// A registry with `faults` over a store that holds `repo:v1` (a config and one layer
/// of 10 000 bytes, pushed without faults), the client, the layer and the manifest.
async fn seeded(faults: Faults) -> (Registry, Client, Reference, Descriptor, Document<ImageManifest>) {
    let storage = MemoryStorage::new();
    let clean = Registry::builder().storage(storage.clone()).bind("127.0.0.1:0").await.unwrap();
    let client = Client::builder().build().unwrap();
    let at = |host: String| Reference::parse(&format!("{host}/team/app:v1")).unwrap();
    let (setup, layer_bytes) =
        (at(clean.host()), (0..10_000u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    let config = Descriptor::for_bytes(MediaType::EMPTY, b"{}");
    let layer = Descriptor::for_bytes(MediaType::LAYER_TAR, &layer_bytes);
    let repository = setup.repository();
    client.push_blob(&repository, &config, b"{}".to_vec(), PushOptions::default()).await.unwrap();
    client.push_blob(&repository, &layer, layer_bytes, PushOptions::default()).await.unwrap();
    let manifest = Document::new(ImageManifest::new(config, vec![layer.clone()])).unwrap();
    client.put_manifest(&setup, &manifest).await.unwrap();
    let misbehaving = Registry::builder().storage(storage).faults(faults).bind("127.0.0.1:0").await.unwrap();
    let reference = at(misbehaving.host());
    (misbehaving, client, reference, layer, manifest)
}

#[tokio::test]
async fn a_tag_answered_without_a_digest_header_is_read_for_its_digest() {
    let rule = Rule::new(Matcher::kind(PathKind::Manifest).method(Method::HEAD), Fault::DigestMissing);
    let faults = Faults::new(1).rule(rule);
    let (_registry, client, reference, _, manifest) = seeded(faults.clone()).await;
    let found = client.head_manifest(&reference).await.unwrap().unwrap();
    assert_eq!(found.digest, *manifest.digest());
    assert_eq!(faults.injected(), 1);
}

#[tokio::test]
async fn a_chunk_answered_503_is_sent_again() {
    let rule = Rule::new(
        Matcher::kind(PathKind::Upload).method(Method::PATCH).nth(1),
        Fault::Unavailable(RetryAfter::None),
    );
    let faults = Faults::new(1).rule(rule);
    let (_registry, client, reference, _, _) = seeded(faults.clone()).await;
    let blob = vec![7u8; 5000];
    let descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR, &blob);
    let options = PushOptions::default().with_policy(UploadPolicy::Chunked { chunk_size: 1024 });
    let repository =
        Reference::parse(&format!("{}/team/other:v1", reference.registry())).unwrap().repository();
    client.push_blob(&repository, &descriptor, blob, options).await.unwrap();
    assert_eq!(client.head_blob(&repository, &descriptor.digest).await.unwrap(), Some(5000));
    assert_eq!(faults.injected(), 1);
}

#[tokio::test]
async fn a_download_cut_before_its_first_byte_resumes() {
    let rule = Rule::new(Matcher::kind(PathKind::Blob).method(Method::GET).nth(1), Fault::DropAfter(0));
    let faults = Faults::new(1).rule(rule);
    let (_registry, client, reference, layer, _) = seeded(faults.clone()).await;
    let mut stream = client.get_blob(&reference.repository(), &layer, PullOptions::default()).await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = stream.next_chunk().await.unwrap() {
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got.len(), 10_000);
    assert_eq!(stream.resumes(), 1);
    assert_eq!(faults.injected(), 1);
}

/// A registry that asks for `matrix`/`s3cret` (Basic, or Bearer tokens from its token
/// endpoint) with `faults`, and a client that has those credentials.
async fn with_credentials(bearer: bool, faults: Faults) -> (Registry, Client, Reference) {
    use oci_distribution::auth::AuthConfig;
    use oci_distribution::auth::credentials::{Credential, StaticCredentials};
    use oci_registry::auth::{Auth, Htpasswd, TokenOptions};
    let users = Htpasswd::parse(&Htpasswd::line("matrix", "s3cret", 4).unwrap()).unwrap();
    let auth =
        if bearer { Auth::bearer(users, TokenOptions::default()).unwrap() } else { Auth::basic(users) };
    let registry = Registry::builder().auth(auth).faults(faults).bind("127.0.0.1:0").await.unwrap();
    let credentials = StaticCredentials::new().with(&registry.host(), Credential::basic("matrix", "s3cret"));
    let client =
        Client::builder().auth(AuthConfig::anonymous().with_credentials(credentials)).build().unwrap();
    let reference = Reference::parse(&format!("{}/team/app:v1", registry.host())).unwrap();
    (registry, client, reference)
}

/// Pushes a config and a layer of `layer_bytes` in chunks of 1024 bytes, then the manifest.
async fn push_image(client: &Client, reference: &Reference, layer_bytes: Vec<u8>) {
    let repository = reference.repository();
    let config = Descriptor::for_bytes(MediaType::EMPTY, b"{}");
    let layer = Descriptor::for_bytes(MediaType::LAYER_TAR, &layer_bytes);
    let chunked = || PushOptions::default().with_policy(UploadPolicy::Chunked { chunk_size: 1024 });
    client.push_blob(&repository, &config, b"{}".to_vec(), chunked()).await.unwrap();
    client.push_blob(&repository, &layer, layer_bytes, chunked()).await.unwrap();
    let manifest = Document::new(ImageManifest::new(config, vec![layer])).unwrap();
    client.put_manifest(reference, &manifest).await.unwrap();
}

/// Found by the matrix (ECR's quirk): a `PATCH` answered 201 while the blob is not
/// there yet no longer fails the push; the session goes on.
#[tokio::test]
async fn chunks_answered_201_before_the_blob_exists_go_on() {
    let faults = Faults::new(1)
        .rule(Rule::new(Matcher::kind(PathKind::Upload).method(Method::PATCH), Fault::PatchCreated));
    let registry = Registry::builder().faults(faults.clone()).bind("127.0.0.1:0").await.unwrap();
    let client = Client::builder().build().unwrap();
    let reference = Reference::parse(&format!("{}/team/app:v1", registry.host())).unwrap();
    push_image(&client, &reference, vec![3u8; 5000]).await;
    assert!(client.head_manifest(&reference).await.unwrap().is_some());
    assert!(faults.injected() >= 1);
}

/// Found by the matrix (GCR's quirk): a 401 without a challenge, from a registry that
/// never challenged, is answered after asking `/v2/` for the challenge.
#[tokio::test]
async fn a_401_without_a_challenge_is_answered_with_the_base_endpoints_challenge() {
    let faults = Faults::new(1).rule(Rule::new(Matcher::any(), Fault::ChallengeOnlyOnBase));
    let (_registry, client, reference) = with_credentials(false, faults.clone()).await;
    push_image(&client, &reference, vec![5u8; 3000]).await;
    assert!(client.head_manifest(&reference).await.unwrap().is_some());
    assert!(faults.injected() > 0);
}

/// Found by the matrix: tokens that stop working early are replaced, and the refused
/// request sent again, however many requests are in flight.
#[tokio::test]
async fn tokens_that_expire_early_are_replaced() {
    let faults = Faults::new(1).rule(Rule::new(Matcher::any(), Fault::TokenExpiresAfter(3)));
    let (_registry, client, reference) = with_credentials(true, faults.clone()).await;
    push_image(&client, &reference, vec![9u8; 6000]).await;
    let mut pulls = Vec::new();
    for _ in 0..4 {
        let (client, reference) = (client.clone(), reference.clone());
        pulls.push(tokio::spawn(
            async move { client.get_manifest(&reference).await.map(|d| d.digest().clone()) },
        ));
    }
    for pull in pulls {
        pull.await.unwrap().unwrap();
    }
    assert!(faults.injected() > 0, "no token expired");
}
