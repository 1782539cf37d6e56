//! Token flows against real HTTP servers on loopback: a registry and a token server,
//! reached through a plain hyper client standing in for the transport.

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, Request, StatusCode, Uri};

use super::credentials::{Credential, StaticCredentials};
use super::{AuthConfig, Authenticator};
use crate::exchange::Exchange;
use crate::{Body, ErrorKind, Result};
use harness::{Reply, Server, TestExchange, exchange};

/// A token server at `/token` handing out `tok-1`, `tok-2`, ... with `expires_in`.
async fn token_server(expires_in: u64, delay: Duration) -> Server {
    let issued = AtomicUsize::new(0);
    Server::start(move |seen| {
        if seen.path != "/token" {
            return Reply::new(404, "");
        }
        let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
        Reply::new(200, format!(r#"{{"token":"tok-{n}","expires_in":{expires_in}}}"#)).delay(delay)
    })
    .await
}

/// A registry requiring `Bearer tok-*` (or `accept`ed values) on `/v2/...`, challenging
/// with `challenge`.
async fn registry(challenge: String, accept: impl Fn(&str) -> bool + Send + Sync + 'static) -> Server {
    Server::start(move |seen| {
        if accept(&seen.authorization) {
            Reply::new(200, "{}")
        } else {
            Reply::new(401, r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#)
                .header("www-authenticate", challenge.clone())
        }
    })
    .await
}

fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The client's protocol: authorize, send, and on 401 learn and retry once.
async fn send(
    auth: &Authenticator,
    exchange: &dyn Exchange,
    url: &str,
    scopes: &[String],
) -> Result<StatusCode> {
    let uri: Uri = url.parse().unwrap();
    let build = || Request::get(uri.clone()).body(Body::empty()).unwrap();
    let mut request = build();
    auth.authorize(&mut request, scopes).await?;
    let sent = request.headers().clone();
    let response = exchange.exchange(request, 1 << 20).await?;
    if response.status() == StatusCode::UNAUTHORIZED
        && auth.on_unauthorized(&uri, &sent, response.headers(), scopes).await?
    {
        let mut request = build();
        auth.authorize(&mut request, scopes).await?;
        return Ok(exchange.exchange(request, 1 << 20).await?.status());
    }
    Ok(response.status())
}

fn bearer_challenge(token: &Server, scope: &str) -> String {
    format!(r#"Bearer realm="{}",service="reg",scope="{scope}""#, token.url("/token"))
}

fn accept_tokens(value: &str) -> bool {
    value.starts_with("Bearer tok-")
}

fn authenticator(config: AuthConfig) -> (Authenticator, Arc<TestExchange>) {
    let exchange = exchange();
    (Authenticator::new(config, exchange.clone(), Arc::default()), exchange)
}

/// [`authenticator`] under which the loopback test registries count as registries on
/// the internet, so that the target policy refuses internal realms.
fn public_authenticator(config: AuthConfig) -> (Authenticator, Arc<TestExchange>) {
    let exchange = exchange();
    let targets = Arc::new(crate::targets::Targets::loopback_registries_public());
    (Authenticator::new(config, exchange.clone(), targets), exchange)
}

/// [`authenticator`] measuring token lifetimes on a manual clock.
fn authenticator_on(config: AuthConfig) -> (Authenticator, Arc<TestExchange>, Arc<crate::clock::Manual>) {
    let exchange = exchange();
    let (clock, manual) = crate::clock::Clock::manual();
    (Authenticator::with_clock(config, exchange.clone(), Arc::default(), clock), exchange, manual)
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", super::credentials::encode_auth(user, password).unwrap())
}

#[tokio::test]
async fn bearer_flow_with_credentials_and_push_scope_first() {
    let tokens = token_server(300, Duration::ZERO).await;
    let registry = registry(bearer_challenge(&tokens, "repository:app:pull"), accept_tokens).await;
    let credentials =
        StaticCredentials::new().with(&registry.addr.to_string(), Credential::basic("me", "pw"));
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(credentials));
    let hints = scopes(&["repository:src:pull", "repository:app:push", "repository:app:pull"]);
    let url = registry.url("/v2/app/blobs/uploads/");
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);

    let token_requests = tokens.seen();
    assert_eq!(token_requests.len(), 1, "the second request reuses the cached token");
    let t = &token_requests[0];
    assert_eq!(t.method, "GET");
    assert_eq!(
        t.query,
        "service=reg&scope=repository%3Aapp%3Apull%2Cpush&scope=repository%3Asrc%3Apull&account=me"
    );
    assert_eq!(t.authorization, basic("me", "pw"));
    let sent: Vec<String> = registry.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(sent, ["", "Bearer tok-1", "Bearer tok-1"]);
}

#[tokio::test]
async fn concurrent_requests_share_one_token_fetch() {
    let tokens = token_server(300, Duration::from_millis(200)).await;
    let registry = registry(bearer_challenge(&tokens, "repository:app:pull"), accept_tokens).await;
    let (auth, exchange) = authenticator(AuthConfig::anonymous());
    let url = registry.url("/v2/app/manifests/latest");
    let run = |hints: Vec<String>| {
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (auth, exchange, url, hints) =
                    (auth.clone(), exchange.clone(), url.clone(), hints.clone());
                tokio::spawn(async move { send(&auth, exchange.as_ref(), &url, &hints).await.unwrap() })
            })
            .collect();
        async move {
            for task in tasks {
                assert_eq!(task.await.unwrap(), StatusCode::OK);
            }
        }
    };
    // Ten anonymous requests, ten 401s, one token fetch.
    run(scopes(&["repository:app:pull"])).await;
    assert_eq!(tokens.count("/token"), 1);
    // The origin is known to want Bearer now: ten authorize calls for a new scope, one fetch.
    run(scopes(&["repository:other:pull"])).await;
    assert_eq!(tokens.count("/token"), 2);
    assert_eq!(registry.seen().len(), 10 + 10 + 10);
}

/// Sets the origin of `registry` to Bearer with `tokens`' realm, as a ping would.
fn ping(auth: &Authenticator, registry: &Server, tokens: &Server) {
    let mut headers = HeaderMap::new();
    headers.insert(WWW_AUTHENTICATE, bearer_challenge(tokens, "").parse().unwrap());
    auth.remember_challenge(&registry.url("/v2/").parse().unwrap(), &headers).unwrap();
}

#[tokio::test]
async fn expiry_honours_the_minimum_lifetime() {
    let tokens = token_server(1, Duration::ZERO).await;
    let registry = registry(bearer_challenge(&tokens, ""), accept_tokens).await;
    let hints = scopes(&["repository:app:pull"]);
    let url = registry.url("/v2/app/tags/list");

    // expires_in 1 is clamped to the default 60 s minimum: still fresh 54 s later (the
    // default refresh margin is 5 s).
    let (clamped, exchange, clock) = authenticator_on(AuthConfig::anonymous());
    ping(&clamped, &registry, &tokens);
    assert_eq!(send(&clamped, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    clock.advance(Duration::from_secs(54));
    assert_eq!(send(&clamped, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    assert_eq!(tokens.count("/token"), 1);

    // With no minimum and no margin the token expires after its second.
    let config = AuthConfig::anonymous().with_token_lifetime(Duration::ZERO, Duration::ZERO);
    let (strict, exchange, clock) = authenticator_on(config);
    ping(&strict, &registry, &tokens);
    assert_eq!(send(&strict, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    clock.advance(Duration::from_millis(999));
    assert_eq!(send(&strict, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    assert_eq!(tokens.count("/token"), 2, "fresh for a second");
    clock.advance(Duration::from_millis(1));
    assert_eq!(send(&strict, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    assert_eq!(tokens.count("/token"), 3);
    let sent: Vec<String> = registry.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(sent, ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2", "Bearer tok-3"]);
}

#[tokio::test]
async fn oauth2_post_falls_back_to_get_on_404() {
    let tokens = token_server(300, Duration::ZERO).await; // answers POST /token with a token too
    let no_post = Server::start(|seen| match seen.method.as_str() {
        "POST" => Reply::new(404, "not here"),
        _ => Reply::new(200, r#"{"access_token":"tok-get","expires_in":300}"#),
    })
    .await;
    let challenge = format!(r#"Bearer realm="{}",service="reg""#, no_post.url("/token"));
    let registry = registry(challenge, accept_tokens).await;
    let credentials = StaticCredentials::new()
        .with(&registry.addr.to_string(), Credential::refresh_token("rt-1").with_username("me"));
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(credentials));
    let hints = scopes(&["repository:other:pull", "repository:app:pull,push"]);
    let url = registry.url("/v2/app/blobs/uploads/");
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    let seen = no_post.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].content_type.as_str()),
        ("POST", "application/x-www-form-urlencoded")
    );
    assert_eq!(
        seen[0].body,
        "grant_type=refresh_token&refresh_token=rt-1&service=reg\
         &scope=repository%3Aapp%3Apull%2Cpush%20repository%3Aother%3Apull&client_id=oci-distribution"
    );
    assert_eq!((seen[1].method.as_str(), seen[1].authorization.as_str()), ("GET", ""));
    assert_eq!(
        seen[1].query,
        "service=reg&scope=repository%3Aapp%3Apull%2Cpush&scope=repository%3Aother%3Apull"
    );
    assert_eq!(registry.seen().last().unwrap().authorization, "Bearer tok-get");
    drop(tokens);
}

#[tokio::test]
async fn oauth2_refresh_tokens_from_the_server_replace_the_stored_one() {
    let issued = AtomicUsize::new(0);
    let tokens = Server::start(move |seen| {
        let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
        assert_eq!(seen.method, "POST", "no GET fallback needed");
        Reply::new(
            200,
            format!(r#"{{"access_token":"tok-{n}","refresh_token":"rt-{}","expires_in":300}}"#, n + 1),
        )
    })
    .await;
    let registry =
        registry(format!(r#"Bearer realm="{}",service="reg""#, tokens.url("/token")), accept_tokens).await;
    let credentials =
        StaticCredentials::new().with(&registry.addr.to_string(), Credential::refresh_token("rt-1"));
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(credentials));
    for repo in ["a", "b", "c"] {
        let hints = scopes(&[&format!("repository:{repo}:pull")]);
        let url = registry.url(&format!("/v2/{repo}/manifests/1"));
        assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    }
    let refresh: Vec<String> = tokens
        .seen()
        .iter()
        .map(|s| {
            s.body.split('&').find_map(|p| p.strip_prefix("refresh_token=")).unwrap_or_default().to_owned()
        })
        .collect();
    // Credentials are per repository here (no namespace entries): each repository's
    // lookup starts from the stored token, and keeps the server's answer for its key.
    assert_eq!(refresh, ["rt-1", "rt-1", "rt-1"]);
    // A new scope on a known repository uses the refresh token the server handed out.
    let url = registry.url("/v2/a/manifests/1");
    assert_eq!(
        send(&auth, exchange.as_ref(), &url, &scopes(&["repository:a:pull,push"])).await.unwrap(),
        StatusCode::OK
    );
    assert!(tokens.seen().last().unwrap().body.contains("refresh_token=rt-2&"), "{:?}", tokens.seen().last());
}

#[tokio::test]
async fn realms_pointing_inside_the_network_are_refused() {
    let registry =
        registry(r#"Bearer realm="http://169.254.169.254/latest/meta-data",service="x""#.into(), |_| false)
            .await;
    let (auth, exchange) = public_authenticator(AuthConfig::anonymous());
    let e = send(&auth, exchange.as_ref(), &registry.url("/v2/app/manifests/1"), &[]).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(
        e.to_string(),
        "authentication failed: refusing token realm http://169.254.169.254/latest/meta-data: \
         a private or link-local address"
    );

    // A relative realm is the registry's own origin: allowed, resolved against the request.
    let relative = Server::start(|seen| match (seen.path.as_str(), seen.authorization.as_str()) {
        ("/auth/token", _) => Reply::new(200, r#"{"token":"tok-rel"}"#),
        (_, "Bearer tok-rel") => Reply::new(200, "{}"),
        _ => Reply::new(401, "").header("www-authenticate", r#"Bearer realm="/auth/token",service="x""#),
    })
    .await;
    let status = send(&auth, exchange.as_ref(), &relative.url("/v2/app/manifests/1"), &[]).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(relative.seen()[1].path, "/auth/token");
}

#[tokio::test]
async fn token_redirects_are_checked_and_lose_credentials_across_origins() {
    let tokens = token_server(300, Duration::ZERO).await;
    let target = tokens.url("/token");
    let front = Server::start(move |seen| match seen.path.as_str() {
        "/token" => Reply::new(302, "").header("location", format!("/moved?{}", seen.query)),
        "/moved" => Reply::new(307, "").header("location", format!("{target}?{}", seen.query)),
        "/evil" => Reply::new(302, "").header("location", "http://10.1.2.3/steal"),
        _ => Reply::new(404, ""),
    })
    .await;
    let registry =
        registry(format!(r#"Bearer realm="{}",service="reg""#, front.url("/token")), accept_tokens).await;
    let credentials =
        StaticCredentials::new().with(&registry.addr.to_string(), Credential::basic("me", "pw"));
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(credentials.clone()));
    let hints = scopes(&["repository:app:pull"]);
    assert_eq!(
        send(&auth, exchange.as_ref(), &registry.url("/v2/app/manifests/1"), &hints).await.unwrap(),
        StatusCode::OK
    );
    let front_seen = front.seen();
    assert_eq!(
        front_seen.iter().map(|s| s.authorization.as_str()).collect::<Vec<_>>(),
        [basic("me", "pw"), basic("me", "pw")]
    );
    assert_eq!(tokens.seen()[0].authorization, "", "another origin gets no credentials");
    assert_eq!(tokens.seen()[0].query, "service=reg&scope=repository%3Aapp%3Apull&account=me");

    let evil = registry_with_realm(&front.url("/evil")).await;
    let (auth, exchange) = public_authenticator(AuthConfig::anonymous());
    let e = send(&auth, exchange.as_ref(), &evil.url("/v2/app/manifests/1"), &hints).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "authentication failed: refusing token realm http://10.1.2.3/steal: a private or link-local address"
    );
}

async fn registry_with_realm(realm: &str) -> Server {
    registry(format!(r#"Bearer realm="{realm}",service="reg""#), accept_tokens).await
}

#[tokio::test]
async fn basic_auth_and_the_plain_http_rule() {
    let registry = Server::start(|seen| {
        if seen.authorization == basic("me", "pw") {
            Reply::new(200, "{}")
        } else {
            Reply::new(401, "").header("www-authenticate", r#"Negotiate, Basic realm="Registry""#)
        }
    })
    .await;
    let url = registry.url("/v2/app/manifests/1");
    let hints = scopes(&["repository:app:pull"]);
    let creds =
        |user: &str| StaticCredentials::new().with(&registry.addr.to_string(), Credential::basic(user, "pw"));

    // Loopback over plain http: allowed. The origin stays Basic.
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(creds("me")));
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    let sent: Vec<String> = registry.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(sent, [String::new(), basic("me", "pw"), basic("me", "pw")]);

    // Refused credentials: no second retry; no credentials: nothing to try.
    let (wrong, exchange) = authenticator(AuthConfig::anonymous().with_credentials(creds("you")));
    assert_eq!(send(&wrong, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::UNAUTHORIZED);
    assert_eq!(send(&wrong, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::UNAUTHORIZED);
    let (anonymous, exchange) = authenticator(AuthConfig::anonymous());
    assert_eq!(send(&anonymous, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::UNAUTHORIZED);

    // A host that is not loopback, over plain http: refused unless allowed, in the
    // registry's own Basic exchange and in a token request to a plain-http realm alike.
    let source = StaticCredentials::new().with("registry.example", Credential::basic("me", "pw"));
    plain_http_rule(&source, r#"Basic realm="r""#, Some(&basic("me", "pw"))).await;
    plain_http_rule(&source, r#"Bearer realm="http://registry.example/token""#, None).await;
}

/// Checks the plain-http rule for `source` against `http://registry.example`, which
/// challenges with `challenge`: without the allowance the challenge is refused with the
/// rule's message and nothing is sent; with it, the request carries `allowed` (when
/// given; a token realm on that host cannot be reached here).
async fn plain_http_rule(source: &StaticCredentials, challenge: &str, allowed: Option<&str>) {
    let remote: Uri = "http://registry.example/v2/app/manifests/1".parse().unwrap();
    let hints = scopes(&["repository:app:pull"]);
    let mut challenged = HeaderMap::new();
    challenged.insert(WWW_AUTHENTICATE, challenge.parse().unwrap());
    let (strict, _) = authenticator(AuthConfig::anonymous().with_credentials(source.clone()));
    let e = strict.on_unauthorized(&remote, &HeaderMap::new(), &challenged, &hints).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "authentication failed: refusing to send credentials over plain http to registry.example; \
         allow it with AuthConfig::allow_plain_http_credentials",
        "{challenge}"
    );
    let mut request = Request::get(remote.clone()).body(Body::empty()).unwrap();
    let _ = strict.authorize(&mut request, &hints).await;
    assert!(request.headers().get(AUTHORIZATION).is_none(), "{challenge}");
    let Some(allowed) = allowed else { return };
    let (lenient, _) = authenticator(
        AuthConfig::anonymous().with_credentials(source.clone()).with_allow_plain_http_credentials(true),
    );
    assert!(lenient.on_unauthorized(&remote, &HeaderMap::new(), &challenged, &hints).await.unwrap());
    lenient.authorize(&mut request, &hints).await.unwrap();
    assert_eq!(request.headers()[AUTHORIZATION], allowed, "{challenge}");
    assert!(request.headers()[AUTHORIZATION].is_sensitive());
}

#[tokio::test]
async fn a_namespace_credential_stays_in_its_namespace() {
    let registry = Server::start(|seen| {
        let team = seen.path.starts_with("/v2/team/") && seen.authorization == basic("team", "pw");
        let registry_wide = seen.authorization == basic("me", "pw");
        if team || registry_wide {
            Reply::new(200, "{}")
        } else {
            Reply::new(401, "").header("www-authenticate", r#"Basic realm="Registry""#)
        }
    })
    .await;
    let host = registry.addr.to_string();
    let team_only = StaticCredentials::new().with(&format!("{host}/team"), Credential::basic("team", "pw"));
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(team_only.clone()));
    let team_app = registry.url("/v2/team/app/manifests/1");
    let other_app = registry.url("/v2/other/app/manifests/1");
    let (team, other) = (scopes(&["repository:team/app:pull"]), scopes(&["repository:other/app:pull"]));
    assert_eq!(send(&auth, exchange.as_ref(), &team_app, &team).await.unwrap(), StatusCode::OK);
    // The origin is Basic now, but the team's credential is not the other repository's.
    assert_eq!(send(&auth, exchange.as_ref(), &other_app, &other).await.unwrap(), StatusCode::UNAUTHORIZED);
    let sent: Vec<(String, String)> =
        registry.seen().into_iter().map(|s| (s.path, s.authorization)).collect();
    let (team_path, other_path) =
        ("/v2/team/app/manifests/1".to_owned(), "/v2/other/app/manifests/1".to_owned());
    assert_eq!(
        sent,
        [
            (team_path.clone(), String::new()),
            (team_path.clone(), basic("team", "pw")),
            (other_path.clone(), String::new()),
        ]
    );

    // With a registry-wide entry too, each repository gets its own from the first request on.
    let both = team_only.with(&host, Credential::basic("me", "pw"));
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(both));
    assert_eq!(send(&auth, exchange.as_ref(), &team_app, &team).await.unwrap(), StatusCode::OK);
    assert_eq!(send(&auth, exchange.as_ref(), &other_app, &other).await.unwrap(), StatusCode::OK);
    let sent: Vec<(String, String)> =
        registry.seen().into_iter().skip(3).map(|s| (s.path, s.authorization)).collect();
    assert_eq!(
        sent,
        [
            (team_path.clone(), String::new()),
            (team_path, basic("team", "pw")),
            (other_path, basic("me", "pw"))
        ]
    );
}

#[tokio::test]
async fn refused_tokens_are_replaced_once() {
    let tokens = token_server(300, Duration::ZERO).await;
    let challenge = bearer_challenge(&tokens, "repository:app:pull");
    let registry = Server::start(move |seen| match seen.authorization.as_str() {
        "Bearer tok-2" => Reply::new(200, "{}"),
        // A token the registry refuses, answered without a challenge (as GCR does).
        "Bearer tok-1" => Reply::new(401, ""),
        _ => Reply::new(401, "").header("www-authenticate", challenge.clone()),
    })
    .await;
    let (auth, exchange) = authenticator(AuthConfig::anonymous());
    let url = registry.url("/v2/app/manifests/1");
    let hints = scopes(&["repository:app:pull"]);
    // Anonymous, 401, tok-1, 401: the retry was used.
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::UNAUTHORIZED);
    // tok-1 again, 401 with no challenge: the last one is reused, tok-1 dropped, tok-2 works.
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    let sent: Vec<String> = registry.seen().into_iter().map(|s| s.authorization).collect();
    assert_eq!(sent, ["", "Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]);

    // An origin that never challenged: a bare 401 is final.
    let (fresh, _) = authenticator(AuthConfig::anonymous());
    let other: Uri = "http://127.0.0.1:9/v2/".parse().unwrap();
    assert!(!fresh.on_unauthorized(&other, &HeaderMap::new(), &HeaderMap::new(), &hints).await.unwrap());
}

#[tokio::test]
async fn challenged_scopes_widen_the_hints() {
    let tokens = token_server(300, Duration::ZERO).await;
    let registry = registry(bearer_challenge(&tokens, "repository:app:pull repository:base:pull"), |value| {
        value == "Bearer tok-1"
    })
    .await;
    let (auth, exchange) = authenticator(AuthConfig::anonymous());
    let url = registry.url("/v2/app/manifests/1");
    let hints = scopes(&["repository:app:pull"]);
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    assert_eq!(
        tokens.seen()[0].query,
        "service=reg&scope=repository%3Aapp%3Apull&scope=repository%3Abase%3Apull"
    );
    // The same hints later use the widened token without a new challenge.
    assert_eq!(send(&auth, exchange.as_ref(), &url, &hints).await.unwrap(), StatusCode::OK);
    assert_eq!(tokens.count("/token"), 1);
    assert_eq!(registry.seen().len(), 3);
}

#[tokio::test]
async fn token_answers_are_checked() {
    let huge = "x".repeat((1 << 20) + 1);
    let server = Server::start(move |seen| match seen.path.as_str() {
        "/huge" => Reply::new(200, format!(r#"{{"token":"{huge}"}}"#)),
        "/empty" => Reply::new(200, r#"{"token":"","access_token":""}"#),
        "/denied" => Reply::new(401, r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad password"}]}"#),
        _ => Reply::new(200, "not json"),
    })
    .await;
    let uri: Uri = server.url("/v2/app/manifests/1").parse().unwrap();
    for (path, kind, text) in [
        // The harness's exchange names no request (the transport's errors do).
        ("/huge", ErrorKind::SizeMismatch, "size mismatch: test body".to_owned()),
        (
            "/empty",
            ErrorKind::InvalidResponse,
            format!("invalid response: the token response of GET {} has no token", server.url("/empty")),
        ),
        (
            "/denied",
            ErrorKind::Status,
            format!(
                "registry error: fetching a token: GET {}: 401 Unauthorized; UNAUTHORIZED: bad password",
                server.url("/denied")
            ),
        ),
        (
            "/garbage",
            ErrorKind::InvalidResponse,
            format!("invalid response: the token response of GET {} is not JSON", server.url("/garbage")),
        ),
    ] {
        let (auth, _) = authenticator(AuthConfig::anonymous());
        let mut headers = HeaderMap::new();
        headers.insert(WWW_AUTHENTICATE, format!(r#"Bearer realm="{}""#, server.url(path)).parse().unwrap());
        let e = auth.on_unauthorized(&uri, &HeaderMap::new(), &headers, &[]).await.unwrap_err();
        assert_eq!(e.kind(), kind, "{path}: {e}");
        assert_eq!(e.to_string(), text, "{path}");
    }
}

#[tokio::test]
async fn stored_registry_tokens_are_sent_as_is() {
    let tokens = token_server(300, Duration::ZERO).await;
    let registry = registry(bearer_challenge(&tokens, ""), |value| value == "Bearer stored").await;
    let credentials =
        StaticCredentials::new().with(&registry.addr.to_string(), Credential::access_token("stored"));
    let (auth, exchange) = authenticator(AuthConfig::anonymous().with_credentials(credentials));
    let url = registry.url("/v2/app/manifests/1");
    assert_eq!(
        send(&auth, exchange.as_ref(), &url, &scopes(&["repository:app:pull"])).await.unwrap(),
        StatusCode::OK
    );
    assert_eq!(tokens.count("/token"), 0);

    // Not over plain http to a host that is not loopback, as with every other credential.
    let stored = StaticCredentials::new().with("registry.example", Credential::access_token("stored"));
    plain_http_rule(&stored, r#"Bearer realm="http://registry.example/token""#, Some("Bearer stored")).await;
}

#[test]
fn debug_shows_no_secrets() {
    let config = AuthConfig::anonymous()
        .with_credentials(StaticCredentials::new().with("r.example", Credential::basic("me", "hunter2")));
    let shown = format!("{config:?}");
    assert!(!shown.contains("hunter2") && shown.contains("client_id: \"oci-distribution\""), "{shown}");
}
