//! The [`Reference`] type: a fully qualified reference, and the accessors and builders
//! every parsing style shares.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use oci_spec_types::Digest;

use crate::error::{Error, ErrorKind, Part, Reason};
use crate::grammar::{self, Split};
use crate::{Registry, Repository, digest, docker_hub, pattern};

/// The longest repository path, in bytes (distribution/reference's
/// `RepositoryNameTotalLengthMax`, which it applies to the path without the domain).
pub const NAME_MAX_LEN: usize = 255;

/// The tag that [`Reference::with_default_tag`] and [`Reference::parse_docker_ref`] add.
pub const DEFAULT_TAG: &str = "latest";

/// A valid, fully qualified image reference: `domain/path[:tag][@digest]`.
///
/// Every `Reference` names its registry: [`Reference::parse`] (and [`FromStr`]) read
/// what people type the way `docker pull` does (`nginx` is
/// `docker.io/library/nginx`), [`Reference::parse_strict`] requires the registry, and
/// the grammar-only reading of distribution/reference's `Parse`, where `nginx` has no
/// domain, is a type of its own, [`UnnormalizedReference`](crate::UnnormalizedReference).
/// So a `Reference` handed to a registry client cannot address the wrong repository.
///
/// The reference is stored as one string with the offsets of its parts, so the
/// accessors borrow and [`Display`](fmt::Display) writes the string back as it is:
/// parsing what it prints gives the same reference. A reference can have a tag, a
/// digest, both or neither; the digest is an [`oci_spec_types::Digest`].
///
/// Which constructor to use:
///
/// | input | constructor | upstream |
/// |---|---|---|
/// | what people type (`nginx`, `ghcr.io/o/a:1`) | [`parse`](Self::parse), [`FromStr`] | `ParseNormalizedNamed` |
/// | the same, for pulling (adds `latest`, drops a tag beside a digest) | [`parse_docker_ref`](Self::parse_docker_ref) | `ParseDockerRef` |
/// | the same, or a digest or image ID | [`parse_any`](Self::parse_any) | `ParseAnyReference` |
/// | the normalized form only | [`parse_fully_qualified`](Self::parse_fully_qualified) | `ParseNamed` |
/// | `registry/repository[:tag][@digest]` | [`parse_strict`](Self::parse_strict) | oras-go `ParseReference` |
/// | exactly the grammar, no normalization | [`UnnormalizedReference::parse`](crate::UnnormalizedReference::parse) | `Parse` |
///
/// ```
/// use oci_reference::Reference;
///
/// let r: Reference = "nginx:1.27".parse()?;
/// assert_eq!(r.to_string(), "docker.io/library/nginx:1.27");
/// assert_eq!((r.domain(), r.path(), r.tag(), r.digest()), ("docker.io", "library/nginx", Some("1.27"), None));
/// assert_eq!(r.familiar_string(), "nginx:1.27");
/// assert_eq!(r.endpoint_host(), "registry-1.docker.io");
/// # Ok::<(), oci_reference::Error>(())
/// ```
#[derive(Clone)]
pub struct Reference {
    repr: String,
    /// Offsets of the parts; `path_start > 0`: there is always a domain.
    split: Split,
    /// The digest part, typed.
    digest: Option<Digest>,
}

impl Reference {
    /// A reference from a string and its split, both already validated, with a domain.
    pub(crate) fn from_split(repr: String, split: Split) -> Result<Self, Error> {
        debug_assert!(split.path_start > 0, "a reference has a domain");
        let digest = match split.digest(&repr) {
            None => None,
            Some(d) => Some(Digest::parse(d).map_err(|_| {
                Error::new(ErrorKind::DigestInvalid, Part::Digest, split.tag_end + 1, Reason::End)
            })?),
        };
        Ok(Self { repr, split, digest })
    }

    /// Builds a reference from parts already validated, in this order.
    pub(crate) fn from_parts(domain: &str, path: &str, tag: Option<&str>, digest: Option<&Digest>) -> Self {
        let digest_str = digest.map(Digest::as_str);
        let (repr, split) = grammar::compose(Some(domain), path, tag, digest_str);
        Self { repr, split, digest: digest.cloned() }
    }

    /// The domain (registry host, with its port), such as `docker.io` or `[::1]:5000`.
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.repr[..self.split.path_start - 1]
    }

    /// The repository path, such as `library/nginx`.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.repr[self.split.path_start..self.split.path_end]
    }

    /// The name: domain, `/` and path (`docker.io/library/nginx`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.repr[..self.split.path_end]
    }

    /// The tag, without its `:`.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.split.tag(&self.repr)
    }

    /// The digest, without its `@`: sha256 or sha512, the algorithms
    /// distribution/reference accepts.
    #[must_use]
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The whole reference, as [`Display`](fmt::Display) writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.repr
    }

    /// The repository the reference is in (domain and path, no tag or digest): what
    /// the calls of a registry client that ignore tags take.
    #[must_use]
    pub fn repository(&self) -> Repository {
        Repository::from_checked(self.name().to_owned(), self.split.path_start)
    }

    /// The registry the reference is on.
    #[must_use]
    pub fn registry(&self) -> Registry {
        Registry::from_checked(self.domain())
    }

    fn familiar_start(&self) -> usize {
        familiar_start(&self.repr, self.split)
    }

    /// The name as Docker shows it: `docker.io/library/nginx` is `nginx`,
    /// `docker.io/org/app` is `org/app`, other domains stay (`FamiliarName`).
    #[must_use]
    pub fn familiar_name(&self) -> &str {
        &self.repr[self.familiar_start()..self.split.path_end]
    }

    /// The whole reference as Docker shows it, tag and digest included
    /// (`FamiliarString`).
    #[must_use]
    pub fn familiar_string(&self) -> &str {
        &self.repr[self.familiar_start()..]
    }

    /// Whether a Go `path.Match` pattern matches the familiar string, or else the
    /// familiar name (`FamiliarMatch`): `*` matches within one `/`-separated element,
    /// `?` one character, `[a-z]`/`[^a-z]` classes, `\` escapes.
    ///
    /// ```
    /// use oci_reference::Reference;
    ///
    /// let r: Reference = "example.com/foo/c/baz:tag".parse()?;
    /// assert!(r.familiar_match("*/foo/c/baz")?);
    /// assert!(!r.familiar_match("foo/*")?);
    /// assert!(r.familiar_match("[-x]").is_err());
    /// # Ok::<(), oci_reference::Error>(())
    /// ```
    pub fn familiar_match(&self, pattern: &str) -> Result<bool, Error> {
        Ok(pattern::matches(pattern, self.familiar_string())?
            || pattern::matches(pattern, self.familiar_name()).unwrap_or(false))
    }

    /// The version to show people: the tag, else the digest, else `latest`.
    #[must_use]
    pub fn version(&self) -> &str {
        self.tag().or_else(|| self.split.digest(&self.repr)).unwrap_or(DEFAULT_TAG)
    }

    /// The `<reference>` of the registry API (`/v2/<name>/manifests/<reference>`): the
    /// digest when there is one (it pins the content), else the tag.
    #[must_use]
    pub fn api_reference(&self) -> Option<&str> {
        self.split.digest(&self.repr).or_else(|| self.tag())
    }

    /// [`api_reference`](Self::api_reference), or `latest` when there is neither tag
    /// nor digest (oras-go's `ReferenceOrDefault`).
    #[must_use]
    pub fn reference_or_default(&self) -> &str {
        self.api_reference().unwrap_or(DEFAULT_TAG)
    }

    /// The host to connect to, kept apart from the domain: `docker.io` is served by
    /// `registry-1.docker.io`.
    #[must_use]
    pub fn endpoint_host(&self) -> &str {
        docker_hub::endpoint_host(self.domain())
    }

    /// The same reference with `tag` in place of its tag, keeping the digest
    /// (`WithTag`); fails with [`TagInvalid`](ErrorKind::TagInvalid), at an offset in
    /// `tag`, when it does not match the tag grammar.
    pub fn with_tag(&self, tag: &str) -> Result<Self, Error> {
        check_tag(tag)?;
        Ok(Self::from_parts(self.domain(), self.path(), Some(tag), self.digest()))
    }

    /// The same reference with `digest` in place of its digest, keeping the tag
    /// (`WithDigest`). Fails with [`DigestUnsupported`](ErrorKind::DigestUnsupported)
    /// (offset 0) for a digest algorithm references cannot carry: only sha256 and
    /// sha512 can, as in distribution/reference.
    ///
    /// ```
    /// use oci_reference::{ErrorKind, Reference};
    /// use oci_spec_types::{Digest, DigestAlgorithm};
    ///
    /// let r: Reference = "ghcr.io/org/app:1.0".parse()?;
    /// let d = Digest::sha256(b"manifest bytes");
    /// assert_eq!(r.with_digest(&d)?.to_string(), format!("ghcr.io/org/app:1.0@{d}"));
    /// let sha384 = Digest::compute(&DigestAlgorithm::SHA384, b"manifest bytes").expect("sha384");
    /// assert_eq!(r.with_digest(&sha384).unwrap_err().kind(), ErrorKind::DigestUnsupported);
    /// # Ok::<(), oci_reference::Error>(())
    /// ```
    pub fn with_digest(&self, digest: &Digest) -> Result<Self, Error> {
        check_digest(digest)?;
        Ok(Self::from_parts(self.domain(), self.path(), self.tag(), Some(digest)))
    }

    /// The same reference without its tag.
    #[must_use]
    pub fn without_tag(&self) -> Self {
        Self::from_parts(self.domain(), self.path(), None, self.digest())
    }

    /// The same reference without its digest.
    #[must_use]
    pub fn without_digest(&self) -> Self {
        Self::from_parts(self.domain(), self.path(), self.tag(), None)
    }

    /// The same reference with the tag `latest` when it has neither tag nor digest
    /// (`TagNameOnly`).
    #[must_use]
    pub fn with_default_tag(&self) -> Self {
        if self.tag().is_none() && self.digest().is_none() {
            Self::from_parts(self.domain(), self.path(), Some(DEFAULT_TAG), None)
        } else {
            self.clone()
        }
    }
}

/// Where the familiar form of a reference starts: after `docker.io/`, and after
/// `library/` when no other `/` follows.
pub(crate) fn familiar_start(repr: &str, split: Split) -> usize {
    if split.domain(repr) != Some(docker_hub::DOMAIN) {
        return 0;
    }
    let path = &repr[split.path_start..split.path_end];
    match path.strip_prefix(docker_hub::OFFICIAL_PREFIX) {
        Some(rest) if !rest.contains('/') => split.path_start + docker_hub::OFFICIAL_PREFIX.len(),
        _ => split.path_start,
    }
}

/// Checks a tag on its own ([`TagInvalid`](ErrorKind::TagInvalid) when it does not
/// match); offsets are relative to `tag`.
pub(crate) fn check_tag(tag: &str) -> Result<(), Error> {
    match grammar::tag_at(tag, 0) {
        Ok(end) if end == tag.len() => Ok(()),
        Ok(end) => Err(Error::at(ErrorKind::TagInvalid, Part::Tag, tag, end)),
        Err(e) => Err(e.with_kind(ErrorKind::TagInvalid)),
    }
}

/// Checks that a reference may carry `digest`: its algorithm is one of
/// [`digest::AVAILABLE`] (a valid digest of those is valid in a reference).
pub(crate) fn check_digest(digest: &Digest) -> Result<(), Error> {
    if digest::AVAILABLE.iter().any(|a| a.as_str() == digest.algorithm_str()) {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::DigestUnsupported, Part::Digest, 0, Reason::Unsupported))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({:?})", self.repr)
    }
}

impl PartialEq for Reference {
    fn eq(&self, other: &Self) -> bool {
        self.repr == other.repr
    }
}

impl Eq for Reference {}

impl Hash for Reference {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.repr.hash(state);
    }
}

impl PartialOrd for Reference {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Reference {
    fn cmp(&self, other: &Self) -> Ordering {
        self.repr.cmp(&other.repr)
    }
}

impl AsRef<str> for Reference {
    fn as_ref(&self) -> &str {
        &self.repr
    }
}

/// Normalized parsing, as [`Reference::parse`].
impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Normalized parsing, as [`Reference::parse`].
impl TryFrom<&str> for Reference {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl From<Reference> for String {
    fn from(r: Reference) -> Self {
        r.repr
    }
}

/// A reference serializes as its string.
impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.repr)
    }
}

/// A reference deserializes from a string with normalized parsing, like [`FromStr`]:
/// what it serialized to comes back equal.
impl<'de> serde::Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(format_args!("reference {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_keep_the_other_parts() {
        let d = Digest::sha256(b"x");
        let r: Reference = "test.com:8000/foo".parse().unwrap();
        let r = r.with_digest(&d).unwrap().with_tag("TAG5").unwrap();
        assert_eq!(r.to_string(), format!("test.com:8000/foo:TAG5@{d}"));
        assert_eq!(r.digest(), Some(&d));
        assert_eq!(r.without_tag().to_string(), format!("test.com:8000/foo@{d}"));
        assert_eq!(r.without_digest().to_string(), "test.com:8000/foo:TAG5");
        assert_eq!(r.api_reference(), Some(d.as_str()));
        assert_eq!(r.version(), "TAG5");
        let name = r.without_tag().without_digest();
        assert_eq!(
            (name.version(), name.reference_or_default(), name.api_reference()),
            ("latest", "latest", None)
        );
        assert_eq!(name.with_default_tag().to_string(), "test.com:8000/foo:latest");
        let err = name.with_tag("-foo").unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::TagInvalid, "invalid character '-' in tag at byte 0")
        );
        let blake3 = Digest::parse(&format!("blake3:{}", "a".repeat(64))).unwrap();
        let err = name.with_digest(&blake3).unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::DigestUnsupported, "unsupported digest algorithm at byte 0")
        );
        assert_eq!(r.repository().to_string(), "test.com:8000/foo");
        assert_eq!(r.registry().as_str(), "test.com:8000");
    }

    #[test]
    fn serde_is_a_string() {
        let r: Reference = "nginx:1.27".parse().unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"docker.io/library/nginx:1.27\"");
        assert_eq!(serde_json::from_str::<Reference>(&json).unwrap(), r);
        assert_eq!(serde_json::from_str::<Reference>("\"nginx:1.27\"").unwrap(), r);
        let err = serde_json::from_str::<Reference>("\"Nginx\"").unwrap_err().to_string();
        assert!(
            err.starts_with("reference \"Nginx\": invalid character 'N' in repository path at byte 0"),
            "{err}"
        );
    }

    #[test]
    fn digests_of_references_are_sha256_or_sha512() {
        let sha384 = format!("docker.io/library/nginx@sha384:{}", "a".repeat(96));
        let err = Reference::parse(&sha384).unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::DigestUnsupported, "unsupported digest algorithm at byte 24")
        );
        let sha512 = format!("docker.io/library/nginx@sha512:{}", "a".repeat(128));
        let r = Reference::parse(&sha512).unwrap();
        assert_eq!(r.digest().map(Digest::algorithm_str), Some("sha512"));
    }
}
