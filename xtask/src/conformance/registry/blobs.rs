//! `blobs/<alg>/`: every way of pushing a blob, each pushed blob's head, get and delete,
//! range requests, the empty blobs, and uploads whose content does not match the
//! digest. Upload forms the client offers go through its typed API (`push_blob` with
//! each [`UploadPolicy`], mounts), which must report that the registry followed the
//! form (no resync, no early accept, every byte sent once); what the client rightly
//! refuses to send goes raw ([`chunked`](super::chunked)). Whatever the form, the blob
//! is then read back raw (`HEAD` and `GET`, judged on the registry's own answers) and
//! deleted.

use oci_distribution::http::header::{CONTENT_LENGTH, RANGE};
use oci_distribution::http::{HeaderMap, Method};
use oci_distribution::{Body, PullOptions, PushOptions, PushOutcome, UploadPolicy, UploadStats};
use oci_reference::Repository;
use oci_spec_types::{Descriptor, DigestAlgorithm, MediaType};

use super::chunked::{self, CHUNK_MIN, Flags};
use super::content::Rng;
use super::data::{Blob, DISABLED_BY_DEFAULT, digest_of};
use super::raw;
use super::{Ctx, Recorder, Status, Verdict};

/// The size of the blobs of the upload tests, as upstream.
const BLOB_SIZE: usize = 512;
/// The size of the blob of the range requests.
const RANGE_BLOB_SIZE: usize = 2048;

/// The upload tests of upstream, in its order, each with its own blob.
const UPLOAD_TESTS: [&str; 8] = [
    "post only",
    "post+put",
    "chunked single",
    "stream",
    "mount",
    "mount anonymous",
    "mount missing",
    "post cancel",
];

/// A range request of upstream (`distribution_spec.json`, `conformance_range_tests`):
/// the `Range` header, and the bytes of the 2048-byte blob a `206` must carry (`None`:
/// the answer must be `416`).
pub(super) struct RangeCase {
    pub name: &'static str,
    pub range: &'static str,
    pub bytes: Option<(usize, usize)>,
}

/// The six range requests.
pub(super) const RANGE_CASES: [RangeCase; 6] = [
    RangeCase { name: "range 500-1499", range: "bytes=500-1499", bytes: Some((500, 1500)) },
    RangeCase { name: "range 500-", range: "bytes=500-", bytes: Some((500, 2048)) },
    RangeCase { name: "range -500", range: "bytes=-500", bytes: Some((1548, 2048)) },
    RangeCase { name: "range 2000-5000", range: "bytes=2000-5000", bytes: Some((2000, 2048)) },
    RangeCase { name: "range 500-0", range: "bytes=500-0", bytes: None },
    RangeCase { name: "range 5000-10000", range: "bytes=5000-10000", bytes: None },
];

/// A blob of `size` random bytes digested with `algorithm`.
pub(super) fn random_blob(rng: &mut Rng, algorithm: &DigestAlgorithm, size: usize) -> Blob {
    blob_of(algorithm, rng.bytes(size))
}

/// `bytes` as a blob digested with `algorithm`.
pub(super) fn blob_of(algorithm: &DigestAlgorithm, bytes: Vec<u8>) -> Blob {
    let descriptor =
        Descriptor::new(MediaType::OCTET_STREAM, digest_of(algorithm, &bytes), bytes.len() as u64);
    Blob { descriptor, bytes }
}

/// Runs the blob subtree for `algorithm`.
pub(super) async fn run(ctx: &Ctx, rec: &mut Recorder, algorithm: &DigestAlgorithm) {
    let group = format!("blobs/{algorithm}");
    let mut rng = Rng::new(&group);
    let blobs: Vec<Blob> = UPLOAD_TESTS.iter().map(|_| random_blob(&mut rng, algorithm, BLOB_SIZE)).collect();
    // The blob of "post cancel" is never pushed.
    rec.record(&group, "get-missing", &get_missing(ctx, &blobs[7]).await);

    let mut min_chunk = CHUNK_MIN;
    for (name, blob) in UPLOAD_TESTS.iter().zip(&blobs) {
        let fresh = PushOptions::default().with_skip_existing(false);
        let (pushed, mounted) = match *name {
            "post only" => (post_only(ctx, blob).await, false),
            "post+put" => (typed(ctx, blob, UploadPolicy::Monolithic, 0).await, false),
            "chunked single" => {
                let (probe, min) = chunked::probe_min_chunk(ctx).await;
                min_chunk = min.map_or(CHUNK_MIN, |m| m.max(CHUNK_MIN));
                let chunk = UploadPolicy::Chunked { chunk_size: CHUNK_MIN as u64 };
                (probe.and(typed(ctx, blob, chunk, 1).await), false)
            }
            "stream" => (typed(ctx, blob, UploadPolicy::Streamed, 1).await, false),
            "mount" => {
                (mount(ctx, blob, fresh.with_mount_from(ctx.repo2.clone()), true, Some(true)).await, true)
            }
            "mount anonymous" => {
                (mount(ctx, blob, fresh.with_anonymous_mount(true), true, Some(false)).await, true)
            }
            "mount missing" => {
                (mount(ctx, blob, fresh.with_mount_from(ctx.repo2.clone()), false, None).await, false)
            }
            _ => {
                // Upstream's "post cancel" runs only with OCI_API_BLOBS_UPLOAD_CANCEL.
                let verdict = if ctx.optional.upload_cancel {
                    chunked::cancel(ctx).await
                } else {
                    Verdict::disabled(DISABLED_BY_DEFAULT)
                };
                rec.record(&group, name, &verdict);
                continue;
            }
        };
        finish(ctx, rec, &group, name, blob, &pushed, mounted).await;
    }

    let size = 3 * min_chunk - 5;
    let chunk = (size / 3 + 1).max(min_chunk).min(size);
    for name in [
        "chunked multi",
        "chunked multi and put chunk",
        "chunked out-of-order",
        "chunked out-of-order and put chunk",
    ] {
        let blob = random_blob(&mut rng, algorithm, size);
        let flags = Flags {
            put_last_chunk: name.ends_with("put chunk"),
            out_of_order: name.contains("out-of-order"),
            bad_digest: false,
        };
        let pushed = if name == "chunked multi" {
            typed(ctx, &blob, UploadPolicy::Chunked { chunk_size: chunk as u64 }, 3).await
        } else {
            chunked::upload(ctx, &blob.descriptor.digest, &blob.bytes, flags).await
        };
        finish(ctx, rec, &group, name, &blob, &pushed, false).await;
    }

    range_requests(ctx, rec, &group, random_blob(&mut rng, algorithm, RANGE_BLOB_SIZE)).await;

    for (name, bytes) in [("empty", Vec::new()), ("emptyJSON", b"{}".to_vec())] {
        let blob = blob_of(algorithm, bytes);
        let pushed = typed(ctx, &blob, UploadPolicy::Monolithic, 0).await;
        finish(ctx, rec, &group, name, &blob, &pushed, false).await;
    }

    for name in ["post only", "post+put", "chunked", "chunked and put chunk", "stream"] {
        let mut blob = random_blob(&mut rng, algorithm, size);
        blob.bytes.extend_from_slice(b"oh no");
        rec.record(&group, &format!("bad digest {name}"), &chunked::bad_digest(ctx, name, &blob).await);
    }
}

/// Records the push verdict of test `name`, then the blob's head and get (when the push
/// passed: upstream checks no blob a fallback or an unsupported form left) and its
/// delete (and the delete in repo2 for the mounts) when the blob was stored: after a
/// failed push there is nothing the delete could be judged on.
async fn finish(
    ctx: &Ctx,
    rec: &mut Recorder,
    group: &str,
    name: &str,
    blob: &Blob,
    pushed: &Verdict,
    in_repo2: bool,
) {
    rec.record(group, name, pushed);
    if pushed.status() == Status::Pass {
        rec.record(group, &format!("{name}/head"), &head_blob(ctx, &ctx.repo1, blob).await);
        rec.record(group, &format!("{name}/get"), &get_blob(ctx, &ctx.repo1, blob).await);
    }
    if !matches!(pushed.status(), Status::Pass | Status::Skip) {
        return;
    }
    rec.record(group, &format!("{name}/delete"), &delete_blob(ctx, &ctx.repo1, &blob.descriptor).await);
    if in_repo2 {
        rec.record(
            group,
            &format!("{name}/delete repo2"),
            &delete_blob(ctx, &ctx.repo2, &blob.descriptor).await,
        );
    }
}

/// `GET` of a blob never pushed: 404.
async fn get_missing(ctx: &Ctx, blob: &Blob) -> Verdict {
    let d = &blob.descriptor;
    let options = PullOptions::default().with_max_resumes(0);
    match ctx.client.get_blob_by_digest(&ctx.repo1, &d.digest, Some(d.size), options).await {
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => Verdict::pass(),
        Err(e) => Verdict::fail(format!("GET of a blob never pushed: expected 404, got {e}")),
        Ok(_) => {
            Verdict::fail(format!("GET blobs/{}: expected 404, got 200 for a blob never pushed", d.digest))
        }
    }
}

/// `post only`: one `POST ?digest=` with the content. A registry that opens a session
/// instead (202) has the client `PUT` the content into it: unsupported, as upstream
/// records it.
async fn post_only(ctx: &Ctx, blob: &Blob) -> Verdict {
    let options = PushOptions::default().with_skip_existing(false).with_policy(UploadPolicy::SinglePost);
    match ctx.client.push_blob(&ctx.repo1, &blob.descriptor, blob.bytes.clone(), options).await {
        Ok(PushOutcome::Uploaded(stats)) if stats.policy == UploadPolicy::SinglePost => Verdict::pass(),
        Ok(PushOutcome::Uploaded(_)) => Verdict::skip(
            "single POST unsupported: POST ?digest= with the content was answered 202 with a session; \
             the client sent the content with a PUT into it",
        ),
        Ok(other) => {
            Verdict::fail(format!("POST ?digest=: expected an upload, the client reported {other:?}"))
        }
        Err(e) => Verdict::fail(e.to_string()),
    }
}

/// A push with `policy` that must upload the content with `patches` PATCH requests.
pub(super) async fn typed(ctx: &Ctx, blob: &Blob, policy: UploadPolicy, patches: u32) -> Verdict {
    let options = PushOptions::default().with_skip_existing(false).with_policy(policy);
    let content = if policy == UploadPolicy::Streamed {
        // Of unknown length: the PATCH goes without Content-Length, as a stream does.
        Body::from_reader(std::io::Cursor::new(blob.bytes.clone()), None)
    } else {
        Body::from_bytes(blob.bytes.clone())
    };
    match ctx.client.push_blob(&ctx.repo1, &blob.descriptor, content, options).await {
        Ok(PushOutcome::Uploaded(stats)) => followed(&stats, policy, patches, blob.bytes.len()),
        Ok(other) => Verdict::fail(format!("{policy:?}: expected an upload, the client reported {other:?}")),
        Err(e) => Verdict::fail(e.to_string()),
    }
}

/// Whether the registry answered an upload of `len` bytes as `policy` with `patches`
/// `PATCH` requests the way the form goes: every chunk taken where it was sent (no
/// resync), the blob committed by the closing `PUT` (not accepted on a `PATCH`), and
/// every byte sent once.
fn followed(stats: &UploadStats, policy: UploadPolicy, patches: u32, len: usize) -> Verdict {
    Verdict::check(
        stats.policy == policy
            && stats.patches == patches
            && stats.resyncs == 0
            && !stats.early_accept
            && stats.bytes_sent == len as u64,
        || {
            format!(
                "{policy:?}: expected {patches} PATCH(es), no resync, the commit by PUT and {len} bytes sent \
                 once; the client reported {stats:?}"
            )
        },
    )
}

/// A mount (`options` names the source, or asks for an anonymous mount) after pushing
/// the blob to repo2 when `seed_repo2`. `expect_mount`: `Some(true)` when the source has
/// it (201 passes, 202 is unsupported), `Some(false)` the same for the anonymous mount,
/// `None` when the source never had it (201 fails, 202 then an upload passes).
async fn mount(
    ctx: &Ctx,
    blob: &Blob,
    options: PushOptions,
    seed_repo2: bool,
    expect_mount: Option<bool>,
) -> Verdict {
    if seed_repo2 {
        let seed = PushOptions::default().with_skip_existing(false);
        if let Err(e) = ctx.client.push_blob(&ctx.repo2, &blob.descriptor, blob.bytes.clone(), seed).await {
            return Verdict::fail(format!("pushing the blob to repo2 first: {e}"));
        }
    }
    let what = if expect_mount == Some(false) { "anonymous mount" } else { "mount" };
    let outcome = ctx.client.push_blob(&ctx.repo1, &blob.descriptor, blob.bytes.clone(), options).await;
    match (outcome, expect_mount) {
        (Ok(PushOutcome::Mounted { .. }), Some(_)) => Verdict::pass(),
        (Ok(PushOutcome::Mounted { .. }), None) => Verdict::fail(format!(
            "POST ?mount={}&from=repo2 answered 201 for a blob repo2 never had",
            blob.descriptor.digest
        )),
        (Ok(PushOutcome::Uploaded(stats)), Some(_)) if stats.mount_session => Verdict::skip(format!(
            "{what} unsupported: the registry answered the mount with 202 and an upload session; \
             the client uploaded the blob into it"
        )),
        (Ok(PushOutcome::Uploaded(stats)), None) if stats.mount_session => Verdict::pass(),
        (Ok(other), _) => Verdict::fail(format!(
            "{what}: expected 201 or 202 with a session, the client reported {other:?} (the mount was refused)"
        )),
        (Err(e), _) => Verdict::fail(e.to_string()),
    }
}

/// `method /v2/<repository>/blobs/<digest>`, raw.
async fn blob_request(
    ctx: &Ctx,
    repository: &Repository,
    method: Method,
    d: &Descriptor,
) -> Result<raw::Exchange, String> {
    let target = format!("/v2/{}/blobs/{}", repository.path(), d.digest);
    raw::send(&ctx.client, repository, method, &target, HeaderMap::new(), Vec::new().into()).await
}

/// `HEAD` of a pushed blob: 200, `Content-Length` its size, `Docker-Content-Digest`
/// (when sent) its digest.
pub(super) async fn head_blob(ctx: &Ctx, repository: &Repository, blob: &Blob) -> Verdict {
    let d = &blob.descriptor;
    let check = async {
        let ex = blob_request(ctx, repository, Method::HEAD, d).await?;
        ex.expect(&[200])?;
        ex.expect_length(d.size)?;
        ex.check_digest_header(&d.digest, &blob.bytes)
    };
    match check.await {
        Ok(None) => Verdict::pass(),
        Ok(Some(note)) => Verdict::pass_with_note(note),
        Err(e) => Verdict::fail(e),
    }
}

/// `GET` of a pushed blob: 200 (redirects followed, as the spec allows for blobs),
/// `Content-Length` its size, its exact bytes in one answer, `Docker-Content-Digest`
/// (when sent) its digest.
pub(super) async fn get_blob(ctx: &Ctx, repository: &Repository, blob: &Blob) -> Verdict {
    let d = &blob.descriptor;
    let check = async {
        let ex = blob_request(ctx, repository, Method::GET, d).await?;
        ex.expect(&[200])?;
        ex.expect_length(d.size)?;
        if let Some(e) = &ex.body_error {
            return Err(format!("{}: the body broke off: {e}", ex.request));
        }
        if ex.body.as_ref() != blob.bytes.as_slice() {
            return Err(format!("{}: {} bytes that are not the blob's", ex.request, ex.body.len()));
        }
        ex.check_digest_header(&d.digest, &blob.bytes)
    };
    match check.await {
        Ok(None) => Verdict::pass(),
        Ok(Some(note)) => Verdict::pass_with_note(note),
        Err(e) => Verdict::fail(e),
    }
}

/// `DELETE` of a blob this run stored: 202 (405: deletes unsupported; a 404 for a blob
/// the registry holds is wrong, though upstream lets it pass), then `HEAD` must answer
/// 404 at once.
pub(super) async fn delete_blob(ctx: &Ctx, repository: &Repository, d: &Descriptor) -> Verdict {
    let ex = match blob_request(ctx, repository, Method::DELETE, d).await {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    match ex.status.as_u16() {
        202 => {}
        405 => return Verdict::skip(format!("blob delete unsupported: {}", ex.describe())),
        _ => return Verdict::fail(format!("expected 202 for a stored blob, got {}", ex.describe())),
    }
    match blob_request(ctx, repository, Method::HEAD, d).await {
        Ok(head) if head.status.as_u16() == 404 => Verdict::pass(),
        Ok(head) => Verdict::fail(format!("after its DELETE: expected 404, got {}", head.describe())),
        Err(e) => Verdict::fail(e),
    }
}

/// `range requests/`: a 2048-byte blob, the six requests, the delete.
async fn range_requests(ctx: &Ctx, rec: &mut Recorder, group: &str, blob: Blob) {
    let group = format!("{group}/range requests");
    let options = PushOptions::default().with_skip_existing(false);
    if let Err(e) = ctx.client.push_blob(&ctx.repo1, &blob.descriptor, blob.bytes.clone(), options).await {
        rec.record(&group, "", &Verdict::fail(format!("pushing the 2048-byte blob: {e}")));
        return;
    }
    for case in &RANGE_CASES {
        rec.record(&group, case.name, &range_request(ctx, &blob, case).await);
    }
    rec.record(&group, "delete", &delete_blob(ctx, &ctx.repo1, &blob.descriptor).await);
}

async fn range_request(ctx: &Ctx, blob: &Blob, case: &RangeCase) -> Verdict {
    let target = format!("/v2/{}/blobs/{}", ctx.repo1.path(), blob.descriptor.digest);
    let headers = raw::header(RANGE, case.range);
    let ex = match raw::send(&ctx.client, &ctx.repo1, Method::GET, &target, headers, Vec::new().into()).await
    {
        Ok(ex) => ex,
        Err(e) => return Verdict::fail(e),
    };
    let sent = format!("Range: {}", case.range);
    let length = ex.header(CONTENT_LENGTH.as_str()).unwrap_or("none").to_owned();
    if ex.status.as_u16() == 200 && ex.body.as_ref() == blob.bytes.as_slice() && length == "2048" {
        return Verdict::skip(format!(
            "range requests unsupported: {sent} was answered with the whole blob (200)"
        ));
    }
    let Some((first, end)) = case.bytes else {
        return match ex.expect(&[416]) {
            Ok(()) => Verdict::pass(),
            Err(e) => Verdict::fail(format!("{sent}: {e}")),
        };
    };
    if let Err(e) = ex.expect(&[206]) {
        return Verdict::fail(format!("{sent}: {e}"));
    }
    let last = end - 1;
    let content_range = ex.header("content-range").unwrap_or("none");
    let ranges = [format!("bytes {first}-{last}/{RANGE_BLOB_SIZE}"), format!("bytes {first}-{last}/*")];
    let mut verdict = Verdict::check(ranges.iter().any(|r| r == content_range), || {
        format!("{sent}: Content-Range {content_range:?}, expected {:?} or {:?}", ranges[0], ranges[1])
    });
    verdict.add(Verdict::check(length == (end - first).to_string(), || {
        format!("{sent}: Content-Length {length}, expected {}", end - first)
    }));
    verdict.add(Verdict::check(ex.body.as_ref() == &blob.bytes[first..end], || {
        format!("{sent}: a body of {} bytes that is not bytes {first}..{end} of the blob", ex.body.len())
    }));
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_cases_are_the_vectors() {
        let path = crate::workspace::root().join("conformance/vectors/distribution_spec.json");
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let vector = &json["conformance_range_tests"];
        assert_eq!(vector["blob_length"], RANGE_BLOB_SIZE);
        let cases = vector["cases"].as_array().unwrap();
        assert_eq!(cases.len(), RANGE_CASES.len());
        for (v, ours) in cases.iter().zip(&RANGE_CASES) {
            assert_eq!(v["name"], ours.name);
            assert_eq!(v["request_range"], ours.range);
            match ours.bytes {
                Some((first, end)) => {
                    assert_eq!(v["expect_status"], 206);
                    assert_eq!(v["expect_content_length"], end - first);
                    let ranges = v["expect_content_range_any_of"].as_array().unwrap();
                    assert_eq!(ranges[0], format!("bytes {first}-{}/2048", end - 1));
                    assert_eq!(ranges[1], format!("bytes {first}-{}/*", end - 1));
                }
                None => assert_eq!(v["expect_status"], 416),
            }
        }
    }

    #[test]
    fn blobs_are_digested_with_the_algorithm() {
        let blob = random_blob(&mut Rng::new("x"), &DigestAlgorithm::SHA512, 512);
        assert_eq!(blob.descriptor.digest.algorithm(), DigestAlgorithm::SHA512);
        assert!(blob.descriptor.digest.verify(&blob.bytes).unwrap());
        assert_eq!(
            blob_of(&DigestAlgorithm::SHA256, Vec::new()).descriptor.digest,
            oci_spec_types::Digest::sha256(b"")
        );
    }
}
