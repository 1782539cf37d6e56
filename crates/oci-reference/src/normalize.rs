//! Docker-style normalized parsing, as distribution/reference's normalize.go:
//! `ParseNormalizedNamed`, `ParseDockerRef`, `ParseNamed`, `ParseAnyReference`.

use std::fmt;
use std::str::FromStr;

use oci_spec_types::Digest;

use crate::bytes::{HIGH_BITS, lanes};
use crate::docker_hub::{self, OFFICIAL_PREFIX};
use crate::error::{Error, ErrorKind, Part, Reason};
use crate::grammar::{self, Split};
use crate::reference::{NAME_MAX_LEN, Reference};
use crate::{digest, pattern, unnormalized};

impl Reference {
    /// Parses what people type, the way `docker pull` reads it (`ParseNormalizedNamed`).
    ///
    /// The first component is the domain when it is `localhost`, contains `.` or `:`,
    /// or has uppercase letters; otherwise the domain is `docker.io`. `index.docker.io`
    /// becomes `docker.io`, and a single-component path on `docker.io` gets the
    /// `library/` namespace (see [`docker_hub`]). No tag is added (see
    /// [`parse_docker_ref`](Self::parse_docker_ref) and
    /// [`with_default_tag`](Self::with_default_tag)). A 64-character hex string (an
    /// image ID) is refused, and uppercase letters in the path are refused before the
    /// grammar is applied. Error offsets point into `s`.
    ///
    /// One input upstream accepts is refused: a first component that looks like a host
    /// but is not one (`foo_bar.com/app`), which upstream reads back as a path with no
    /// domain; a reference here always has one, so this is an error at the byte where
    /// the host stops matching.
    ///
    /// ```
    /// use oci_reference::{ErrorKind, Reference};
    ///
    /// let r = Reference::parse("nginx")?;
    /// assert_eq!(r.to_string(), "docker.io/library/nginx");
    /// assert_eq!(Reference::parse("index.docker.io/org/app:1")?.to_string(), "docker.io/org/app:1");
    /// assert_eq!(Reference::parse("localhost/app")?.domain(), "localhost");
    /// let err = Reference::parse("docker/Docker").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NameContainsUppercase);
    /// assert_eq!(err.to_string(), "invalid character 'D' in repository path at byte 7");
    /// # Ok::<(), oci_reference::Error>(())
    /// ```
    pub fn parse(s: &str) -> Result<Self, Error> {
        if grammar::is_identifier(s) {
            return Err(Error::new(ErrorKind::NameIsIdentifier, Part::Repository, 0, Reason::Identifier));
        }
        let docker = split_docker_domain(s, true);
        // Upstream parses `domain + "/" + remainder`. With a domain of the input's own,
        // that is the input; on Docker Hub, the remainder is parsed in place (the
        // prefix is known to be valid). Errors are worked out on the composed string.
        let parsed = if docker.domain == docker_hub::DOMAIN {
            Self::parse_on_docker_hub(s, &docker)
        } else {
            match unnormalized::validate(s) {
                Ok(split) if split.path_start == 0 => return Err(not_a_host(s)),
                Ok(split) => Self::from_split(s.to_owned(), split).ok(),
                Err(_) => None,
            }
        };
        parsed.ok_or_else(|| normalized_error(s, &split_docker_domain(s, false)))
    }

    /// The remainder of `s` parsed as the path and tail of a reference on
    /// [`docker_hub::DOMAIN`]: `None` where the composed string would not parse.
    fn parse_on_docker_hub(s: &str, docker: &DockerSplit<'_>) -> Option<Self> {
        let start = docker.remainder_start;
        let (path_end, tag_end, end, lowercase_digest) = grammar::path_and_tail(s, start).ok()?;
        let prefix = if docker.library { "docker.io/library/" } else { "docker.io/" };
        if prefix.len() - (docker_hub::DOMAIN.len() + 1) + path_end - start > NAME_MAX_LEN {
            return None;
        }
        if end > tag_end {
            digest::validate_grammatical(&s[tag_end + 1..end], lowercase_digest).ok()?;
        }
        let mut repr = String::with_capacity(prefix.len() + s.len() - start);
        repr.push_str(prefix);
        repr.push_str(&s[start..]);
        let moved = |at: usize| prefix.len() + at - start;
        let split = Split {
            path_start: docker_hub::DOMAIN.len() + 1,
            path_end: moved(path_end),
            tag_end: moved(tag_end),
            end: moved(end),
            lowercase_digest,
        };
        Self::from_split(repr, split).ok()
    }
}

/// The error for an input whose host-like first component is not a host, so that the
/// grammar reads it as a path: where the host stops matching.
fn not_a_host(s: &str) -> Error {
    match grammar::domain_and_port_at(s, 0) {
        Err(e) => e,
        Ok(end) => Error::syntax(Part::Registry, s, end),
    }
}

/// The error of a normalized parse: upstream's uppercase check of the remote name,
/// then the error of parsing the composed string, with its offset mapped into `s`.
fn normalized_error(s: &str, docker: &DockerSplit<'_>) -> Error {
    let &DockerSplit { domain, remainder_start, verbatim_domain, library } = docker;
    let remainder = &s[remainder_start..];
    let remote = remainder.split_once(':').map_or(remainder, |(remote, _)| remote);
    if let Some((at, c)) = remote.char_indices().find(|&(_, c)| changes_in_lowercase(c)) {
        let at = remainder_start + at;
        return Error::new(ErrorKind::NameContainsUppercase, Part::Repository, at, Reason::Char(c));
    }
    let prefix_len = domain.len() + 1 + if library { OFFICIAL_PREFIX.len() } else { 0 };
    let mut composed = String::with_capacity(prefix_len + remainder.len());
    composed.push_str(domain);
    composed.push('/');
    if library {
        composed.push_str(OFFICIAL_PREFIX);
    }
    composed.push_str(remainder);
    let Err(e) = unnormalized::validate(&composed) else {
        // Unreachable: the fast paths accept exactly what parses.
        return Error::syntax(Part::Reference, s, 0);
    };
    // Map the offset back into `s`: the remainder is shared; a domain taken verbatim
    // keeps its offsets; inserted text is blamed on the remainder's start.
    let at = e.offset();
    let mapped = match verbatim_domain {
        _ if at >= prefix_len => at - prefix_len + remainder_start,
        Some(domain_len) if at <= domain_len => at,
        _ => remainder_start,
    };
    e.with_offset(mapped)
}

impl Reference {
    /// Parses a reference to pull, as `ParseDockerRef`: normalized, with the tag
    /// `latest` when there is neither tag nor digest, and without the tag when there is
    /// a digest (the digest decides what is pulled).
    ///
    /// ```
    /// use oci_reference::Reference;
    ///
    /// assert_eq!(Reference::parse_docker_ref("busybox")?.to_string(), "docker.io/library/busybox:latest");
    /// let d = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
    /// let r = Reference::parse_docker_ref(&format!("gcr.io/library/busybox:latest@{d}"))?;
    /// assert_eq!(r.to_string(), format!("gcr.io/library/busybox@{d}"));
    /// # Ok::<(), oci_reference::Error>(())
    /// ```
    pub fn parse_docker_ref(s: &str) -> Result<Self, Error> {
        let named = Self::parse(s)?;
        Ok(if named.digest().is_some() { named.without_tag() } else { named.with_default_tag() })
    }

    /// Parses a reference that must already be in normalized form (`ParseNamed`):
    /// `docker.io/library/foo` is accepted, `foo` and `docker.io/foo` fail with
    /// [`NameNotCanonical`](ErrorKind::NameNotCanonical) at the first byte that differs
    /// from the normalized form.
    pub fn parse_fully_qualified(s: &str) -> Result<Self, Error> {
        let named = Self::parse(s)?;
        if named.as_str() != s {
            let at = s.bytes().zip(named.as_str().bytes()).take_while(|(a, b)| a == b).count();
            return Err(Error::new(ErrorKind::NameNotCanonical, Part::Reference, at, Reason::NotCanonical));
        }
        Ok(named)
    }

    /// Parses a normalized reference, a digest or a 64-character image ID
    /// (`ParseAnyReference`). An image ID is read as a sha256 digest; a string that
    /// go-digest accepts as a digest (sha256 or sha512) is one; anything else is parsed
    /// with [`parse`](Self::parse).
    ///
    /// ```
    /// use oci_reference::{AnyReference, Reference};
    ///
    /// let id = "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
    /// assert!(matches!(Reference::parse_any(id)?, AnyReference::Digest(d) if d.encoded() == id));
    /// assert!(matches!(Reference::parse_any("redis")?, AnyReference::Named(r) if r.path() == "library/redis"));
    /// # Ok::<(), oci_reference::Error>(())
    /// ```
    pub fn parse_any(s: &str) -> Result<AnyReference, Error> {
        if grammar::is_identifier(s) {
            if let Ok(d) = Digest::parse(&format!("sha256:{s}")) {
                return Ok(AnyReference::Digest(d));
            }
        }
        if digest::validate(s).is_ok() {
            if let Ok(d) = Digest::parse(s) {
                return Ok(AnyReference::Digest(d));
            }
        }
        Self::parse(s).map(AnyReference::Named)
    }
}

/// Whether Go's `strings.ToLower` changes `c`.
fn changes_in_lowercase(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_uppercase();
    }
    let mut lower = c.to_lowercase();
    !(lower.next() == Some(c) && lower.next().is_none())
}

/// How `splitDockerDomain` splits an input.
struct DockerSplit<'a> {
    /// The domain: [`docker_hub::DOMAIN`] or the input's first component.
    domain: &'a str,
    /// Where the remainder starts in the input.
    remainder_start: usize,
    /// The domain's length when it is the input's first component, kept verbatim.
    verbatim_domain: Option<usize>,
    /// Whether `library/` goes before the remainder.
    library: bool,
}

/// `splitDockerDomain`: the first component is the domain when it is `localhost` or
/// has `.`, `:` or uppercase; `index.docker.io` is `docker.io`; a single-component
/// path on `docker.io` is in `library/`.
fn split_docker_domain(s: &str, fast: bool) -> DockerSplit<'_> {
    let Some(slash) = find_slash(s, 0, fast) else {
        return DockerSplit {
            domain: docker_hub::DOMAIN,
            remainder_start: 0,
            verbatim_domain: None,
            library: true,
        };
    };
    let first = &s[..slash];
    let remainder_start = slash + 1;
    let single_component = || find_slash(s, remainder_start, fast).is_none();
    if first == docker_hub::LEGACY_DOMAIN {
        let library = single_component();
        return DockerSplit { domain: docker_hub::DOMAIN, remainder_start, verbatim_domain: None, library };
    }
    let domain_like = first == "localhost"
        || first.bytes().any(|b| matches!(b, b'.' | b':' | b'A'..=b'Z'))
        || (!first.is_ascii() && first.chars().any(changes_in_lowercase));
    if domain_like {
        let library = first == docker_hub::DOMAIN && single_component();
        DockerSplit { domain: first, remainder_start, verbatim_domain: Some(slash), library }
    } else {
        DockerSplit { domain: docker_hub::DOMAIN, remainder_start: 0, verbatim_domain: None, library: false }
    }
}

/// The first `/` of `s` from `from`. With `before_digest`, only before the first `@`:
/// enough for a parse that then succeeds, since a digest has no `/` (and a `/` after an
/// `@` makes the parse fail however the input is split).
fn find_slash(s: &str, from: usize, before_digest: bool) -> Option<usize> {
    let rest = &s.as_bytes()[from..];
    let at = if before_digest {
        find_either(rest, b'/', b'@').filter(|&i| rest[i] == b'/')
    } else {
        rest.iter().position(|&b| b == b'/')
    };
    at.map(|i| from + i)
}

/// The first `a` or `b` in `bytes`, eight bytes at a time: a lane of `w ^ lanes(a)` is
/// zero where `w` has `a`, and the lowest lane the zero-lane test flags is exact.
fn find_either(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    let zero_lanes = |v: u64| v.wrapping_sub(lanes(1)) & !v & HIGH_BITS;
    let mut start = 0;
    for chunk in bytes.chunks_exact(8) {
        let Ok(chunk) = <[u8; 8]>::try_from(chunk) else { break };
        let w = u64::from_le_bytes(chunk);
        let hits = zero_lanes(w ^ lanes(a)) | zero_lanes(w ^ lanes(b));
        if hits != 0 {
            return Some(start + usize::try_from(hits.trailing_zeros() / 8).unwrap_or(0));
        }
        start += 8;
    }
    bytes[start..].iter().position(|&c| c == a || c == b).map(|i| start + i)
}

/// What [`Reference::parse_any`] returns: a named reference, or a bare digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnyReference {
    /// A reference with a name.
    Named(Reference),
    /// A digest (or an image ID, read as a sha256 digest).
    Digest(Digest),
}

impl AnyReference {
    /// The named reference, if this is one.
    #[must_use]
    pub fn as_named(&self) -> Option<&Reference> {
        match self {
            Self::Named(r) => Some(r),
            Self::Digest(_) => None,
        }
    }

    /// The familiar string ([`Reference::familiar_string`], or the digest).
    #[must_use]
    pub fn familiar_string(&self) -> &str {
        match self {
            Self::Named(r) => r.familiar_string(),
            Self::Digest(d) => d.as_str(),
        }
    }

    /// [`Reference::familiar_match`]; a digest is matched as its string.
    pub fn familiar_match(&self, pattern: &str) -> Result<bool, Error> {
        match self {
            Self::Named(r) => r.familiar_match(pattern),
            Self::Digest(d) => pattern::matches(pattern, d.as_str()),
        }
    }
}

impl fmt::Display for AnyReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Named(r) => r.fmt(f),
            Self::Digest(d) => d.fmt(f),
        }
    }
}

/// [`Reference::parse_any`].
impl FromStr for AnyReference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse_any(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_either_agrees_with_a_byte_loop() {
        for len in 0..20 {
            for at in 0..len {
                for c in [b'/', b'@', 0, 0x2f ^ 0x80, 0xc0] {
                    let mut bytes = vec![b'x'; len];
                    bytes[at] = c;
                    let expected = bytes.iter().position(|&b| b == b'/' || b == b'@');
                    assert_eq!(find_either(&bytes, b'/', b'@'), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn normalizes_like_docker() {
        let cases: &[(&str, &str, &str, &str)] = &[
            // input, string, familiar name, familiar string
            ("debian", "docker.io/library/debian", "debian", "debian"),
            ("library/debian:12", "docker.io/library/debian:12", "debian", "debian:12"),
            ("docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar", "library/foo/bar"),
            ("index.docker.io/docker/docker", "docker.io/docker/docker", "docker/docker", "docker/docker"),
            ("Foo/bar", "Foo/bar", "Foo/bar", "Foo/bar"),
            ("192.168.0.1:80", "docker.io/library/192.168.0.1:80", "192.168.0.1", "192.168.0.1:80"),
            (
                "[fc00::1]:5000/docker",
                "[fc00::1]:5000/docker",
                "[fc00::1]:5000/docker",
                "[fc00::1]:5000/docker",
            ),
        ];
        for (input, string, name, familiar) in cases {
            let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(
                (r.as_str(), r.familiar_name(), r.familiar_string()),
                (*string, *name, *familiar),
                "{input:?}"
            );
            assert_eq!(Reference::parse(r.as_str()).unwrap(), r, "{input:?} round trip");
        }
        // Upstream reads a "domain" that fails the host grammar back as a path, with no
        // domain; a reference always has one, so this is refused where the host breaks.
        let err = Reference::parse("foo_bar.com/x").unwrap_err();
        assert_eq!(err.to_string(), "invalid character '_' in registry at byte 3");
    }

    #[test]
    fn normalized_errors_point_into_the_input() {
        let id = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
        let cases: &[(&str, ErrorKind, &str)] = &[
            (
                id,
                ErrorKind::NameIsIdentifier,
                "a 64-character hexadecimal identifier cannot be a repository name, at byte 0",
            ),
            (
                "docker.io/docker/Docker",
                ErrorKind::NameContainsUppercase,
                "invalid character 'D' in repository path at byte 17",
            ),
            (
                "-docker",
                ErrorKind::InvalidReferenceFormat,
                "invalid character '-' in repository path at byte 0",
            ),
            (
                "docker///docker",
                ErrorKind::InvalidReferenceFormat,
                "invalid character '/' in repository path at byte 7",
            ),
            (
                "docker.io/docker///docker",
                ErrorKind::InvalidReferenceFormat,
                "invalid character '/' in repository path at byte 17",
            ),
            (
                "fc00::1:5000/debian",
                ErrorKind::InvalidReferenceFormat,
                "invalid character ':' in registry port at byte 5",
            ),
            ("", ErrorKind::InvalidReferenceFormat, "unexpected end of input in repository path at byte 0"),
            (
                "https://github.com/docker/docker",
                ErrorKind::InvalidReferenceFormat,
                "invalid character '/' in registry port at byte 6",
            ),
        ];
        for (input, kind, message) in cases {
            let err = Reference::parse(input).expect_err(input);
            assert_eq!((err.kind(), err.to_string().as_str()), (*kind, *message), "{input:?}");
        }
        let too_long = format!("{}/docker", "a".repeat(256));
        let err = Reference::parse(&too_long).unwrap_err();
        assert_eq!((err.kind(), err.offset()), (ErrorKind::NameTooLong, 255));
        // `library/` counts: 250 bytes become a 258-byte path, whose 256th byte is the input's 248th.
        let err = Reference::parse(&"a".repeat(250)).unwrap_err();
        assert_eq!((err.kind(), err.offset()), (ErrorKind::NameTooLong, 247));
    }

    #[test]
    fn fully_qualified_and_any() {
        assert!(Reference::parse_fully_qualified("docker.io/library/foo").is_ok());
        let err = Reference::parse_fully_qualified("docker.io/foo").unwrap_err();
        assert_eq!(
            (err.kind(), err.to_string().as_str()),
            (
                ErrorKind::NameNotCanonical,
                "reference is not in canonical form: it differs from its normalized form at byte 10"
            )
        );
        assert_eq!(Reference::parse_any("dbcc1").unwrap().to_string(), "docker.io/library/dbcc1");
        let d = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        let any: AnyReference = d.parse().unwrap();
        assert_eq!((any.to_string().as_str(), any.familiar_string(), any.as_named()), (d, d, None));
    }
}
