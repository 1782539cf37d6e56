//! Authentication: challenges, scopes, credentials, bearer tokens.
//!
//! The client authenticates the way registries expect (distribution's token protocol,
//! RFC 7235, RFC 6750): it sends a request anonymously, and a `401` answer's
//! `WWW-Authenticate` challenge tells it what to do.
//!
//! - **Basic**: the registry's username and password on every request to it.
//! - **Bearer**: a token from the challenge's `realm`, asked for the request's
//!   *scopes*. Tokens are cached per registry origin, `service` and normalized scope set,
//!   fetched once for concurrent requests, used until 5 s before they expire
//!   (`expires_in`, `issued_at`, at least 60 s), and dropped when the registry refuses
//!   them. With a refresh token (docker's `identitytoken`) the OAuth 2 POST flow is used,
//!   falling back to the GET flow for token servers without it; a refresh token handed
//!   out by the server replaces the stored one for the session.
//!
//! [`AuthConfig`] is what the client is configured with; [`credentials`] finds
//! credentials (the caller's, docker's `config.json`, podman's `auth.json`, credential
//! helpers) and is public for programs that look them up or supply their own.
//!
//! # Scopes
//!
//! A scope says what access a token is for: `repository:<name>:<actions>` with actions
//! `pull`, `push`, `delete` or `*` (comma-separated), and `registry:catalog:*` for the
//! catalog. Requests hint their scopes:
//! `repository:<name>:pull` for reads, `repository:<name>:pull,push` for uploads (the
//! distribution registry requires both), plus `repository:<source>:pull` for a
//! cross-repository mount. A challenge's own `scope` is merged with the hints; the push
//! scope is sent first (some token servers read only the first).
//!
//! # Safety rules
//!
//! - A realm is resolved against the request URL and must be `https` (or `http` for a
//!   plain-HTTP registry), and may not be a loopback, private or link-local IP literal
//!   other than the registry's own host (a loopback realm is fine for a loopback
//!   registry). Redirects of the token server are held to the same rules and lose the
//!   `Authorization` header when they leave the realm's origin.
//! - Credentials (Basic, or a refresh token) never go over plain HTTP to a host that is
//!   not loopback unless [`AuthConfig::allow_plain_http_credentials`] is set.
//! - Token answers are read up to [`AuthConfig::max_token_response`] bytes (1 MiB).
//! - Logs (`tracing`, debug level) name registries, realms without their query, scopes
//!   and outcomes, never a secret; `Debug` of credentials and tokens redacts them.
//!
//! # How the client uses it
//!
//! Inside the crate an `Authenticator` (built from an [`AuthConfig`] and the transport)
//! keeps the per-registry state. For each request to a registry, with its scope hints:
//!
//! 1. `authorize(&mut request, &scopes).await?` sets `Authorization` when the origin's
//!    scheme is known (Basic, or a Bearer token for the scopes).
//! 2. Keep the request's headers (and a copy of a replayable body), send it.
//! 3. On `401`: `on_unauthorized(&uri, &sent_headers, response.headers(), &scopes).await?`;
//!    when it returns `true`, rebuild the request, `authorize` it again and send it once
//!    more; when `false`, or on a second 401, the 401 is the answer. A request whose
//!    body cannot be replayed is not re-sent.
//! 4. A ping's (`GET /v2/`) 401 can be given to `remember_challenge`: the challenge is
//!    reused for registries that later answer 401 without `WWW-Authenticate` (GCR), and
//!    Bearer registries get tokens from their first request on.
//!
//! `Authorization` belongs to the registry's origin: the transport drops it when a
//! redirect leaves that origin (blob downloads redirect to storage), and a 401 from
//! another origin is not answered with the registry's credentials.

pub(crate) mod authenticator;
#[cfg(feature = "unstable-internals")]
pub mod challenge;
#[cfg(not(feature = "unstable-internals"))]
pub(crate) mod challenge;
pub mod credentials;
#[cfg(feature = "unstable-internals")]
pub mod scope;
#[cfg(not(feature = "unstable-internals"))]
pub(crate) mod scope;
pub(crate) mod token;
pub(crate) mod token_cache;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[allow(unused_imports)] // the client wires it in
pub(crate) use authenticator::Authenticator;
pub use credentials::{Credential, CredentialChain, CredentialSource, StaticCredentials};

/// How the client authenticates.
///
/// There are two starting points, named for what they do (there is no `Default`, so
/// that code never picks one by accident): [`from_env`](Self::from_env) reads docker's
/// and podman's credential files as `docker` and `podman` do (what a client built
/// without [`ClientBuilder::auth`](crate::ClientBuilder::auth) uses), and
/// [`anonymous`](Self::anonymous) has no credentials at all; either can take other
/// credentials with [`with_credentials`](Self::with_credentials).
///
/// ```
/// use oci_distribution::auth::{AuthConfig, Credential, StaticCredentials};
///
/// let ci = AuthConfig::anonymous()
///     .with_credentials(StaticCredentials::new().with("ghcr.io", Credential::basic("bot", "token")));
/// let like_docker = AuthConfig::from_env();
/// # let _ = (ci, like_docker);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Where credentials come from; asked once per registry and repository.
    pub credentials: Arc<dyn CredentialSource>,
    /// Send Basic credentials and refresh tokens over plain HTTP to hosts that are not
    /// loopback (default `false`: such requests fail instead).
    pub allow_plain_http_credentials: bool,
    /// The shortest lifetime a token is believed to have, whatever `expires_in` says
    /// (default 60 s, as containers/image and regclient).
    pub min_token_lifetime: Duration,
    /// A token is replaced this long before it expires (default 5 s).
    pub token_refresh_margin: Duration,
    /// The largest token answer read, in bytes (default 1 MiB).
    pub max_token_response: usize,
    /// The OAuth 2 `client_id` (default `oci-distribution`).
    pub client_id: String,
}

impl AuthConfig {
    /// No credentials: every registry is spoken to anonymously (bearer tokens without
    /// credentials still work for public repositories).
    #[must_use]
    pub fn anonymous() -> Self {
        Self {
            credentials: Arc::new(CredentialChain::new()),
            allow_plain_http_credentials: false,
            min_token_lifetime: Duration::from_secs(60),
            token_refresh_margin: Duration::from_secs(5),
            max_token_response: 1 << 20,
            client_id: "oci-distribution".to_owned(),
        }
    }

    /// Credentials from this process's docker and podman files
    /// ([`CredentialChain::from_env`]), looked up when a registry asks for them.
    #[must_use]
    pub fn from_env() -> Self {
        Self::anonymous().with_credentials(CredentialChain::from_env())
    }

    /// The same configuration with credentials from `source`.
    #[must_use]
    pub fn with_credentials(mut self, source: impl CredentialSource + 'static) -> Self {
        self.credentials = Arc::new(source);
        self
    }

    /// The same configuration allowing (or not) credentials over plain HTTP to hosts that
    /// are not loopback.
    #[must_use]
    pub fn with_allow_plain_http_credentials(mut self, allow: bool) -> Self {
        self.allow_plain_http_credentials = allow;
        self
    }

    /// The same configuration with another minimum token lifetime and refresh margin.
    #[must_use]
    pub fn with_token_lifetime(mut self, min_lifetime: Duration, refresh_margin: Duration) -> Self {
        self.min_token_lifetime = min_lifetime;
        self.token_refresh_margin = refresh_margin;
        self
    }
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("credentials", &"dyn CredentialSource")
            .field("allow_plain_http_credentials", &self.allow_plain_http_credentials)
            .field("min_token_lifetime", &self.min_token_lifetime)
            .field("token_refresh_margin", &self.token_refresh_margin)
            .field("max_token_response", &self.max_token_response)
            .field("client_id", &self.client_id)
            .finish()
    }
}
