//! What is special about Docker Hub, in one place: the domain normalized parsing fills
//! in, its old name, the namespace of official images, the host its API is served
//! from, and the key `docker login` stores its credentials under.
//!
//! Every crate of the workspace asks this module instead of spelling `docker.io`:
//! normalized parsing ([`Reference::parse`](crate::Reference::parse)), the endpoint host
//! ([`Registry::endpoint_host`](crate::Registry::endpoint_host)) and the registry
//! client's credential lookup.
//!
//! ```
//! use oci_reference::docker_hub;
//!
//! assert!(docker_hub::is_docker_hub("index.docker.io"));
//! assert!(docker_hub::is_docker_hub("Registry-1.Docker.IO"));
//! assert!(!docker_hub::is_docker_hub("ghcr.io"));
//! assert_eq!(docker_hub::endpoint_host("docker.io"), "registry-1.docker.io");
//! assert_eq!(docker_hub::endpoint_host("ghcr.io"), "ghcr.io");
//! assert_eq!(docker_hub::canonical_host("index.docker.io"), "docker.io");
//! ```

/// The domain normalized parsing fills in (`nginx` is `docker.io/library/nginx`).
pub const DOMAIN: &str = "docker.io";

/// The old name of the Docker Hub domain, which normalized parsing turns into
/// [`DOMAIN`].
pub const LEGACY_DOMAIN: &str = "index.docker.io";

/// The host Docker Hub's registry API is served from.
pub const ENDPOINT: &str = "registry-1.docker.io";

/// The namespace of Docker Hub's official images, which a one-component path on
/// [`DOMAIN`] is put in (`nginx` is `library/nginx`).
pub const OFFICIAL_NAMESPACE: &str = "library";

/// The key `docker login` writes Docker Hub's credentials under in `config.json`, and
/// asks credential helpers for.
pub const CONFIG_KEY: &str = "https://index.docker.io/v1/";

/// Every host name that means Docker Hub, [`DOMAIN`] first.
pub const HOSTS: &[&str] = &[DOMAIN, LEGACY_DOMAIN, ENDPOINT];

/// `library/`, the prefix of official images' paths.
pub(crate) const OFFICIAL_PREFIX: &str = "library/";

/// Whether `host` names Docker Hub: one of [`HOSTS`] (ASCII case ignored) or
/// [`CONFIG_KEY`].
#[must_use]
pub fn is_docker_hub(host: &str) -> bool {
    host == CONFIG_KEY || HOSTS.iter().any(|h| host.eq_ignore_ascii_case(h))
}

/// The name a host is known by: [`DOMAIN`] for every name of Docker Hub, the host
/// itself otherwise.
#[must_use]
pub fn canonical_host(host: &str) -> &str {
    if is_docker_hub(host) { DOMAIN } else { host }
}

/// The host to connect to for a domain: [`ENDPOINT`] for Docker Hub, every other domain
/// by itself (oras-go's `Host`).
#[must_use]
pub fn endpoint_host(domain: &str) -> &str {
    if domain == DOMAIN { ENDPOINT } else { domain }
}
