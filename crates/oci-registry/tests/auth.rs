//! Authentication as clients meet it: Basic against htpasswd users, bearer tokens from
//! the registry's own `/token` with scopes per repository and action, and TLS with
//! HTTP/2 offered by ALPN.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use base64::Engine as _;
use common::raw;
use oci_registry::auth::{Htpasswd, TokenOptions};
use oci_registry::{Auth, MemoryStorage, Registry, TlsConfig};
use rustls::pki_types::pem::PemObject as _;

fn users() -> Htpasswd {
    Htpasswd::parse(&Htpasswd::line("alice", "secret", 4).unwrap()).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

async fn start(auth: Auth) -> Registry {
    Registry::builder().storage(MemoryStorage::new()).auth(auth).bind("127.0.0.1:0").await.unwrap()
}

/// A token from the registry's `/token` for `scope`, as `user` (or anonymous).
async fn token(registry: &Registry, scope: &str, user: Option<(&str, &str)>) -> String {
    let target = format!("/token?service=oci-registry&scope={scope}");
    let auth = user.map(|(u, p)| basic(u, p));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
    let answer = raw(registry.addr(), "GET", &target, &headers, &[]).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn basic_auth_checks_every_request_and_may_let_pulls_through() {
    let registry = start(Auth::basic(users())).await;
    let addr = registry.addr();
    let anonymous = raw(addr, "GET", "/v2/", &[], &[]).await;
    assert_eq!(
        (anonymous.status, anonymous.header("www-authenticate")),
        (401, Some("Basic realm=\"oci-registry\""))
    );
    assert_eq!(anonymous.error(), "UNAUTHORIZED: authentication required");
    let wrong = raw(addr, "GET", "/v2/", &[("authorization", &basic("alice", "nope"))], &[]).await;
    assert_eq!(wrong.error(), "UNAUTHORIZED: wrong username or password");
    let right = raw(addr, "GET", "/v2/", &[("authorization", &basic("alice", "secret"))], &[]).await;
    assert_eq!(right.status, 200);
    registry.shutdown().await;

    let registry = start(Auth::Basic { users: users(), anonymous_pull: true }).await;
    let pull = raw(registry.addr(), "GET", "/v2/a/tags/list", &[], &[]).await;
    assert_eq!(pull.status, 404, "a pull needs no credentials: {}", pull.error());
    let push = raw(registry.addr(), "POST", "/v2/a/blobs/uploads/", &[], &[]).await;
    assert_eq!(push.status, 401);
    registry.shutdown().await;
}

#[tokio::test]
async fn bearer_tokens_grant_what_their_scope_says() {
    let registry = start(Auth::bearer(users(), TokenOptions::default()).unwrap()).await;
    let addr = registry.addr();
    let host = registry.host();
    let challenge = raw(addr, "POST", "/v2/team/app/blobs/uploads/", &[], &[]).await;
    assert_eq!(challenge.status, 401);
    assert_eq!(
        challenge.header("www-authenticate"),
        Some(format!(r#"Bearer realm="http://{host}/token",service="oci-registry",scope="repository:team/app:pull,push""#).as_str())
    );
    let pull_only = token(&registry, "repository:team/app:pull", Some(("alice", "secret"))).await;
    let bearer = |t: &str| format!("Bearer {t}");
    let refused =
        raw(addr, "POST", "/v2/team/app/blobs/uploads/", &[("authorization", &bearer(&pull_only))], &[])
            .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.error(), "UNAUTHORIZED: the token does not grant repository:team/app:pull,push");
    assert!(refused.header("www-authenticate").unwrap().ends_with(r#",error="insufficient_scope""#));
    let push = token(&registry, "repository:team/app:pull,push", Some(("alice", "secret"))).await;
    let post =
        raw(addr, "POST", "/v2/team/app/blobs/uploads/", &[("authorization", &bearer(&push))], &[]).await;
    assert_eq!(post.status, 202);
    // The token names one repository; the catalog needs its own scope.
    let other = raw(addr, "GET", "/v2/other/tags/list", &[("authorization", &bearer(&push))], &[]).await;
    assert_eq!(other.status, 401);
    let catalog = raw(addr, "GET", "/v2/_catalog", &[("authorization", &bearer(&push))], &[]).await;
    assert!(catalog.header("www-authenticate").unwrap().contains(r#"scope="registry:catalog:*""#));
    let admin = token(&registry, "registry:catalog:*", Some(("alice", "secret"))).await;
    assert_eq!(
        raw(addr, "GET", "/v2/_catalog", &[("authorization", &bearer(&admin))], &[]).await.status,
        200
    );
    // Anonymous tokens grant nothing; a forged one is refused.
    let anonymous = token(&registry, "repository:team/app:pull", None).await;
    assert_eq!(
        raw(addr, "GET", "/v2/team/app/tags/list", &[("authorization", &bearer(&anonymous))], &[])
            .await
            .status,
        401
    );
    // The claims of one token under the signature of another.
    let (claims, _) = push.rsplit_once('.').unwrap();
    let (_, signature) = pull_only.rsplit_once('.').unwrap();
    let forged = format!("{claims}.{signature}");
    let answer =
        raw(addr, "GET", "/v2/team/app/tags/list", &[("authorization", &bearer(&forged))], &[]).await;
    assert_eq!(answer.error(), "UNAUTHORIZED: the signature does not verify");
    // Wrong credentials at the token endpoint.
    let target = "/token?service=oci-registry&scope=repository:team/app:pull";
    let wrong = raw(addr, "GET", target, &[("authorization", &basic("alice", "nope"))], &[]).await;
    assert_eq!(wrong.status, 401);
    registry.shutdown().await;
}

#[tokio::test]
async fn expired_tokens_and_tokens_for_another_service_are_refused() {
    let registry = start(Auth::bearer(users(), TokenOptions::default()).unwrap()).await;
    let addr = registry.addr();
    let scope = "repository:a:pull";
    let other = raw(
        addr,
        "GET",
        &format!("/token?service=elsewhere&scope={scope}"),
        &[("authorization", &basic("alice", "secret"))],
        &[],
    )
    .await;
    let other: serde_json::Value = serde_json::from_slice(&other.body).unwrap();
    let answer = raw(
        addr,
        "GET",
        "/v2/a/tags/list",
        &[("authorization", &format!("Bearer {}", other["token"].as_str().unwrap()))],
        &[],
    )
    .await;
    assert_eq!(answer.error(), "UNAUTHORIZED: the token is for service \"elsewhere\", not \"oci-registry\"");
    let options = TokenOptions { anonymous_actions: vec!["pull".to_owned()], ..TokenOptions::default() };
    let issuer = oci_registry::auth::TokenIssuer::new(
        oci_registry::auth::Signer::generate().unwrap(),
        users(),
        options,
    );
    let claims = oci_registry::auth::Claims {
        issuer: "oci-registry".into(),
        subject: "alice".into(),
        audience: "oci-registry".into(),
        issued_at: 1000,
        expires_in: 300,
        access: vec![oci_registry::auth::Access::parse(scope).unwrap()],
    };
    let old = issuer.signer().sign(&claims).unwrap();
    assert_eq!(issuer.signer().verify(&old, 1299).unwrap(), claims);
    assert_eq!(issuer.signer().verify(&old, 1300).unwrap_err(), "the token has expired");
    registry.shutdown().await;

    // Anonymous pulls: a token without credentials reads, never writes.
    let registry = Registry::builder()
        .storage(MemoryStorage::new())
        .auth(oci_registry::Auth::Bearer(Box::new(issuer)))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let anonymous = token(&registry, "repository:a:pull,push", None).await;
    let read = raw(
        registry.addr(),
        "GET",
        "/v2/a/tags/list",
        &[("authorization", &format!("Bearer {anonymous}"))],
        &[],
    )
    .await;
    assert_eq!(read.status, 404, "{}", read.error());
    let write = raw(
        registry.addr(),
        "POST",
        "/v2/a/blobs/uploads/",
        &[("authorization", &format!("Bearer {anonymous}"))],
        &[],
    )
    .await;
    assert_eq!(write.status, 401);
    registry.shutdown().await;
}

#[tokio::test]
async fn tls_serves_http2_and_http1_by_alpn() {
    let ca = oci_test_support::pki::Ca::new("test CA");
    let leaf = ca.leaf("127.0.0.1", &["127.0.0.1"], oci_test_support::pki::Usage::Server);
    let tls = TlsConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let registry = Registry::builder().tls(tls).bind("127.0.0.1:0").await.unwrap();
    assert!(registry.url().starts_with("https://127.0.0.1:"));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap()).unwrap();
    for (offer, expected) in [
        (vec![b"h2".to_vec(), b"http/1.1".to_vec()], b"h2".as_slice()),
        (vec![b"http/1.1".to_vec()], b"http/1.1"),
    ] {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_no_client_auth();
        config.alpn_protocols = offer;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(registry.addr()).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let stream = connector.connect(name, tcp).await.unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(expected));
    }
    // A plain HTTP request to the TLS port gets no answer.
    let plain = tokio::net::TcpStream::connect(registry.addr()).await.unwrap();
    drop(plain);
    registry.shutdown().await;
}
