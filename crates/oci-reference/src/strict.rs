//! The strict registry form `registry/repository[:tag][@digest]`, as oras-go's
//! `registry.ParseReference` (v2): no Docker Hub normalization, a registry always.

use std::fmt;

use oci_spec_types::Digest;

use crate::error::{Error, ErrorKind, Part, Reason};
use crate::reference::{DEFAULT_TAG, Reference, check_tag};
use crate::{digest, docker_hub, grammar};

impl Reference {
    /// Parses the strict form `registry/repository[:tag][@digest]` exactly as oras-go's
    /// `ParseReference` (v2), with no normalization. Its four valid forms:
    ///
    /// - A: `registry/repository@digest`;
    /// - B: `registry/repository:tag@digest`: the tag is dropped, unvalidated, since the
    ///   digest decides (`localhost/app:@sha256:…` is valid);
    /// - C: `registry/repository:tag`;
    /// - D: `registry/repository` (also `registry/repository:` and
    ///   `registry/repository@`, whose empty reference is no reference).
    ///
    /// The registry is checked with this crate's host grammar (oras-go uses Go's URL
    /// parser; both accept `localhost:5000`, `[::1]:5000` and DNS names), the
    /// repository with the path grammar but without the 255-byte limit (oras-go has
    /// none), the tag with the tag grammar and the digest as go-digest does.
    ///
    /// ```
    /// use oci_reference::{ErrorKind, Reference};
    ///
    /// let d = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
    /// let r = Reference::parse_strict(&format!("127.0.0.1:5000/hello-world:v2@{d}"))?;
    /// assert_eq!((r.domain(), r.path(), r.tag()), ("127.0.0.1:5000", "hello-world", None));
    /// assert_eq!(r.digest().map(|d| d.as_str()), Some(d));
    /// assert_eq!(r.reference_or_default(), d);
    /// let err = Reference::parse_strict("hello-world:linux").unwrap_err();
    /// assert_eq!(err.to_string(), "missing '/' between registry and repository at byte 17");
    /// # Ok::<(), oci_reference::Error>(())
    /// ```
    pub fn parse_strict(s: &str) -> Result<Self, Error> {
        let Some((registry, path)) = s.split_once('/') else {
            return Err(Error::new(
                ErrorKind::InvalidReferenceFormat,
                Part::Registry,
                s.len(),
                Reason::MissingSlash,
            ));
        };
        let path_start = registry.len() + 1;
        let (repository, reference, is_tag) = match path.split_once('@') {
            Some((repository, digest)) => {
                // Valid form B drops the tag without looking at it.
                let repository = repository.split_once(':').map_or(repository, |(r, _)| r);
                (repository, digest, false)
            }
            None => match path.split_once(':') {
                Some((repository, tag)) => (repository, tag, true),
                None => (path, "", false),
            },
        };
        let reference_start = s.len() - reference.len();
        validate_registry(registry)?;
        validate_repository(repository).map_err(|e| e.shifted(path_start))?;
        if reference.is_empty() {
            return Ok(Self::from_parts(registry, repository, None, None));
        }
        if is_tag {
            check_tag(reference).map_err(|e| e.shifted(reference_start))?;
            Ok(Self::from_parts(registry, repository, Some(reference), None))
        } else {
            let digest = parse_digest(reference).map_err(|e| e.shifted(reference_start))?;
            Ok(Self::from_parts(registry, repository, None, Some(&digest)))
        }
    }

    /// The three fields of oras-go's reference: the domain (or `""`), the path and the
    /// [`api_reference`](Self::api_reference) (or `""`).
    #[must_use]
    pub fn strict_parts(&self) -> StrictParts<'_> {
        StrictParts {
            registry: self.domain(),
            repository: self.path(),
            reference: self.api_reference().unwrap_or(""),
        }
    }
}

/// Checks a registry (`host[:port]`) as the strict form requires: a DNS name or an IPv6
/// literal, and an optional numeric port. Offsets are relative to `registry`.
///
/// ```
/// assert!(oci_reference::validate_registry("localhost:5000").is_ok());
/// let err = oci_reference::validate_registry("invalid registry").unwrap_err();
/// assert_eq!(err.to_string(), "invalid character ' ' in registry at byte 7");
/// ```
pub fn validate_registry(registry: &str) -> Result<(), Error> {
    if registry.is_empty() {
        return Err(Error::new(ErrorKind::InvalidReferenceFormat, Part::Registry, 0, Reason::Empty));
    }
    match grammar::domain_and_port_at(registry, 0) {
        Ok(end) if end == registry.len() => Ok(()),
        Ok(end) => Err(Error::syntax(Part::Registry, registry, end)),
        Err(e) => Err(e),
    }
}

/// Checks a repository path (`org/app`) with the path grammar; an uppercase letter is
/// a [`NameContainsUppercase`](ErrorKind::NameContainsUppercase). Offsets are relative
/// to `repository`.
pub fn validate_repository(repository: &str) -> Result<(), Error> {
    if repository.is_empty() {
        return Err(Error::new(ErrorKind::InvalidReferenceFormat, Part::Repository, 0, Reason::Empty));
    }
    let err = match grammar::path_at(repository, 0) {
        Ok(end) if end == repository.len() => return Ok(()),
        Ok(end) => Error::syntax(Part::Repository, repository, end),
        Err(e) => e,
    };
    Err(match err.found() {
        Some(c) if c.is_ascii_uppercase() => err.with_kind(ErrorKind::NameContainsUppercase),
        _ => err,
    })
}

/// Parses a digest the way references do: go-digest's checks, with sha256 and sha512
/// as the only algorithms (what [`Reference::with_digest`] accepts). Offsets are
/// relative to `d`.
///
/// ```
/// use oci_reference::{ErrorKind, parse_digest};
///
/// let d = parse_digest("sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")?;
/// assert_eq!(d.algorithm_str(), "sha256");
/// assert_eq!(parse_digest("sha256:b94d").unwrap_err().kind(), ErrorKind::DigestInvalidLength);
/// assert_eq!(parse_digest(&format!("sha384:{}", "a".repeat(96))).unwrap_err().kind(), ErrorKind::DigestUnsupported);
/// # Ok::<(), oci_reference::Error>(())
/// ```
pub fn parse_digest(d: &str) -> Result<Digest, Error> {
    digest::validate(d)?;
    Digest::parse(d).map_err(|_| Error::new(ErrorKind::DigestInvalid, Part::Digest, 0, Reason::End))
}

/// Checks the reference part of the strict form (oras-go's `ValidateReference`): empty,
/// a digest go-digest accepts, or else a tag. Offsets are relative to `reference`.
pub fn validate_reference(reference: &str) -> Result<(), Error> {
    if reference.is_empty() || digest::validate(reference).is_ok() {
        return Ok(());
    }
    check_tag(reference)
}

/// The fields of oras-go's `Reference`, unvalidated: a registry, a repository and a
/// reference (tag or digest), any of them possibly empty.
///
/// It exists for code that composes or checks those fields the oras-go way; a
/// [`Reference`] is always valid and is what [`to_reference`](Self::to_reference)
/// returns.
///
/// ```
/// use oci_reference::StrictParts;
///
/// let parts = StrictParts::new("docker.io", "library/hello", "");
/// assert_eq!(parts.to_string(), "docker.io/library/hello");
/// assert_eq!((parts.host(), parts.reference_or_default()), ("registry-1.docker.io", "latest"));
/// assert_eq!(parts.to_reference()?.with_default_tag().to_string(), "docker.io/library/hello:latest");
/// assert!(StrictParts::new("registry.example.com", "INVALID_REPO", "v1").validate().is_err());
/// # Ok::<(), oci_reference::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct StrictParts<'a> {
    /// The registry host and optional port.
    pub registry: &'a str,
    /// The repository path.
    pub repository: &'a str,
    /// A tag, a digest, or empty.
    pub reference: &'a str,
}

impl<'a> StrictParts<'a> {
    /// The three fields, as given.
    #[must_use]
    pub fn new(registry: &'a str, repository: &'a str, reference: &'a str) -> Self {
        Self { registry, repository, reference }
    }

    /// Checks every field (oras-go's `Validate`): the registry, the repository, then
    /// the reference.
    pub fn validate(&self) -> Result<(), Error> {
        validate_registry(self.registry)?;
        validate_repository(self.repository)?;
        validate_reference(self.reference)
    }

    /// The validated [`Reference`]: the reference field is a digest when go-digest
    /// accepts it, else a tag.
    pub fn to_reference(&self) -> Result<Reference, Error> {
        self.validate()?;
        let (tag, digest) = match self.reference {
            "" => (None, None),
            r => match parse_digest(r) {
                Ok(d) => (None, Some(d)),
                Err(_) => (Some(r), None),
            },
        };
        Ok(Reference::from_parts(self.registry, self.repository, tag, digest.as_ref()))
    }

    /// The reference field, or `latest` when it is empty (`ReferenceOrDefault`).
    #[must_use]
    pub fn reference_or_default(&self) -> &'a str {
        if self.reference.is_empty() { DEFAULT_TAG } else { self.reference }
    }

    /// The host to connect to (`Host`): `docker.io` is `registry-1.docker.io`.
    #[must_use]
    pub fn host(&self) -> &'a str {
        docker_hub::endpoint_host(self.registry)
    }
}

/// As oras-go's `String`: the registry alone without a repository, then `@digest`
/// when the reference field is a valid digest, else `:reference`.
impl fmt::Display for StrictParts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.registry)?;
        if self.repository.is_empty() {
            return Ok(());
        }
        write!(f, "/{}", self.repository)?;
        match self.reference {
            "" => Ok(()),
            r if digest::validate(r).is_ok() => write!(f, "@{r}"),
            r => write!(f, ":{r}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

    /// Input, path, tag, digest, form.
    type Row<'a> = (&'a str, &'a str, Option<&'a str>, Option<&'a str>, &'a str);

    #[test]
    fn the_four_forms() {
        let cases: &[Row<'_>] = &[
            (&format!("localhost/hello-world@{D}"), "hello-world", None, Some(D), "A"),
            (&format!("[::1]:5000/hello-world:v2@{D}"), "hello-world", None, Some(D), "B"),
            (&format!("localhost/hello-world:@{D}"), "hello-world", None, Some(D), "B, empty tag"),
            (&format!("localhost/hello-world:!!@{D}"), "hello-world", None, Some(D), "B, tag not checked"),
            ("localhost:5000/a/b:v1", "a/b", Some("v1"), None, "C"),
            ("localhost/hello-world", "hello-world", None, None, "D"),
            ("localhost/hello-world:", "hello-world", None, None, "D, empty tag"),
            ("docker.io/nginx", "nginx", None, None, "D, not normalized"),
        ];
        for (input, path, tag, digest, form) in cases {
            let r = Reference::parse_strict(input).unwrap_or_else(|e| panic!("{form}: {e}"));
            assert_eq!((r.path(), r.tag(), r.digest().map(Digest::as_str)), (*path, *tag, *digest), "{form}");
            assert_eq!(Reference::parse_strict(r.as_str()).unwrap(), r, "{form}: round trip");
            assert_eq!(r.strict_parts().to_string(), r.as_str(), "{form}: parts");
        }
    }

    #[test]
    fn errors_name_the_part() {
        let cases: &[(&str, ErrorKind, &str)] = &[
            ("/hello-world:linux", ErrorKind::InvalidReferenceFormat, "empty registry at byte 0"),
            (
                "localhost/UPPERCASE/test",
                ErrorKind::NameContainsUppercase,
                "invalid character 'U' in repository path at byte 10",
            ),
            (
                &format!("registry.example.com/hello-world:foobar:{D}"),
                ErrorKind::TagInvalid,
                "invalid character ':' in tag at byte 39",
            ),
            (
                &format!("registry.example.com/hello-world @{D}"),
                ErrorKind::InvalidReferenceFormat,
                "invalid character ' ' in repository path at byte 32",
            ),
            (
                "localhost/hello@sha256:b94d",
                ErrorKind::DigestInvalidLength,
                "invalid digest length: its algorithm takes 64 hex characters, found 4, at byte 27",
            ),
            ("localhost/", ErrorKind::InvalidReferenceFormat, "empty repository path at byte 10"),
        ];
        for (input, kind, message) in cases {
            let err = Reference::parse_strict(input).expect_err(input);
            assert_eq!((err.kind(), err.to_string().as_str()), (*kind, *message), "{input:?}");
        }
    }

    #[test]
    fn parts_like_oras() {
        let bad_digest = &D[..D.len() - 1];
        assert_eq!(StrictParts::new("registry.example.com", "", "").to_string(), "registry.example.com");
        assert_eq!(
            StrictParts::new("r.io", "hello", bad_digest).to_string(),
            format!("r.io/hello:{bad_digest}")
        );
        assert!(StrictParts::new("r.io", "hello", bad_digest).validate().is_err());
        assert!(StrictParts::new("r.io", "hello", "INVALID_TAG!").validate().is_err());
        assert!(StrictParts::new("r.io", "hello", D).validate().is_ok());
        assert_eq!(StrictParts::new("", "", "v1.0.0").reference_or_default(), "v1.0.0");
        assert_eq!(StrictParts::default().reference_or_default(), "latest");
    }
}
