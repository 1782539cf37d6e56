//! [`Repository`] (a registry and a path, no tag or digest) and [`Registry`] (a host
//! and an optional port): what calls that ignore tags are about.

use std::fmt;
use std::str::FromStr;

use oci_spec_types::Digest;

use crate::error::{Error, ErrorKind, Part, Reason};
use crate::reference::Reference;
use crate::{docker_hub, validate_registry};

/// A repository: the domain of its registry and its path (`docker.io/library/nginx`),
/// with no tag or digest.
///
/// Registry calls that do not look at a tag (blobs, uploads, tag lists) take one, so
/// their signature says what they use. [`Reference::repository`] gives the repository
/// of a reference; [`with_tag`](Self::with_tag) and [`with_digest`](Self::with_digest)
/// go the other way.
///
/// ```
/// use oci_reference::{Reference, Repository};
///
/// let repo: Repository = "nginx".parse()?;                 // normalized, as `docker pull` reads it
/// assert_eq!(repo.to_string(), "docker.io/library/nginx");
/// assert_eq!((repo.domain(), repo.path()), ("docker.io", "library/nginx"));
/// assert_eq!(repo.endpoint_host(), "registry-1.docker.io");
/// assert_eq!(repo.with_tag("1.27")?, "nginx:1.27".parse::<Reference>()?);
/// assert_eq!("ghcr.io/o/a:1".parse::<Reference>()?.repository(), Repository::parse_strict("ghcr.io/o/a")?);
/// let err = Repository::parse("nginx:1.27").unwrap_err();
/// assert_eq!(err.to_string(), "invalid character ':' in repository path at byte 5");
/// # Ok::<(), oci_reference::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Repository {
    repr: String,
    /// Where the path starts: after the domain's `/`.
    path_start: usize,
}

impl Repository {
    /// A repository from a checked name and where its path starts.
    pub(crate) fn from_checked(repr: String, path_start: usize) -> Self {
        Self { repr, path_start }
    }

    /// Parses a repository name the way `docker pull` reads it (`nginx` is
    /// `docker.io/library/nginx`); a tag or digest is an error at its first byte.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let r = Reference::parse(s)?;
        no_tail(&r, s)?;
        Ok(r.repository())
    }

    /// Parses `registry/repository` strictly (oras-go's form without a reference).
    pub fn parse_strict(s: &str) -> Result<Self, Error> {
        let r = Reference::parse_strict(s)?;
        no_tail(&r, s)?;
        Ok(r.repository())
    }

    /// The repository `path` on `registry`; the path is checked with the path grammar
    /// and its length limit (offsets are relative to `path`).
    pub fn new(registry: &Registry, path: &str) -> Result<Self, Error> {
        crate::validate_repository(path)?;
        if path.len() > crate::NAME_MAX_LEN {
            let at = crate::NAME_MAX_LEN;
            return Err(Error::new(ErrorKind::NameTooLong, Part::Repository, at, Reason::TooLong(at)));
        }
        let path_start = registry.as_str().len() + 1;
        Ok(Self { repr: format!("{registry}/{path}"), path_start })
    }

    /// The domain of the registry (`docker.io`, `localhost:5000`).
    #[must_use]
    pub fn domain(&self) -> &str {
        &self.repr[..self.path_start - 1]
    }

    /// The path in the registry (`library/nginx`).
    #[must_use]
    pub fn path(&self) -> &str {
        &self.repr[self.path_start..]
    }

    /// `domain/path`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.repr
    }

    /// The registry.
    #[must_use]
    pub fn registry(&self) -> Registry {
        Registry::from_checked(self.domain())
    }

    /// The host to connect to (`registry-1.docker.io` for Docker Hub).
    #[must_use]
    pub fn endpoint_host(&self) -> &str {
        docker_hub::endpoint_host(self.domain())
    }

    /// The name as Docker shows it (`nginx` for `docker.io/library/nginx`).
    #[must_use]
    pub fn familiar_name(&self) -> &str {
        if self.domain() != docker_hub::DOMAIN {
            return &self.repr;
        }
        match self.path().strip_prefix(docker_hub::OFFICIAL_PREFIX) {
            Some(rest) if !rest.contains('/') => rest,
            _ => self.path(),
        }
    }

    /// The reference to `tag` in this repository; fails with
    /// [`TagInvalid`](ErrorKind::TagInvalid) when `tag` does not match the tag grammar.
    pub fn with_tag(&self, tag: &str) -> Result<Reference, Error> {
        crate::reference::check_tag(tag)?;
        Ok(Reference::from_parts(self.domain(), self.path(), Some(tag), None))
    }

    /// The reference to `digest` in this repository; fails with
    /// [`DigestUnsupported`](ErrorKind::DigestUnsupported) for an algorithm other than
    /// sha256 and sha512.
    pub fn with_digest(&self, digest: &Digest) -> Result<Reference, Error> {
        crate::reference::check_digest(digest)?;
        Ok(Reference::from_parts(self.domain(), self.path(), None, Some(digest)))
    }

    /// The reference to the repository itself, with no tag or digest (which a registry
    /// reads as `latest`).
    #[must_use]
    pub fn to_reference(&self) -> Reference {
        Reference::from_parts(self.domain(), self.path(), None, None)
    }
}

/// An error at the first byte of a tag or digest in what should be a name alone.
fn no_tail(r: &Reference, s: &str) -> Result<(), Error> {
    if r.tag().is_none() && r.digest().is_none() {
        return Ok(());
    }
    let digest_at = s.find('@').unwrap_or(s.len());
    let name = &s[..digest_at];
    let last = name.rfind('/').map_or(0, |j| j + 1);
    let at = name[last..].find(':').map_or(digest_at, |k| last + k);
    Err(Error::syntax(Part::Repository, s, at))
}

impl From<Reference> for Repository {
    fn from(r: Reference) -> Self {
        r.repository()
    }
}

impl From<&Reference> for Repository {
    fn from(r: &Reference) -> Self {
        r.repository()
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Repository({:?})", self.repr)
    }
}

/// Normalized parsing, as [`Repository::parse`].
impl FromStr for Repository {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Repository {
    fn as_ref(&self) -> &str {
        &self.repr
    }
}

/// A repository serializes as its string.
impl serde::Serialize for Repository {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.repr)
    }
}

/// A repository deserializes from a string with normalized parsing.
impl<'de> serde::Deserialize<'de> for Repository {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(format_args!("repository {s:?}: {e}")))
    }
}

/// A registry: a host name or IP literal with an optional port (`ghcr.io`,
/// `localhost:5000`, `[::1]:5000`), checked with the reference grammar's host rules.
///
/// Every name of Docker Hub (`index.docker.io`, `registry-1.docker.io`) is
/// [`docker_hub::DOMAIN`]; [`endpoint_host`](Self::endpoint_host) is where its API is.
///
/// ```
/// use oci_reference::Registry;
///
/// let hub: Registry = "index.docker.io".parse()?;
/// assert_eq!((hub.as_str(), hub.endpoint_host()), ("docker.io", "registry-1.docker.io"));
/// assert_eq!(Registry::parse("[::1]:5000")?.as_str(), "[::1]:5000");
/// let err = Registry::parse("https://r.example").unwrap_err();
/// assert_eq!(err.to_string(), "invalid character '/' in registry port at byte 6");
/// # Ok::<(), oci_reference::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Registry {
    repr: String,
}

impl Registry {
    /// A registry from a domain the grammar already accepted.
    pub(crate) fn from_checked(domain: &str) -> Self {
        Self { repr: docker_hub::canonical_host(domain).to_owned() }
    }

    /// Parses `host[:port]`; offsets of errors are relative to `s`.
    pub fn parse(s: &str) -> Result<Self, Error> {
        validate_registry(s)?;
        Ok(Self::from_checked(s))
    }

    /// `host[:port]`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.repr
    }

    /// The host to connect to, with its port (`registry-1.docker.io` for Docker Hub).
    #[must_use]
    pub fn endpoint_host(&self) -> &str {
        docker_hub::endpoint_host(&self.repr)
    }

    /// The repository `path` on this registry (see [`Repository::new`]).
    pub fn repository(&self, path: &str) -> Result<Repository, Error> {
        Repository::new(self, path)
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repr)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registry({:?})", self.repr)
    }
}

impl FromStr for Registry {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl AsRef<str> for Registry {
    fn as_ref(&self) -> &str {
        &self.repr
    }
}

impl From<&Repository> for Registry {
    fn from(r: &Repository) -> Self {
        r.registry()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_parse_and_refuse_tails() {
        let r = Repository::parse("localhost:5000/team/app").unwrap();
        assert_eq!(
            (r.domain(), r.path(), r.familiar_name()),
            ("localhost:5000", "team/app", "localhost:5000/team/app")
        );
        let d = Digest::sha256(b"x");
        for (input, at) in [("app:1", 3), ("localhost:5000/app:1", 18), (&*format!("app@{d}"), 3)] {
            let err = Repository::parse(input).unwrap_err();
            assert_eq!(err.offset(), at, "{input}: {err}");
        }
        assert_eq!(Repository::parse("org/app").unwrap().familiar_name(), "org/app");
        assert_eq!(Repository::parse("nginx").unwrap().familiar_name(), "nginx");
        let hub = Registry::parse("registry-1.docker.io").unwrap();
        assert_eq!(hub.repository("library/nginx").unwrap(), Repository::parse("nginx").unwrap());
        assert_eq!(hub.repository("Nginx").unwrap_err().kind(), ErrorKind::NameContainsUppercase);
        assert_eq!(r.with_digest(&d).unwrap().to_string(), format!("localhost:5000/team/app@{d}"));
        assert_eq!(r.to_reference().to_string(), "localhost:5000/team/app");
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Repository>(&json).unwrap(), r);
        assert!(crate::grammar::split_name(r.as_str()).is_ok());
    }
}
