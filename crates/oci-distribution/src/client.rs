//! The client: configuration and the one request pipeline every endpoint goes through.

use std::sync::Arc;

use http::header::{AUTHORIZATION, LOCATION};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use oci_reference::{Registry, Repository};

use crate::api::ReferrersState;
use crate::auth::{AuthConfig, Authenticator};
use crate::exchange::Exchange;
use crate::response_cache::ResponseCache;
use crate::retry::Retrying;
use crate::targets::no_downgrade;
use crate::transport::{ResponseBody, Transport, TransportConfig, redacted};
use crate::{Body, Error, ErrorKind, Result, RetryPolicy};

/// How many redirects a GET or HEAD follows.
const MAX_REDIRECTS: usize = 10;
/// How much of an error body is read to report the registry's `errors[]`.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Limits and policies of a [`Client`]; every field has a default.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The largest manifest accepted (GET) or sent (PUT); 4 MiB by default, what most
    /// registries accept.
    pub max_manifest_bytes: usize,
    /// The largest tag list, catalog or referrers page read; 4 MiB by default.
    pub max_list_bytes: usize,
    /// How many pages a listing (tags, catalog, referrers) reads at most; 1000 by
    /// default.
    pub max_pages: usize,
    /// How many bytes of pages a listing reads in all; 64 MiB by default (about two
    /// million tags).
    pub max_list_total_bytes: u64,
    /// How many entries a listing keeps in all; one million by default. A listing over
    /// any of these limits fails with an error of kind [`Limit`](ErrorKind::Limit).
    pub max_list_entries: usize,
    /// How many bytes the cache of responses addressed by digest (manifests fetched by
    /// digest, image configurations) holds; 16 MiB by default, 0 turns it off.
    pub cache_bytes: usize,
    /// Whether pushing a manifest with a `subject` to a registry without the referrers
    /// API adds it to the index at the subject's fallback tag (`<alg>-<hex>`); on by
    /// default.
    pub referrers_tag_writes: bool,
    /// Whether the index a fallback-tag update replaced is then deleted; off by default,
    /// as not every registry allows deleting manifests.
    pub referrers_tag_gc: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 4 << 20,
            max_list_bytes: 4 << 20,
            max_pages: 1000,
            max_list_total_bytes: 64 << 20,
            max_list_entries: 1_000_000,
            cache_bytes: 16 << 20,
            referrers_tag_writes: true,
            referrers_tag_gc: false,
        }
    }
}

/// Builds a [`Client`]; see [`Client::builder`].
#[derive(Debug, Default)]
pub struct ClientBuilder {
    transport: TransportConfig,
    auth: Option<AuthConfig>,
    retry: RetryPolicy,
    options: ClientOptions,
}

impl ClientBuilder {
    /// Connection settings: TLS, proxies, timeouts, plain-HTTP hosts.
    #[must_use]
    pub fn transport(mut self, config: TransportConfig) -> Self {
        self.transport = config;
        self
    }

    /// Credentials and token settings; by default credentials come from the docker and
    /// podman configuration files ([`AuthConfig::from_env`]).
    #[must_use]
    pub fn auth(mut self, config: AuthConfig) -> Self {
        self.auth = Some(config);
        self
    }

    /// When and how often requests are sent again.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Limits and policies.
    #[must_use]
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// The client. Fails with an error of kind [`Config`](ErrorKind::Config) for
    /// unusable transport settings.
    pub fn build(self) -> Result<Client> {
        let transport = Transport::new(self.transport)?;
        let exchange: Arc<dyn Exchange> = Arc::new(transport.clone());
        let targets = Arc::clone(transport.targets());
        let auth = Authenticator::new(self.auth.unwrap_or_else(AuthConfig::from_env), exchange, targets);
        let cache = ResponseCache::new(self.options.cache_bytes);
        let referrers = ReferrersState::default();
        let transport = Retrying::new(transport);
        let inner = Inner { transport, auth, retry: self.retry, options: self.options, cache, referrers };
        Ok(Client { inner: Arc::new(inner) })
    }
}

/// A registry client. Cheap to clone: clones share connections, tokens and caches.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// The transport, under the retry layer.
    transport: Retrying,
    auth: Authenticator,
    retry: RetryPolicy,
    options: ClientOptions,
    /// Responses addressed by digest.
    cache: ResponseCache,
    /// Per-repository referrers API support and fallback-tag update locks.
    referrers: ReferrersState,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.inner.transport)
            .field("retry", &self.inner.retry)
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// The scopes a request needs, as `repository:<name>:<actions>` strings.
#[must_use]
pub(crate) fn repository_scopes(repository: &Repository, push: bool) -> Vec<String> {
    let actions = if push { "pull,push" } else { "pull" };
    vec![format!("repository:{}:{actions}", repository.path())]
}

impl Client {
    /// A builder with every default.
    #[must_use]
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The client's limits and policies.
    #[must_use]
    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    /// The retry policy of every request (a caller that starts a whole transfer again
    /// after a failure the retries could not hide uses it too).
    #[must_use]
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The cache of responses addressed by digest.
    pub(crate) fn cache(&self) -> &ResponseCache {
        &self.inner.cache
    }

    /// The referrers API state of the repositories this client talked to.
    pub(crate) fn referrers_state(&self) -> &ReferrersState {
        &self.inner.referrers
    }

    /// The URL of `path_and_query` (starting with `/v2/`) on `repository`'s registry
    /// (its endpoint host: `registry-1.docker.io` for Docker Hub), over the scheme the
    /// transport chose for the host (see [`TransportConfig::plain_http_hosts`]).
    pub(crate) async fn url(&self, repository: &Repository, path_and_query: &str) -> Result<Uri> {
        self.url_on(repository.endpoint_host(), path_and_query).await
    }

    /// The URL of `path_and_query` on the registry whose endpoint host (with its port)
    /// is `host`.
    pub(crate) async fn url_on(&self, host: &str, path_and_query: &str) -> Result<Uri> {
        let scheme = self.inner.transport.transport().scheme(host).await;
        format!("{scheme}://{host}{path_and_query}").parse().map_err(|e| {
            Error::new(ErrorKind::InvalidInput, format!("building a URL on {host}")).with_source(e)
        })
    }

    /// Sends a request through the whole pipeline: authorization for `scopes`, retries
    /// of idempotent requests with replayable bodies, redirects of GET and HEAD (with
    /// `Authorization` dropped when a redirect leaves the origin), and one
    /// re-authentication after a 401 when the body can be sent again. Returns the
    /// response whatever its status; see [`Client::expect`].
    pub(crate) async fn send(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Body,
        scopes: &[String],
    ) -> Result<Response<ResponseBody>> {
        self.send_with(method, uri, headers, body, scopes, false).await
    }

    /// [`send`](Self::send), with `retry_safe` marking a request of a method that is not
    /// idempotent as safe to retry (see [`RetryPolicy`]).
    pub(crate) async fn send_with(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Body,
        scopes: &[String],
        retry_safe: bool,
    ) -> Result<Response<ResponseBody>> {
        let replay = body.try_clone();
        let mut request = self.authorized(&method, &uri, &headers, body, scopes).await?;
        if retry_safe {
            request.extensions_mut().insert(crate::retry::RetrySafe);
        }
        let sent_headers = request.headers().clone();
        let (response, answered_by) = self.send_following_redirects(request).await?;
        // A 401 from storage a redirect led to is not the registry's to answer.
        if response.status() != StatusCode::UNAUTHORIZED || !crate::url::same_origin(&uri, &answered_by) {
            return Ok(response);
        }
        let Some(body) = replay else { return Ok(response) };
        let auth = &self.inner.auth;
        if !auth.on_unauthorized(&uri, &sent_headers, response.headers(), scopes).await?
            && !self.learn_challenge_from_base(&uri, &sent_headers, &response, scopes).await?
        {
            return Ok(response);
        }
        drop(response);
        let mut request = self.authorized(&method, &uri, &headers, body, scopes).await?;
        if retry_safe {
            request.extensions_mut().insert(crate::retry::RetrySafe);
        }
        Ok(self.send_following_redirects(request).await?.0)
    }

    /// A 401 without a challenge from an origin that never challenged (GCR answers so
    /// outside `/v2/`): the base endpoint's 401 carries it. `Ok(true)` when the ping
    /// taught a challenge that makes the request worth sending again.
    async fn learn_challenge_from_base(
        &self,
        uri: &Uri,
        sent_headers: &HeaderMap,
        response: &Response<ResponseBody>,
        scopes: &[String],
    ) -> Result<bool> {
        let auth = &self.inner.auth;
        if response.headers().contains_key(http::header::WWW_AUTHENTICATE) || auth.knows_challenge(uri) {
            return Ok(false);
        }
        let base = crate::url::resolve(uri, "/v2/")?;
        if base == *uri {
            return Ok(false);
        }
        tracing::debug!(%uri, "401 without a challenge: asking the base endpoint for one");
        // Boxed: the ping goes through `send`, which called this.
        if let Err(e) = Box::pin(self.ping_uri(base)).await {
            tracing::debug!(error = %e, "the base endpoint gave no challenge");
            return Ok(false);
        }
        auth.on_unauthorized(uri, sent_headers, &HeaderMap::new(), scopes).await
    }

    async fn authorized(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
        scopes: &[String],
    ) -> Result<Request<Body>> {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(uri.clone())
            .body(body)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("{method} {uri}")).with_source(e))?;
        request.headers_mut().extend(headers.clone());
        self.inner.auth.authorize(&mut request, scopes).await?;
        Ok(request)
    }

    /// Sends `request`, following redirects of GET and HEAD; returns the last response
    /// and the URL that answered it.
    async fn send_following_redirects(
        &self,
        request: Request<Body>,
    ) -> Result<(Response<ResponseBody>, Uri)> {
        let follows = request.method() == Method::GET || request.method() == Method::HEAD;
        let (method, origin, mut headers) =
            (request.method().clone(), request.uri().clone(), request.headers().clone());
        let mut response = self.inner.transport.send(request, &self.inner.retry).await?;
        let mut current = origin.clone();
        for _ in 0..MAX_REDIRECTS {
            if !follows || !response.status().is_redirection() {
                return Ok((response, current));
            }
            let Some(location) = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
                return Ok((response, current));
            };
            let next = crate::url::resolve(&current, location)?;
            let targets = self.inner.transport.transport().targets();
            let allowed = targets.check(&origin, &next).and_then(|()| no_downgrade(&current, &next));
            allowed.map_err(|why| {
                let why = format!(
                    "{method} {}: refusing the redirect to {}: {why}",
                    redacted(&origin),
                    redacted(&next)
                );
                Error::new(ErrorKind::InvalidResponse, why)
            })?;
            if !crate::url::same_origin(&origin, &next) {
                // Blob downloads redirect to storage: never send the registry's credentials there.
                headers.remove(AUTHORIZATION);
            }
            tracing::debug!(from = %redacted(&current), to = %redacted(&next), "following a redirect");
            let mut request =
                Request::builder().method(method.clone()).uri(next.clone()).body(Body::empty()).map_err(
                    |e| Error::new(ErrorKind::InvalidResponse, format!("redirect to {next}")).with_source(e),
                )?;
            *request.headers_mut() = headers.clone();
            response = self.inner.transport.send(request, &self.inner.retry).await?;
            current = next;
        }
        Err(Error::new(
            ErrorKind::InvalidResponse,
            format!("{method} {}: more than {MAX_REDIRECTS} redirects", redacted(&origin)),
        ))
    }

    /// `response` when its status is one of `ok`; otherwise an error of kind
    /// [`Status`](ErrorKind::Status) with the registry's error entries, read from a
    /// bounded part of the body.
    pub(crate) async fn expect(
        response: Response<ResponseBody>,
        ok: &[StatusCode],
        context: &str,
    ) -> Result<Response<ResponseBody>> {
        if ok.contains(&response.status()) {
            return Ok(response);
        }
        let status = response.status();
        let body = response.into_body().bytes(ERROR_BODY_LIMIT).await.unwrap_or_default();
        Err(Error::from_status(status, &body, context))
    }

    /// Sends a raw request to `registry` through the client's whole pipeline
    /// (authorization for `scopes`, retries, redirects, one re-authentication after a
    /// 401) and returns the response whatever its status. `path_and_query` starts with
    /// `/v2/`, or is an absolute URL on the registry's own origin (an upload `Location`).
    ///
    /// This is the low-level escape hatch for what the typed methods do not cover
    /// (registry extensions); scopes are strings such as
    /// `repository:<name>:pull,push`.
    pub async fn execute(
        &self,
        registry: &Registry,
        method: Method,
        path_and_query: &str,
        headers: HeaderMap,
        body: Body,
        scopes: &[String],
    ) -> Result<Response<ResponseBody>> {
        let base = self.url_on(registry.endpoint_host(), "/v2/").await?;
        let uri = crate::url::resolve(&base, path_and_query)?;
        if !crate::url::same_origin(&base, &uri) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{method} {uri}: not on the registry {registry}"),
            ));
        }
        self.send(method, uri, headers, body, scopes).await
    }

    /// Pings `registry` (`GET /v2/`): `Ok` when it answers 200, or 401 with a challenge
    /// (remembered for registries that later answer 401 without one).
    pub async fn ping(&self, registry: &Registry) -> Result<()> {
        let uri = self.url_on(registry.endpoint_host(), "/v2/").await?;
        self.ping_uri(uri).await
    }

    /// `GET uri` (a base endpoint): `Ok` for 200, or 401 with its challenge remembered.
    async fn ping_uri(&self, uri: Uri) -> Result<()> {
        let response = self.send(Method::GET, uri.clone(), HeaderMap::new(), Body::empty(), &[]).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.inner.auth.remember_challenge(&uri, response.headers())?;
            return Ok(());
        }
        Self::expect(response, &[StatusCode::OK], &format!("GET {uri}")).await.map(drop)
    }
}
