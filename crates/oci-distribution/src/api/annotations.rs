//! The seeds' conveniences over manifests: the image of a platform, an image's
//! configuration, and the annotations of a reference (an image's configuration labels
//! with its manifest's annotations over them).

use oci_reference::{Reference, Repository};
use oci_spec_types::{Annotations, Document, ImageConfig, ImageManifest, Manifest, MediaType, Platform};

use super::digests::pinned;
use crate::{Client, Error, ErrorKind, Result};

/// How deep `get_manifest_for_platform` follows indexes of indexes.
const MAX_INDEX_DEPTH: usize = 8;

/// Whether `media_type` is an image configuration (OCI or Docker), whose labels count
/// as annotations; artifacts' configurations are something else.
fn is_image_config(media_type: &MediaType) -> bool {
    media_type.matches(&MediaType::IMAGE_CONFIG) || media_type.matches(&MediaType::DOCKER_CONFIG)
}

/// The labels of `config` with the annotations of `manifest` over them.
fn merge(config: Option<&ImageConfig>, manifest: &ImageManifest) -> Annotations {
    let labels = config.and_then(ImageConfig::labels).cloned().unwrap_or_default();
    labels.merged(&manifest.annotations)
}

impl Client {
    /// The image manifest for `platform`: the manifest `reference` names when it is an
    /// image, else the entry of the index (or of indexes nested in it) that
    /// [`ImageIndex::select`](oci_spec_types::ImageIndex::select) picks for `platform`.
    /// An index without a matching entry is an error of kind
    /// [`PlatformNotFound`](ErrorKind::PlatformNotFound).
    ///
    /// ```no_run
    /// use oci_reference::Reference;
    /// use oci_spec_types::{Document, ImageIndex, Platform};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let config = oci_spec_types::Descriptor::for_bytes(oci_spec_types::MediaType::EMPTY, b"{}");
    /// # let repository: oci_reference::Repository = format!("{registry}/docs/platform").parse()?;
    /// # client.push_blob(&repository, &config, b"{}".to_vec(), Default::default()).await?;
    /// # let pushed = oci_spec_types::Document::new(oci_spec_types::ImageManifest::new(config.clone(), vec![]))?;
    /// # client.put_manifest(&repository.with_tag("1.0")?, &pushed).await?;
    /// # let arm64 = pushed.descriptor().with_platform("linux/arm64".parse()?);
    /// # client.put_manifest(&repository.with_tag("multi")?, &Document::new(ImageIndex::new(vec![arm64]))?).await?;
    /// let reference: Reference = format!("{registry}/docs/platform:multi").parse()?; // an index
    /// let image = client.get_manifest_for_platform(&reference, &"linux/arm64".parse::<Platform>()?).await?;
    /// assert_eq!(image.digest(), pushed.digest());
    /// # Ok(()) }
    /// ```
    pub async fn get_manifest_for_platform(
        &self,
        reference: &Reference,
        platform: &Platform,
    ) -> Result<Document> {
        let mut response = self.get_manifest(reference).await?;
        let repository = reference.repository();
        for _ in 0..MAX_INDEX_DEPTH {
            let Manifest::Index(index) = response.value() else { return Ok(response) };
            let Some(entry) = index.select(platform) else {
                let why = format!(
                    "{reference}: no manifest for {platform} among the {} of index {}",
                    index.manifests.len(),
                    response.digest()
                );
                return Err(Error::new(ErrorKind::PlatformNotFound, why));
            };
            response = self.get_manifest(&pinned(&repository, &entry.digest)?).await?;
        }
        let why = format!("{reference}: indexes nested more than {MAX_INDEX_DEPTH} deep");
        Err(Error::new(ErrorKind::InvalidResponse, why))
    }

    /// The configuration of the image manifest `reference` names, read with
    /// [`Client::get_blob_bytes`] up to
    /// [`ClientOptions::max_manifest_bytes`](crate::ClientOptions). An index is an
    /// error of kind [`InvalidInput`](ErrorKind::InvalidInput): pick an image with
    /// [`Client::get_manifest_for_platform`] first.
    pub async fn get_config(&self, reference: &Reference) -> Result<ImageConfig> {
        let response = self.get_manifest(reference).await?;
        let Manifest::Image(image) = response.value() else {
            let why = format!("{reference}: an index ({}) has no configuration", response.media_type());
            return Err(Error::new(ErrorKind::InvalidInput, why));
        };
        self.image_config(&reference.repository(), image).await
    }

    /// The configuration of `image`, a manifest of `repository`.
    pub(super) async fn image_config(
        &self,
        repository: &Repository,
        image: &ImageManifest,
    ) -> Result<ImageConfig> {
        let limit = self.options().max_manifest_bytes;
        let bytes = self.get_blob_bytes(repository, &image.config, limit).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            let why = format!("{repository}: configuration {}", image.config.digest);
            Error::new(ErrorKind::InvalidResponse, why).with_source(e)
        })
    }

    /// The annotations of the image `reference` names: its configuration's labels, with
    /// its manifest's annotations taking precedence over labels of the same key.
    ///
    /// For an index, `platform` narrows the answer to the image
    /// [`ImageIndex::select`](oci_spec_types::ImageIndex::select) picks (an error of
    /// kind [`PlatformNotFound`](ErrorKind::PlatformNotFound) when none matches); without a
    /// platform the index's own annotations are returned. A reference with a digest
    /// pins the manifest; `platform` is not used for an image.
    ///
    /// ```no_run
    /// use oci_reference::Reference;
    /// use oci_spec_types::{Descriptor, Document, ImageConfig, ImageManifest, MediaType, Platform};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let url = std::env::var("OCI_TEST_REGISTRY_PLAIN")?; // a registry: compiled here, not run
    /// # let registry = url.trim_start_matches("http://").trim_end_matches('/');
    /// # let client = oci_distribution::Client::builder().build()?;
    /// # let repository: oci_reference::Repository = format!("{registry}/docs/annotations").parse()?;
    /// # let mut config = ImageConfig::new(&"linux/amd64".parse::<Platform>()?);
    /// # let mut labels = oci_spec_types::Annotations::new();
    /// # labels.insert("org.opencontainers.image.version", "1.0-label");
    /// # labels.insert("org.opencontainers.image.vendor", "Example");
    /// # let mut exec = oci_spec_types::ExecConfig::default();
    /// # exec.labels = Some(labels);
    /// # config.config = Some(exec);
    /// # let config = Document::new(config)?;
    /// # client.push_blob(&repository, &config.descriptor(), config.bytes().clone(), Default::default()).await?;
    /// # let mut manifest = ImageManifest::new(config.descriptor(), vec![]);
    /// # manifest.annotations.insert("org.opencontainers.image.version", "1.0");
    /// # client.put_manifest(&repository.with_tag("1.0")?, &Document::new(manifest)?).await?;
    /// let reference: Reference = format!("{registry}/docs/annotations:1.0").parse()?;
    /// let amd64 = "linux/amd64".parse::<Platform>()?;
    /// let annotations = client.annotations(&reference, Some(&amd64)).await?;
    /// assert_eq!(annotations.version(), Some("1.0"));                 // the manifest's, over the label
    /// assert_eq!(annotations.get("org.opencontainers.image.vendor"), Some("Example")); // a label
    /// # Ok(()) }
    /// ```
    pub async fn annotations(
        &self,
        reference: &Reference,
        platform: Option<&Platform>,
    ) -> Result<Annotations> {
        let response = match platform {
            Some(platform) => self.get_manifest_for_platform(reference, platform).await?,
            None => self.get_manifest(reference).await?,
        };
        let image = match response.value() {
            Manifest::Image(image) => image,
            Manifest::Index(index) => return Ok(index.annotations.clone()),
            _ => {
                let why = format!("{reference}: a manifest of type {}", response.media_type());
                return Err(Error::new(ErrorKind::InvalidResponse, why));
            }
        };
        if !is_image_config(&image.config.media_type) {
            return Ok(image.annotations.clone());
        }
        let config = self.image_config(&reference.repository(), image).await?;
        Ok(merge(Some(&config), image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec_types::{Descriptor, ExecConfig};

    #[test]
    fn manifest_annotations_win_over_labels() {
        let mut config = ImageConfig::new(&Platform::new("linux", "amd64"));
        let mut labels = Annotations::new();
        labels.insert("org.opencontainers.image.version", "label");
        labels.insert("maintainer", "label");
        let mut exec = ExecConfig::default();
        exec.labels = Some(labels);
        config.config = Some(exec);
        let mut manifest = ImageManifest::new(Descriptor::empty(), vec![]);
        manifest.annotations.insert("org.opencontainers.image.version", "manifest");
        manifest.annotations.insert("org.example.only", "manifest");
        let merged = merge(Some(&config), &manifest);
        let pairs: Vec<(&str, &str)> = merged.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("maintainer", "label"),
                ("org.example.only", "manifest"),
                ("org.opencontainers.image.version", "manifest")
            ]
        );
        assert_eq!(merge(None, &manifest).len(), 2);
        assert!(is_image_config(&MediaType::DOCKER_CONFIG) && !is_image_config(&MediaType::EMPTY));
    }
}
