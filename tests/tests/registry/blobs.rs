//! Blobs and uploads against the real registry, and downloads that resume against a
//! flaky server of the test's own ([`flaky`]).

mod flaky;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use oci_distribution::{
    BlobStream, Body, ErrorKind, MountOutcome, Progress, PullOptions, PushOptions, PushOutcome, UploadPolicy,
};
use oci_reference::Repository;
use oci_spec_types::{Descriptor, Digest, MediaType};
use oci_test_support::fixtures::Rng;

use crate::common::{Target, targets};

const MIB: usize = 1 << 20;

/// `len` random bytes, new in every call and every run (the registry keeps what
/// earlier runs pushed, and a test that pushes must upload).
pub(crate) fn random(len: usize) -> Bytes {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    #[allow(clippy::cast_possible_truncation)] // any 64 bits of the clock make a seed
    let seed = now as u64 ^ u64::from(std::process::id()) << 32 ^ CALLS.fetch_add(1, Ordering::Relaxed);
    Rng::from_u64(seed).bytes(len).into()
}

fn layer(bytes: &[u8]) -> Descriptor {
    Descriptor::for_bytes(MediaType::from("application/vnd.oci.image.layer.v1.tar+gzip"), bytes)
}

/// The ways content is handed to a push.
#[derive(Debug, Clone, Copy)]
enum Form {
    Bytes,
    /// A stream that announces its length.
    Stream,
    /// A stream of unknown length.
    UnknownLength,
    /// An `AsyncRead` of unknown length.
    Reader,
}

/// `bytes` in `form`, streamed in 64 KiB frames.
fn content(bytes: &Bytes, form: Form) -> Body {
    let frames = || flaky::Frames::new(bytes.chunks(64 << 10).map(Bytes::copy_from_slice).collect());
    match form {
        Form::Bytes => Body::from_bytes(bytes.clone()),
        Form::Stream => Body::from_body(frames(), Some(bytes.len() as u64)),
        Form::UnknownLength => Body::from_body(frames(), None),
        Form::Reader => Body::from_reader(std::io::Cursor::new(bytes.to_vec()), None),
    }
}

/// Reads the whole stream chunk by chunk.
async fn read_all(mut stream: BlobStream) -> Result<Vec<u8>, oci_distribution::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next_chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Pulls the blob back and checks it byte for byte; checks HEAD first.
async fn assert_stored(target: &Target, reference: &Repository, descriptor: &Descriptor, bytes: &[u8]) {
    let client = &target.client;
    let size = client.head_blob(reference, &descriptor.digest).await.expect("HEAD of the blob");
    assert_eq!(size, Some(bytes.len() as u64), "{}: HEAD", target.name);
    let stream =
        client.get_blob(reference, descriptor, PullOptions::default()).await.expect("GET of the blob");
    assert_eq!(stream.size(), Some(descriptor.size));
    let got = read_all(stream).await.expect("the blob's content");
    assert!(got == bytes, "{}: the blob read back differs", target.name);
}

fn uploaded(outcome: PushOutcome) -> oci_distribution::UploadStats {
    match outcome {
        PushOutcome::Uploaded(stats) => stats,
        other => panic!("not an upload: {other:?}"),
    }
}

#[tokio::test]
async fn every_policy_and_content_form_round_trips() {
    for target in targets("every_policy_and_content_form_round_trips").await {
        let reference = target.repo(&target.repository("policies"));
        for policy in [
            UploadPolicy::Monolithic,
            UploadPolicy::SinglePost,
            UploadPolicy::Chunked { chunk_size: MIB as u64 },
            UploadPolicy::Streamed,
        ] {
            for form in [Form::Bytes, Form::Stream, Form::UnknownLength, Form::Reader] {
                let bytes = random(3 * MIB);
                let descriptor = layer(&bytes);
                let options = PushOptions::default().with_policy(policy);
                let pushed =
                    target.client.push_blob(&reference, &descriptor, content(&bytes, form), options).await;
                let what = format!("{}: {policy:?} with {form:?}", target.name);
                if policy == UploadPolicy::SinglePost && !matches!(form, Form::Bytes) && !target.full_spec {
                    // Distribution 2.8 ignores a single POST's body and opens a session: a
                    // stream cannot be sent again.
                    let e = pushed.expect_err(&what);
                    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
                    assert_eq!(
                        e.to_string(),
                        format!(
                            "invalid input: {}/v2/{}/blobs/uploads/: the registry opened an upload session instead \
                             of taking blob {} in one request, and a stream cannot be sent again (use another \
                             upload policy)",
                            target.origin(),
                            reference.path(),
                            descriptor.digest
                        ),
                        "{what}"
                    );
                    let head = target.client.head_blob(&reference, &descriptor.digest).await.unwrap();
                    assert_eq!(head, None, "{what}");
                    continue;
                }
                let stats = uploaded(pushed.unwrap_or_else(|e| panic!("{what}: {e}")));
                // Distribution 2.8 answers a single POST with a session, which the client fills.
                let want_policy = if policy == UploadPolicy::SinglePost && !target.full_spec {
                    UploadPolicy::Monolithic
                } else {
                    policy
                };
                assert_eq!(stats.policy, want_policy, "{what}");
                assert_eq!(stats.resyncs, 0, "{what}");
                let patches = match policy {
                    UploadPolicy::Chunked { .. } => 3,
                    UploadPolicy::Streamed => 1,
                    _ => 0,
                };
                assert_eq!(stats.patches, patches, "{what}");
                assert_stored(&target, &reference, &descriptor, &bytes).await;
            }
        }
    }
}

#[tokio::test]
async fn small_chunks_make_many_patches_and_existing_blobs_are_skipped() {
    for target in targets("small_chunks_make_many_patches_and_existing_blobs_are_skipped").await {
        let reference = target.repo(&target.repository("chunks"));
        let bytes = random(3 * MIB);
        let descriptor = layer(&bytes);
        let options = PushOptions::default().with_policy(UploadPolicy::Chunked { chunk_size: 256 << 10 });
        let stats = uploaded(
            target
                .client
                .push_blob(&reference, &descriptor, content(&bytes, Form::Reader), options.clone())
                .await
                .unwrap(),
        );
        assert_eq!((stats.patches, stats.bytes_sent), (12, bytes.len() as u64), "{}", target.name);
        assert_stored(&target, &reference, &descriptor, &bytes).await;

        // Pushed again: nothing is sent, whatever the content.
        let again = target
            .client
            .push_blob(&reference, &descriptor, content(&bytes, Form::UnknownLength), options)
            .await;
        assert_eq!(again.unwrap(), PushOutcome::Existed, "{}", target.name);
        // Unless asked not to check.
        let options = PushOptions::default().with_skip_existing(false);
        let forced = target.client.push_blob(&reference, &descriptor, bytes.clone(), options).await.unwrap();
        assert_eq!(uploaded(forced).bytes_sent, bytes.len() as u64, "{}", target.name);
    }
}

#[tokio::test]
async fn small_blobs_are_asked_for_with_a_mount_from_their_repository() {
    for target in targets("small_blobs_are_asked_for_with_a_mount_from_their_repository").await {
        let client = &target.client;
        let reference = target.repo(&target.repository("mount-check"));
        let small = random(4 << 10);
        let descriptor = layer(&small);
        // New: the mount opens a session (distribution does not find it), the content goes there.
        let outcome = client.push_blob(&reference, &descriptor, small.clone(), PushOptions::default()).await;
        let stats = uploaded(outcome.unwrap());
        assert!(stats.mount_session, "{}: {stats:?}", target.name);
        assert_eq!(stats.bytes_sent, small.len() as u64, "{}", target.name);
        assert_stored(&target, &reference, &descriptor, &small).await;
        // Pushed again: the registry mounts it from the repository itself, nothing is sent.
        let again =
            client.push_blob(&reference, &descriptor, content(&small, Form::Stream), PushOptions::default());
        assert_eq!(again.await.unwrap(), PushOutcome::Existed, "{}", target.name);
        assert_stored(&target, &reference, &descriptor, &small).await;

        // Above the size, with the size at 0, or for a single POST: HEAD, then a plain session.
        let large = random(usize::try_from(oci_distribution::DEFAULT_MOUNT_CHECK_MAX_SIZE).unwrap() + 1);
        let (other, third) = (random(4 << 10), random(4 << 10));
        let head_only = PushOptions::default().with_mount_check_max_size(0);
        let single_post = PushOptions::default().with_policy(UploadPolicy::SinglePost);
        for (bytes, options) in [(&large, PushOptions::default()), (&other, head_only), (&third, single_post)]
        {
            let descriptor = layer(bytes);
            let outcome = client.push_blob(&reference, &descriptor, bytes.clone(), options.clone()).await;
            let stats = uploaded(outcome.unwrap());
            assert!(!stats.mount_session, "{}: {stats:?}", target.name);
            assert_stored(&target, &reference, &descriptor, bytes).await;
            let again = client.push_blob(&reference, &descriptor, bytes.clone(), options).await;
            assert_eq!(again.unwrap(), PushOutcome::Existed, "{}", target.name);
        }
    }
}

#[tokio::test]
async fn mounts_with_and_without_from() {
    for target in targets("mounts_with_and_without_from").await {
        let client = &target.client;
        let source = target.repo(&target.repository("mount-source"));
        let bytes = random(MIB);
        let descriptor = layer(&bytes);
        client.push_blob(&source, &descriptor, bytes.clone(), PushOptions::default()).await.unwrap();

        // The endpoint: 201 from a repository that has it.
        let mounted = target.repo(&target.repository("mounted"));
        let outcome = client.mount_blob(&mounted, &descriptor, Some(&source)).await.unwrap();
        assert_eq!(outcome, MountOutcome::Mounted, "{}", target.name);
        assert_stored(&target, &mounted, &descriptor, &bytes).await;

        // Through a push: mounted, no content read.
        let pushed = target.repo(&target.repository("mount-push"));
        let options = PushOptions::default().with_mount_from(source.clone());
        let outcome =
            client.push_blob(&pushed, &descriptor, content(&bytes, Form::Reader), options).await.unwrap();
        assert_eq!(outcome, PushOutcome::Mounted { from: Some(source.clone()) }, "{}", target.name);
        assert_stored(&target, &pushed, &descriptor, &bytes).await;

        // Without `from`: distribution opens a session (202), which the endpoint cancels;
        // a registry that finds the blob itself mounts it.
        let anonymous = target.repo(&target.repository("mount-anonymous"));
        let outcome = client.mount_blob(&anonymous, &descriptor, None).await.unwrap();
        if target.full_spec {
            assert_eq!(outcome, MountOutcome::Mounted, "{}", target.name);
        } else {
            assert_eq!(outcome, MountOutcome::NotMounted, "{}", target.name);
            assert_eq!(client.head_blob(&anonymous, &descriptor.digest).await.unwrap(), None);
            // A push continues that session with the content.
            let options = PushOptions::default().with_anonymous_mount(true);
            let outcome =
                client.push_blob(&anonymous, &descriptor, content(&bytes, Form::Stream), options).await;
            match outcome.unwrap() {
                PushOutcome::Uploaded(stats) => assert!(stats.mount_session, "{}", target.name),
                PushOutcome::Mounted { from: None } => {}
                other => panic!("{}: {other:?}", target.name),
            }
        }
        assert_stored(&target, &anonymous, &descriptor, &bytes).await;

        // From a repository without the blob: the registry opens a session, the content goes there.
        let stranger = target.repo(&target.repository("mount-stranger"));
        let other = random(MIB);
        let other_descriptor = layer(&other);
        let options = PushOptions::default().with_mount_from(source.clone());
        let outcome =
            client.push_blob(&stranger, &other_descriptor, content(&other, Form::Stream), options).await;
        assert!(matches!(outcome.unwrap(), PushOutcome::Uploaded(_)), "{}", target.name);
        assert_stored(&target, &stranger, &other_descriptor, &other).await;
        // A mount source on another registry is refused by the endpoint.
        let elsewhere = Repository::parse_strict("elsewhere.example/repo").unwrap();
        let e = client.mount_blob(&stranger, &descriptor, Some(&elsewhere)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
    }
}

#[tokio::test]
async fn content_that_is_not_the_descriptors_is_never_stored() {
    for target in targets("content_that_is_not_the_descriptors_is_never_stored").await {
        let client = &target.client;
        let reference = target.repo(&target.repository("bad-digest"));
        let bytes = random(3 * MIB);
        let mut other = bytes.to_vec();
        other[3 * MIB - 1] ^= 0xff;
        // The descriptor of `other`, the content of `bytes`.
        let descriptor = layer(&other);
        for policy in [
            UploadPolicy::Monolithic,
            UploadPolicy::Chunked { chunk_size: MIB as u64 },
            UploadPolicy::Streamed,
        ] {
            for form in [Form::Bytes, Form::Stream, Form::UnknownLength] {
                let options = PushOptions::default().with_policy(policy);
                let e = client
                    .push_blob(&reference, &descriptor, content(&bytes, form), options)
                    .await
                    .unwrap_err();
                let what = format!("{}: {policy:?} with {form:?}", target.name);
                assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{what}: {e}");
                let message = e.to_string();
                let verdict =
                    format!(": blob {}: the content hashes to {}", descriptor.digest, Digest::sha256(&bytes));
                let sent = |method| {
                    format!(
                        "digest mismatch: {method} {}/v2/{}/blobs/uploads/",
                        target.origin(),
                        reference.path()
                    )
                };
                match (policy, form) {
                    // Refused before anything is sent: bytes, and a stream's last chunk.
                    (_, Form::Bytes) | (UploadPolicy::Chunked { .. }, _) => {
                        assert_eq!(message, format!("digest mismatch{verdict}"), "{what}");
                    }
                    // Found as the request's body ends. The session's URL holds an ID the
                    // registry makes up: all but it.
                    _ => {
                        let method = if policy == UploadPolicy::Monolithic { "PUT" } else { "PATCH" };
                        assert!(
                            message.starts_with(&sent(method)) && message.ends_with(&verdict),
                            "{what}: {e}"
                        );
                    }
                }
                assert_eq!(client.head_blob(&reference, &descriptor.digest).await.unwrap(), None, "{what}");
                assert_eq!(
                    client.head_blob(&reference, &Digest::sha256(&bytes)).await.unwrap(),
                    None,
                    "{what}"
                );
            }
        }
        // A size that is not the content's.
        let short =
            Descriptor::new(descriptor.media_type.clone(), Digest::sha256(&bytes), bytes.len() as u64 - 1);
        let e = client.push_blob(
            &reference,
            &short,
            content(&bytes, Form::UnknownLength),
            PushOptions::default(),
        );
        assert_eq!(e.await.unwrap_err().kind(), ErrorKind::SizeMismatch, "{}", target.name);
        assert_eq!(client.head_blob(&reference, &short.digest).await.unwrap(), None, "{}", target.name);
    }
}

#[tokio::test]
async fn delete_range_and_missing_blobs() {
    for target in targets("delete_range_and_missing_blobs").await {
        let client = &target.client;
        let reference = target.repo(&target.repository("delete"));
        let bytes = random(MIB + 17);
        let descriptor = layer(&bytes);
        client.push_blob(&reference, &descriptor, bytes.clone(), PushOptions::default()).await.unwrap();

        let range = client.get_blob_range(&reference, &descriptor.digest, 100..1100).await.unwrap();
        assert_eq!(range, bytes[100..1100], "{}", target.name);
        let tail = client
            .get_blob_range(&reference, &descriptor.digest, MIB as u64..(MIB as u64 + 17))
            .await
            .unwrap();
        assert_eq!(tail, bytes[MIB..], "{}", target.name);
        let small =
            client.get_blob_by_digest(&reference, &descriptor.digest, None, PullOptions::default()).await;
        assert_eq!(small.unwrap().bytes(2 * MIB).await.unwrap(), bytes, "{}", target.name);

        client.delete_blob(&reference, &descriptor.digest).await.unwrap();
        assert_eq!(client.head_blob(&reference, &descriptor.digest).await.unwrap(), None, "{}", target.name);
        let e = client.get_blob(&reference, &descriptor, PullOptions::default()).await.unwrap_err();
        assert!(e.is_unknown_resource(), "{}: {e}", target.name);
        let e = client.delete_blob(&reference, &descriptor.digest).await.unwrap_err();
        assert!(e.is_unknown_resource(), "{}: {e}", target.name);
    }
}

/// Records every progress update.
#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, Option<u64>)>>);

impl Progress for Recorder {
    fn update(&self, _: &Digest, done: u64, total: Option<u64>) {
        self.0.lock().expect("the progress records").push((done, total));
    }
}

impl Recorder {
    /// Checks the updates only go up, to `total`, and returns how many there were.
    fn check(&self, total: u64, what: &str) -> usize {
        let seen = self.0.lock().expect("the progress records");
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{what}: not increasing: {seen:?}");
        assert!(seen.iter().all(|&(_, t)| t == Some(total)), "{what}: {seen:?}");
        assert_eq!(seen.last().map(|&(done, _)| done), Some(total), "{what}");
        seen.len()
    }
}

#[tokio::test]
async fn progress_goes_up_to_the_total() {
    for target in targets("progress_goes_up_to_the_total").await {
        let reference = target.repo(&target.repository("progress"));
        let bytes = random(3 * MIB);
        let descriptor = layer(&bytes);
        let total = bytes.len() as u64;
        for (policy, form) in [
            (UploadPolicy::Chunked { chunk_size: 512 << 10 }, Form::Bytes),
            (UploadPolicy::Monolithic, Form::Stream),
        ] {
            let recorder = Arc::new(Recorder::default());
            let options = PushOptions::default()
                .with_policy(policy)
                .with_skip_existing(false)
                .with_progress(Arc::clone(&recorder) as Arc<dyn Progress>);
            target.client.push_blob(&reference, &descriptor, content(&bytes, form), options).await.unwrap();
            let what = format!("{}: push {policy:?} {form:?}", target.name);
            assert!(recorder.check(total, &what) >= 6, "{what}");
        }
        let recorder = Arc::new(Recorder::default());
        let options = PullOptions::default().with_progress(Arc::clone(&recorder) as Arc<dyn Progress>);
        let got =
            read_all(target.client.get_blob(&reference, &descriptor, options).await.unwrap()).await.unwrap();
        assert!(got == bytes);
        assert!(recorder.check(total, &format!("{}: pull", target.name)) > 2);
    }
}

#[tokio::test]
async fn pushes_run_on_spawned_tasks() {
    for target in targets("pushes_run_on_spawned_tasks").await {
        let reference = target.repo(&target.repository("spawned"));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let (client, reference) = (target.client.clone(), reference.clone());
                tokio::spawn(async move {
                    let bytes = random(MIB / 2 + i);
                    let descriptor = layer(&bytes);
                    let policy = UploadPolicy::Chunked { chunk_size: 128 << 10 };
                    let options = PushOptions::default().with_policy(policy);
                    client
                        .push_blob(&reference, &descriptor, content(&bytes, Form::Stream), options)
                        .await
                        .unwrap();
                    let stream =
                        client.get_blob(&reference, &descriptor, PullOptions::default()).await.unwrap();
                    let mut reader = stream;
                    let mut back = Vec::new();
                    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut back).await.unwrap();
                    assert!(back == bytes);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    }
}
