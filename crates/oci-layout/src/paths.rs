//! Names inside a layout: `blobs/<algorithm>/<encoded>` and the two files at the root.

use std::fmt;

use oci_spec_types::Digest;

/// The directory that holds the blobs.
pub const BLOBS_DIR: &str = "blobs";

/// One of the two files at the root of a layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LayoutFile {
    /// `oci-layout`: the layout version (written with mode 0444).
    ImageLayout,
    /// `index.json`: the image index of the layout (written with mode 0644).
    Index,
}

impl LayoutFile {
    /// The file name, as it appears at the root of the layout.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::ImageLayout => "oci-layout",
            Self::Index => "index.json",
        }
    }

    /// The Unix permission bits the file is written with.
    #[must_use]
    pub fn mode(self) -> u32 {
        match self {
            Self::ImageLayout => 0o444,
            Self::Index => 0o644,
        }
    }
}

impl fmt::Display for LayoutFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The path of a blob relative to the layout root, `/`-separated.
///
/// ```
/// use oci_spec_types::Digest;
///
/// let d = Digest::sha256(b"");
/// assert_eq!(
///     oci_layout::blob_path(&d),
///     "blobs/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
#[must_use]
pub fn blob_path(digest: &Digest) -> String {
    format!("{BLOBS_DIR}/{}/{}", digest.algorithm_str(), digest.encoded())
}

/// The digest a path relative to `blobs/` stands for: `<algorithm>/<encoded>`, both
/// parts matching the digest grammar. Safe to join to a directory: neither part can be
/// empty, `.`, `..` or hold a separator.
pub(crate) fn digest_of(algorithm: &str, encoded: &str) -> Option<Digest> {
    Digest::parse(&format!("{algorithm}:{encoded}")).ok()
}

/// Whether a file in a blob directory is ours in flight or hidden (a temporary file of a
/// blob writer, `.DS_Store` ...): such names are never blobs and never listed.
pub(crate) fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// A tar entry name made canonical the way oras-go's `path.Clean` does: `./` prefixes
/// and repeated or trailing slashes removed. `Err` says why the name is unsafe (absolute,
/// a `..` component, a backslash or NUL that would mean something else on another
/// system); `Ok("")` is the root itself.
pub(crate) fn clean_entry_name(raw: &str) -> Result<String, &'static str> {
    if raw.starts_with('/') {
        return Err("an absolute path");
    }
    if raw.contains('\\') {
        return Err("a backslash, a separator on Windows");
    }
    if raw.contains('\0') {
        return Err("a NUL byte");
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("a `..` component"),
            _ if part.len() >= 2 && part.as_bytes()[1] == b':' => return Err("a drive letter"),
            _ => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_cleaned_or_refused() {
        for (raw, clean) in [
            ("index.json", "index.json"),
            ("./index.json", "index.json"),
            ("./blobs/", "blobs"),
            ("blobs//sha256/./x", "blobs/sha256/x"),
            (".", ""),
            ("./", ""),
        ] {
            assert_eq!(clean_entry_name(raw).as_deref(), Ok(clean), "{raw:?}");
        }
        for (raw, why) in [
            ("/etc/passwd", "an absolute path"),
            ("../x", "a `..` component"),
            ("blobs/../../x", "a `..` component"),
            ("blobs\\x", "a backslash, a separator on Windows"),
            ("c:/x", "a drive letter"),
        ] {
            assert_eq!(clean_entry_name(raw), Err(why), "{raw:?}");
        }
    }

    #[test]
    fn blob_paths_must_be_digests() {
        let d = Digest::sha256(b"x");
        assert_eq!(digest_of("sha256", d.encoded()), Some(d));
        assert_eq!(digest_of("sha256", "abc"), None);
        assert_eq!(digest_of("..", "x"), None);
        assert_eq!(digest_of("sha256", ".."), None);
        assert!(is_hidden(".tmp-123") && !is_hidden("abc"));
    }
}
