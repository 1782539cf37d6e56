//! The state the client keeps per registry: which scheme each origin wants, the last
//! challenge it sent, credentials looked up, tokens, refresh tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Uri};

use super::AuthConfig;
use super::challenge::{Challenge, Scheme, parse_header_values, pick};
use super::credentials::Credential;
use super::scope::{clean_scopes, push_first, repository_of};
use super::token::{
    self, Token, TokenRequest, basic_header, bearer_header, may_carry_credentials, validate_realm,
};
use super::token_cache::{TokenCache, TokenKey};
use crate::clock::Clock;
use crate::exchange::Exchange;
use crate::targets::Targets;
use crate::{Body, Error, ErrorKind, Result};

/// Adds `Authorization` to the client's requests and learns from 401 answers.
///
/// Cheap to clone; clones share their caches. See the [module docs](super) for the
/// protocol the client follows.
#[derive(Clone)]
pub(crate) struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    exchange: Arc<dyn Exchange>,
    /// Where a realm (and the token server's redirects) may lead.
    targets: Arc<Targets>,
    /// What token lifetimes are measured on.
    clock: Clock,
    hosts: Mutex<HashMap<String, HostState>>,
    tokens: TokenCache,
    credentials: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Credential>>>>,
    /// Refresh tokens handed out by token servers, per credential key: they replace the
    /// credential's own for the rest of the session.
    refresh_tokens: Mutex<HashMap<String, String>>,
}

#[derive(Default)]
struct HostState {
    auth: Option<HostAuth>,
    /// The last challenge the origin sent, for 401 answers without one.
    challenge: Option<Challenge>,
}

#[derive(Clone)]
enum HostAuth {
    /// Each request carries the Basic credentials found for its own repository (the
    /// registry's for requests of none), never those another repository was answered
    /// with: a namespace's credential stays within the namespace.
    Basic,
    Bearer {
        realm: Uri,
        service: String,
    },
}

/// A registry as the cache sees it.
struct Origin {
    /// `scheme://host:port`, lower-cased, default port explicit.
    key: String,
    /// `host[:port]` as in references: what credentials are looked up for.
    registry: String,
}

impl Origin {
    fn of(uri: &Uri) -> Result<Self> {
        let bad = || Error::new(ErrorKind::InvalidInput, format!("{uri} is not an absolute http(s) URL"));
        let scheme = uri.scheme_str().ok_or_else(bad)?.to_ascii_lowercase();
        let host = uri.host().ok_or_else(bad)?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return Err(bad()),
        };
        let port = uri.port_u16().unwrap_or(default_port);
        let registry = match uri.port_u16() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        Ok(Self { key: format!("{scheme}://{host}:{port}"), registry })
    }

    fn credential_key(&self, repository: Option<&str>) -> String {
        repository.map_or_else(|| self.registry.clone(), |r| format!("{}/{r}", self.registry))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The repository a request is for: the first repository scope among `scopes`.
fn repository<S: AsRef<str>>(scopes: &[S]) -> Option<&str> {
    scopes.iter().find_map(|s| repository_of(s.as_ref()))
}

impl Authenticator {
    /// An authenticator sending its token requests through `exchange`, to realms
    /// `targets` allows.
    pub(crate) fn new(config: AuthConfig, exchange: Arc<dyn Exchange>, targets: Arc<Targets>) -> Self {
        Self::with_clock(config, exchange, targets, Clock::system())
    }

    /// [`new`](Self::new), with token lifetimes measured on `clock`.
    pub(crate) fn with_clock(
        config: AuthConfig,
        exchange: Arc<dyn Exchange>,
        targets: Arc<Targets>,
        clock: Clock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                exchange,
                targets,
                clock,
                hosts: Mutex::default(),
                tokens: TokenCache::default(),
                credentials: Mutex::default(),
                refresh_tokens: Mutex::default(),
            }),
        }
    }

    /// Sets `Authorization` on `request` when its origin's scheme is known: the Basic
    /// credentials of the request's repository (looked up once), or a Bearer token for `scopes` (cached, or fetched now, one
    /// fetch for concurrent callers). Leaves the request anonymous for an origin that
    /// has not challenged yet.
    pub(crate) async fn authorize(&self, request: &mut http::Request<Body>, scopes: &[String]) -> Result<()> {
        let origin = Origin::of(request.uri())?;
        let auth = lock(&self.inner.hosts).get(&origin.key).and_then(|h| h.auth.clone());
        let value = match auth {
            None => return Ok(()),
            Some(HostAuth::Basic) => {
                let credential = self.credential(&origin, repository(scopes)).await?;
                if !credential.has_basic() {
                    return Ok(());
                }
                basic_header(&credential)?
            }
            Some(HostAuth::Bearer { realm, service }) => {
                let key = self.token_key(&origin, &service, scopes);
                let token = self.token(&origin, request.uri(), &realm, &service, &key).await?;
                bearer_header(&token.value)?
            }
        };
        request.headers_mut().insert(AUTHORIZATION, value);
        Ok(())
    }

    /// Learns from a 401 answer to a request for `scopes` sent to `request_uri` with
    /// `request_headers`: parses the challenges of `response_headers` (or reuses the
    /// origin's last challenge when there is none), then for Bearer validates the realm,
    /// drops the refused token and fetches one for the challenged scope merged with
    /// `scopes`; for Basic looks up the credentials and switches the origin to Basic.
    ///
    /// `Ok(true)`: authorize the request again and send it once more. `Ok(false)`: the
    /// 401 stands (no usable challenge, no credentials for Basic, or the same
    /// credentials or token were just refused). Errors: a refused realm, credentials
    /// that may not go over plain HTTP, a failing token server or credential source.
    pub(crate) async fn on_unauthorized(
        &self,
        request_uri: &Uri,
        request_headers: &HeaderMap,
        response_headers: &HeaderMap,
        scopes: &[String],
    ) -> Result<bool> {
        let origin = Origin::of(request_uri)?;
        let challenges = parse_header_values(response_headers.get_all(WWW_AUTHENTICATE));
        let remembered = lock(&self.inner.hosts).get(&origin.key).and_then(|h| h.challenge.clone());
        let challenge = if let Some(challenge) = pick(&challenges) {
            lock(&self.inner.hosts).entry(origin.key.clone()).or_default().challenge =
                Some(challenge.clone());
            challenge.clone()
        } else if let Some(challenge) = remembered {
            tracing::debug!(registry = %origin.registry, "401 without a usable challenge: using the last one");
            challenge
        } else {
            tracing::debug!(registry = %origin.registry, "401 without a usable challenge");
            return Ok(false);
        };
        let sent = request_headers.get(AUTHORIZATION);
        match challenge.scheme() {
            Some(Scheme::Basic) => self.switch_to_basic(&origin, request_uri, sent, scopes).await,
            Some(Scheme::Bearer) => self.renew_bearer(&origin, request_uri, &challenge, sent, scopes).await,
            None => Ok(false),
        }
    }

    /// Whether the origin of `uri` challenged already (a challenge is remembered for it).
    pub(crate) fn knows_challenge(&self, uri: &Uri) -> bool {
        let Ok(origin) = Origin::of(uri) else { return false };
        lock(&self.inner.hosts).get(&origin.key).is_some_and(|h| h.challenge.is_some())
    }

    /// Remembers the challenge of a ping (`GET /v2/`) answer for registries that later
    /// answer 401 without one, and switches the origin to Bearer right away (a valid
    /// realm) so that its first requests carry a token. No token is fetched here.
    pub(crate) fn remember_challenge(&self, request_uri: &Uri, response_headers: &HeaderMap) -> Result<()> {
        let origin = Origin::of(request_uri)?;
        let challenges = parse_header_values(response_headers.get_all(WWW_AUTHENTICATE));
        let Some(challenge) = pick(&challenges) else { return Ok(()) };
        let bearer = match (challenge.scheme(), challenge.realm()) {
            (Some(Scheme::Bearer), Some(realm)) => Some(HostAuth::Bearer {
                realm: validate_realm(&self.inner.targets, request_uri, realm)?,
                service: challenge.service().unwrap_or_default().to_owned(),
            }),
            _ => None,
        };
        let mut hosts = lock(&self.inner.hosts);
        let state = hosts.entry(origin.key).or_default();
        state.challenge = Some(challenge.clone());
        if bearer.is_some() {
            state.auth = bearer;
        }
        Ok(())
    }

    async fn switch_to_basic(
        &self,
        origin: &Origin,
        request_uri: &Uri,
        sent: Option<&HeaderValue>,
        scopes: &[String],
    ) -> Result<bool> {
        let credential = self.credential(origin, repository(scopes)).await?;
        if !credential.has_basic() {
            tracing::debug!(registry = %origin.registry, "Basic challenge, no credentials");
            return Ok(false);
        }
        if !may_carry_credentials(request_uri, self.inner.config.allow_plain_http_credentials) {
            return Err(token::refuse_plain_http(request_uri));
        }
        let value = basic_header(&credential)?;
        if sent == Some(&value) {
            tracing::debug!(registry = %origin.registry, "the registry refused the Basic credentials");
            return Ok(false);
        }
        tracing::debug!(registry = %origin.registry, "switching to Basic auth");
        lock(&self.inner.hosts).entry(origin.key.clone()).or_default().auth = Some(HostAuth::Basic);
        Ok(true)
    }

    async fn renew_bearer(
        &self,
        origin: &Origin,
        request_uri: &Uri,
        challenge: &Challenge,
        sent: Option<&HeaderValue>,
        scopes: &[String],
    ) -> Result<bool> {
        let Some(realm) = challenge.realm() else {
            return Err(Error::new(
                ErrorKind::InvalidResponse,
                format!("the Bearer challenge of {} has no realm", origin.registry),
            ));
        };
        let realm = validate_realm(&self.inner.targets, request_uri, realm)?;
        let service = challenge.service().unwrap_or_default().to_owned();
        lock(&self.inner.hosts).entry(origin.key.clone()).or_default().auth =
            Some(HostAuth::Bearer { realm: realm.clone(), service: service.clone() });

        let hinted =
            TokenKey { origin: origin.key.clone(), service: service.clone(), scopes: clean_scopes(scopes) };
        let current = self.inner.tokens.resolve(hinted.clone());
        let mut merged: Vec<String> = challenge.scopes().map(str::to_owned).collect();
        merged.extend(scopes.iter().cloned());
        let merged =
            TokenKey { origin: origin.key.clone(), service: service.clone(), scopes: clean_scopes(&merged) };
        let sent_token = sent.and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if let Some(sent_token) = sent_token {
            self.inner.tokens.invalidate(&current, sent_token);
            self.inner.tokens.invalidate(&merged, sent_token);
        }
        tracing::debug!(
            registry = %origin.registry,
            scopes = ?merged.scopes,
            error = challenge.error().unwrap_or_default(),
            "Bearer challenge"
        );
        self.inner.tokens.alias(hinted, merged.clone());
        let token = self.token(origin, request_uri, &realm, &service, &merged).await?;
        if sent_token == Some(token.value.as_str()) {
            tracing::debug!(registry = %origin.registry, "the registry refused a token the token server hands out again");
            return Ok(false);
        }
        Ok(true)
    }

    fn token_key(&self, origin: &Origin, service: &str, scopes: &[String]) -> TokenKey {
        self.inner.tokens.resolve(TokenKey {
            origin: origin.key.clone(),
            service: service.to_owned(),
            scopes: clean_scopes(scopes),
        })
    }

    /// The token of `key`: cached, or fetched (once for concurrent callers).
    async fn token(
        &self,
        origin: &Origin,
        request_uri: &Uri,
        realm: &Uri,
        service: &str,
        key: &TokenKey,
    ) -> Result<Token> {
        let config = &self.inner.config;
        self.inner
            .tokens
            .get_or_fetch(key, self.inner.clock.now(), config.token_refresh_margin, || async {
                let repository = repository(&key.scopes);
                let credential = self.credential(origin, repository).await?;
                let credential_key = origin.credential_key(repository);
                let refresh_token = lock(&self.inner.refresh_tokens)
                    .get(&credential_key)
                    .cloned()
                    .unwrap_or_else(|| credential.refresh_token.clone());
                let scopes = push_first(&key.scopes);
                let request = TokenRequest {
                    targets: &self.inner.targets,
                    registry: request_uri,
                    realm,
                    service,
                    scopes: &scopes,
                    credential: &credential,
                    refresh_token: &refresh_token,
                    now: self.inner.clock.now(),
                };
                let fetched = token::fetch(self.inner.exchange.as_ref(), config, &request).await?;
                if let Some(refresh_token) = fetched.refresh_token {
                    lock(&self.inner.refresh_tokens).insert(credential_key, refresh_token);
                }
                Ok(fetched.token)
            })
            .await
    }

    /// The credential of `origin` for `repository`, looked up once per registry and
    /// repository (concurrent lookups wait for one); failures are not cached.
    async fn credential(&self, origin: &Origin, repository: Option<&str>) -> Result<Credential> {
        let cell =
            lock(&self.inner.credentials).entry(origin.credential_key(repository)).or_default().clone();
        cell.get_or_try_init(|| async {
            let found = self.inner.config.credentials.credential(&origin.registry, repository).await?;
            tracing::debug!(registry = %origin.registry, repository, found = found.is_some(), "credentials looked up");
            Ok::<_, Error>(found.unwrap_or_default())
        })
        .await
        .cloned()
    }
}
