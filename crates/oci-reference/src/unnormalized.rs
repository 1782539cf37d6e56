//! [`UnnormalizedReference`]: distribution/reference's `Parse` and `WithName`, exactly
//! the grammar, with no Docker Hub rules.

use std::fmt;

use crate::digest;
use crate::error::{Error, ErrorKind, Part, Reason};
use crate::grammar::{self, Split};
use crate::reference::{DEFAULT_TAG, NAME_MAX_LEN, Reference, check_tag, familiar_start};

/// A reference read by the grammar alone, as distribution/reference's `Parse` does: no
/// domain is filled in, so `nginx` has none and `library/nginx` has the domain
/// `library`.
///
/// It exists to compare with upstream's `Parse` case by case and to look at what was
/// typed; anything that talks to a registry takes a [`Reference`], which
/// [`normalize`](Self::normalize) gives (the Docker reading, `nginx` is
/// `docker.io/library/nginx`).
///
/// ```
/// use oci_reference::{ErrorKind, UnnormalizedReference};
///
/// let r = UnnormalizedReference::parse("test:5000/repo:tag")?;
/// assert_eq!((r.domain(), r.path(), r.tag()), (Some("test:5000"), "repo", Some("tag")));
/// let r = UnnormalizedReference::parse("test.com:5000")?;
/// assert_eq!((r.domain(), r.path(), r.tag()), (None, "test.com", Some("5000")));
/// assert_eq!(UnnormalizedReference::parse("nginx")?.normalize()?.to_string(), "docker.io/library/nginx");
/// assert_eq!(UnnormalizedReference::parse("").unwrap_err().kind(), ErrorKind::NameEmpty);
/// # Ok::<(), oci_reference::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnnormalizedReference {
    repr: String,
    split: Split,
}

impl UnnormalizedReference {
    /// Parses `s` exactly as distribution/reference's `Parse`: the grammar, the 255-byte
    /// limit on the path and go-digest validation of the digest, with no normalization.
    /// The first component is the domain when it is a valid host followed by `/`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let split = validate(s)?;
        Ok(Self { repr: s.to_owned(), split })
    }

    /// Parses a name alone (`[domain/]path`, no tag or digest), as distribution/reference's
    /// `WithName`. Unlike [`parse`](Self::parse), the empty string is an
    /// [`InvalidReferenceFormat`](ErrorKind::InvalidReferenceFormat).
    pub fn parse_name(s: &str) -> Result<Self, Error> {
        let split = grammar::split_name(s)?;
        check_path_len(split)?;
        Ok(Self { repr: s.to_owned(), split })
    }

    /// The domain, when the first component is one.
    #[must_use]
    pub fn domain(&self) -> Option<&str> {
        self.split.domain(&self.repr)
    }

    /// The repository path (`nginx` for `nginx`, `repo` for `test:5000/repo`).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.repr[self.split.path_start..self.split.path_end]
    }

    /// The name: domain (if any), `/` and path.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.repr[..self.split.path_end]
    }

    /// The tag, without its `:`.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        self.split.tag(&self.repr)
    }

    /// The digest, without its `@`, as text: [`with_digest`](Self::with_digest) checks
    /// only the grammar, as upstream's `WithDigest` does.
    #[must_use]
    pub fn digest(&self) -> Option<&str> {
        self.split.digest(&self.repr)
    }

    /// The whole reference, as [`Display`](fmt::Display) writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.repr
    }

    /// The name as Docker shows it (`FamiliarName`): without `docker.io/` (and
    /// `library/` before a single component) when the domain is `docker.io`.
    #[must_use]
    pub fn familiar_name(&self) -> &str {
        &self.repr[familiar_start(&self.repr, self.split)..self.split.path_end]
    }

    /// The whole reference as Docker shows it (`FamiliarString`).
    #[must_use]
    pub fn familiar_string(&self) -> &str {
        &self.repr[familiar_start(&self.repr, self.split)..]
    }

    /// The reference the way `docker pull` reads this text ([`Reference::parse`]).
    pub fn normalize(&self) -> Result<Reference, Error> {
        Reference::parse(&self.repr)
    }

    /// The same reference with `tag` in place of its tag, keeping the digest
    /// (`WithTag`); fails with [`TagInvalid`](ErrorKind::TagInvalid), at an offset in
    /// `tag`, when it does not match the tag grammar.
    pub fn with_tag(&self, tag: &str) -> Result<Self, Error> {
        check_tag(tag)?;
        Ok(self.with(self.domain(), Some(tag), self.digest()))
    }

    /// The same reference with `digest` in place of its digest, keeping the tag
    /// (`WithDigest`). Like upstream, only the reference grammar is checked (an
    /// algorithm, `:` and at least 32 hex characters); it fails with
    /// [`DigestInvalid`](ErrorKind::DigestInvalid), at an offset in `digest`, otherwise.
    pub fn with_digest(&self, digest: &str) -> Result<Self, Error> {
        match grammar::digest_at(digest, 0) {
            Ok(end) if end == digest.len() => {}
            Ok(end) => return Err(Error::at(ErrorKind::DigestInvalid, Part::Digest, digest, end)),
            Err(e) => return Err(e.with_kind(ErrorKind::DigestInvalid)),
        }
        Ok(self.with(self.domain(), self.tag(), Some(digest)))
    }

    /// The same reference without its tag.
    #[must_use]
    pub fn without_tag(&self) -> Self {
        self.with(self.domain(), None, self.digest())
    }

    /// The same reference without its digest.
    #[must_use]
    pub fn without_digest(&self) -> Self {
        self.with(self.domain(), self.tag(), None)
    }

    /// The same reference with the tag `latest` when it has neither tag nor digest
    /// (`TagNameOnly`).
    #[must_use]
    pub fn with_default_tag(&self) -> Self {
        if self.tag().is_none() && self.digest().is_none() {
            self.with(self.domain(), Some(DEFAULT_TAG), None)
        } else {
            self.clone()
        }
    }

    fn with(&self, domain: Option<&str>, tag: Option<&str>, digest: Option<&str>) -> Self {
        let (repr, split) = grammar::compose(domain, self.path(), tag, digest);
        Self { repr, split }
    }
}

/// Checks `s` against the grammar, the path limit and go-digest: `Parse` without the
/// allocation.
pub(crate) fn validate(s: &str) -> Result<Split, Error> {
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

impl fmt::Display for UnnormalizedReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for UnnormalizedReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnnormalizedReference({:?})", self.repr)
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
            let r = UnnormalizedReference::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
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
            let err = UnnormalizedReference::parse(input).expect_err(input);
            assert_eq!((err.kind(), err.to_string().as_str()), (*kind, *message), "{input:?}");
        }
    }

    #[test]
    fn grammar_builders_keep_the_other_parts() {
        let r = UnnormalizedReference::parse_name("test.com:8000/foo").unwrap();
        let r = r.with_digest("sha256:1234567890098765432112345667890098765").unwrap();
        let r = r.with_tag("TAG5").unwrap();
        assert_eq!(r.to_string(), "test.com:8000/foo:TAG5@sha256:1234567890098765432112345667890098765");
        assert_eq!(
            r.without_tag().to_string(),
            "test.com:8000/foo@sha256:1234567890098765432112345667890098765"
        );
        assert_eq!(r.without_digest().to_string(), "test.com:8000/foo:TAG5");
        let name = r.without_tag().without_digest();
        assert_eq!(name.with_default_tag().to_string(), "test.com:8000/foo:latest");
        let err = name.with_digest("foo").unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (ErrorKind::DigestInvalid, "unexpected end of input in digest at byte 3")
        );
        assert_eq!(
            UnnormalizedReference::parse_name("").unwrap_err().kind(),
            ErrorKind::InvalidReferenceFormat
        );
        assert_eq!(UnnormalizedReference::parse_name("example.com/repo:tag").unwrap_err().offset(), 16);
    }

    #[test]
    fn normalize_gives_the_docker_reading() {
        let r = UnnormalizedReference::parse("library/nginx:1").unwrap();
        assert_eq!(r.domain(), Some("library"));
        assert_eq!(r.normalize().unwrap().to_string(), "docker.io/library/nginx:1");
        assert_eq!(r.normalize().unwrap().domain(), "docker.io");
    }
}
