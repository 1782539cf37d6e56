//! Annotations: an ordered string map with typed accessors for the standard keys.

use std::collections::BTreeMap;
use std::collections::btree_map;

use crate::{Digest, Timestamp};

/// Annotations (or config labels): string keys to string values, kept in key order,
/// which is the order Go's JSON encoder writes them in.
///
/// ```
/// use oci_spec_types::Annotations;
///
/// let mut a = Annotations::new();
/// a.insert(Annotations::VERSION, "1.2.0");
/// a.insert(Annotations::CREATED, "2024-05-01T10:00:00Z");
/// let mut b = Annotations::new();
/// b.insert(Annotations::VERSION, "1.3.0");
/// a.merge(&b); // the right-hand side wins
/// assert_eq!(a.version(), Some("1.3.0"));
/// assert_eq!(a.created().unwrap()?.unix_seconds(), 1_714_557_600);
/// # Ok::<(), oci_spec_types::TimestampError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Annotations(BTreeMap<String, String>);

macro_rules! standard_keys {
    ($($(#[$doc:meta])* $konst:ident = $key:literal => $getter:ident;)*) => {
        impl Annotations {
            $($(#[$doc])* pub const $konst: &'static str = $key;)*
            $(
                #[doc = concat!("The value of `", $key, "`.")]
                #[must_use]
                pub fn $getter(&self) -> Option<&str> {
                    self.get(Self::$konst)
                }
            )*
        }
    };
}

standard_keys! {
    /// Date and time the content was built (RFC 3339); see [`Annotations::created`].
    CREATED = "org.opencontainers.image.created" => created_str;
    /// Contact details of the people or organization responsible.
    AUTHORS = "org.opencontainers.image.authors" => authors;
    /// URL to find more information on the content.
    URL = "org.opencontainers.image.url" => url;
    /// URL to the documentation.
    DOCUMENTATION = "org.opencontainers.image.documentation" => documentation;
    /// URL to the source code the content was built from.
    SOURCE = "org.opencontainers.image.source" => source;
    /// Version of the packaged software.
    VERSION = "org.opencontainers.image.version" => version;
    /// Source control revision the content was built from.
    REVISION = "org.opencontainers.image.revision" => revision;
    /// Name of the distributing entity.
    VENDOR = "org.opencontainers.image.vendor" => vendor;
    /// SPDX license expression of the content.
    LICENSES = "org.opencontainers.image.licenses" => licenses;
    /// Name of the reference (the tag, in an image layout's `index.json`).
    REF_NAME = "org.opencontainers.image.ref.name" => ref_name;
    /// Human-readable title.
    TITLE = "org.opencontainers.image.title" => title;
    /// Human-readable description.
    DESCRIPTION = "org.opencontainers.image.description" => description;
    /// Digest of the image this one is based on.
    BASE_DIGEST = "org.opencontainers.image.base.digest" => base_digest_str;
    /// Reference of the image this one is based on.
    BASE_NAME = "org.opencontainers.image.base.name" => base_name;
}

impl Annotations {
    /// No annotations.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.0.insert(key.into(), value.into())
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The entries in key order.
    pub fn iter(&self) -> btree_map::Iter<'_, String, String> {
        self.0.iter()
    }

    /// Adds every entry of `other`, replacing values of keys present in both
    /// (right-hand precedence, as manifest annotations over config labels).
    pub fn merge(&mut self, other: &Self) {
        for (k, v) in &other.0 {
            self.0.insert(k.clone(), v.clone());
        }
    }

    /// `self` merged with `other`, `other` winning.
    #[must_use]
    pub fn merged(mut self, other: &Self) -> Self {
        self.merge(other);
        self
    }

    /// The `created` annotation, parsed.
    #[must_use]
    pub fn created(&self) -> Option<Result<Timestamp, crate::TimestampError>> {
        self.created_str().map(str::parse)
    }

    /// The `base.digest` annotation, parsed.
    #[must_use]
    pub fn base_digest(&self) -> Option<Result<Digest, crate::DigestError>> {
        self.base_digest_str().map(Digest::parse)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Annotations {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<'a> IntoIterator for &'a Annotations {
    type Item = (&'a String, &'a String);
    type IntoIter = btree_map::Iter<'a, String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Annotations {
    type Item = (String, String);
    type IntoIter = btree_map::IntoIter<String, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<BTreeMap<String, String>> for Annotations {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }
}

impl From<Annotations> for BTreeMap<String, String> {
    fn from(a: Annotations) -> Self {
        a.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_right_biased_and_ordered() {
        let left: Annotations = [("b", "1"), ("a", "1")].into_iter().collect();
        let right: Annotations = [("b", "2"), ("c", "2")].into_iter().collect();
        let m = left.merged(&right);
        let pairs: Vec<_> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(pairs, ["a=1", "b=2", "c=2"]);
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"a":"1","b":"2","c":"2"}"#);
    }

    #[test]
    fn typed_accessors() {
        let d = Digest::sha256(b"");
        let a: Annotations = [
            (Annotations::REF_NAME, "v1"),
            (Annotations::BASE_DIGEST, d.as_str()),
            (Annotations::CREATED, "not a date"),
        ]
        .into_iter()
        .collect();
        assert_eq!(a.ref_name(), Some("v1"));
        assert_eq!(a.base_digest().unwrap().unwrap(), d);
        assert!(a.created().unwrap().is_err());
        assert_eq!(a.source(), None);
    }
}
