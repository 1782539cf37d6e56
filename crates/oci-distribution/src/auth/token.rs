//! Bearer tokens: where they may be fetched from, how, and for how long they are good.
//!
//! - [`validate_realm`]: a challenge's `realm` resolved against the request URL, refused
//!   when it would send the client somewhere it should not go.
//! - [`fetch`]: distribution's token GET (`service`, repeated `scope`, `account`, Basic
//!   credentials) or the OAuth 2 refresh-token POST, falling back to GET when the POST is
//!   not implemented (404, 405, 401), following validated redirects of the GET.
//! - [`lifetime`]: `expires_in` and `issued_at`, clamped to a minimum lifetime.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::uri::Scheme;
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use serde::Deserialize;

use super::AuthConfig;
use super::credentials::{Credential, encode_auth};
use crate::exchange::Exchange;
use crate::targets::Targets;
use crate::url::{is_loopback_host, resolve, same_origin};
use crate::{Body, Error, ErrorKind, Result};

/// How long a token without `expires_in` lives (distribution's token spec).
const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime believed, whatever the token server says.
const MAX_LIFETIME: Duration = Duration::from_secs(366 * 24 * 3600);
/// How long a registry token from a credential store (`registrytoken`) is used before it
/// is asked for again; a 401 drops it sooner.
const STORED_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Redirects of a token GET followed at most.
const MAX_REDIRECTS: usize = 5;

/// A bearer token and when it stops being usable. [`Debug`](fmt::Debug) hides the token.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) value: String,
    pub(crate) expires_at: Instant,
}

impl Token {
    /// Whether the token is still good `margin` from `now`.
    pub(crate) fn is_fresh(&self, now: Instant, margin: Duration) -> bool {
        now.checked_add(margin).is_some_and(|t| t < self.expires_at)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token").field("value", &"<redacted>").field("expires_at", &self.expires_at).finish()
    }
}

/// A fetched token, and the refresh token the server handed out with it, if any.
pub(crate) struct Fetched {
    pub(crate) token: Token,
    pub(crate) refresh_token: Option<String>,
}

/// What to ask the token server.
pub(crate) struct TokenRequest<'a> {
    /// Where the token server's redirects may lead.
    pub(crate) targets: &'a Targets,
    /// The URL of the request that was challenged (redirects are validated against it).
    pub(crate) registry: &'a Uri,
    /// The validated realm.
    pub(crate) realm: &'a Uri,
    /// The challenge's `service`; empty when it had none.
    pub(crate) service: &'a str,
    /// The scopes, in the order to send them (push first).
    pub(crate) scopes: &'a [String],
    /// The registry's credential (possibly empty: anonymous).
    pub(crate) credential: &'a Credential,
    /// The refresh token to use for the OAuth 2 POST; empty for none.
    pub(crate) refresh_token: &'a str,
    /// When the request is made: a token's lifetime counts from it.
    pub(crate) now: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<f64>,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Resolves `realm` against the challenged request's URL and checks where it points
/// with the client's target policy (see [`crate::targets`]): never from `https` to plain
/// `http`, and to a loopback, private or link-local address only from a registry that
/// is on one (or when the client allows it): a malicious registry must not turn the
/// client into a proxy into the network it runs in.
pub(crate) fn validate_realm(targets: &Targets, registry: &Uri, realm: &str) -> Result<Uri> {
    let uri = resolve(registry, realm)
        .map_err(|e| Error::new(ErrorKind::Auth, format!("unusable token realm {realm:?}")).with_source(e))?;
    targets
        .check(registry, &uri)
        .map_err(|why| Error::new(ErrorKind::Auth, format!("refusing token realm {uri}: {why}")))?;
    Ok(uri)
}

/// Whether credentials may travel to `uri`: over https, to a loopback host, or anywhere
/// when `allow_plain_http` says so.
pub(crate) fn may_carry_credentials(uri: &Uri, allow_plain_http: bool) -> bool {
    allow_plain_http || uri.scheme() == Some(&Scheme::HTTPS) || uri.host().is_some_and(is_loopback_host)
}

pub(crate) fn refuse_plain_http(uri: &Uri) -> Error {
    Error::new(
        ErrorKind::Auth,
        format!(
            "refusing to send credentials over plain http to {}; allow it with AuthConfig::allow_plain_http_credentials",
            uri.authority().map_or("?", |a| a.host())
        ),
    )
}

/// `Basic base64(username:password)`, marked sensitive.
pub(crate) fn basic_header(credential: &Credential) -> Result<HeaderValue> {
    sensitive(&format!("Basic {}", encode_auth(&credential.username, &credential.password)?))
}

/// `Bearer <token>`, marked sensitive.
pub(crate) fn bearer_header(token: &str) -> Result<HeaderValue> {
    sensitive(&format!("Bearer {token}"))
}

fn sensitive(value: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| Error::new(ErrorKind::Auth, "the credential or token is not a valid header value"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Gets a token for `request`: a stored registry token as is; else the OAuth 2 POST when
/// there is a refresh token (falling back to GET on 404, 405 or 401); else the GET.
pub(crate) async fn fetch(
    exchange: &dyn Exchange,
    config: &AuthConfig,
    request: &TokenRequest<'_>,
) -> Result<Fetched> {
    let now = request.now;
    if !request.credential.access_token.is_empty() {
        // A credential like the others: sent to the registry, so held to the same rule.
        if !may_carry_credentials(request.registry, config.allow_plain_http_credentials) {
            return Err(refuse_plain_http(request.registry));
        }
        tracing::debug!(realm = %display_url(request.realm), "using the stored registry token");
        let expires_at = now + STORED_TOKEN_LIFETIME;
        return Ok(Fetched {
            token: Token { value: request.credential.access_token.clone(), expires_at },
            refresh_token: None,
        });
    }
    if !request.refresh_token.is_empty() {
        if !may_carry_credentials(request.realm, config.allow_plain_http_credentials) {
            return Err(refuse_plain_http(request.realm));
        }
        match post(exchange, config, request).await? {
            Some(fetched) => return Ok(fetched),
            None => {
                tracing::debug!(realm = %display_url(request.realm), "OAuth 2 POST unsupported; falling back to GET");
            }
        }
    }
    get(exchange, config, request).await
}

/// The OAuth 2 refresh-token grant; `None` when the server does not do OAuth 2.
async fn post(
    exchange: &dyn Exchange,
    config: &AuthConfig,
    request: &TokenRequest<'_>,
) -> Result<Option<Fetched>> {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", request.refresh_token)];
    if !request.service.is_empty() {
        form.push(("service", request.service));
    }
    let scope = request.scopes.join(" ");
    if !scope.is_empty() {
        form.push(("scope", &scope));
    }
    form.push(("client_id", &config.client_id));
    let body = encode_pairs(&form);
    let http_request = Request::builder()
        .method(Method::POST)
        .uri(request.realm.clone())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from_bytes(body))
        .map_err(|e| Error::new(ErrorKind::Auth, "building the token request").with_source(e))?;
    tracing::debug!(realm = %display_url(request.realm), service = request.service, scopes = ?request.scopes, "requesting a token (OAuth 2 POST)");
    let response = exchange.exchange(http_request, config.max_token_response).await?;
    let status = response.status();
    if matches!(status, StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNAUTHORIZED)
        || status.is_redirection()
    {
        return Ok(None);
    }
    parse(request.realm, "POST", &response, config.min_token_lifetime, request.now).map(Some)
}

/// Distribution's token GET, following validated redirects.
async fn get(exchange: &dyn Exchange, config: &AuthConfig, request: &TokenRequest<'_>) -> Result<Fetched> {
    let mut query = Vec::new();
    if !request.service.is_empty() {
        query.push(("service", request.service));
    }
    query.extend(request.scopes.iter().map(|s| ("scope", s.as_str())));
    let basic = request.credential.has_basic();
    if basic && !request.credential.username.is_empty() {
        query.push(("account", request.credential.username.as_str()));
    }
    let realm = request.realm.to_string();
    let separator = if realm.contains('?') { '&' } else { '?' };
    let mut url: Uri = if query.is_empty() {
        request.realm.clone()
    } else {
        format!("{realm}{separator}{}", encode_pairs(&query))
            .parse()
            .map_err(|e| Error::new(ErrorKind::Auth, "building the token URL").with_source(e))?
    };
    let mut authorization = if basic {
        if !may_carry_credentials(&url, config.allow_plain_http_credentials) {
            return Err(refuse_plain_http(&url));
        }
        Some(basic_header(request.credential)?)
    } else {
        None
    };
    for _ in 0..=MAX_REDIRECTS {
        let mut builder = Request::builder().method(Method::GET).uri(url.clone());
        if let Some(value) = &authorization {
            builder = builder.header(AUTHORIZATION, value.clone());
        }
        let http_request = builder
            .body(Body::empty())
            .map_err(|e| Error::new(ErrorKind::Auth, "building the token request").with_source(e))?;
        tracing::debug!(realm = %display_url(&url), service = request.service, scopes = ?request.scopes, basic, "requesting a token (GET)");
        let response = exchange.exchange(http_request, config.max_token_response).await?;
        let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok());
        match (response.status().is_redirection(), location) {
            (true, Some(location)) => {
                let next = resolve(&url, location)
                    .and_then(|next| validate_realm(request.targets, request.registry, &next.to_string()))?;
                if !same_origin(&url, &next) {
                    authorization = None;
                }
                url = next;
            }
            _ => return parse(&url, "GET", &response, config.min_token_lifetime, request.now),
        }
    }
    Err(Error::new(
        ErrorKind::Auth,
        format!("more than {MAX_REDIRECTS} redirects from the token server {}", display_url(request.realm)),
    ))
}

fn parse(
    url: &Uri,
    method: &str,
    response: &http::Response<Bytes>,
    min_lifetime: Duration,
    now: Instant,
) -> Result<Fetched> {
    let context = format!("{method} {}", display_url(url));
    if !response.status().is_success() {
        return Err(Error::from_status(
            response.status(),
            response.body(),
            format!("fetching a token: {context}"),
        ));
    }
    let answer: TokenResponse = serde_json::from_slice(response.body()).map_err(|e| {
        Error::new(ErrorKind::InvalidResponse, format!("the token response of {context} is not JSON"))
            .with_source(e)
    })?;
    let value = [answer.token, answer.access_token]
        .into_iter()
        .flatten()
        .find(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::new(ErrorKind::InvalidResponse, format!("the token response of {context} has no token"))
        })?;
    let issued_at = answer.issued_at.as_deref().and_then(parse_rfc3339);
    let lifetime = lifetime(answer.expires_in, issued_at, SystemTime::now(), min_lifetime);
    tracing::debug!(url = %display_url(url), lifetime_secs = lifetime.as_secs(), "got a token");
    Ok(Fetched {
        token: Token { value, expires_at: now + lifetime },
        refresh_token: answer.refresh_token.filter(|t| !t.is_empty()),
    })
}

/// How long a token is good from `now`: `expires_in` (60 s when absent), at least
/// `min`, minus its age since `issued_at` when that is plausible (not in the future, not
/// older than the lifetime: a skewed clock must not make every token look expired).
pub(crate) fn lifetime(
    expires_in: Option<f64>,
    issued_at: Option<SystemTime>,
    now: SystemTime,
    min: Duration,
) -> Duration {
    let lifetime = expires_in
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DEFAULT_LIFETIME, |s| Duration::from_secs_f64(s.min(MAX_LIFETIME.as_secs_f64())))
        .max(min);
    let age =
        issued_at.and_then(|t| now.duration_since(t).ok()).filter(|age| *age < lifetime).unwrap_or_default();
    lifetime.saturating_sub(age)
}

/// An RFC 3339 timestamp (`2024-05-01T12:00:00.5Z`, `...+02:00`).
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0i64, |acc, &d| d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0')))
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let separators_ok = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':');
    if !separators_ok
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        nanos *= 10u32.pow(u32::try_from(9usize.saturating_sub(i - start)).ok()?);
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let minutes = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if sign == b'+' { minutes * 60 } else { -minutes * 60 }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    let seconds = u64::try_from(seconds).ok()?;
    UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

/// `application/x-www-form-urlencoded` pairs (also a query string): everything but
/// unreserved characters percent-encoded.
fn encode_pairs(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_component(name, &mut out);
        out.push('=');
        encode_component(value, &mut out);
    }
    out
}

fn encode_component(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend(['%', char::from(HEX[usize::from(b >> 4)]), char::from(HEX[usize::from(b & 15)])]);
        }
    }
}

/// A URL for logs and errors: without its query, which may carry an account name.
fn display_url(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or("?"),
        uri.authority().map_or("?", |a| a.as_str()),
        uri.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Uri {
        s.parse().unwrap()
    }

    #[test]
    fn realms_are_resolved_and_checked() {
        let https = u("https://r.example/v2/app/manifests/1");
        let local = u("http://127.0.0.1:5000/v2/app/manifests/1");
        let targets = Targets::new(false);
        let ok =
            |registry: &Uri, realm: &str| validate_realm(&targets, registry, realm).map(|u| u.to_string());
        assert_eq!(ok(&https, "/token?x=1").unwrap(), "https://r.example/token?x=1");
        assert_eq!(ok(&https, "https://auth.example/token").unwrap(), "https://auth.example/token");
        assert_eq!(ok(&local, "http://127.0.0.1:5001/token").unwrap(), "http://127.0.0.1:5001/token");
        assert_eq!(ok(&local, "http://localhost:9/token").unwrap(), "http://localhost:9/token");
        // A registry on an internal address may send the client to another one.
        assert_eq!(ok(&local, "http://10.0.0.1:5001/token").unwrap(), "http://10.0.0.1:5001/token");
        assert_eq!(
            ok(&u("http://10.0.0.5:5000/v2/"), "http://10.0.0.5:80/t").unwrap(),
            "http://10.0.0.5:80/t"
        );
        assert_eq!(
            ok(&u("http://r.internal/v2/"), "http://auth.internal/t").unwrap(),
            "http://auth.internal/t"
        );
        for (registry, realm, why) in [
            (&https, "http://auth.example/token", "a downgrade from https to plain http"),
            (&https, "http://r.example/token", "a downgrade from https to plain http"),
            (&https, "https://127.0.0.1/token", "a loopback address"),
            (&https, "https://localhost/token", "a loopback address"),
            (&https, "https://169.254.169.254/latest/meta-data", "a private or link-local address"),
            (&https, "https://10.1.2.3/token", "a private or link-local address"),
            (&https, "https://[fd00:ec2::254]/token", "a private or link-local address"),
            (&https, "https://[::ffff:192.168.0.1]/token", "a private or link-local address"),
            (&https, "https://100.64.0.1/token", "a private or link-local address"),
        ] {
            let e = validate_realm(&targets, registry, realm).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Auth);
            assert_eq!(e.to_string(), format!("authentication failed: refusing token realm {realm}: {why}"));
        }
        let e = validate_realm(&targets, &https, "file:///etc/passwd").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert_eq!(e.to_string(), r#"authentication failed: unusable token realm "file:///etc/passwd""#);
    }

    #[test]
    fn credentials_travel_over_https_or_loopback() {
        assert!(may_carry_credentials(&u("https://r.example/"), false));
        assert!(may_carry_credentials(&u("http://127.0.0.1:5000/"), false));
        assert!(may_carry_credentials(&u("http://localhost/"), false));
        assert!(!may_carry_credentials(&u("http://r.example/"), false));
        assert!(may_carry_credentials(&u("http://r.example/"), true));
        assert_eq!(
            refuse_plain_http(&u("http://r.example/")).to_string(),
            "authentication failed: refusing to send credentials over plain http to r.example; \
             allow it with AuthConfig::allow_plain_http_credentials"
        );
    }

    #[test]
    fn lifetimes() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let min = Duration::from_secs(60);
        let secs = |expires_in: Option<f64>, issued_ago: Option<i64>| {
            let issued = issued_ago.map(|ago| {
                if ago >= 0 {
                    now - Duration::from_secs(ago.unsigned_abs())
                } else {
                    now + Duration::from_secs(ago.unsigned_abs())
                }
            });
            lifetime(expires_in, issued, now, min).as_secs()
        };
        assert_eq!(secs(Some(300.0), None), 300);
        assert_eq!(secs(Some(1.0), None), 60, "clamped to the minimum");
        assert_eq!(secs(None, None), 60);
        assert_eq!(secs(Some(-5.0), None), 60);
        assert_eq!(secs(Some(300.0), Some(100)), 200);
        assert_eq!(secs(Some(300.0), Some(-100)), 300, "issued in the future: clock skew");
        assert_eq!(secs(Some(300.0), Some(400)), 300, "older than its lifetime: clock skew");
        assert_eq!(secs(Some(1e300), None), MAX_LIFETIME.as_secs());
        assert_eq!(lifetime(Some(1.0), None, now, Duration::ZERO), Duration::from_secs(1));
        let token = Token { value: "t".into(), expires_at: Instant::now() + Duration::from_secs(10) };
        assert!(token.is_fresh(Instant::now(), Duration::from_secs(5)));
        assert!(!token.is_fresh(Instant::now(), Duration::from_secs(10)));
        assert!(!format!("{token:?}").contains("\"t\""));
    }

    #[test]
    fn rfc3339() {
        let at = |s| parse_rfc3339(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap());
        let secs = |s, n| Some(Duration::new(s, n));
        assert_eq!(at("1970-01-01T00:00:00Z"), secs(0, 0));
        assert_eq!(at("2024-02-29T12:34:56Z"), secs(1_709_210_096, 0));
        assert_eq!(at("2024-02-29T14:34:56.25+02:00"), secs(1_709_210_096, 250_000_000));
        assert_eq!(at("2024-02-29t12:34:56.123456789123z"), secs(1_709_210_096, 123_456_789));
        assert_eq!(at("2024-02-29T10:34:56-02:00"), secs(1_709_210_096, 0));
        for bad in [
            "",
            "2024-02-29",
            "2024-13-01T00:00:00Z",
            "2024-02-29T12:34:56",
            "2024-02-29T12:34:56.Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            encode_pairs(&[
                ("scope", "repository:a/b:pull,push repository:c:pull"),
                ("service", "r.example ~x")
            ]),
            "scope=repository%3Aa%2Fb%3Apull%2Cpush%20repository%3Ac%3Apull&service=r.example%20~x"
        );
        assert_eq!(
            display_url(&u("https://a.example:8443/token?account=me")),
            "https://a.example:8443/token"
        );
    }
}
