//! Helpers shared by the integration test binaries: images with real tar layers.

// Each test binary uses its own part; helpers panic like the tests they serve.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;

use oci_layout::Layout;
use oci_spec_types::{Descriptor, Digest, ImageManifest, MediaType};

pub(crate) use oci_test_support::fixtures::{gzip_stored, layer_tar};

/// Deterministic incompressible bytes.
pub(crate) fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    oci_test_support::fixtures::Rng::from_u64(seed).bytes(len)
}

/// What [`write_image`] wrote.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) manifest: Descriptor,
    pub(crate) manifest_bytes: Vec<u8>,
    pub(crate) config: Descriptor,
    pub(crate) layers: Vec<Descriptor>,
}

/// Writes a linux/amd64 image of `layer_count` layers (each a gzipped tar with one file
/// of `layer_size` random bytes) into `layout`, tags it `tag`, and commits.
pub(crate) fn write_image(
    layout: &Layout,
    tag: &str,
    layer_count: usize,
    layer_size: usize,
    seed: u64,
) -> Image {
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for i in 0..layer_count {
        let tar = layer_tar(&format!("file-{i}"), &random_bytes(seed + i as u64, layer_size));
        diff_ids.push(Digest::sha256(&tar).to_string());
        layers.push(layout.add_blob(&gzip_stored(&tar)[..], MediaType::LAYER_TAR_GZIP).unwrap());
    }
    let config = serde_json::json!({
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": layers.iter().map(|_| serde_json::json!({"created": "2024-01-01T00:00:00Z", "created_by": "oci-layout test"})).collect::<Vec<_>>(),
    });
    let config = layout.add_blob(&serde_json::to_vec(&config).unwrap()[..], MediaType::IMAGE_CONFIG).unwrap();
    let manifest_value = ImageManifest::new(config.clone(), layers.clone());
    let manifest = layout.write_document(&oci_spec_types::Document::new(manifest_value).unwrap()).unwrap();
    let manifest_bytes = layout.read_blob(&manifest.digest).unwrap();
    layout.tag(tag, manifest.clone()).unwrap();
    layout.commit().unwrap();
    Image { manifest, manifest_bytes, config, layers }
}

/// Every stored blob of `layout`, with its bytes.
pub(crate) fn all_blobs(layout: &Layout) -> Vec<(Digest, Vec<u8>)> {
    let listing = layout.driver().list_blobs().unwrap();
    assert!(listing.invalid_paths.is_empty(), "{:?}", listing.invalid_paths);
    listing
        .blobs
        .into_iter()
        .map(|(d, _)| {
            let bytes = layout.read_blob(&d).unwrap();
            (d, bytes)
        })
        .collect()
}

/// The digests of every stored blob of `layout`.
pub(crate) fn digests(layout: &Layout) -> Vec<Digest> {
    layout.driver().list_blobs().unwrap().blobs.into_iter().map(|(d, _)| d).collect()
}

/// A file's bytes.
pub(crate) fn read(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    std::fs::File::open(path).unwrap().read_to_end(&mut bytes).unwrap();
    bytes
}

/// An error and its causes, `: `-separated, as an error reporter prints them.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out = format!("{out}: {s}");
        source = s.source();
    }
    out
}
