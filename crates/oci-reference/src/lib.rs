//! A grammar-exact parser for OCI and Docker image references.
//!
//! A hand-written parser, one function per production of the distribution/reference
//! grammar (see [`grammar`]), with two entry points over that one grammar:
//!
//! - **normalized (Docker-style) parsing**, exactly as distribution/reference's
//!   `ParseNormalizedNamed`: `nginx` is `docker.io/library/nginx`, and the familiar
//!   forms come back with [`Reference::familiar_string`]. This is what [`FromStr`]
//!   does.
//! - **strict parsing** of `registry/repository[:tag][@digest]`, exactly as oras-go's
//!   `ParseReference`: no Docker Hub rules, a registry is required.
//!
//! ```
//! use oci_reference::Reference;
//!
//! // Normalized: what people type.
//! let r: Reference = "nginx:1.27".parse()?;
//! assert_eq!(r.to_string(), "docker.io/library/nginx:1.27");
//! assert_eq!((r.domain(), r.path(), r.tag()), (Some("docker.io"), "library/nginx", Some("1.27")));
//! assert_eq!(r.familiar_string(), "nginx:1.27");
//! assert_eq!(r.endpoint_host(), "registry-1.docker.io"); // where to connect, apart from the domain
//! assert_eq!(r.api_reference(), Some("1.27"));           // /v2/library/nginx/manifests/1.27
//! assert_eq!(Reference::parse_docker_ref("nginx")?.to_string(), "docker.io/library/nginx:latest");
//!
//! // Strict: the registry form, with IPv6 hosts, ports and sha512 digests.
//! let d = format!("sha512:{}", "ab".repeat(64));
//! let r = Reference::parse_strict(&format!("[::1]:5000/team/app:v1@{d}"))?;
//! assert_eq!((r.domain(), r.path(), r.tag(), r.digest()), (Some("[::1]:5000"), "team/app", None, Some(d.as_str())));
//! assert!(Reference::parse_strict("nginx").is_err()); // no registry
//! # Ok::<(), oci_reference::Error>(())
//! ```
//!
//! # Features
//!
//! - Every parsing function of distribution/reference and oras-go that people use:
//!   [`Reference::parse`] (`Parse`), [`Reference::parse_normalized`]
//!   (`ParseNormalizedNamed`), [`Reference::parse_docker_ref`] (`ParseDockerRef`),
//!   [`Reference::parse_any`] (`ParseAnyReference`, with 64-hex image IDs),
//!   [`Reference::parse_fully_qualified`] (`ParseNamed`), [`Reference::parse_name`]
//!   (`WithName`), [`Reference::parse_strict`] (oras-go `ParseReference`), and the
//!   builders `with_tag`, `with_digest`, `with_default_tag` (`TagNameOnly`).
//! - Familiar forms and `FamiliarMatch` (Go `path.Match` patterns), the API form of a
//!   reference ([`Reference::api_reference`], [`Reference::reference_or_default`]),
//!   [`name_from_api`] for `/v2/<name>/...` paths, and [`endpoint_host`].
//! - IPv6 hosts (`[2001:db8::1]:5000`), ports, sha256 and sha512 digests, the limits of
//!   distribution/reference (repository path 255 bytes, tag 128).
//! - [`Display`](std::fmt::Display) writes back what parses to the same reference;
//!   serde reads and writes a reference as a string (normalized parsing).
//! - No allocation beyond the reference's own string: a [`Reference`] is one `String`
//!   and the offsets of its parts.
//!
//! The crate has no Cargo features.
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
//! let err = Reference::parse_normalized("ghcr.io/Org/app").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NameContainsUppercase);
//! assert_eq!(err.to_string(), "invalid character 'O' in repository path at byte 8");
//! let err = Reference::parse_normalized("nginx:1.27~rc").unwrap_err();
//! assert_eq!(err.to_string(), "invalid character '~' in tag at byte 10");
//! ```
//!
//! Nothing panics on any input.

mod api;
mod bytes;
mod digest;
mod error;
pub mod grammar;
mod normalize;
mod pattern;
mod reference;
mod strict;

#[cfg(test)]
mod proptests;

pub use api::{DOCKER_HUB_ENDPOINT, endpoint_host, name_from_api};
pub use error::{Error, ErrorKind, Part};
pub use normalize::AnyReference;
pub use reference::{DEFAULT_DOMAIN, DEFAULT_TAG, NAME_MAX_LEN, Reference};
pub use strict::{StrictParts, validate_reference, validate_registry, validate_repository};

#[cfg(doc)]
use std::str::FromStr;
