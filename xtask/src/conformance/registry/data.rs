//! The data sets of the upstream suite (`conformance_tests.json`, `v2.data_sets`), built
//! the way upstream's `testdata.go` builds them, but deterministically: contents come
//! from a generator seeded with the data set's id, so every run pushes the same bytes
//! under the same digests.
//!
//! A [`DataSet`] holds its blobs, its manifests in push order (children first), its
//! tags, and the referrers each subject must end up with.

use std::collections::{BTreeMap, BTreeSet};

use oci_spec_types::{
    Annotations, Descriptor, Digest, DigestAlgorithm, ImageConfig, ImageIndex, ImageManifest, MediaType,
    Platform,
};
use serde::Serialize;

use super::content::{Rng, gzip_stored, tar_layer};

/// The first example artifact type of upstream's data.
pub const CONFORMANCE_V1: &str = "application/vnd.example.oci.conformance.v1";
/// The second example artifact type of upstream's data.
pub const CONFORMANCE_V2: &str = "application/vnd.example.oci.conformance.v2";
/// Why a data set disabled upstream is not run.
pub const DISABLED_BY_DEFAULT: &str = "disabled by default, as upstream";

/// A blob of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// Its descriptor (media type as a manifest refers to it).
    pub descriptor: Descriptor,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A manifest (image manifest or index) of a data set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Media type, digest and size of the bytes as generated.
    pub descriptor: Descriptor,
    /// The bytes pushed: as generated, or with trailing white space for a bad digest.
    pub bytes: Vec<u8>,
    /// The manifest's subject, when it has one.
    pub subject: Option<Descriptor>,
    /// The bytes no longer match the digest: the registry must refuse the push (400).
    pub bad_digest: bool,
}

/// One data set: what is pushed, and what the registry must then answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataSet {
    /// Upstream's id (`image`, `nested-index`, ...).
    pub id: &'static str,
    /// Upstream's display name, used in case names (`data/Image/push`).
    pub name: &'static str,
    /// Some of its manifests refer to content that is never pushed (a layer, an index's
    /// child): run only when the target asks for it, as upstream runs it only with
    /// `OCI_DATA_SPARSE`, since a registry may rightly refuse such manifests.
    pub sparse: bool,
    /// Manifests are pushed by digest with their tags as `?tag=` parameters (and the
    /// registry must answer each with `OCI-Tag`); run only when the target asks for
    /// it, as upstream runs it only with `OCI_API_MANIFESTS_TAG_PARAM`.
    pub tag_params: bool,
    /// Blobs, unique by digest, in the order they were made.
    pub blobs: Vec<Blob>,
    /// Manifests in push order: every manifest after those it refers to.
    pub manifests: Vec<Manifest>,
    /// Tags and the manifest each must name.
    pub tags: BTreeMap<String, Digest>,
    /// Subject digest and the referrers descriptors the referrers API must list.
    pub referrers: BTreeMap<Digest, Vec<Descriptor>>,
}

impl DataSet {
    /// The manifest `digest`, when this data set has it.
    #[must_use]
    pub fn manifest(&self, digest: &Digest) -> Option<&Manifest> {
        self.manifests.iter().find(|m| &m.descriptor.digest == digest)
    }
}

/// How image layers are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LayerFormat {
    /// A gzipped tar (`...tar+gzip`), upstream's default.
    Gzip,
    /// A plain tar (`...tar`).
    Tar,
}

/// How something is generated: upstream's `genOpt`s.
#[derive(Debug, Clone)]
struct Opts {
    algorithm: DigestAlgorithm,
    annotations: Annotations,
    annotation_uniq: bool,
    artifact_type: Option<MediaType>,
    layer_format: LayerFormat,
    config_bytes: Vec<u8>,
    config_media_type: Option<MediaType>,
    extra_field: bool,
    layer_bytes: Option<Vec<u8>>,
    layer_count: usize,
    layer_media_type: Option<MediaType>,
    platform: Platform,
    platforms: Vec<Platform>,
    set_data: bool,
    subject: Option<Descriptor>,
    tag: Option<&'static str>,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            algorithm: DigestAlgorithm::SHA256,
            annotations: Annotations::new(),
            annotation_uniq: false,
            artifact_type: None,
            layer_format: LayerFormat::Gzip,
            config_bytes: Vec::new(),
            config_media_type: None,
            extra_field: false,
            layer_bytes: None,
            layer_count: 2,
            layer_media_type: None,
            platform: Platform::new("linux", "amd64"),
            platforms: vec![Platform::new("linux", "amd64"), Platform::new("linux", "arm64")],
            set_data: false,
            subject: None,
            tag: None,
        }
    }
}

impl Opts {
    fn tag(tag: &'static str) -> Self {
        Self { tag: Some(tag), ..Self::default() }
    }

    /// An artifact: `artifactType`, the empty JSON config, one layer of `layer_type`.
    fn artifact(artifact_type: &str, layer_type: MediaType) -> Self {
        Self {
            artifact_type: Some(MediaType::from(artifact_type)),
            config_media_type: Some(MediaType::EMPTY),
            config_bytes: b"{}".to_vec(),
            layer_count: 1,
            layer_media_type: Some(layer_type),
            ..Self::default()
        }
    }

    /// The annotations of upstream's referrers, made unique per manifest.
    fn conformance_annotated(mut self) -> Self {
        self.annotations.insert("org.opencontainers.conformance", "hello conformance test");
        self.annotation_uniq = true;
        self
    }
}

/// The digest of `bytes` with `algorithm` (sha256 or sha512, always computable).
#[must_use]
pub fn digest_of(algorithm: &DigestAlgorithm, bytes: &[u8]) -> Digest {
    Digest::compute(algorithm, bytes).unwrap_or_else(|_| Digest::sha256(bytes))
}

/// Serializes a document as compact JSON (the bytes [`oci_spec_types::Document::new`] keeps).
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// Builds one data set, as upstream's `testData` and its `gen*` functions.
struct Gen {
    rng: Rng,
    set: DataSet,
}

impl Gen {
    fn new(id: &'static str, name: &'static str) -> Self {
        Self { rng: Rng::new(id), set: DataSet { id, name, ..DataSet::default() } }
    }

    fn finish(self) -> DataSet {
        self.set
    }

    /// A custom field `org.<random>` with a random value, for the custom-fields data.
    fn extra(&mut self, opts: &Opts) -> Option<(String, serde_json::Value)> {
        opts.extra_field.then(|| (format!("org.{}", self.rng.text()), self.rng.text().into()))
    }

    fn add_blob(&mut self, bytes: Vec<u8>, media_type: MediaType, opts: &Opts) -> Descriptor {
        let digest = digest_of(&opts.algorithm, &bytes);
        let mut descriptor = Descriptor::new(media_type, digest.clone(), bytes.len() as u64);
        if opts.set_data {
            descriptor = descriptor.with_data(bytes.clone());
        }
        if !self.set.blobs.iter().any(|b| b.descriptor.digest == digest) {
            self.set.blobs.push(Blob { descriptor: descriptor.clone(), bytes });
        }
        descriptor
    }

    fn gen_blob(&mut self, size: usize, media_type: MediaType, opts: &Opts) -> Descriptor {
        let bytes = self.rng.bytes(size);
        self.add_blob(bytes, media_type, opts)
    }

    /// A layer tarball (gzipped unless asked otherwise): its descriptor and the digest of
    /// the uncompressed tar (its diff ID).
    fn gen_layer(&mut self, file_number: usize, opts: &Opts) -> (Descriptor, Digest) {
        let tar = tar_layer(&mut self.rng, file_number);
        let diff_id = digest_of(&opts.algorithm, &tar);
        let (bytes, media_type) = match opts.layer_format {
            LayerFormat::Gzip => (gzip_stored(&tar), MediaType::LAYER_TAR_GZIP),
            LayerFormat::Tar => (tar, MediaType::LAYER_TAR),
        };
        (self.add_blob(bytes, media_type, opts), diff_id)
    }

    fn gen_config(&mut self, platform: &Platform, diff_ids: Vec<Digest>, opts: &Opts) -> Descriptor {
        let mut config = ImageConfig::new(platform);
        config.author = Some("OCI Conformance Test".to_owned());
        config.rootfs.diff_ids = diff_ids;
        if let Some((key, value)) = self.extra(opts) {
            config.extra.insert(key, value);
        }
        let media_type = opts.config_media_type.clone().unwrap_or(MediaType::IMAGE_CONFIG);
        self.add_blob(to_json(&config), media_type, opts)
    }

    /// Records a generated manifest: its descriptor, the referrer it makes of itself,
    /// and its tag.
    fn add_manifest(
        &mut self,
        media_type: MediaType,
        bytes: Vec<u8>,
        artifact_type: Option<MediaType>,
        annotations: Annotations,
        opts: &Opts,
    ) -> Descriptor {
        let digest = digest_of(&opts.algorithm, &bytes);
        let mut descriptor = Descriptor::new(media_type.clone(), digest.clone(), bytes.len() as u64);
        if opts.set_data {
            descriptor = descriptor.with_data(bytes.clone());
        }
        if let Some(subject) = &opts.subject {
            let mut referrer = Descriptor::new(media_type, digest.clone(), bytes.len() as u64);
            referrer.artifact_type = artifact_type;
            referrer.annotations = annotations;
            self.set.referrers.entry(subject.digest.clone()).or_default().push(referrer);
        }
        if let Some(tag) = opts.tag {
            self.set.tags.insert(tag.to_owned(), digest);
        }
        self.set.manifests.push(Manifest {
            descriptor: descriptor.clone(),
            bytes,
            subject: opts.subject.clone(),
            bad_digest: false,
        });
        descriptor
    }

    fn annotations(&mut self, opts: &Opts) -> Annotations {
        let mut annotations = opts.annotations.clone();
        if opts.annotation_uniq {
            annotations.insert(format!("org.example.{}", self.rng.text()), self.rng.text());
        }
        annotations
    }

    fn gen_manifest(&mut self, config: Descriptor, layers: Vec<Descriptor>, opts: &Opts) -> Descriptor {
        let mut manifest = ImageManifest::new(config, layers);
        manifest.artifact_type.clone_from(&opts.artifact_type);
        manifest.subject.clone_from(&opts.subject);
        manifest.annotations = self.annotations(opts);
        if let Some((key, value)) = self.extra(opts) {
            manifest.extra.insert(key, value);
        }
        // As the referrers API reports it: the artifact type, else the config's media type.
        let artifact_type =
            manifest.artifact_type.clone().or_else(|| Some(manifest.config.media_type.clone()));
        let annotations = manifest.annotations.clone();
        self.add_manifest(MediaType::IMAGE_MANIFEST, to_json(&manifest), artifact_type, annotations, opts)
    }

    /// An image (or artifact) with its layers and config: upstream's `genManifestFull`.
    fn gen_manifest_full(&mut self, opts: &Opts) -> Descriptor {
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for n in 0..opts.layer_count {
            let image_layer = opts
                .layer_media_type
                .as_ref()
                .is_none_or(|t| t.as_str().starts_with("application/vnd.oci.image.layer.v1."));
            if image_layer {
                let (layer, diff_id) = self.gen_layer(n, opts);
                layers.push(layer);
                diff_ids.push(diff_id);
            } else {
                let media_type = opts.layer_media_type.clone().unwrap_or(MediaType::OCTET_STREAM);
                let layer = match &opts.layer_bytes {
                    Some(bytes) => self.add_blob(bytes.clone(), media_type, opts),
                    None => self.gen_blob(2048, media_type, opts),
                };
                diff_ids.push(layer.digest.clone());
                layers.push(layer);
            }
        }
        let config = match &opts.config_media_type {
            None => self.gen_config(&opts.platform, diff_ids, opts),
            Some(t) if *t == MediaType::IMAGE_CONFIG => self.gen_config(&opts.platform, diff_ids, opts),
            Some(t) => self.add_blob(opts.config_bytes.clone(), t.clone(), opts),
        };
        self.gen_manifest(config, layers, opts)
    }

    fn gen_index(&mut self, children: Vec<(Option<Platform>, Descriptor)>, opts: &Opts) -> Descriptor {
        let manifests = children
            .into_iter()
            .map(|(platform, mut d)| {
                d.platform = platform;
                d
            })
            .collect();
        let mut index = ImageIndex::new(manifests);
        index.artifact_type.clone_from(&opts.artifact_type);
        index.subject.clone_from(&opts.subject);
        index.annotations = self.annotations(opts);
        if let Some((key, value)) = self.extra(opts) {
            index.extra.insert(key, value);
        }
        let (artifact_type, annotations) = (index.artifact_type.clone(), index.annotations.clone());
        self.add_manifest(MediaType::IMAGE_INDEX, to_json(&index), artifact_type, annotations, opts)
    }

    /// An index of one image per platform: upstream's `genIndexFull`. The images get
    /// every option but the tag (upstream's tag ends up on the index).
    fn gen_index_full(&mut self, opts: &Opts) -> Descriptor {
        let mut children = Vec::new();
        for platform in &opts.platforms {
            let child = Opts { platform: platform.clone(), tag: None, ..opts.clone() };
            children.push((Some(platform.clone()), self.gen_manifest_full(&child)));
        }
        self.gen_index(children, opts)
    }
}

/// Every data set upstream generates, in its order, with those it disables by default
/// (sparse manifests, tag parameters) marked so. Upstream's read-only data set exists
/// only for user-given content and is not part of it.
#[must_use]
pub fn all() -> Vec<DataSet> {
    vec![
        image("image", "Image", &Opts::tag("image")),
        image(
            "image-uncompressed",
            "Image Uncompressed",
            &Opts { layer_format: LayerFormat::Tar, ..Opts::tag("image-uncompressed") },
        ),
        large_manifest(),
        index_set("index", "Index", &Opts::tag("index")),
        nested_index(),
        index_set("empty-index", "Empty Index", &Opts { platforms: Vec::new(), ..Opts::tag("index") }),
        image("artifact", "Artifact", &Opts { tag: Some("artifact"), ..artifact_v1() }),
        index_set("artifact-index", "Artifact Index", &Opts { tag: Some("artifact-index"), ..artifact_v1() }),
        image(
            "artifact-without-layers",
            "Artifact without Layers",
            &Opts {
                tag: Some("artifact-without-layers"),
                layer_bytes: Some(b"{}".to_vec()),
                ..Opts::artifact(CONFORMANCE_V1, MediaType::EMPTY)
            },
        ),
        artifacts_with_subject(),
        index_with_subject(),
        missing_subject(),
        image("data-field", "Data Field", &Opts { set_data: true, ..Opts::tag("data-field") }),
        non_distributable(),
        index_set(
            "custom-fields",
            "Custom Fields",
            &Opts { extra_field: true, ..Opts::tag("custom-fields") },
        ),
        image("no-layers", "No Layers", &Opts { layer_count: 0, ..Opts::tag("no-layers") }),
        sparse(),
        index_set(
            "sha512",
            "Digest Algorithm sha512",
            &Opts { algorithm: DigestAlgorithm::SHA512, ..Opts::default() },
        ),
        tag_param("tag-param-sha256", "Tag Param", DigestAlgorithm::SHA256),
        tag_param("tag-param-sha512", "Tag Param sha512", DigestAlgorithm::SHA512),
        bad_digest_image(),
    ]
}

/// The image the `invalid-digest-format` checks push under `sha256:baddigeststring`.
#[must_use]
pub fn invalid_manifest_digest() -> DataSet {
    image("invalid-manifest-digest", "Invalid Manifest Digest", &Opts { layer_count: 1, ..Opts::default() })
}

fn artifact_v1() -> Opts {
    Opts::artifact(CONFORMANCE_V1, MediaType::from(CONFORMANCE_V1))
}

fn image(id: &'static str, name: &'static str, opts: &Opts) -> DataSet {
    let mut g = Gen::new(id, name);
    g.gen_manifest_full(opts);
    g.finish()
}

fn index_set(id: &'static str, name: &'static str, opts: &Opts) -> DataSet {
    let mut g = Gen::new(id, name);
    g.gen_index_full(opts);
    g.finish()
}

/// An index and its images, each manifest tagged `<id>-<n>` (in push order) and the
/// index also `<id>`, the tags given as `?tag=` parameters of the pushes by digest.
fn tag_param(id: &'static str, name: &'static str, algorithm: DigestAlgorithm) -> DataSet {
    let mut g = Gen::new(id, name);
    g.gen_index_full(&Opts { algorithm, ..Opts::default() });
    let mut set = g.finish();
    set.tag_params = true;
    let digests: Vec<Digest> = set.manifests.iter().map(|m| m.descriptor.digest.clone()).collect();
    for (n, digest) in digests.iter().enumerate() {
        set.tags.insert(format!("{id}-{n}"), digest.clone());
    }
    if let Some(top) = digests.last() {
        set.tags.insert(id.to_owned(), top.clone());
    }
    set
}

/// An image missing its first layer (tagged `sparse-image`), and an index of an image
/// and of a manifest that does not exist (tagged `sparse-index`): upstream's sparse data.
fn sparse() -> DataSet {
    let mut g = Gen::new("sparse", "Sparse Manifests");
    g.gen_manifest_full(&Opts::tag("sparse-image"));
    // Blobs are kept in the order they were made: the first layer blob is its first layer.
    let is_layer =
        |b: &Blob| b.descriptor.media_type.as_str().starts_with("application/vnd.oci.image.layer.");
    if let Some(first) = g.set.blobs.iter().position(is_layer) {
        g.set.blobs.remove(first);
    }
    let amd64 = Platform::new("linux", "amd64");
    let child = g.gen_manifest_full(&Opts { platform: amd64.clone(), ..Opts::default() });
    let absent = Descriptor::new(MediaType::IMAGE_MANIFEST, Digest::sha256(&g.rng.bytes(1024)), 1024);
    let children = vec![(Some(amd64), child), (Some(Platform::new("linux", "arm64")), absent)];
    g.gen_index(children, &Opts::tag("sparse-index"));
    let mut set = g.finish();
    set.sparse = true;
    set
}

/// 390 annotations of 10,000 `A`s: a manifest of about 3.9 MB.
fn large_manifest() -> DataSet {
    let mut opts = Opts::tag("large-manifest");
    for i in 0..390 {
        opts.annotations.insert(format!("large-annotation-{i}"), "A".repeat(10_000));
    }
    image("large-manifest", "Image with Large Manifest", &opts)
}

fn nested_index() -> DataSet {
    let mut g = Gen::new("nested-index", "Nested Index");
    let first = g.gen_index_full(&Opts::default());
    let second = g.gen_index_full(&Opts::default());
    g.gen_index(vec![(None, first), (None, second)], &Opts::tag("index-of-index"));
    g.finish()
}

fn artifacts_with_subject() -> DataSet {
    let mut g = Gen::new("artifacts-with-subject", "Artifacts with Subject");
    let subject = g.gen_manifest_full(&Opts::tag("image"));
    g.gen_manifest_full(&Opts { subject: Some(subject.clone()), ..Opts::default() });
    let v1 = Opts { subject: Some(subject.clone()), tag: Some("tagged-artifact1"), ..artifact_v1() };
    g.gen_manifest_full(&v1.conformance_annotated());
    let v2 = Opts {
        subject: Some(subject),
        tag: Some("tagged-artifact2"),
        ..Opts::artifact(CONFORMANCE_V2, MediaType::OCTET_STREAM)
    };
    g.gen_manifest_full(&v2.conformance_annotated());
    g.finish()
}

fn index_with_subject() -> DataSet {
    let mut g = Gen::new("index-with-subject", "Index with Subject");
    let subject = g.gen_index_full(&Opts::tag("index"));
    let referrer = Opts { subject: Some(subject), tag: Some("tagged-artifact"), ..artifact_v1() };
    g.gen_index_full(&referrer.conformance_annotated());
    g.finish()
}

fn missing_subject() -> DataSet {
    let mut g = Gen::new("missing-subject", "Missing Subject");
    let subject = Descriptor::new(MediaType::IMAGE_MANIFEST, Digest::sha256(b"missing content"), 123);
    let opts = Opts { subject: Some(subject), tag: Some("tagged-artifact"), ..artifact_v1() };
    g.gen_manifest_full(&opts.conformance_annotated());
    g.finish()
}

/// Two non-distributable layers that are never pushed (their content is at their URL)
/// and one ordinary layer.
fn non_distributable() -> DataSet {
    let mut g = Gen::new("non-distributable-layers", "Non-distributable Layers");
    let opts = Opts::tag("non-distributable-image");
    let foreign = |g: &mut Gen, media_type: MediaType, size: u64| {
        let digest = Digest::sha256(&g.rng.bytes(256));
        let url = format!("https://store.example.com/blobs/sha256/{}", digest.encoded());
        let mut d = Descriptor::new(media_type, digest, size);
        d.urls = vec![url];
        d
    };
    let first_diff_id = Digest::sha256(&g.rng.bytes(256));
    let first = foreign(&mut g, MediaType::LAYER_NONDISTRIBUTABLE_TAR_GZIP, 123_456);
    let second = foreign(&mut g, MediaType::LAYER_NONDISTRIBUTABLE_TAR, 12_345);
    let (third, third_diff_id) = g.gen_layer(1, &opts);
    let diff_ids = vec![first_diff_id, second.digest.clone(), third_diff_id];
    let config = g.gen_config(&Platform::new("linux", "amd64"), diff_ids, &opts);
    g.gen_manifest(config, vec![first, second, third], &opts);
    g.finish()
}

/// An image whose manifest bytes get two trailing spaces after its digest was taken.
fn bad_digest_image() -> DataSet {
    let mut g = Gen::new("bad-digest-image", "Bad Digest Image");
    g.gen_manifest_full(&Opts::default());
    let mut set = g.finish();
    if let Some(last) = set.manifests.last_mut() {
        last.bytes.extend_from_slice(b"  ");
        last.bad_digest = true;
    }
    set
}

/// What a data set's push left in the registry.
#[derive(Debug, Clone, Default)]
pub(super) struct Stored {
    /// Blobs pushed.
    pub blobs: BTreeSet<Digest>,
    /// Manifests pushed by digest.
    pub manifests: BTreeSet<Digest>,
    /// Tags pushed.
    pub tags: BTreeSet<String>,
    /// Manifests the registry refused for lack of a feature, with the reason.
    pub refused: Vec<(Digest, String)>,
}

impl Stored {
    pub(super) fn is_refused(&self, digest: &Digest) -> bool {
        self.refused.iter().any(|(d, _)| d == digest)
    }

    /// The remark for checks that left out refused manifests.
    pub(super) fn refused_note(&self) -> Option<String> {
        (!self.refused.is_empty()).then(|| {
            format!(
                "{} manifest(s) the registry refused (see push/manifests) were not checked",
                self.refused.len()
            )
        })
    }
}

#[cfg(test)]
#[path = "data_tests.rs"]
mod tests;
