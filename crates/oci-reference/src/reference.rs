//! The [`Reference`] type, distribution/reference's `Parse` and `WithName`, and the
//! accessors and builders every parsing style shares.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Part, Reason};
use crate::grammar::{self, Split};
use crate::{api, digest, pattern};

/// The longest repository path, in bytes (distribution/reference's
/// `RepositoryNameTotalLengthMax`, which it applies to the path without the domain).
pub const NAME_MAX_LEN: usize = 255;

/// The Docker Hub domain that normalized parsing fills in.
pub const DEFAULT_DOMAIN: &str = "docker.io";

/// The tag that [`Reference::with_default_tag`] and [`Reference::parse_docker_ref`] add.
pub const DEFAULT_TAG: &str = "latest";

/// A valid image reference: `[domain/]path[:tag][@digest]`.
///
/// The reference is stored as one string with the offsets of its parts, so the
/// accessors borrow and [`Display`](fmt::Display) writes the string back as it is:
/// parsing what it prints gives the same reference. The optional parts are explicit:
/// [`domain`](Self::domain) is `None` only for references parsed with
/// [`parse`](Self::parse) (normalized parsing always fills it in), and a reference can
/// have a tag, a digest, both or neither.
///
/// Which constructor to use:
///
/// | input | constructor | upstream |
/// |---|---|---|
/// | what people type (`nginx`, `ghcr.io/o/a:1`) | [`parse_normalized`](Self::parse_normalized), [`FromStr`] | `ParseNormalizedNamed` |
/// | the same, for pulling (adds `latest`, drops a tag beside a digest) | [`parse_docker_ref`](Self::parse_docker_ref) | `ParseDockerRef` |
/// | the same, or a digest or image ID | [`parse_any`](Self::parse_any) | `ParseAnyReference` |
/// | exactly the grammar, no normalization | [`parse`](Self::parse) | `Parse` |
/// | the normalized form only | [`parse_fully_qualified`](Self::parse_fully_qualified) | `ParseNamed` |
/// | `registry/repository[:tag][@digest]` | [`parse_strict`](Self::parse_strict) | oras-go `ParseReference` |
///
/// ```
/// use oci_reference::Reference;
///
/// let r: Reference = "nginx:1.27".parse()?;
/// assert_eq!(r.to_string(), "docker.io/library/nginx:1.27");
/// assert_eq!((r.domain(), r.path(), r.tag(), r.digest()), (Some("docker.io"), "library/nginx", Some("1.27"), None));
/// assert_eq!(r.familiar_string(), "nginx:1.27");
/// assert_eq!(r.endpoint_host(), "registry-1.docker.io");
/// # Ok::<(), oci_reference::Error>(())
/// ```
#[derive(Clone)]
pub struct Reference {
    repr: String,
    split: Split,
}

impl Reference {
    /// Parses `s` exactly as distribution/reference's `Parse`: the grammar, the 255-byte
    /// limit on the path and go-digest validation of the digest, with no normalization.
    ///
    /// The first component is the domain when it is a valid host followed by `/`, so
    /// `nginx` has no domain and `library/nginx` has the domain `library`; use
    /// [`parse_normalized`](Self::parse_normalized) for Docker's reading.
    ///
    /// ```
    /// use oci_reference::{ErrorKind, Reference};
    ///
    /// let r = Reference::parse("test:5000/repo:tag")?;
    /// assert_eq!((r.domain(), r.path(), r.tag()), (Some("test:5000"), "repo", Some("tag")));
    /// let r = Reference::parse("test.com:5000")?;
    /// assert_eq!((r.domain(), r.path(), r.tag()), (None, "test.com", Some("5000")));
    /// assert_eq!(Reference::parse("").unwrap_err().kind(), ErrorKind::NameEmpty);
    /// # Ok::<(), oci_reference::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<Self, Error> {
        let split = validate(s)?;
        Ok(Self { repr: s.to_owned(), split })
    }

    /// [`parse`](Self::parse) of a string the caller already owns.
    /// A reference from a string and its split, both already validated.
    pub(crate) fn from_split(repr: String, split: Split) -> Self {
        Self { repr, split }
    }

    /// Parses a name alone (`[domain/]path`, no tag or digest), as distribution/reference's
    /// `WithName`. Unlike [`parse`](Self::parse), the empty string is an
    /// [`InvalidReferenceFormat`](ErrorKind::InvalidReferenceFormat).
    pub fn parse_name(s: &str) -> Result<Self, Error> {
        let split = grammar::split_name(s)?;
        check_path_len(split)?;
        Ok(Self { repr: s.to_owned(), split })
    }

    /// Builds a reference from parts already validated, in this order.
    pub(crate) fn from_parts(
        domain: Option<&str>,
        path: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Self {
        let len = domain.map_or(0, |d| d.len() + 1)
            + path.len()
            + tag.map_or(0, |t| t.len() + 1)
            + digest.map_or(0, |d| d.len() + 1);
        let mut repr = String::with_capacity(len);
        if let Some(domain) = domain {
            repr.push_str(domain);
            repr.push('/');
        }
        let path_start = repr.len();
        repr.push_str(path);
        let path_end = repr.len();
        if let Some(tag) = tag {
            repr.push(':');
            repr.push_str(tag);
        }
        let tag_end = repr.len();
        if let Some(digest) = digest {
            repr.push('@');
            repr.push_str(digest);
        }
        let end = repr.len();
        let lowercase_digest = digest.is_none_or(|d| !d.bytes().any(|b| b.is_ascii_uppercase()));
        Self { repr, split: Split { path_start, path_end, tag_end, end, lowercase_digest } }
    }

    /// The domain (registry host, with its port), such as `docker.io` or
    /// `[::1]:5000`; `None` only for references from [`parse`](Self::parse) whose first
    /// component is not a domain.
    #[must_use]
    pub fn domain(&self) -> Option<&str> {
        self.split.domain(&self.repr)
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

    /// The digest, without its `@` (`sha256:…`).
    ///
    /// References from the parsers hold digests that go-digest accepts;
    /// [`with_digest`](Self::with_digest) checks only the reference grammar, as
    /// distribution/reference's `WithDigest` does. Use
    /// [`oci_spec_types::Digest::parse`] on it for a typed digest.
    #[must_use]
    pub fn digest(&self) -> Option<&str> {
        self.split.digest(&self.repr)
    }

    /// The whole reference, as [`Display`](fmt::Display) writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.repr
    }

    /// Where the familiar form starts: after `docker.io/`, and after `library/` when
    /// no other `/` follows.
    fn familiar_start(&self) -> usize {
        if self.domain() != Some(DEFAULT_DOMAIN) {
            return 0;
        }
        let path = self.path();
        match path.strip_prefix("library/") {
            Some(rest) if !rest.contains('/') => self.split.path_start + "library/".len(),
            _ => self.split.path_start,
        }
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
        self.tag().or_else(|| self.digest()).unwrap_or(DEFAULT_TAG)
    }

    /// The `<reference>` of the registry API (`/v2/<name>/manifests/<reference>`): the
    /// digest when there is one (it pins the content), else the tag.
    #[must_use]
    pub fn api_reference(&self) -> Option<&str> {
        self.digest().or_else(|| self.tag())
    }

    /// [`api_reference`](Self::api_reference), or `latest` when there is neither tag
    /// nor digest (oras-go's `ReferenceOrDefault`).
    #[must_use]
    pub fn reference_or_default(&self) -> &str {
        self.api_reference().unwrap_or(DEFAULT_TAG)
    }

    /// The host to connect to, kept apart from the domain: `docker.io` (and a
    /// reference without a domain, which Docker reads as Docker Hub) is served by
    /// `registry-1.docker.io`.
    #[must_use]
    pub fn endpoint_host(&self) -> &str {
        api::endpoint_host(self.domain().unwrap_or(DEFAULT_DOMAIN))
    }

    /// The same reference with `tag` in place of its tag, keeping the digest
    /// (`WithTag`); fails with [`TagInvalid`](ErrorKind::TagInvalid), at an offset in
    /// `tag`, when it does not match the tag grammar.
    pub fn with_tag(&self, tag: &str) -> Result<Self, Error> {
        match grammar::tag_at(tag, 0) {
            Ok(end) if end == tag.len() => {}
            Ok(end) => return Err(Error::at(ErrorKind::TagInvalid, Part::Tag, tag, end)),
            Err(e) => return Err(e.with_kind(ErrorKind::TagInvalid)),
        }
        Ok(Self::from_parts(self.domain(), self.path(), Some(tag), self.digest()))
    }

    /// The same reference with `digest` in place of its digest, keeping the tag
    /// (`WithDigest`). Like upstream, only the reference grammar is checked (an
    /// algorithm, `:` and at least 32 hex characters); it fails with
    /// [`DigestInvalid`](ErrorKind::DigestInvalid), at an offset in `digest`, otherwise.
    /// A [`Digest`](oci_spec_types::Digest) is always accepted: pass `d.as_str()`.
    pub fn with_digest(&self, digest: &str) -> Result<Self, Error> {
        match grammar::digest_at(digest, 0) {
            Ok(end) if end == digest.len() => {}
            Ok(end) => return Err(Error::at(ErrorKind::DigestInvalid, Part::Digest, digest, end)),
            Err(e) => return Err(e.with_kind(ErrorKind::DigestInvalid)),
        }
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

/// Checks `s` against the grammar, the path limit and go-digest: `Parse` without the
/// allocation.
fn validate(s: &str) -> Result<Split, Error> {
    let split = grammar::split_reference(s).map_err(|e| classify_mismatch(s, e))?;
    check_path_len(split)?;
    if let Some(d) = split.digest(s) {
        digest::validate_grammatical(d, split.lowercase_digest).map_err(|e| e.shifted(split.tag_end + 1))?;
    }
    Ok(split)
}

fn check_path_len(split: Split) -> Result<(), Error> {
    if split.path_end - split.path_start > NAME_MAX_LEN {
        return Err(Error::new(
            ErrorKind::NameTooLong,
            Part::Repository,
            split.path_start + NAME_MAX_LEN,
            Reason::TooLong(NAME_MAX_LEN),
        ));
    }
    Ok(())
}

/// Upstream's classification of a grammar mismatch: empty input, then "would match in
/// lowercase" (Go's `strings.ToLower`), then the grammar error itself.
fn classify_mismatch(s: &str, grammar_error: Error) -> Error {
    if s.is_empty() {
        return Error::new(ErrorKind::NameEmpty, Part::Reference, 0, Reason::Empty);
    }
    uppercase_error(s).unwrap_or(grammar_error)
}

/// Go's `unicode.ToLower`, for the characters whose lowercase is ASCII: only those
/// can turn a mismatch into a match.
fn go_lower_to_ascii(c: char) -> Option<char> {
    match c {
        'A'..='Z' => Some(c.to_ascii_lowercase()),
        '\u{212A}' => Some('k'), // KELVIN SIGN
        '\u{130}' => Some('i'),  // LATIN CAPITAL LETTER I WITH DOT ABOVE
        _ => None,
    }
}

/// The `ErrNameContainsUppercase` error when the lowercased input matches the grammar,
/// pointing at the first uppercase character of the path (or of the input).
fn uppercase_error(s: &str) -> Option<Error> {
    let mut lowered = String::with_capacity(s.len());
    let mut changes = Vec::new();
    for (at, c) in s.char_indices() {
        match go_lower_to_ascii(c) {
            Some(lower) => {
                changes.push((at, lowered.len(), c));
                lowered.push(lower);
            }
            None => lowered.push(c),
        }
    }
    let split = grammar::split_reference(&lowered).ok()?;
    let in_path = |low: usize| (split.path_start..split.path_end).contains(&low);
    let &(at, low, c) = changes.iter().find(|(_, low, _)| in_path(*low)).or(changes.first())?;
    let part = if in_path(low) {
        Part::Repository
    } else if low < split.path_start {
        Part::Registry
    } else if low < split.tag_end {
        Part::Tag
    } else {
        Part::Digest
    };
    Some(Error::new(ErrorKind::NameContainsUppercase, part, at, Reason::Char(c)))
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

/// Normalized parsing, as [`Reference::parse_normalized`].
impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_normalized(s)
    }
}

/// Normalized parsing, as [`Reference::parse_normalized`].
impl TryFrom<&str> for Reference {
    type Error = Error;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse_normalized(s)
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
        Self::parse_normalized(&s).map_err(|e| serde::de::Error::custom(format_args!("reference {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    /// Input, domain, path, tag, whether there is a digest.
    type Row<'a> = (&'a str, Option<&'a str>, &'a str, Option<&'a str>, bool);

    #[test]
    fn parse_splits_like_upstream() {
        let cases: &[Row<'_>] = &[
            ("test_com", None, "test_com", None, false),
            ("test.com:tag", None, "test.com", Some("tag"), false),
            ("test:5000/repo", Some("test:5000"), "repo", None, false),
            (&format!("test:5000/repo:tag@{D}"), Some("test:5000"), "repo", Some("tag"), true),
            ("[2001:db8::1]:5000/repo", Some("[2001:db8::1]:5000"), "repo", None, false),
            ("lowercase:Uppercase", None, "lowercase", Some("Uppercase"), false),
        ];
        for (input, domain, path, tag, has_digest) in cases {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(
                (r.domain(), r.path(), r.tag(), r.digest().is_some()),
                (*domain, *path, *tag, *has_digest)
            );
            assert_eq!(r.to_string(), *input);
        }
    }

    #[test]
    fn parse_errors_are_classified_and_pinned() {
        let long_path = format!("domain/{}:tag", "a".repeat(256));
        let cases: &[(&str, ErrorKind, &str)] = &[
            ("", ErrorKind::NameEmpty, "empty reference at byte 0"),
            (
                ":justtag",
                ErrorKind::InvalidReferenceFormat,
                "invalid character ':' in repository path at byte 0",
            ),
            (
                "Uppercase:tag",
                ErrorKind::NameContainsUppercase,
                "invalid character 'U' in repository path at byte 0",
            ),
            (
                "test:5000/Uppercase/lowercase:tag",
                ErrorKind::NameContainsUppercase,
                "invalid character 'U' in repository path at byte 10",
            ),
            (
                "\u{212A}ube",
                ErrorKind::NameContainsUppercase,
                "invalid character '\u{212A}' in repository path at byte 0",
            ),
            (
                "aa/asdf$$^/aa",
                ErrorKind::InvalidReferenceFormat,
                "invalid character '$' in repository path at byte 7",
            ),
            (&long_path, ErrorKind::NameTooLong, "repository path longer than 255 bytes at byte 262"),
            (
                "[2001:db8::1]",
                ErrorKind::InvalidReferenceFormat,
                "invalid character '[' in repository path at byte 0",
            ),
            (
                "repo@sha256:ffffffffffffffffffffffffffffffffff",
                ErrorKind::DigestInvalidLength,
                "invalid digest length: its algorithm takes 64 hex characters, found 34, at byte 46",
            ),
            (
                "validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                ErrorKind::DigestUnsupported,
                "unsupported digest algorithm at byte 10",
            ),
        ];
        for (input, kind, message) in cases {
            let err = Reference::parse(input).expect_err(input);
            assert_eq!((err.kind(), err.to_string().as_str()), (*kind, *message), "{input:?}");
        }
    }

    #[test]
    fn builders_keep_the_other_parts() {
        let r = Reference::parse_name("test.com:8000/foo").unwrap();
        let r = r.with_digest("sha256:1234567890098765432112345667890098765").unwrap();
        let r = r.with_tag("TAG5").unwrap();
        assert_eq!(r.to_string(), "test.com:8000/foo:TAG5@sha256:1234567890098765432112345667890098765");
        assert_eq!(
            r.without_tag().to_string(),
            "test.com:8000/foo@sha256:1234567890098765432112345667890098765"
        );
        assert_eq!(r.without_digest().to_string(), "test.com:8000/foo:TAG5");
        assert_eq!(r.api_reference(), Some("sha256:1234567890098765432112345667890098765"));
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
        let err = name.with_digest("foo").unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::DigestInvalid, "unexpected end of input in digest at byte 3")
        );
        assert_eq!(Reference::parse_name("").unwrap_err().kind(), ErrorKind::InvalidReferenceFormat);
        assert_eq!(Reference::parse_name("example.com/repo:tag").unwrap_err().offset(), 16);
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
}
