//! Blob, upload and manifest verdicts against scripted registries that get things
//! wrong: each fails where a real registry's bug would, whatever our client could make
//! up for (the discovery verdicts are in `discovery_tests.rs`).

#![allow(clippy::unwrap_used)]

use oci_distribution::UploadPolicy;
use oci_spec_types::{Descriptor, DigestAlgorithm, MediaType};
use oci_test_support::scripted::{Reply, Scripted, Seen};

use super::chunked::{self, Flags};
use super::data::{Blob, Manifest};
use super::discovery::ReferrersApi;
use super::{Ctx, Status, blobs, datasets};

/// A context whose client talks to `server` the way the suite's does.
fn ctx(server: &Scripted) -> Ctx {
    Ctx::scripted(server)
}

fn blob() -> Blob {
    blobs::blob_of(&DigestAlgorithm::SHA256, vec![7; 1500])
}

/// A registry that stores nothing but serves `blob` as `serve` says.
async fn serving(serve: fn(&Seen, &Blob) -> Reply) -> Scripted {
    let blob = blob();
    Scripted::start(move |seen| serve(seen, &blob)).await
}

/// A blob served as a registry should.
fn ok(seen: &Seen, blob: &Blob) -> Reply {
    let digest = blob.descriptor.digest.as_str().to_owned();
    Reply::new(200, if seen.method == "GET" { blob.bytes.clone() } else { Vec::new() })
        .header("docker-content-digest", digest)
        .header("content-length", blob.bytes.len().to_string())
}

#[tokio::test]
async fn blob_reads_are_judged_on_the_registry_answer() {
    let server = serving(ok).await;
    assert_eq!(blobs::get_blob(&ctx(&server), &ctx(&server).repo1, &blob()).await.status(), Status::Pass);
    assert_eq!(blobs::head_blob(&ctx(&server), &ctx(&server).repo1, &blob()).await.status(), Status::Pass);

    // Other bytes of the same length; the digest of other content; no length on HEAD.
    let other_bytes = |_: &Seen, blob: &Blob| Reply::new(200, vec![8; blob.bytes.len()]);
    let server = serving(other_bytes).await;
    assert_eq!(blobs::get_blob(&ctx(&server), &ctx(&server).repo1, &blob()).await.status(), Status::Fail);
    let other_digest = |_: &Seen, blob: &Blob| {
        Reply::new(200, blob.bytes.clone())
            .header("docker-content-digest", oci_spec_types::Digest::sha256(b"x").to_string())
    };
    let server = serving(other_digest).await;
    let verdict = blobs::get_blob(&ctx(&server), &ctx(&server).repo1, &blob()).await;
    assert_eq!(verdict.status(), Status::Fail, "{verdict:?}");
    let no_length = |_: &Seen, _: &Blob| Reply::new(200, "");
    let server = serving(no_length).await;
    assert_eq!(blobs::head_blob(&ctx(&server), &ctx(&server).repo1, &blob()).await.status(), Status::Fail);
}

#[tokio::test]
async fn a_delete_of_a_stored_blob_answered_404_fails() {
    let server = Scripted::start(|_| Reply::new(404, "")).await;
    let verdict = blobs::delete_blob(&ctx(&server), &ctx(&server).repo1, &blob().descriptor).await;
    assert_eq!(verdict.status(), Status::Fail, "{verdict:?}");
    // Deletes disabled: a skip.
    let server = Scripted::start(|_| Reply::new(405, "")).await;
    let verdict = blobs::delete_blob(&ctx(&server), &ctx(&server).repo1, &blob().descriptor).await;
    assert_eq!(verdict.status(), Status::Skip, "{verdict:?}");
}

/// An upload session whose `DELETE` answers `delete` and whose status answers `status`
/// afterwards.
fn cancelling(delete: u16, status: u16) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |seen| match seen.method.as_str() {
        "POST" => Reply::new(202, "").header("location", "/v2/t/repo1/blobs/uploads/u"),
        "DELETE" => Reply::new(delete, ""),
        "GET" => Reply::new(status, "").header("range", "0-0"),
        _ => Reply::new(404, ""),
    }
}

#[tokio::test]
async fn a_cancel_that_leaves_the_session_fails() {
    let server = Scripted::start(cancelling(204, 404)).await;
    assert_eq!(chunked::cancel(&ctx(&server)).await.status(), Status::Pass);
    // The session still answers after its DELETE; a DELETE answered 202; no cancel at all.
    for (delete, status, expected) in
        [(204, 204, Status::Fail), (202, 404, Status::Fail), (405, 204, Status::Skip)]
    {
        let server = Scripted::start(cancelling(delete, status)).await;
        let verdict = chunked::cancel(&ctx(&server)).await;
        assert_eq!(verdict.status(), expected, "DELETE {delete}, then {status}: {verdict:?}");
    }
}

/// An upload that takes every chunk wherever it claims to start (distribution 2.8).
fn careless_upload(seen: &Seen) -> Reply {
    let session = "/v2/t/repo1/blobs/uploads/u";
    match seen.method.as_str() {
        "POST" => Reply::new(202, "").header("location", session).header("range", "0-0"),
        "PATCH" => Reply::new(202, "").header("location", session),
        "DELETE" => Reply::new(204, ""),
        _ => Reply::new(404, ""),
    }
}

#[tokio::test]
async fn a_chunk_out_of_order_that_is_taken_fails() {
    let server = Scripted::start(careless_upload).await;
    let blob = blobs::blob_of(&DigestAlgorithm::SHA256, vec![1; 3000]);
    let flags = Flags { out_of_order: true, ..Flags::default() };
    let verdict = chunked::upload(&ctx(&server), &blob.descriptor.digest, &blob.bytes, flags).await;
    assert_eq!(verdict.status(), Status::Fail, "{verdict:?}");
}

#[tokio::test]
async fn an_upload_accepted_on_a_patch_is_not_a_chunked_upload() {
    // ECR's way: the PATCH commits the blob (201); the client copes, the form was not kept.
    let blob = blob();
    let digest = blob.descriptor.digest.to_string();
    let len = blob.bytes.len().to_string();
    let server = Scripted::start(move |seen| match seen.method.as_str() {
        "POST" => Reply::new(202, "").header("location", "/v2/t/repo1/blobs/uploads/u"),
        "PATCH" => Reply::new(201, "")
            .header("location", format!("/v2/t/repo1/blobs/{digest}"))
            .header("docker-content-digest", digest.clone()),
        "HEAD" => Reply::new(200, "").header("content-length", len.clone()),
        _ => Reply::new(404, ""),
    })
    .await;
    let verdict = blobs::typed(&ctx(&server), &blob, UploadPolicy::Chunked { chunk_size: 4096 }, 1).await;
    assert_eq!(verdict.status(), Status::Fail, "{verdict:?}");
}

fn manifest() -> Manifest {
    let bytes =
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    Manifest {
        descriptor: Descriptor::for_bytes(MediaType::IMAGE_INDEX, bytes),
        bytes: bytes.to_vec(),
        subject: None,
        bad_digest: false,
    }
}

/// The verdict of a manifest push to a registry that answers every PUT with `reply`.
async fn pushed(reply: fn() -> Reply) -> Status {
    let server = Scripted::start(move |_| reply()).await;
    let mut stored = super::data::Stored::default();
    let mut api = ReferrersApi::unknown();
    datasets::push_manifest(&ctx(&server), &manifest(), &mut stored, &mut api).await.status()
}

#[tokio::test]
async fn manifest_pushes_are_judged_on_the_registry_answer() {
    assert_eq!(
        pushed(|| Reply::new(201, "")
            .header("location", "/v2/t/repo1/manifests/x")
            .header("docker-content-digest", manifest().descriptor.digest.to_string()))
        .await,
        Status::Pass
    );
    // 200 instead of 201; no Location; the digest of other content.
    assert_eq!(
        pushed(|| Reply::new(200, "").header("location", "/v2/t/repo1/manifests/x")).await,
        Status::Fail
    );
    assert_eq!(pushed(|| Reply::new(201, "")).await, Status::Fail);
    assert_eq!(
        pushed(|| Reply::new(201, "")
            .header("location", "/v2/t/repo1/manifests/x")
            .header("docker-content-digest", oci_spec_types::Digest::sha256(b"x").to_string()))
        .await,
        Status::Fail
    );
}

/// A registry that stores a manifest pushed with `?tag=` and echoes `echo` of its tags.
fn tagging(echo: &'static [&'static str]) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |_| {
        let m = manifest();
        let mut reply = Reply::new(201, "")
            .header("location", format!("/v2/t/repo1/manifests/{}", m.descriptor.digest))
            .header("docker-content-digest", m.descriptor.digest.to_string());
        for tag in echo {
            reply = reply.header("oci-tag", *tag);
        }
        reply
    }
}

#[tokio::test]
async fn tag_parameters_must_each_be_answered_with_oci_tag() {
    let push = |server: Scripted| async move {
        let mut stored = super::data::Stored::default();
        let verdict =
            datasets::push_with_tag_params(&ctx(&server), &manifest(), &["a", "b"], &mut stored).await;
        (verdict.status(), stored.tags.len(), server.requests())
    };
    let (status, tags, requests) = push(Scripted::start(tagging(&["a", "b"])).await).await;
    assert_eq!((status, tags), (Status::Pass, 2));
    assert!(requests[0].ends_with("?tag=a&tag=b"), "{requests:?}");
    // One tag not taken; none at all (a registry that ignores the parameter).
    assert_eq!(push(Scripted::start(tagging(&["a"])).await).await.0, Status::Fail);
    assert_eq!(push(Scripted::start(tagging(&[])).await).await.0, Status::Skip);
}
