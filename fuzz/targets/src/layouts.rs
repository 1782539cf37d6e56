//! Targets over image layouts on disk: a tar archive as bytes, and a directory tree built
//! from a structured input (headers, indexes and manifests that point at blobs of the
//! tree, blobs under right and wrong names, symbolic links, directories in the way).

use std::fs;
use std::path::Path;

use arbitrary::{Arbitrary, Unstructured};
use oci_layout::Layout;
use oci_spec_types::{Descriptor, Digest, DigestAlgorithm, Manifest, MediaType};
use serde_json::json;

/// Everything a reader of the layout would read: the header, the index, what every
/// descriptor and tag resolves to, the manifests' blobs, and fsck. A blob that is read
/// must be the bytes its digest names.
fn walk(layout: &Layout) {
    let _ = layout.read_image_layout();
    let _ = layout.read_index_bytes();
    if let Ok(index) = layout.read_index() {
        for descriptor in index.manifests.iter().take(16) {
            read(layout, descriptor);
        }
    }
    if let Ok(tags) = layout.tags() {
        for tag in tags.iter().take(16) {
            if let Ok(descriptor) = layout.resolve(tag) {
                read(layout, &descriptor);
            }
        }
    }
    let _ = layout.fsck();
}

/// Reads the blob of `descriptor` and, for a manifest, the blobs it references.
fn read(layout: &Layout, descriptor: &Descriptor) {
    let _ = layout.has_blob(&descriptor.digest);
    let _ = layout.blob_size(&descriptor.digest);
    let Ok(bytes) = layout.read_blob(&descriptor.digest) else { return };
    assert_eq!(descriptor.digest.verify(&bytes).ok(), Some(true), "a blob read is not its digest's bytes");
    let Ok(manifest) = Manifest::from_slice(&bytes, Some(&descriptor.media_type)) else { return };
    for child in manifest.references().into_iter().take(16) {
        if let Ok(child_bytes) = layout.read_blob(&child.digest) {
            assert_eq!(child.digest.verify(&child_bytes).ok(), Some(true));
        }
    }
}

/// The input as a tar archive.
pub(crate) fn tar(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("layout.tar");
    fs::write(&path, data).expect("writing the archive");
    if let Ok(layout) = Layout::open_tar(&path) {
        walk(&layout);
    }
}

/// One entry of a directory layout built from the input.
#[derive(Debug, Arbitrary)]
enum Entry {
    /// `oci-layout` with these bytes.
    Header(Vec<u8>),
    /// `oci-layout` as written by a correct writer.
    GoodHeader,
    /// `index.json` with these bytes.
    RawIndex(Vec<u8>),
    /// `index.json` pointing at blobs of the tree (by their number), each with a media
    /// type, an optional ref name and a size that may be off.
    Index(Vec<(u8, bool, Option<String>, i8)>),
    /// A blob under its own digest (sha256, or sha512).
    Blob(Vec<u8>, bool),
    /// An image manifest blob whose config and layers are blobs of the tree.
    ManifestOf(u8, Vec<u8>),
    /// A blob under a name of the input's choosing.
    Named(String, Vec<u8>),
    /// A symbolic link at the path of a blob of the tree, or at `index.json`.
    Symlink(Option<u8>, String),
    /// A directory where a blob of the tree would be.
    DirectoryAt(u8),
}

/// The blobs written so far: their descriptors as an index would list them.
fn pick(blobs: &[Descriptor], n: u8) -> Option<&Descriptor> {
    (!blobs.is_empty()).then(|| &blobs[usize::from(n) % blobs.len()])
}

fn put_blob(root: &Path, blobs: &mut Vec<Descriptor>, content: &[u8], media_type: MediaType, sha512: bool) {
    let algorithm = if sha512 { DigestAlgorithm::SHA512 } else { DigestAlgorithm::SHA256 };
    let digest = Digest::compute(&algorithm, content).expect("a registered algorithm");
    let path = root.join(oci_layout::blob_path(&digest));
    let _ = fs::create_dir_all(path.parent().expect("a blob path has a parent"));
    let _ = fs::write(&path, content);
    blobs.push(Descriptor::new(media_type, digest, content.len() as u64));
}

/// Writes a file of the tree; one that cannot be written (a directory in the way) is
/// left out, and the layout is read as it is.
fn write(path: &Path, bytes: &[u8]) {
    let _ = fs::write(path, bytes);
}

fn build(root: &Path, entries: Vec<Entry>) {
    let mut blobs: Vec<Descriptor> = Vec::new();
    for entry in entries.into_iter().take(32) {
        match entry {
            Entry::Header(bytes) => write(&root.join("oci-layout"), &bytes),
            Entry::GoodHeader => write(&root.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#),
            Entry::RawIndex(bytes) => write(&root.join("index.json"), &bytes),
            Entry::Index(listed) => {
                let manifests: Vec<_> = listed
                    .iter()
                    .filter_map(|(n, index, name, off)| {
                        let d = pick(&blobs, *n)?;
                        let media_type =
                            if *index { MediaType::IMAGE_INDEX } else { MediaType::IMAGE_MANIFEST };
                        let size = d.size.saturating_add_signed(i64::from(*off));
                        let mut entry = json!({"mediaType": media_type, "digest": d.digest, "size": size});
                        if let Some(name) = name {
                            entry["annotations"] = json!({"org.opencontainers.image.ref.name": name});
                        }
                        Some(entry)
                    })
                    .collect();
                let index = json!({"schemaVersion": 2, "manifests": manifests});
                write(&root.join("index.json"), index.to_string().as_bytes());
            }
            Entry::Blob(content, sha512) => {
                put_blob(root, &mut blobs, &content, MediaType::OCTET_STREAM, sha512);
            }
            Entry::ManifestOf(config, layers) => {
                let Some(config) = pick(&blobs, config).cloned() else { continue };
                let layers: Vec<_> = layers.iter().filter_map(|n| pick(&blobs, *n).cloned()).collect();
                let manifest = json!({"schemaVersion": 2, "mediaType": MediaType::IMAGE_MANIFEST,
                    "config": config, "layers": layers});
                put_blob(root, &mut blobs, manifest.to_string().as_bytes(), MediaType::IMAGE_MANIFEST, false);
            }
            Entry::Named(name, content) => {
                let path = root.join("blobs").join(name.replace("..", "_").trim_start_matches('/'));
                if let Some(parent) = path.parent() {
                    let _ = fs::create_dir_all(parent);
                }
                let _ = fs::write(path, content);
            }
            Entry::Symlink(at, target) => {
                let at = match at.and_then(|n| pick(&blobs, n)) {
                    Some(d) => root.join(oci_layout::blob_path(&d.digest)),
                    None => root.join("index.json"),
                };
                let _ = fs::remove_file(&at);
                let _ = std::os::unix::fs::symlink(target, at);
            }
            Entry::DirectoryAt(n) => {
                if let Some(d) = pick(&blobs, n) {
                    let at = root.join(oci_layout::blob_path(&d.digest));
                    let _ = fs::remove_file(&at);
                    let _ = fs::create_dir_all(at.join("inside"));
                }
            }
        }
    }
}

/// A directory layout built from the input's entries.
pub(crate) fn directory(data: &[u8]) {
    let Ok(entries) = Vec::<Entry>::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = dir.path().join("layout");
    fs::create_dir(&root).expect("the layout directory");
    build(&root, entries);
    if let Ok(layout) = Layout::open_dir(&root) {
        walk(&layout);
    }
}
