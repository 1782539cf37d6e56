//! Distribution-spec response bodies: tag and repository lists, errors.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Extra;

/// The body of `GET /v2/<name>/tags/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagList {
    /// The repository.
    pub name: String,
    /// The tags (registries send `null` for none; that reads as empty).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
    /// Fields the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The body of `GET /v2/_catalog`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RepositoryList {
    /// The repositories.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repositories: Vec<String>,
    /// Fields the spec does not define, kept for round trips.
    #[serde(flatten)]
    pub extra: Extra,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// An error body: `{"errors": [{"code": ..., "message": ..., "detail": ...}]}`.
///
/// ```
/// use oci_spec_types::{ErrorCode, ErrorResponse};
///
/// let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}},
///                             {"code":"QUOTA_EXCEEDED","message":"over quota"}]}"#;
/// let e: ErrorResponse = serde_json::from_slice(body).unwrap();
/// assert_eq!(e.errors[0].code, ErrorCode::MANIFEST_UNKNOWN);
/// assert!(e.errors[0].code.is_unknown_resource());
/// assert_eq!(e.errors[1].code.as_str(), "QUOTA_EXCEEDED"); // unknown codes are kept
/// assert_eq!(e.to_string(), "MANIFEST_UNKNOWN: manifest unknown; QUOTA_EXCEEDED: over quota");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// Every error the registry reported.
    #[serde(default)]
    pub errors: Vec<ErrorInfo>,
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// One entry of an error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The error code.
    pub code: ErrorCode,
    /// A message for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Unstructured details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl ErrorInfo {
    /// An entry with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: Some(message.into()), detail: None }
    }
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) if !m.is_empty() => write!(f, "{}: {m}", self.code),
            _ => write!(f, "{}: {}", self.code, self.code.description()),
        }
    }
}

/// A distribution-spec error code; the vocabulary is open and unknown codes are kept.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrorCode(Cow<'static, str>);

macro_rules! codes {
    ($($name:ident = $desc:literal;)*) => {
        impl ErrorCode {
            $(#[doc = concat!("`", stringify!($name), "`: ", $desc, ".")]
            pub const $name: Self = Self(Cow::Borrowed(stringify!($name)));)*

            /// The spec's description of a known code.
            #[must_use]
            pub fn description(&self) -> &'static str {
                match self.as_str() {
                    $(stringify!($name) => $desc,)*
                    _ => "unknown error code",
                }
            }
        }
    };
}

codes! {
    BLOB_UNKNOWN = "blob unknown to registry";
    BLOB_UPLOAD_INVALID = "blob upload invalid";
    BLOB_UPLOAD_UNKNOWN = "blob upload unknown to registry";
    DIGEST_INVALID = "provided digest did not match uploaded content";
    MANIFEST_BLOB_UNKNOWN = "manifest references a manifest or blob unknown to registry";
    MANIFEST_INVALID = "manifest invalid";
    MANIFEST_UNKNOWN = "manifest unknown to registry";
    NAME_INVALID = "invalid repository name";
    NAME_UNKNOWN = "repository name not known to registry";
    SIZE_INVALID = "provided length did not match content length";
    UNAUTHORIZED = "authentication required";
    DENIED = "requested access to the resource is denied";
    UNSUPPORTED = "the operation is unsupported";
    TOOMANYREQUESTS = "too many requests";
}

impl ErrorCode {
    /// The code as sent.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is one of the codes the distribution spec defines.
    #[must_use]
    pub fn is_known(&self) -> bool {
        self.description() != "unknown error code"
    }

    /// A blob, manifest, repository or upload that does not exist.
    #[must_use]
    pub fn is_unknown_resource(&self) -> bool {
        matches!(self.as_str(), "BLOB_UNKNOWN" | "BLOB_UPLOAD_UNKNOWN" | "MANIFEST_UNKNOWN" | "NAME_UNKNOWN")
    }
}

impl From<&str> for ErrorCode {
    fn from(s: &str) -> Self {
        Self(Cow::Owned(s.to_owned()))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ErrorCode({})", self.0)
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Self(Cow::Owned(s)))
    }
}

/// The tag under which a registry without the referrers API keeps the referrers of
/// `subject` (distribution-spec "referrers tag schema"): `<alg>-<encoded>`, the
/// algorithm cut to 32 characters and the encoded part to 64, every character a tag
/// cannot hold replaced by `-`.
///
/// ```
/// use oci_spec_types::{distribution::referrers_tag, Digest};
///
/// let d: Digest = "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564".parse().unwrap();
/// assert_eq!(referrers_tag(&d), "sha256-b64u-LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564");
/// ```
#[must_use]
pub fn referrers_tag(subject: &crate::Digest) -> String {
    let tag_char =
        |c: char| if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' { c } else { '-' };
    let alg: String = subject.algorithm_str().chars().take(32).map(tag_char).collect();
    let encoded: String = subject.encoded().chars().take(64).map(tag_char).collect();
    format!("{alg}-{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrers_tags_follow_the_schema() {
        let long = "test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation";
        let sha512 = format!("sha512:{}", "a".repeat(128));
        for (digest, tag) in [
            (
                long,
                "test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot",
            ),
            (sha512.as_str(), &format!("sha512-{}", "a".repeat(64)) as &str),
            (
                "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                "sha256-44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            ),
        ] {
            assert_eq!(referrers_tag(&digest.parse().unwrap()), tag, "{digest}");
        }
    }

    #[test]
    fn lists_tolerate_null() {
        let t: TagList = serde_json::from_str(r#"{"name":"a/b","tags":null}"#).unwrap();
        assert!(t.tags.is_empty());
        let r: RepositoryList = serde_json::from_str(r#"{"repositories":["a","b"]}"#).unwrap();
        assert_eq!(r.repositories, ["a", "b"]);
    }

    #[test]
    fn codes() {
        assert!(ErrorCode::from("NAME_UNKNOWN").is_unknown_resource());
        assert!(!ErrorCode::DENIED.is_unknown_resource());
        assert!(ErrorCode::TOOMANYREQUESTS.is_known());
        assert!(!ErrorCode::from("X").is_known());
        let e = ErrorInfo { code: ErrorCode::DENIED, message: None, detail: None };
        assert_eq!(e.to_string(), "DENIED: requested access to the resource is denied");
    }
}
