//! Deterministic test content: a seeded generator ([`Rng`]), tar layers of one file
//! ([`layer_tar`]) and gzip without a compressor ([`gzip_stored`]).
//!
//! ```
//! use oci_test_support::fixtures::{Rng, gzip_stored, layer_tar};
//!
//! let mut rng = Rng::new("image");
//! assert_eq!(rng.bytes(16), Rng::new("image").bytes(16));
//! let layer = gzip_stored(&layer_tar("hello.txt", b"hello\n"));
//! assert_eq!(&layer[..2], &[0x1f, 0x8b]);
//! ```

use std::fmt::Write as _;

/// `SplitMix64`: a tiny generator whose sequence never changes between versions, so
/// content made from a seed (and its digests) is the same in every run and on every
/// machine. Fast enough for benchmark data (one multiply-xorshift round per 8 bytes).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; the same seed gives the same sequence, so seeds can be
    /// names ("image", "blobs/sha256").
    #[must_use]
    pub fn new(seed: &str) -> Self {
        // FNV-1a of the seed text.
        let mut state = 0xcbf2_9ce4_8422_2325_u64;
        for b in seed.bytes() {
            state = (state ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Self(state)
    }

    /// A generator whose state starts at `seed`.
    #[must_use]
    pub const fn from_u64(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n`; the modulo bias is irrelevant for the small `n` of tests.
    ///
    /// # Panics
    /// When `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        usize::try_from(self.next_u64() % n as u64).unwrap_or(0)
    }

    /// One of `items`.
    ///
    /// # Panics
    /// When `items` is empty.
    pub fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }

    /// Fills `buf` with random bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut words = buf.chunks_exact_mut(8);
        for word in &mut words {
            word.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let tail = words.into_remainder();
        let last = self.next_u64().to_le_bytes();
        let n = tail.len();
        tail.copy_from_slice(&last[..n]);
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.fill(&mut out);
        out
    }

    /// 26 characters of base32 (`A-Z2-7`), like Go's `rand.Text()`.
    pub fn text(&mut self) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        (0..26).map(|_| char::from(ALPHABET[self.below(32)])).collect()
    }

    /// A lowercase hexadecimal string of `len` characters.
    pub fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len + 16);
        while out.len() < len {
            let _ = write!(out, "{:016x}", self.next_u64());
        }
        out.truncate(len);
        out
    }
}

/// An uncompressed layer: a tar archive holding one regular file `name` with `content`
/// (mode 0644, mtime 0).
///
/// # Panics
/// When `name` cannot be a tar path (longer than 100 bytes without a `/`).
#[must_use]
pub fn layer_tar(name: &str, content: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, name, content).expect("a tar entry for the layer");
    builder.into_inner().expect("writing into memory")
}

/// The CRC-32 (IEEE, reflected) of `data`, as gzip's trailer needs it; bit by bit, as
/// test data is small.
#[must_use]
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0_u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// `data` as a gzip member of stored (uncompressed) deflate blocks: valid gzip that
/// every decompressor reads, written without a compression library.
#[must_use]
pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 0xffff;
    // Magic, deflate, no flags, mtime 0, no extra flags, OS unknown.
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(BLOCK).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]); // one empty final block
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.push(u8::from(last)); // BFINAL, BTYPE 00 (stored)
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len() % (1 << 32)).unwrap_or(0).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic() {
        let (mut a, mut b) = (Rng::new("image"), Rng::new("image"));
        assert_eq!(a.bytes(100), b.bytes(100));
        assert_ne!(Rng::new("image").bytes(16), Rng::new("index").bytes(16));
        // Pinned: SplitMix64 from the FNV-1a of "" (0xcbf29ce484222325).
        assert_eq!(Rng::new("").next_u64(), 0xc381_7c01_6ba4_ff30);
        // Byte streams do not depend on how they are cut into words.
        let whole = Rng::new("w").bytes(16);
        assert_eq!(Rng::new("w").bytes(13), whole[..13]);
        let text = Rng::new("t").text();
        assert_eq!(text.len(), 26);
        assert!(text.bytes().all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)), "{text}");
        assert_eq!(Rng::new("h").hex(12).len(), 12);
        let mut rng = Rng::from_u64(7);
        assert!((0..100).all(|_| rng.below(3) < 3));
        assert!(["a", "b"].contains(&rng.pick(&["a", "b"])));
    }

    #[test]
    fn crc32_of_the_check_string() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn gzip_stored_frames_the_data() {
        let data = b"hello, gzip";
        let gz = gzip_stored(data);
        assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(gz[10], 1, "a single final stored block");
        assert_eq!(u16::from_le_bytes([gz[11], gz[12]]), 11);
        assert_eq!(u16::from_le_bytes([gz[13], gz[14]]), !11);
        assert_eq!(&gz[15..26], data);
        assert_eq!(&gz[26..30], &crc32(data).to_le_bytes());
        assert_eq!(&gz[30..], &11_u32.to_le_bytes());
        // Larger than one block: two blocks, the second final.
        let big = vec![7_u8; 70_000];
        let gz = gzip_stored(&big);
        assert_eq!(gz.len(), 10 + 5 + 65_535 + 5 + (70_000 - 65_535) + 8);
        assert_eq!(gz[10], 0);
        assert_eq!(gz[10 + 5 + 65_535], 1);
        assert_eq!(gzip_stored(b"").len(), 10 + 5 + 8);
    }

    #[test]
    fn layers_hold_one_file() {
        let layer = layer_tar("a/b.txt", b"content");
        assert_eq!(layer.len() % 512, 0);
        let mut archive = tar::Archive::new(layer.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a/b.txt"]);
    }
}
