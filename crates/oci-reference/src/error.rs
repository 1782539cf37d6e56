//! The one error type of the crate: a kind, the part of the reference at fault and the
//! byte offset where the input stopped matching.

use std::fmt;

/// What went wrong, as distribution/reference (and go-digest) classify it.
///
/// Each kind corresponds to one of the Go error variables, named in its documentation,
/// so that results can be compared with the Go libraries case by case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input does not match the reference grammar (`ErrReferenceInvalidFormat`).
    InvalidReferenceFormat,
    /// The input is empty (`ErrNameEmpty`).
    NameEmpty,
    /// The repository path is longer than 255 bytes (`ErrNameTooLong`).
    NameTooLong,
    /// The repository path has uppercase letters (`ErrNameContainsUppercase`).
    NameContainsUppercase,
    /// The input is not in its normalized, fully qualified form (`ErrNameNotCanonical`).
    NameNotCanonical,
    /// The input is a 64-character hexadecimal identifier, which normalized parsing
    /// refuses as a repository name ("cannot specify 64-byte hexadecimal strings").
    NameIsIdentifier,
    /// A tag given on its own does not match the tag grammar (`ErrTagInvalidFormat`).
    TagInvalid,
    /// A digest does not match the digest grammar or is not lowercase hex
    /// (`ErrDigestInvalidFormat`).
    DigestInvalid,
    /// A digest's encoded part has the wrong length for its algorithm
    /// (`ErrDigestInvalidLength`).
    DigestInvalidLength,
    /// A digest names an algorithm that is not known (`ErrDigestUnsupported`).
    DigestUnsupported,
    /// A pattern given to `familiar_match` is malformed (Go's `path.ErrBadPattern`).
    PatternInvalid,
}

impl ErrorKind {
    /// The kind's name, as written in this enum (`"NameTooLong"`), for reports and JSON.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidReferenceFormat => "InvalidReferenceFormat",
            Self::NameEmpty => "NameEmpty",
            Self::NameTooLong => "NameTooLong",
            Self::NameContainsUppercase => "NameContainsUppercase",
            Self::NameNotCanonical => "NameNotCanonical",
            Self::NameIsIdentifier => "NameIsIdentifier",
            Self::TagInvalid => "TagInvalid",
            Self::DigestInvalid => "DigestInvalid",
            Self::DigestInvalidLength => "DigestInvalidLength",
            Self::DigestUnsupported => "DigestUnsupported",
            Self::PatternInvalid => "PatternInvalid",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of the input an [`Error`] points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Part {
    /// The whole reference (for example when it is empty).
    Reference,
    /// The registry host (the domain), before the first `/`.
    Registry,
    /// The port after the registry host.
    Port,
    /// The repository path.
    Repository,
    /// The tag, after `:`.
    Tag,
    /// The digest, after `@`.
    Digest,
    /// A `familiar_match` pattern.
    Pattern,
}

impl Part {
    fn as_str(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Registry => "registry",
            Self::Port => "registry port",
            Self::Repository => "repository path",
            Self::Tag => "tag",
            Self::Digest => "digest",
            Self::Pattern => "pattern",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the input stopped matching; chooses the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// A character that cannot appear there.
    Char(char),
    /// The input ended where more was expected.
    End,
    /// Nothing where something is required.
    Empty,
    /// Longer than the limit (in bytes).
    TooLong(usize),
    /// Shorter than the minimum (in characters).
    TooShort(usize),
    /// Strict form without a `/` between registry and repository.
    MissingSlash,
    /// A digest's encoded part has the wrong length.
    DigestLength { expected: usize, found: usize },
    /// A digest algorithm that is not known.
    Unsupported,
    /// The input differs from its normalized form here.
    NotCanonical,
    /// The whole input is a 64-hex identifier.
    Identifier,
}

/// A reference, or one of its parts, that failed to parse.
///
/// It carries a [`kind`](Self::kind) (the distribution/reference error it corresponds
/// to), the [`part`](Self::part) of the input at fault and the byte
/// [`offset`](Self::offset) where the input stopped matching. The message names all
/// three:
///
/// ```
/// use oci_reference::{ErrorKind, Part, Reference};
///
/// let err = Reference::parse("example/Foo").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::NameContainsUppercase);
/// assert_eq!(err.part(), Part::Repository);
/// assert_eq!(err.offset(), 8);
/// assert_eq!(err.to_string(), "invalid character 'F' in repository path at byte 8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    part: Part,
    offset: usize,
    reason: Reason,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, part: Part, offset: usize, reason: Reason) -> Self {
        Self { kind, part, offset, reason }
    }

    /// An error at `offset` of `input`, naming the character found there (or the end).
    pub(crate) fn at(kind: ErrorKind, part: Part, input: &str, offset: usize) -> Self {
        let reason =
            input.get(offset..).and_then(|rest| rest.chars().next()).map_or(Reason::End, Reason::Char);
        Self::new(kind, part, offset, reason)
    }

    /// A grammar mismatch (`InvalidReferenceFormat`) at `offset` of `input`.
    pub(crate) fn syntax(part: Part, input: &str, offset: usize) -> Self {
        Self::at(ErrorKind::InvalidReferenceFormat, part, input, offset)
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Which part of the input is at fault.
    #[must_use]
    pub fn part(&self) -> Part {
        self.part
    }

    /// The byte offset in the input where it stopped matching.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The character found at [`offset`](Self::offset), when a character (rather than
    /// the end of the input, or a length) is the problem.
    #[must_use]
    pub fn found(&self) -> Option<char> {
        match self.reason {
            Reason::Char(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) fn with_offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }

    /// The same error, with its offset moved by `by` bytes (for a part parsed on its own).
    pub(crate) fn shifted(self, by: usize) -> Self {
        let offset = self.offset + by;
        self.with_offset(offset)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (part, at) = (self.part, self.offset);
        match self.reason {
            Reason::Char(c) => write!(f, "invalid character {c:?} in {part} at byte {at}"),
            Reason::End => write!(f, "unexpected end of input in {part} at byte {at}"),
            Reason::Empty => write!(f, "empty {part} at byte {at}"),
            Reason::TooLong(limit) => write!(f, "{part} longer than {limit} bytes at byte {at}"),
            Reason::TooShort(min) => write!(f, "{part} shorter than {min} characters at byte {at}"),
            Reason::MissingSlash => {
                write!(f, "missing '/' between registry and repository at byte {at}")
            }
            Reason::DigestLength { expected, found } => write!(
                f,
                "invalid digest length: its algorithm takes {expected} hex characters, found {found}, at byte {at}"
            ),
            Reason::Unsupported => write!(f, "unsupported digest algorithm at byte {at}"),
            Reason::NotCanonical => {
                write!(
                    f,
                    "reference is not in canonical form: it differs from its normalized form at byte {at}"
                )
            }
            Reason::Identifier => {
                write!(f, "a 64-character hexadecimal identifier cannot be a repository name, at byte {at}")
            }
        }
    }
}

impl std::error::Error for Error {}
