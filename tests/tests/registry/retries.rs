//! Upload `POST`s are retried like idempotent requests: a proxy in front of the real
//! registry answers the first ones `503` (with `Retry-After: 1`) and `429`, as a
//! registry under load does, and every form of push still succeeds, the blob stored.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use oci_distribution::auth::AuthConfig;
use oci_distribution::{Client, PullOptions, PushOptions, PushOutcome, UploadPolicy};
use oci_reference::Repository;
use oci_spec_types::{Descriptor, MediaType};
use oci_test_support::front::{Front, Reply};

use crate::common::targets;

use super::blobs::random;

/// A proxy to `upstream` that answers the first two upload `POST`s `503` with
/// `Retry-After: 1`, then `429`.
async fn refusing(upstream: SocketAddr) -> Front {
    let refused = AtomicUsize::new(0);
    Front::start(upstream, move |request| {
        if !request.is_upload_post() {
            return None;
        }
        let slow_down = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#;
        match refused.fetch_add(1, Ordering::SeqCst) {
            0 => Some(Reply::new(503, slow_down).header("retry-after", "1")),
            1 => Some(Reply::new(429, slow_down)),
            _ => None,
        }
    })
    .await
}

#[tokio::test]
async fn upload_posts_answered_503_and_429_are_retried() {
    // The registries reached anonymously over plain HTTP, behind the refusing proxy.
    for target in targets("upload_posts_answered_503_and_429_are_retried").await {
        if matches!(target.name, "plain" | "embedded") {
            let upstream: SocketAddr = target.host.parse().expect("the registry's address");
            retried(upstream, target.name).await;
        }
    }
}

/// The five upload forms through a proxy to `upstream` that refuses the first two
/// upload POSTs.
async fn retried(upstream: SocketAddr, registry: &str) {
    let name = format!("e2e/post-retries-{}-{registry}", std::process::id());
    let small = random(2048);
    let large = random(600 << 10);
    let cases = [
        ("a small blob: the mount check's POST", small.clone(), PushOptions::default()),
        ("POST then PUT", large.clone(), PushOptions::default()),
        (
            "chunked",
            large.clone(),
            PushOptions::default().with_policy(UploadPolicy::Chunked { chunk_size: 256 << 10 }),
        ),
        ("single POST of bytes", random(4096), PushOptions::default().with_policy(UploadPolicy::SinglePost)),
        ("a mount from another repository", large.clone(), PushOptions::default()),
    ];
    for (i, (what, bytes, mut options)) in cases.into_iter().enumerate() {
        let front = refusing(upstream).await;
        let client = Client::builder().auth(AuthConfig::anonymous()).build().expect("a client");
        let repository =
            Repository::parse_strict(&format!("{}/{name}-{i}", front.host())).expect("a repository");
        let descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR, &bytes);
        if what.starts_with("a mount") {
            // The source: pushed straight to the registry.
            let direct =
                Repository::parse_strict(&format!("{upstream}/{name}-source")).expect("a repository");
            client
                .push_blob(&direct, &descriptor, bytes.clone(), PushOptions::default())
                .await
                .expect("the source");
            let source =
                Repository::parse_strict(&format!("{}/{name}-source", front.host())).expect("a repository");
            options = options.with_mount_from(source);
        }
        let outcome = client.push_blob(&repository, &descriptor, bytes.clone(), options).await;
        let outcome = outcome.unwrap_or_else(|e| panic!("{registry}: {what}: {e}\n{:?}", front.requests()));
        assert_eq!(front.answered(), 2, "{what}: {:?}", front.requests());
        if what.starts_with("a mount") {
            assert!(matches!(outcome, PushOutcome::Mounted { .. }), "{what}: {outcome:?}");
        } else {
            assert!(matches!(outcome, PushOutcome::Uploaded(_)), "{what}: {outcome:?}");
        }
        let stream =
            client.get_blob(&repository, &descriptor, PullOptions::default()).await.expect("the blob");
        assert_eq!(stream.bytes(1 << 20).await.expect("its content"), bytes, "{what}");
    }
}
