//! Raw uploads, request by request as upstream's `api.go` sends them: chunked uploads
//! with the last chunk in the closing `PUT`, chunks sent out of order (each answered
//! 416, then the upload's status asked and the upload resumed), and uploads whose
//! content does not match the digest they are committed under (400).

use bytes::Bytes;
use oci_distribution::http::header::CONTENT_LENGTH;
use oci_distribution::http::{HeaderMap, Method};
use oci_spec_types::Digest;

use super::data::Blob;
use super::raw::{self, Exchange, octet_stream, with_query};
use super::{Ctx, Verdict};

/// The smallest chunk upstream sends.
pub(super) const CHUNK_MIN: usize = 1024;

/// How a raw chunked upload goes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Flags {
    /// Send the last chunk in the closing `PUT ?digest=` (with `Content-Range`).
    pub put_last_chunk: bool,
    /// Before each chunk, send one that does not start where the upload is.
    pub out_of_order: bool,
    /// The content does not match the digest: the commit must be refused with 400.
    pub bad_digest: bool,
}

/// A step of an upload: its value, or the verdict that ends the upload (a failure, or
/// a feature the registry lacks).
type Step<T> = Result<T, Verdict>;

async fn send(ctx: &Ctx, method: Method, target: &str, headers: HeaderMap, body: &[u8]) -> Step<Exchange> {
    Ok(raw::send(&ctx.client, &ctx.repo1, method, target, headers, Bytes::copy_from_slice(body)).await?)
}

fn uploads(ctx: &Ctx) -> String {
    format!("/v2/{}/blobs/uploads/", ctx.repo1.path())
}

/// `POST` to open an upload (`Content-Length: 0`): 202 with a `Location`.
async fn open(ctx: &Ctx) -> Step<Exchange> {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_LENGTH, 0.into());
    let post = send(ctx, Method::POST, &uploads(ctx), headers, &[]).await?;
    post.expect(&[202]).map_err(|e| format!("opening an upload: {e}"))?;
    Ok(post)
}

/// Opens an upload and cancels it: `DELETE` on its URL must answer 204, and the
/// session be gone (404) after; 405 or 501 means the registry cannot cancel.
pub(super) async fn cancel(ctx: &Ctx) -> Verdict {
    match try_cancel(ctx).await {
        Ok(verdict) | Err(verdict) => verdict,
    }
}

async fn try_cancel(ctx: &Ctx) -> Step<Verdict> {
    let post = open(ctx).await?;
    let Some(location) = post.header("location").map(str::to_owned) else {
        return Ok(Verdict::fail(format!("opening an upload: no Location: {}", post.describe())));
    };
    let delete = send(ctx, Method::DELETE, &location, HeaderMap::new(), &[]).await?;
    if matches!(delete.status.as_u16(), 405 | 501) {
        return Ok(Verdict::skip(format!("upload cancel unsupported: {}", delete.describe())));
    }
    delete.expect(&[204]).map_err(|e| format!("cancelling the upload: {e}"))?;
    let status = send(ctx, Method::GET, &location, HeaderMap::new(), &[]).await?;
    status.expect(&[404]).map_err(|e| format!("the upload's status after it was cancelled: {e}"))?;
    Ok(Verdict::pass())
}

/// Opens an upload to read the registry's `OCI-Chunk-Min-Length`, then cancels it
/// (whatever the cancel answers: upstream does not require it).
pub(super) async fn probe_min_chunk(ctx: &Ctx) -> (Verdict, Option<usize>) {
    let post = match open(ctx).await {
        Ok(post) => post,
        Err(verdict) => return (verdict, None),
    };
    let min = post.header("oci-chunk-min-length").and_then(|v| v.trim().parse::<usize>().ok());
    if let Ok(location) = post.location() {
        let _ = raw::send(&ctx.client, &ctx.repo1, Method::DELETE, &location, HeaderMap::new(), Bytes::new())
            .await;
    }
    (Verdict::pass(), min)
}

/// Upstream's `BlobPatchChunked` for `bytes` under `digest`, with `flags`.
pub(super) async fn upload(ctx: &Ctx, digest: &Digest, bytes: &[u8], flags: Flags) -> Verdict {
    try_upload(ctx, digest, bytes, flags).await.unwrap_or_else(|verdict| verdict)
}

async fn try_upload(ctx: &Ctx, digest: &Digest, bytes: &[u8], flags: Flags) -> Step<Verdict> {
    let post = open(ctx).await?;
    let min = post.header("oci-chunk-min-length").and_then(|v| v.trim().parse::<usize>().ok());
    let mut location = post.location()?;
    let len = bytes.len();
    let chunk = (len / 3 + 1).max(min.unwrap_or(0)).max(CHUNK_MIN).min(len);
    let commit = if flags.bad_digest { 400 } else { 201 };
    let mut next = 0; // the first byte the registry does not have yet
    let mut committed: Option<Exchange> = None;
    while next < len {
        if flags.out_of_order {
            location = out_of_order(ctx, digest, bytes, &location, next, chunk, flags).await?;
        }
        let (start, end) = (next, (next + chunk).min(len));
        let headers = octet_stream(Some(end - start), Some((start, end - 1)));
        if flags.put_last_chunk && end == len {
            let put = send(
                ctx,
                Method::PUT,
                &with_query(&location, "digest", digest.as_str()),
                headers,
                &bytes[start..end],
            )
            .await?;
            put.expect(&[commit]).map_err(|e| format!("the last chunk in the closing PUT: {e}"))?;
            committed = Some(put);
        } else {
            let patch = send(ctx, Method::PATCH, &location, headers, &bytes[start..end]).await?;
            patch.expect(&[202]).map_err(|e| format!("chunk {start}-{}: {e}", end - 1))?;
            location = patch.location()?;
        }
        next = end;
    }
    let put = if let Some(put) = committed {
        put
    } else {
        let target = with_query(&location, "digest", digest.as_str());
        let put = send(ctx, Method::PUT, &target, octet_stream(Some(0), None), &[]).await?;
        put.expect(&[commit]).map_err(|e| format!("the closing PUT: {e}"))?;
        put
    };
    if flags.bad_digest {
        return Ok(Verdict::pass());
    }
    verify_commit(ctx, &put, digest, bytes).await
}

/// Sends the chunk `chunk` bytes ahead of `next` (or from 0 when that is past the end),
/// which must be refused with 416, then asks the upload's status, which must say the
/// registry holds `0-<next - 1>`. Returns the location to go on with.
async fn out_of_order(
    ctx: &Ctx,
    digest: &Digest,
    bytes: &[u8],
    location: &str,
    next: usize,
    chunk: usize,
    flags: Flags,
) -> Step<String> {
    let len = bytes.len();
    let start = if next + chunk >= len { 0 } else { next + chunk };
    let end = (start + chunk).min(len);
    let headers = octet_stream(Some(end - start), Some((start, end - 1)));
    let (method, target) = if flags.put_last_chunk && end == len {
        (Method::PUT, with_query(location, "digest", digest.as_str()))
    } else {
        (Method::PATCH, location.to_owned())
    };
    let bad = send(ctx, method, &target, headers, &bytes[start..end]).await?;
    if bad.status.is_success() {
        // The registry took the chunk wherever it claimed to start (or committed content
        // that is not the blob): drop the spoiled upload, and fail.
        let _ = send(ctx, Method::DELETE, bad.header("location").unwrap_or(location), HeaderMap::new(), &[])
            .await;
        return Err(Verdict::fail(format!(
            "a chunk out of order ({start}-{}) was taken, not refused with 416: {}",
            end - 1,
            bad.describe()
        )));
    }
    bad.expect(&[416]).map_err(|e| format!("a chunk out of order ({start}-{}): {e}", end - 1))?;
    let location = bad.header("location").unwrap_or(location).to_owned();
    let status = send(ctx, Method::GET, &location, HeaderMap::new(), &[]).await?;
    status.expect(&[204]).map_err(|e| format!("the upload's status after a 416: {e}"))?;
    let range = status.header("range").unwrap_or("");
    let held = range.strip_prefix("0-").and_then(|n| n.parse::<usize>().ok()).ok_or_else(|| {
        format!("the upload's status: Range {range:?} is not 0-<last byte>: {}", status.describe())
    })?;
    // Before the first chunk the registry holds nothing, which distribution-spec
    // registries write `0-0` (the range cannot say "empty").
    if held != next.saturating_sub(1) {
        let why = format!(
            "the upload's status says Range 0-{held}, expected 0-{}: {}",
            next.saturating_sub(1),
            status.describe()
        );
        return Err(why.into());
    }
    Ok(status.header("location").unwrap_or(&location).to_owned())
}

/// After a commit: `Docker-Content-Digest` names the content, and `GET <Location>`
/// answers the content.
async fn verify_commit(ctx: &Ctx, put: &Exchange, digest: &Digest, bytes: &[u8]) -> Step<Verdict> {
    let mut verdict = Verdict::pass();
    if let Some(note) = put.check_digest_header(digest, bytes)? {
        verdict.note(note);
    }
    let location = put.location()?;
    let get = send(ctx, Method::GET, &location, HeaderMap::new(), &[]).await?;
    get.expect(&[200]).map_err(|e| format!("GET of the Location of the commit: {e}"))?;
    if get.body.as_ref() != bytes {
        return Err(format!("{}: {} bytes that are not the blob's", get.request, get.body.len()).into());
    }
    Ok(verdict)
}

/// `bad digest <name>`: `blob` holds five bytes more than its digest covers; the
/// upload's commit must be refused with 400.
pub(super) async fn bad_digest(ctx: &Ctx, name: &str, blob: &Blob) -> Verdict {
    let digest = &blob.descriptor.digest;
    let flags = Flags { bad_digest: true, ..Flags::default() };
    let result = match name {
        "post only" => bad_post_only(ctx, digest, &blob.bytes).await,
        "post+put" => bad_post_put(ctx, digest, &blob.bytes).await,
        "chunked" => return upload(ctx, digest, &blob.bytes, flags).await,
        "chunked and put chunk" => {
            return upload(ctx, digest, &blob.bytes, Flags { put_last_chunk: true, ..flags }).await;
        }
        _ => bad_stream(ctx, digest, &blob.bytes).await,
    };
    result.map_or_else(|verdict| verdict, |()| Verdict::pass())
}

/// `POST ?digest=` with the content: 400, or 202 and then the `PUT` into the session 400.
async fn bad_post_only(ctx: &Ctx, digest: &Digest, bytes: &[u8]) -> Step<()> {
    let target = with_query(&uploads(ctx), "digest", digest.as_str());
    let post = send(ctx, Method::POST, &target, octet_stream(Some(bytes.len()), None), bytes).await?;
    post.expect(&[400, 202])?;
    if post.status.as_u16() == 202 {
        let put = with_query(&post.location()?, "digest", digest.as_str());
        let put = send(ctx, Method::PUT, &put, octet_stream(Some(bytes.len()), None), bytes).await?;
        put.expect(&[400])?;
    }
    Ok(())
}

/// `POST`, then `PUT ?digest=` with the content: 400.
async fn bad_post_put(ctx: &Ctx, digest: &Digest, bytes: &[u8]) -> Step<()> {
    let post = open(ctx).await?;
    let put = with_query(&post.location()?, "digest", digest.as_str());
    Ok(send(ctx, Method::PUT, &put, octet_stream(Some(bytes.len()), None), bytes).await?.expect(&[400])?)
}

/// `POST`, one `PATCH` with the content (no `Content-Range`), then `PUT ?digest=`: 400.
async fn bad_stream(ctx: &Ctx, digest: &Digest, bytes: &[u8]) -> Step<()> {
    let post = open(ctx).await?;
    let patch = send(ctx, Method::PATCH, &post.location()?, octet_stream(None, None), bytes).await?;
    patch.expect(&[202])?;
    let put = with_query(&patch.location()?, "digest", digest.as_str());
    Ok(send(ctx, Method::PUT, &put, octet_stream(Some(0), None), &[]).await?.expect(&[400])?)
}
