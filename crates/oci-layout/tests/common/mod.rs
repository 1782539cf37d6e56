//! Helpers shared by the integration test binaries: images with real tar layers.

// Each test binary uses its own part; helpers panic like the tests they serve.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;

use oci_layout::Layout;
use oci_spec_types::{Descriptor, Digest, ImageManifest, MediaType};

/// wyrand: deterministic incompressible bytes.
pub(crate) fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(state).wrapping_mul(u128::from(state ^ 0xe703_7ed1_a0b4_28db));
        let folded = t.to_le_bytes();
        let (low, high) = folded.split_at(8);
        let word: Vec<u8> = low.iter().zip(high).map(|(a, b)| a ^ b).collect();
        out.extend_from_slice(&word);
    }
    out.truncate(len);
    out
}

/// An uncompressed layer: a tar holding one file `name` with `content`.
pub(crate) fn layer_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, content).unwrap();
    builder.into_inner().unwrap()
}

/// `data` as a gzip member of stored (uncompressed) deflate blocks: valid gzip that
/// every peer decompresses, with no compressor needed.
pub(crate) fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]; // magic, deflate, no flags, mtime 0, os unknown
    let mut blocks = data.chunks(65_535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none())); // BFINAL on the last, BTYPE 00
        let len = u16::try_from(block.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len() % (1 << 32)).unwrap().to_le_bytes());
    out
}

/// CRC-32 (IEEE), bit by bit: test data is small.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
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
