//! A grammar-exact parser for OCI and Docker image references.
//!
//! A hand-written parser, one function per production of the distribution/reference
//! grammar, with two entry points over that one grammar, both giving a [`Reference`]
//! that names its registry:
//!
//! - **what people type**, the way `docker pull` reads it, exactly as
//!   distribution/reference's `ParseNormalizedNamed`: `nginx` is
//!   `docker.io/library/nginx`, and the familiar forms come back with
//!   [`Reference::familiar_string`]. This is [`Reference::parse`] and [`FromStr`].
//! - **strict parsing** of `registry/repository[:tag][@digest]`, exactly as oras-go's
//!   `ParseReference`: no Docker Hub rules, a registry is required.
//!
//! The grammar-only reading of upstream's `Parse`, where `nginx` has no domain, is a
//! type of its own, [`UnnormalizedReference`], so that what reaches a registry client is
//! always fully qualified. [`Repository`] (a registry and a path) and [`Registry`] (a
//! host) are what calls that ignore tags take; everything special about Docker Hub is
//! in [`docker_hub`].
//!
//! ```
//! use oci_reference::{Reference, Repository};
//!
//! // What people type.
//! let r: Reference = "nginx:1.27".parse()?;
//! assert_eq!(r.to_string(), "docker.io/library/nginx:1.27");
//! assert_eq!((r.domain(), r.path(), r.tag()), ("docker.io", "library/nginx", Some("1.27")));
//! assert_eq!(r.familiar_string(), "nginx:1.27");
//! assert_eq!(r.endpoint_host(), "registry-1.docker.io"); // where to connect, apart from the domain
//! assert_eq!(r.api_reference(), Some("1.27"));           // /v2/library/nginx/manifests/1.27
//! assert_eq!(r.repository(), "nginx".parse::<Repository>()?);
//! assert_eq!(Reference::parse_docker_ref("nginx")?.to_string(), "docker.io/library/nginx:latest");
//!
//! // Strict: the registry form, with IPv6 hosts, ports and sha512 digests.
//! let d = format!("sha512:{}", "ab".repeat(64));
//! let r = Reference::parse_strict(&format!("[::1]:5000/team/app:v1@{d}"))?;
//! assert_eq!((r.domain(), r.path(), r.tag()), ("[::1]:5000", "team/app", None));
//! assert_eq!(r.digest().map(|d| d.as_str()), Some(d.as_str()));   // an oci_spec_types::Digest
//! assert!(Reference::parse_strict("nginx").is_err()); // no registry
//! # Ok::<(), oci_reference::Error>(())
//! ```
//!
//! # Features
//!
//! - Every parsing function of distribution/reference and oras-go that people use:
//!   [`Reference::parse`] (`ParseNormalizedNamed`), [`Reference::parse_docker_ref`]
//!   (`ParseDockerRef`), [`Reference::parse_any`] (`ParseAnyReference`, with 64-hex
//!   image IDs), [`Reference::parse_fully_qualified`] (`ParseNamed`),
//!   [`Reference::parse_strict`] (oras-go `ParseReference`),
//!   [`UnnormalizedReference::parse`] (`Parse`), [`UnnormalizedReference::parse_name`]
//!   (`WithName`), and the builders `with_tag`, `with_digest`, `with_default_tag`
//!   (`TagNameOnly`).
//! - Familiar forms and `FamiliarMatch` (Go `path.Match` patterns), the API form of a
//!   reference ([`Reference::api_reference`], [`Reference::reference_or_default`]),
//!   [`name_from_api`] for `/v2/<name>/...` paths, and [`endpoint_host`].
//! - IPv6 hosts (`[2001:db8::1]:5000`), ports, sha256 and sha512 digests (sha384 and
//!   BLAKE3 digests are refused as unsupported, as distribution/reference does), the
//!   limits of distribution/reference (repository path 255 bytes, tag 128).
//! - [`Display`](std::fmt::Display) writes back what parses to the same reference;
//!   serde reads and writes a reference as a string (normalized parsing).
//! - Little allocation: a [`Reference`] is one `String`, the offsets of its parts and
//!   its digest.
//!
//! Cargo features: `unstable-grammar` makes the grammar productions public (module
//! `grammar`) for the project's conformance suite; it carries no stability promise.
//!
//! # Errors
//!
//! Every parser returns an [`Error`]: an [`ErrorKind`] that corresponds to one of
//! distribution/reference's error variables (`ErrNameTooLong` is
//! [`ErrorKind::NameTooLong`], ...), the [`Part`] of the input at fault, and the byte
//! offset where the input stopped matching. The lowercase message names them:
//!
//! ```
//! use oci_reference::{ErrorKind, Reference};
//!
//! let err = Reference::parse("ghcr.io/Org/app").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NameContainsUppercase);
//! assert_eq!(err.to_string(), "invalid character 'O' in repository path at byte 8");
//! let err = Reference::parse("nginx:1.27~rc").unwrap_err();
//! assert_eq!(err.to_string(), "invalid character '~' in tag at byte 10");
//! let err = Reference::parse(&format!("nginx@sha384:{}", "a".repeat(96))).unwrap_err();
//! assert_eq!(err.to_string(), "unsupported digest algorithm at byte 6");
//! ```
//!
//! Nothing panics on any input.

mod api;
mod bytes;
mod digest;
pub mod docker_hub;
mod error;
#[cfg(feature = "unstable-grammar")]
pub mod grammar;
#[cfg(not(feature = "unstable-grammar"))]
mod grammar;
mod normalize;
mod pattern;
mod reference;
mod repository;
mod strict;
mod unnormalized;

#[cfg(test)]
mod proptests;

pub use api::name_from_api;
pub use docker_hub::endpoint_host;
pub use error::{Error, ErrorKind, Part};
pub use normalize::AnyReference;
pub use reference::{DEFAULT_TAG, NAME_MAX_LEN, Reference};
pub use repository::{Registry, Repository};
pub use strict::{StrictParts, parse_digest, validate_reference, validate_registry, validate_repository};
pub use unnormalized::UnnormalizedReference;

#[cfg(doc)]
use std::str::FromStr;
