//! The verbs that look at or change one thing in a registry: tags, the catalog,
//! referrers, a manifest, a blob.

use std::io::Write as _;

use oci::distribution::{ListOptions, PullOptions, ReferrersOptions};
use oci::{MediaType, Reference};
use serde_json::json;

use crate::args::{BlobCommand, Global, ManifestCommand};
use crate::client::client;
use crate::exit::{self, Failure};
use crate::output::print;

type Result<T = ()> = std::result::Result<T, Failure>;

/// A reference as `docker pull` reads it (a `docker://` prefix allowed).
pub(crate) fn reference(s: &str) -> Result<Reference> {
    let bare = s.strip_prefix("docker://").unwrap_or(s);
    Reference::parse(bare).map_err(|e| Failure::usage(format!("{s:?}: {e}")))
}

/// `REPOSITORY@DIGEST`, with the digest.
fn by_digest(s: &str) -> Result<(Reference, oci::Digest)> {
    let r = reference(s)?;
    let digest = r
        .digest()
        .cloned()
        .ok_or_else(|| Failure::usage(format!("{s}: name a blob as REPOSITORY@DIGEST")))?;
    Ok((r, digest))
}

/// `r` by digest: as given, or the manifest its tag (`latest` when none) names now.
pub(crate) async fn pinned(client: &oci::Client, r: Reference) -> Result<Reference> {
    if r.digest().is_some() {
        return Ok(r);
    }
    let r = r.with_default_tag();
    let found = client.head_manifest(&r).await.map_err(|e| Failure::of(&e))?;
    let found = found.ok_or_else(|| Failure::new(exit::NOT_FOUND, format!("{r}: no such manifest")))?;
    r.repository().with_digest(&found.digest).map_err(|e| Failure::usage(e.to_string()))
}

/// Pushes the file at `path` to `repository` as a blob of `media_type`: hashed first
/// (the digest goes in the upload), then streamed from the file. Its descriptor.
pub(crate) async fn push_file(
    client: &oci::Client,
    repository: &oci::Repository,
    path: &str,
    media_type: MediaType,
) -> Result<oci::Descriptor> {
    let failed = |e: std::io::Error| Failure::new(exit::FAILURE, format!("{path}: {e}"));
    let mut digester = oci::spec::Digester::sha256();
    std::io::copy(&mut std::fs::File::open(path).map_err(failed)?, &mut digester).map_err(failed)?;
    let size = digester.bytes_written();
    let descriptor = oci::Descriptor::new(media_type, digester.finalize(), size);
    let content = tokio::fs::File::open(path).await.map_err(failed)?;
    let body = oci::distribution::Body::from_reader(content, Some(size));
    client
        .push_blob(repository, &descriptor, body, oci::distribution::PushOptions::default())
        .await
        .map_err(|e| Failure::of(&e))?;
    Ok(descriptor)
}

fn lines(items: &[String]) -> String {
    items.join("\n")
}

pub(crate) async fn tags(global: &Global, repository: &str, all: bool) -> Result {
    let repository = reference(repository)?.repository();
    let options = if all { ListOptions::all_pages() } else { ListOptions::default() };
    let list = client(global)?.tags(&repository, options).await.map_err(|e| Failure::of(&e))?;
    print(global.json, &json!({ "name": repository.to_string(), "tags": list.tags }), &lines(&list.tags))
}

pub(crate) async fn catalog(global: &Global, registry: &str) -> Result {
    let (registry, _) = crate::client::registry(registry)?;
    let list =
        client(global)?.catalog(&registry, ListOptions::all_pages()).await.map_err(|e| Failure::of(&e))?;
    print(global.json, &json!({ "repositories": list.repositories }), &lines(&list.repositories))
}

pub(crate) async fn referrers(global: &Global, subject: &str, artifact_type: Option<&str>) -> Result {
    let client = client(global)?;
    let subject = pinned(&client, reference(subject)?).await?;
    let mut options = ReferrersOptions::default();
    if let Some(t) = artifact_type {
        options = options.with_artifact_type(MediaType::from(t));
    }
    let found = client.referrers(&subject, options).await.map_err(|e| Failure::of(&e))?;
    let value = json!({
        "subject": subject.to_string(),
        "referrers": found.iter().map(|d| json!({
            "digest": d.digest.to_string(),
            "mediaType": d.media_type.to_string(),
            "artifactType": d.artifact_type.as_ref().map(ToString::to_string),
            "size": d.size,
        })).collect::<Vec<_>>(),
    });
    let text: Vec<String> = found
        .iter()
        .map(|d| format!("{} {}", d.digest, d.artifact_type.as_ref().map_or("-", |t| t.as_str())))
        .collect();
    print(global.json, &value, &lines(&text))
}

pub(crate) async fn manifest(global: &Global, command: ManifestCommand) -> Result {
    let client = client(global)?;
    match command {
        ManifestCommand::Get { reference: r } => {
            let r = reference(&r)?.with_default_tag();
            let document = client.get_manifest(&r).await.map_err(|e| Failure::of(&e))?;
            write_out(document.bytes())
        }
        ManifestCommand::Put { reference: r, file, media_type } => {
            let r = reference(&r)?.with_default_tag();
            let bytes = match file.as_deref() {
                None | Some("-") => {
                    let mut bytes = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                        .map_err(|e| Failure::new(exit::FAILURE, format!("reading stdin: {e}")))?;
                    bytes
                }
                Some(path) => {
                    std::fs::read(path).map_err(|e| Failure::new(exit::FAILURE, format!("{path}: {e}")))?
                }
            };
            let media_type = media_type.as_deref().map(MediaType::from);
            let document = oci::Document::manifest(bytes, media_type.as_ref())
                .map_err(|e| Failure::usage(format!("not a manifest: {e}")))?;
            client.put_manifest(&r, &document).await.map_err(|e| Failure::of(&e))?;
            let digest = document.digest().to_string();
            print(global.json, &json!({ "reference": r.to_string(), "digest": digest }), &digest)
        }
        ManifestCommand::Delete { reference: r } => {
            let r = pinned(&client, reference(&r)?).await?;
            client.delete_manifest(&r).await.map_err(|e| Failure::of(&e))?;
            print(global.json, &json!({ "deleted": r.to_string() }), &format!("deleted {r}"))
        }
    }
}

pub(crate) async fn blob(global: &Global, command: BlobCommand) -> Result {
    let client = client(global)?;
    match command {
        BlobCommand::Head { reference: r } => {
            let (r, digest) = by_digest(&r)?;
            let size = client.head_blob(&r.repository(), &digest).await.map_err(|e| Failure::of(&e))?;
            let size = size.ok_or_else(|| Failure::new(exit::NOT_FOUND, format!("{r}: no such blob")))?;
            print(global.json, &json!({ "digest": digest.to_string(), "size": size }), &size.to_string())
        }
        BlobCommand::Get { reference: r, output } => {
            let (r, digest) = by_digest(&r)?;
            let repository = r.repository();
            let size = client.head_blob(&repository, &digest).await.map_err(|e| Failure::of(&e))?;
            let size = size.ok_or_else(|| Failure::new(exit::NOT_FOUND, format!("{r}: no such blob")))?;
            let descriptor = oci::Descriptor::new(MediaType::from("application/octet-stream"), digest, size);
            let mut stream = client
                .get_blob(&repository, &descriptor, PullOptions::default())
                .await
                .map_err(|e| Failure::of(&e))?;
            // To a file: written beside it, renamed into place once verified.
            let (mut sink, partial): (Box<dyn std::io::Write>, Option<(String, String)>) = match &output {
                Some(path) => {
                    let tmp = format!("{path}.oci-partial");
                    let file = std::fs::File::create(&tmp)
                        .map_err(|e| Failure::new(exit::FAILURE, format!("{tmp}: {e}")))?;
                    (Box::new(std::io::BufWriter::new(file)), Some((tmp, path.clone())))
                }
                None => (Box::new(std::io::stdout().lock()), None),
            };
            let copied = async {
                while let Some(chunk) = stream.next_chunk().await.map_err(|e| Failure::of(&e))? {
                    sink.write_all(&chunk)
                        .map_err(|e| Failure::new(exit::FAILURE, format!("writing: {e}")))?;
                }
                sink.flush().map_err(|e| Failure::new(exit::FAILURE, format!("writing: {e}")))
            }
            .await;
            drop(sink);
            match (copied, partial) {
                (Ok(()), Some((tmp, path))) => std::fs::rename(&tmp, &path)
                    .map_err(|e| Failure::new(exit::FAILURE, format!("{path}: {e}"))),
                (Err(e), Some((tmp, _))) => {
                    let _ = std::fs::remove_file(tmp);
                    Err(e)
                }
                (outcome, None) => outcome,
            }
        }
        BlobCommand::Put { repository, file } => {
            let repository = reference(&repository)?.repository();
            let descriptor =
                push_file(&client, &repository, &file, MediaType::from("application/octet-stream")).await?;
            let size = descriptor.size;
            let digest = descriptor.digest.to_string();
            print(
                global.json,
                &json!({ "repository": repository.to_string(), "digest": digest, "size": size }),
                &digest,
            )
        }
        BlobCommand::Delete { reference: r } => {
            let (r, digest) = by_digest(&r)?;
            client.delete_blob(&r.repository(), &digest).await.map_err(|e| Failure::of(&e))?;
            print(global.json, &json!({ "deleted": r.to_string() }), &format!("deleted {r}"))
        }
    }
}

/// Writes `bytes` to stdout as they are.
fn write_out(bytes: &[u8]) -> Result {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::new(exit::FAILURE, format!("writing to stdout: {e}")))
}
