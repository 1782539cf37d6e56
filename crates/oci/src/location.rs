//! Where images are: a registry, a layout directory, a layout tar, a `docker save`
//! archive, written the way skopeo users know them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_reference::Reference;
use oci_spec_types::Digest;

use crate::{Error, ErrorKind};

/// The tag a location without one means when it is read, as skopeo and docker do.
pub use oci_reference::DEFAULT_TAG;

/// Which image of a layout a location names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LayoutRef {
    /// None named: `latest` when read; when written, the source's tag if it had one.
    None,
    /// An `org.opencontainers.image.ref.name` of its `index.json`.
    Tag(String),
    /// A manifest by digest.
    Digest(Digest),
}

/// A place images are read from or written to, parsed from the strings skopeo takes,
/// and printed back the same way (`Display` round-trips):
///
/// | form | what |
/// |---|---|
/// | `docker://REF` | a registry; `REF` read as `docker pull` reads it (`nginx` is `docker.io/library/nginx:latest`) |
/// | `oci:DIR[:TAG\|@DIGEST]` | an OCI image layout directory |
/// | `oci-archive:FILE[:TAG]` | an OCI image layout as one tar file |
/// | `docker-archive:FILE[:REF]` | a `docker save` archive, `REF` the name it is loaded as |
///
/// A path cannot hold `:` (the first one starts the tag), as in skopeo.
///
/// ```
/// use oci::Location;
///
/// let registry: Location = "docker://nginx:1.27".parse()?;
/// assert_eq!(registry.to_string(), "docker://docker.io/library/nginx:1.27");
/// let layout: Location = "oci:./out:app".parse()?;
/// assert_eq!(layout.to_string(), "oci:./out:app");
/// let err = "oci:./out:bad tag".parse::<Location>().unwrap_err();
/// assert_eq!(err.to_string(), r#"location "oci:./out:bad tag": invalid tag "bad tag""#);
/// # Ok::<(), oci::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A repository of a registry, with a tag (`latest` unless given) or a digest.
    Registry(Reference),
    /// An image layout directory.
    Dir {
        /// The directory.
        path: PathBuf,
        /// The image in it.
        image: LayoutRef,
    },
    /// An image layout as one tar file.
    Archive {
        /// The archive.
        path: PathBuf,
        /// The image in it (by tag only, as skopeo's `oci-archive:`).
        image: LayoutRef,
    },
    /// A `docker save` archive.
    DockerArchive {
        /// The archive.
        path: PathBuf,
        /// The name the image carries in it (`RepoTags`), when given.
        reference: Option<Reference>,
    },
}

impl Location {
    /// A registry location for `reference` (a tag or digest kept; neither means `latest`).
    #[must_use]
    pub fn registry(reference: &Reference) -> Self {
        Self::Registry(reference.with_default_tag())
    }

    /// Parses `s` as [`FromStr`] does, but reads a string without a known transport as
    /// a registry reference (`nginx`, `localhost:5000/app:1`), as the `oci` command's
    /// arguments are.
    pub fn parse_or_registry(s: &str) -> Result<Self, Error> {
        if transport(s).is_some() {
            return s.parse();
        }
        let reference = Reference::parse(s).map_err(|e| invalid(s, format!("invalid reference: {e}")))?;
        Ok(Self::registry(&reference))
    }

    /// The path of a layout or archive location.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Registry(_) => None,
            Self::Dir { path, .. } | Self::Archive { path, .. } | Self::DockerArchive { path, .. } => {
                Some(path)
            }
        }
    }

    /// The tag the location names, if any.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        match self {
            Self::Registry(r) => r.tag(),
            Self::Dir { image: LayoutRef::Tag(t), .. } | Self::Archive { image: LayoutRef::Tag(t), .. } => {
                Some(t)
            }
            Self::DockerArchive { reference, .. } => reference.as_ref().and_then(Reference::tag),
            _ => None,
        }
    }

    /// The digest the location names, if any.
    #[must_use]
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            Self::Registry(r) => r.digest(),
            Self::Dir { image: LayoutRef::Digest(d), .. } => Some(d),
            _ => None,
        }
    }
}

/// The transport prefix of `s` and the rest, when it has a known one.
fn transport(s: &str) -> Option<(&'static str, &str)> {
    ["docker://", "oci:", "oci-archive:", "docker-archive:"]
        .into_iter()
        .find_map(|prefix| s.strip_prefix(prefix).map(|rest| (prefix, rest)))
}

fn invalid(input: &str, why: impl fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidLocation, format!("location {input:?}: {why}"))
}

/// `PATH[:TAG]`, the path required.
fn path_and_tag<'a>(input: &str, rest: &'a str) -> Result<(PathBuf, Option<&'a str>), Error> {
    let (path, tag) = match rest.split_once(':') {
        Some((path, tag)) => (path, Some(tag)),
        None => (rest, None),
    };
    if path.is_empty() {
        return Err(invalid(input, "no path"));
    }
    Ok((PathBuf::from(path), tag))
}

fn layout_tag(input: &str, tag: &str) -> Result<LayoutRef, Error> {
    if oci_layout::ref_name::is_valid(tag) {
        Ok(LayoutRef::Tag(tag.to_owned()))
    } else {
        Err(invalid(input, format!("invalid tag {tag:?}")))
    }
}

impl FromStr for Location {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((prefix, rest)) = transport(s) else {
            let what = s.split_once(':').map_or(s, |(t, _)| t);
            return Err(invalid(
                s,
                format!("unknown transport {what:?} (docker://, oci:, oci-archive: or docker-archive:)"),
            ));
        };
        match prefix {
            "docker://" => {
                let reference =
                    Reference::parse(rest).map_err(|e| invalid(s, format!("invalid reference: {e}")))?;
                Ok(Self::registry(&reference))
            }
            "oci:" => {
                if let Some((path, digest)) = rest.rsplit_once('@') {
                    let digest =
                        Digest::parse(digest).map_err(|e| invalid(s, format!("invalid digest: {e}")))?;
                    if path.is_empty() {
                        return Err(invalid(s, "no path"));
                    }
                    return Ok(Self::Dir { path: PathBuf::from(path), image: LayoutRef::Digest(digest) });
                }
                let (path, tag) = path_and_tag(s, rest)?;
                let image = tag.map_or(Ok(LayoutRef::None), |t| layout_tag(s, t))?;
                Ok(Self::Dir { path, image })
            }
            "oci-archive:" => {
                let (path, tag) = path_and_tag(s, rest)?;
                let image = tag.map_or(Ok(LayoutRef::None), |t| layout_tag(s, t))?;
                Ok(Self::Archive { path, image })
            }
            _ => {
                let (path, reference) = path_and_tag(s, rest)?;
                let reference = reference
                    .map(|r| {
                        Reference::parse(r)
                            .map(|r| r.with_default_tag())
                            .map_err(|e| invalid(s, format!("invalid reference: {e}")))
                    })
                    .transpose()?;
                Ok(Self::DockerArchive { path, reference })
            }
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let image = |f: &mut fmt::Formatter<'_>, image: &LayoutRef| match image {
            LayoutRef::None => Ok(()),
            LayoutRef::Tag(t) => write!(f, ":{t}"),
            LayoutRef::Digest(d) => write!(f, "@{d}"),
        };
        match self {
            Self::Registry(r) => write!(f, "docker://{r}"),
            Self::Dir { path, image: i } => {
                write!(f, "oci:{}", path.display())?;
                image(f, i)
            }
            Self::Archive { path, image: i } => {
                write!(f, "oci-archive:{}", path.display())?;
                image(f, i)
            }
            Self::DockerArchive { path, reference } => {
                write!(f, "docker-archive:{}", path.display())?;
                match reference {
                    Some(r) => write!(f, ":{r}"),
                    None => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "location_tests.rs"]
mod tests;
