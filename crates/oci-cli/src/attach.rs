//! `oci attach`: an artifact manifest whose subject is an image, pushed beside it. The
//! client keeps the referrers fallback tag up to date on registries without the
//! referrers API.

use std::path::Path;

use oci::spec::{Annotations, ImageManifest};
use oci::{Descriptor, Document, MediaType};
use serde_json::json;

use crate::args::{AttachArgs, Global};
use crate::client::client;
use crate::exit::{self, Failure};
use crate::manage::{push_file, reference};
use crate::output::print;

/// A file of the artifact: `PATH`, or `PATH:MEDIA_TYPE` when `PATH` alone is no file
/// and what follows the last `:` is a media type.
fn file_and_type(arg: &str) -> (&str, MediaType) {
    let octets = || MediaType::from("application/octet-stream");
    if Path::new(arg).exists() {
        return (arg, octets());
    }
    match arg.rsplit_once(':') {
        Some((path, media_type)) if media_type.contains('/') && !path.is_empty() => {
            (path, MediaType::from(media_type))
        }
        _ => (arg, octets()),
    }
}

fn annotations(args: &[String]) -> Result<Annotations, Failure> {
    let mut annotations = Annotations::new();
    for a in args {
        let (key, value) = a
            .split_once('=')
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| Failure::usage(format!("--annotation {a:?}: expected KEY=VALUE")))?;
        annotations.insert(key, value);
    }
    Ok(annotations)
}

pub(crate) async fn attach(global: &Global, args: AttachArgs) -> Result<(), Failure> {
    let mut annotations = annotations(&args.annotation)?;
    let files: Vec<(&str, MediaType)> = args.files.iter().map(|f| file_and_type(f)).collect();
    if let Some((path, _)) = files.iter().find(|(p, _)| !Path::new(p).is_file()) {
        return Err(Failure::new(exit::FAILURE, format!("{path}: no such file")));
    }
    let client = client(global)?;
    let named = reference(&args.reference)?.with_default_tag();
    let repository = named.repository();
    let subject = client.get_manifest(&named).await.map_err(|e| Failure::of(&e))?;
    let subject = subject.descriptor();

    // The blobs first, so that the manifest never names one the registry lacks.
    let config = Descriptor::empty();
    let empty = oci::distribution::Body::from(config.data.clone().unwrap_or_default());
    client
        .push_blob(&repository, &config, empty, oci::distribution::PushOptions::default())
        .await
        .map_err(|e| Failure::of(&e))?;
    let mut layers = Vec::with_capacity(files.len());
    for (path, media_type) in files {
        let title = Path::new(path).file_name().map_or(path.into(), |n| n.to_string_lossy());
        let layer = push_file(&client, &repository, path, media_type).await?;
        layers.push(layer.with_annotation(Annotations::TITLE, title));
    }
    if layers.is_empty() {
        // The image-spec's guidance for an artifact without content.
        layers.push(Descriptor::empty());
    }
    if annotations.get(Annotations::CREATED).is_none() {
        annotations.insert(Annotations::CREATED, oci::spec::Timestamp::now().as_str());
    }
    let mut manifest = ImageManifest::new(config, layers)
        .with_artifact_type(MediaType::from(args.artifact_type.as_str()))
        .with_subject(subject.clone());
    manifest.annotations = annotations;
    let document = Document::new(manifest).map_err(|e| Failure::new(exit::FAILURE, e.to_string()))?;
    let target = repository.with_digest(document.digest()).map_err(|e| Failure::usage(e.to_string()))?;
    client.put_manifest(&target, &document).await.map_err(|e| Failure::of(&e))?;
    let digest = document.digest().to_string();
    print(
        global.json,
        &json!({
            "reference": target.to_string(),
            "digest": digest,
            "mediaType": document.media_type().to_string(),
            "artifactType": args.artifact_type,
            "size": document.size(),
            "subject": subject.digest.to_string(),
        }),
        &digest,
    )
}
