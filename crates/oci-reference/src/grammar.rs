//! The reference grammar of distribution/reference, one function per production.
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [ domain-and-port "/" ] path
//! domain-and-port  := host [ port ]
//! host             := domain-name | ipv6-literal
//! domain-name      := domain-component ( "." domain-component )*
//! domain-component := [a-zA-Z0-9] | [a-zA-Z0-9] [a-zA-Z0-9-]* [a-zA-Z0-9]
//! ipv6-literal     := "[" [a-fA-F0-9:]+ "]"
//! port             := ":" [0-9]+
//! path             := path-component ( "/" path-component )*
//! path-component   := [a-z0-9]+ ( separator [a-z0-9]+ )*
//! separator        := [_.] | "__" | "-"+
//! tag              := [\w] [\w.-]{0,127}
//! digest           := algorithm ":" [0-9a-fA-F]{32,}
//! algorithm        := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )*
//! identifier       := [a-f0-9]{64}
//! ```
//!
//! Each public function matches its production at the start of the input and returns
//! the matched text and the rest, or an [`Error`] at the byte where the input stopped
//! matching. The productions commit: once an optional continuation has started (a `.`
//! after a domain component, a `:` after a host, a separator, a `/` in a path), it must
//! complete. In every place a production is used in a reference that gives the same
//! answers as the regular expressions of distribution/reference, with better error
//! positions. [`reference()`] and [`name()`] also apply the regular expressions' choice
//! between "first component is a domain" and "the whole name is a path".
//!
//! Only the grammar is checked here: the length limit of the repository path and the
//! go-digest validation of digests are the parsers' business (see
//! [`UnnormalizedReference::parse`](crate::UnnormalizedReference::parse)).
//!
//! The module is public only with the `unstable-grammar` feature, for the conformance
//! suite's checks of the productions against distribution/reference's regular
//! expressions (its use is shown in the `productions_split_what_they_match` test).

// Without `unstable-grammar`, the module is private and its public productions are
// used only by the parsers.
#![cfg_attr(not(feature = "unstable-grammar"), allow(dead_code, unreachable_pub))]

use crate::bytes::{ALNUM, DIGIT, LOWER, LOWER_ALNUM, TAG, UPPER, WORD, hex_run, is, run};
use crate::error::{Error, ErrorKind, Part, Reason};

/// The longest tag, in bytes.
pub const TAG_MAX_LEN: usize = 128;
/// The fewest hex characters a digest's encoded part has in the reference grammar.
pub const DIGEST_MIN_HEX: usize = 32;

type Pos = Result<usize, Error>;

#[inline]
fn byte(s: &str, i: usize) -> Option<u8> {
    s.as_bytes().get(i).copied()
}

/// `domain-component`, from `i`.
pub(crate) fn domain_component_at(s: &str, i: usize) -> Pos {
    let mut end = run(s, i, ALNUM);
    if end == i {
        return Err(Error::syntax(Part::Registry, s, i));
    }
    while byte(s, end) == Some(b'-') {
        // A run of hyphens must be followed by an alphanumeric.
        let hyphens_end = end + 1 + s.as_bytes()[end + 1..].iter().take_while(|&&b| b == b'-').count();
        end = run(s, hyphens_end, ALNUM);
        if end == hyphens_end {
            return Err(Error::syntax(Part::Registry, s, hyphens_end));
        }
    }
    Ok(end)
}

/// `domain-name`, from `i`.
pub(crate) fn domain_name_at(s: &str, i: usize) -> Pos {
    let mut end = domain_component_at(s, i)?;
    while byte(s, end) == Some(b'.') {
        end = domain_component_at(s, end + 1)?;
    }
    Ok(end)
}

/// `ipv6-literal`, from `i` (which holds `[`).
pub(crate) fn ipv6_literal_at(s: &str, i: usize) -> Pos {
    if byte(s, i) != Some(b'[') {
        return Err(Error::syntax(Part::Registry, s, i));
    }
    let mut j = i + 1;
    while byte(s, j).is_some_and(|b| b.is_ascii_hexdigit() || b == b':') {
        j += 1;
    }
    if j == i + 1 || byte(s, j) != Some(b']') {
        return Err(Error::syntax(Part::Registry, s, j));
    }
    Ok(j + 1)
}

/// `host`, from `i`.
pub(crate) fn host_at(s: &str, i: usize) -> Pos {
    if byte(s, i) == Some(b'[') { ipv6_literal_at(s, i) } else { domain_name_at(s, i) }
}

/// `port`, from `i` (which holds `:`).
pub(crate) fn port_at(s: &str, i: usize) -> Pos {
    if byte(s, i) != Some(b':') {
        return Err(Error::syntax(Part::Port, s, i));
    }
    let end = run(s, i + 1, DIGIT);
    if end == i + 1 {
        return Err(Error::syntax(Part::Port, s, end));
    }
    Ok(end)
}

/// `domain-and-port`, from `i`.
pub(crate) fn domain_and_port_at(s: &str, i: usize) -> Pos {
    let end = host_at(s, i)?;
    if byte(s, end) == Some(b':') { port_at(s, end) } else { Ok(end) }
}

/// `separator`, from `i`: the longest separator there.
pub(crate) fn separator_at(s: &str, i: usize) -> Pos {
    match byte(s, i) {
        Some(b'_') if byte(s, i + 1) == Some(b'_') => Ok(i + 2),
        Some(b'.' | b'_') => Ok(i + 1),
        Some(b'-') => {
            let mut j = i + 1;
            while byte(s, j) == Some(b'-') {
                j += 1;
            }
            Ok(j)
        }
        _ => Err(Error::syntax(Part::Repository, s, i)),
    }
}

#[inline]
fn lower_alnum_run(s: &str, i: usize) -> Pos {
    let end = run(s, i, LOWER_ALNUM);
    if end == i { Err(Error::syntax(Part::Repository, s, i)) } else { Ok(end) }
}

/// `path-component`, from `i`.
pub(crate) fn path_component_at(s: &str, i: usize) -> Pos {
    let mut end = lower_alnum_run(s, i)?;
    while matches!(byte(s, end), Some(b'.' | b'_' | b'-')) {
        let sep_end = separator_at(s, end)?;
        end = lower_alnum_run(s, sep_end)?;
    }
    Ok(end)
}

/// `path`, from `i`.
pub(crate) fn path_at(s: &str, i: usize) -> Pos {
    let mut end = path_component_at(s, i)?;
    while byte(s, end) == Some(b'/') {
        end = path_component_at(s, end + 1)?;
    }
    Ok(end)
}

/// `tag`, from `i`.
pub(crate) fn tag_at(s: &str, i: usize) -> Pos {
    if !byte(s, i).is_some_and(|b| is(b, WORD)) {
        return Err(Error::syntax(Part::Tag, s, i));
    }
    let j = run(s, i + 1, TAG);
    if j - i > TAG_MAX_LEN {
        let at = i + TAG_MAX_LEN;
        return Err(Error::new(
            ErrorKind::InvalidReferenceFormat,
            Part::Tag,
            at,
            Reason::TooLong(TAG_MAX_LEN),
        ));
    }
    Ok(j)
}

/// `digest` (the reference grammar's, not go-digest's), from `i`.
pub(crate) fn digest_at(s: &str, i: usize) -> Pos {
    digest_case_at(s, i).map(|(end, _)| end)
}

/// [`digest_at`], and whether the hex digits are all lowercase (as go-digest wants).
pub(crate) fn digest_case_at(s: &str, i: usize) -> Result<(usize, bool), Error> {
    let mut j = i;
    loop {
        if !byte(s, j).is_some_and(|b| is(b, LOWER | UPPER)) {
            return Err(Error::syntax(Part::Digest, s, j));
        }
        j = run(s, j + 1, ALNUM);
        if matches!(byte(s, j), Some(b'-' | b'_' | b'+' | b'.')) {
            j += 1;
        } else {
            break;
        }
    }
    if byte(s, j) != Some(b':') {
        return Err(Error::syntax(Part::Digest, s, j));
    }
    let hex_start = j + 1;
    let lower_end = hex_run(s, hex_start, false);
    let end = if byte(s, lower_end).is_some_and(|b| matches!(b, b'A'..=b'F')) {
        hex_run(s, lower_end, true)
    } else {
        lower_end
    };
    if end - hex_start < DIGEST_MIN_HEX {
        if end < s.len() {
            return Err(Error::syntax(Part::Digest, s, end));
        }
        return Err(Error::new(
            ErrorKind::InvalidReferenceFormat,
            Part::Digest,
            end,
            Reason::TooShort(DIGEST_MIN_HEX),
        ));
    }
    Ok((end, end == lower_end))
}

/// Whether `s` is exactly an `identifier` (64 lowercase hex characters).
pub(crate) fn is_identifier(s: &str) -> bool {
    s.len() == 64 && hex_run(s, 0, false) == 64
}

/// Where a parsed reference's parts are: offsets into the parsed string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Split {
    /// 0 without a domain, else the byte after the `/` that ends it.
    pub(crate) path_start: usize,
    pub(crate) path_end: usize,
    /// `path_end` without a tag.
    pub(crate) tag_end: usize,
    /// `tag_end` without a digest.
    pub(crate) end: usize,
    /// Whether the digest's hex digits, if any, are lowercase (known from parsing).
    pub(crate) lowercase_digest: bool,
}

impl Split {
    pub(crate) fn domain(self, s: &str) -> Option<&str> {
        (self.path_start > 0).then(|| &s[..self.path_start - 1])
    }

    pub(crate) fn tag(self, s: &str) -> Option<&str> {
        (self.tag_end > self.path_end).then(|| &s[self.path_end + 1..self.tag_end])
    }

    pub(crate) fn digest(self, s: &str) -> Option<&str> {
        (self.end > self.tag_end).then(|| &s[self.tag_end + 1..self.end])
    }
}

/// The string of a reference composed of parts already validated, and its split.
pub(crate) fn compose(
    domain: Option<&str>,
    path: &str,
    tag: Option<&str>,
    digest: Option<&str>,
) -> (String, Split) {
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
    (repr, Split { path_start, path_end, tag_end, end, lowercase_digest })
}

/// `name` followed by what `tail` accepts, choosing between the two readings of the
/// first component as the regular expression `(domain-and-port "/")? path` does.
///
/// A first component that is a valid `domain-and-port` followed by `/` is the domain:
/// the other reading parses the rest identically, so it cannot succeed where this one
/// fails. Otherwise the whole name is a path. When both readings fail, the error of the
/// domain reading is reported when the first component looks like a host (has `.`, `:`
/// or `[`), else the error of the path reading.
fn name_then<T>(s: &str, tail: impl Fn(&str, usize) -> Result<T, Error>) -> Result<(usize, usize, T), Error> {
    let domain = domain_and_port_at(s, 0);
    if let Ok(end) = domain {
        if byte(s, end) == Some(b'/') {
            let path_end = path_at(s, end + 1)?;
            return Ok((end + 1, path_end, tail(s, path_end)?));
        }
    }
    let as_path = path_at(s, 0).and_then(|path_end| Ok((0, path_end, tail(s, path_end)?)));
    as_path.map_err(|path_err| {
        let looks_like_host = s
            .split_once('/')
            .is_some_and(|(first, _)| first.bytes().any(|b| matches!(b, b'.' | b':' | b'[')));
        match domain {
            Err(domain_err) if looks_like_host => domain_err,
            Ok(end) if looks_like_host => Error::syntax(Part::Registry, s, end),
            _ => path_err,
        }
    })
}

/// The `[ ":" tag ] [ "@" digest ]` after a name ending at `i`, to the end of `s`.
/// Also says whether the digest's hex digits are all lowercase.
fn reference_tail(s: &str, i: usize) -> Result<(usize, usize, bool), Error> {
    let tag_end = match byte(s, i) {
        None => return Ok((i, i, true)),
        Some(b':') => tag_at(s, i + 1)?,
        Some(b'@') => i,
        Some(_) => return Err(Error::syntax(Part::Repository, s, i)),
    };
    match byte(s, tag_end) {
        None => Ok((tag_end, tag_end, true)),
        Some(b'@') => {
            let (end, lowercase) = digest_case_at(s, tag_end + 1)?;
            if end == s.len() {
                Ok((tag_end, end, lowercase))
            } else {
                Err(Error::syntax(Part::Digest, s, end))
            }
        }
        Some(_) => Err(Error::syntax(Part::Tag, s, tag_end)),
    }
}

/// The whole of `s` as a `reference`.
pub(crate) fn split_reference(s: &str) -> Result<Split, Error> {
    let (path_start, path_end, (tag_end, end, lowercase_digest)) = name_then(s, reference_tail)?;
    Ok(Split { path_start, path_end, tag_end, end, lowercase_digest })
}

/// `path` and the reference's tail from `i` to the end of `s`: where the path and the
/// tag end, the end, and whether the digest is lowercase.
pub(crate) fn path_and_tail(s: &str, i: usize) -> Result<(usize, usize, usize, bool), Error> {
    let path_end = path_at(s, i)?;
    let (tag_end, end, lowercase_digest) = reference_tail(s, path_end)?;
    Ok((path_end, tag_end, end, lowercase_digest))
}

/// The whole of `s` as a `name`.
pub(crate) fn split_name(s: &str) -> Result<Split, Error> {
    let at_end =
        |s: &str, i: usize| if i == s.len() { Ok(()) } else { Err(Error::syntax(Part::Repository, s, i)) };
    let (path_start, path_end, ()) = name_then(s, at_end)?;
    Ok(Split { path_start, path_end, tag_end: path_end, end: path_end, lowercase_digest: true })
}

fn split_at(s: &str, production: impl Fn(&str, usize) -> Pos) -> Result<(&str, &str), Error> {
    production(s, 0).map(|end| s.split_at(end))
}

/// Matches `domain-component` (`registry`, `example`, `xn--n3h`).
pub fn domain_component(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, domain_component_at)
}

/// Matches `domain-name` (`registry.example.com`, `localhost`).
pub fn domain_name(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, domain_name_at)
}

/// Matches `ipv6-literal` (`[2001:db8::1]`; zones such as `%eth0` are not allowed).
pub fn ipv6_literal(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, ipv6_literal_at)
}

/// Matches `host`: a domain name or an IPv6 literal.
pub fn host(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, host_at)
}

/// Matches `port`, including its `:` (`:5000`).
pub fn port(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, port_at)
}

/// Matches `domain-and-port`: a host and an optional port (`localhost:5000`).
pub fn domain_and_port(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, domain_and_port_at)
}

/// Matches `separator` (`.`, `_`, `__` or a run of `-`), the longest one there.
pub fn separator(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, separator_at)
}

/// Matches `path-component` (`my-app`, `foo__bar`, `a.b`).
pub fn path_component(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, path_component_at)
}

/// Matches `path`: path components joined by `/`.
pub fn path(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, path_at)
}

/// Matches `tag` (at most 128 characters).
pub fn tag(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, tag_at)
}

/// Matches `digest` as the reference grammar has it: an algorithm, `:` and at least 32
/// hex characters of either case. go-digest is stricter; see
/// [`UnnormalizedReference::parse`](crate::UnnormalizedReference::parse).
pub fn digest(s: &str) -> Result<(&str, &str), Error> {
    split_at(s, digest_at)
}

/// Matches `identifier`: 64 lowercase hex characters (an image ID).
pub fn identifier(s: &str) -> Result<(&str, &str), Error> {
    match s.bytes().take(64).position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Some(bad) => Err(Error::syntax(Part::Reference, s, bad)),
        None if s.len() < 64 => Err(Error::syntax(Part::Reference, s, s.len())),
        None => Ok(s.split_at(64)),
    }
}

/// The parts of a name matched by [`name()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Name<'a> {
    /// The domain (with its port), when the first component is one.
    pub domain: Option<&'a str>,
    /// The repository path.
    pub path: &'a str,
}

/// Matches the whole of `s` as a `name`, split into domain and path the way
/// distribution/reference's anchored name expression does.
pub fn name(s: &str) -> Result<Name<'_>, Error> {
    let split = split_name(s)?;
    Ok(Name { domain: split.domain(s), path: &s[split.path_start..split.path_end] })
}

/// The parts of a reference matched by [`reference()`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Components<'a> {
    /// The domain (with its port), when the first component is one.
    pub domain: Option<&'a str>,
    /// The repository path.
    pub path: &'a str,
    /// The name: the domain, `/` and the path, or the path alone.
    pub name: &'a str,
    /// The tag, without its `:`.
    pub tag: Option<&'a str>,
    /// The digest, without its `@`, as the grammar accepts it.
    pub digest: Option<&'a str>,
}

/// Matches the whole of `s` as a `reference` (grammar only: no length limit, no
/// go-digest validation).
pub fn reference(s: &str) -> Result<Components<'_>, Error> {
    let split = split_reference(s)?;
    Ok(Components {
        domain: split.domain(s),
        path: &s[split.path_start..split.path_end],
        name: &s[..split.path_end],
        tag: split.tag(s),
        digest: split.digest(s),
    })
}

#[cfg(test)]
#[path = "grammar_tests.rs"]
mod tests;
