//! The whole client against hostile servers: a token server that never answers, and
//! registries that redirect where the client must not follow.

use std::time::Duration;

use http::StatusCode;
use oci_spec_types::{Descriptor, MediaType};
use oci_test_support::logs::Logs;
use oci_test_support::scripted::Scripted;
use tokio::time::Instant;

use super::fake::{Fake, Reply};
use crate::auth::{AuthConfig, Credential, StaticCredentials};
use crate::transport::tests::peers::{handler, pki, reply, serve};
use crate::{Client, ErrorKind};

const LAYER: &[u8] = b"the bytes of a layer";

fn layer() -> Descriptor {
    Descriptor::for_bytes(MediaType::LAYER_TAR_GZIP, LAYER)
}

/// A registry that asks for basic credentials, then sends blob downloads to `storage`
/// by way of a second URL of its own (the same origin).
async fn redirecting_registry(storage: String) -> Fake {
    Fake::start(move |seen| {
        if seen.header("authorization").is_empty() {
            return Reply::new(401, "").header("www-authenticate", r#"Basic realm="fake""#);
        }
        match seen.path() {
            p if p.starts_with("/v2/app/blobs/") => Reply::new(307, "").header("location", "/same-origin"),
            "/same-origin" => Reply::new(307, "").header("location", storage.clone()),
            _ => Reply::new(404, ""),
        }
    })
    .await
}

fn with_credentials(fake: &Fake) -> Client {
    let credentials = StaticCredentials::new().with(&fake.host(), Credential::basic("me", "secret"));
    fake.client_with(AuthConfig::anonymous().with_credentials(credentials), |_| {}, |_| {})
}

#[tokio::test]
async fn a_redirect_to_another_origin_drops_authorization() {
    // Storage moves the signed URL on once more, as CDNs do.
    let storage = Scripted::start(|seen| match seen.path() {
        "/blob" => Reply::new(307, "").header("location", "/final"),
        _ => Reply::new(200, LAYER),
    })
    .await;
    let fake = redirecting_registry(storage.url("/blob?X-Amz-Signature=s3cr3t")).await;
    let client = with_credentials(&fake);
    let logs = Logs::at(tracing::Level::DEBUG);
    let got = client.get_blob_bytes(&fake.repository("app"), &layer(), 1024).await.unwrap();
    assert_eq!(got.as_ref(), LAYER);
    // The signed storage URL is never logged whole, at any hop.
    let lines = logs.lines();
    let hops: Vec<_> = lines.iter().filter(|l| l.starts_with("following a redirect")).collect();
    assert_eq!(hops.len(), 3, "{lines:#?}");
    assert!(hops[2].contains("/blob?X-Amz-Signature=REDACTED"), "{}", hops[2]);
    assert!(lines.iter().all(|l| !l.contains("s3cr3t")), "{lines:#?}");
    let seen = fake.seen();
    let paths: Vec<_> = seen.iter().map(|s| (s.path(), !s.header("authorization").is_empty())).collect();
    let blob = format!("/v2/app/blobs/{}", layer().digest);
    // The redirect within the registry's origin keeps the credentials.
    assert_eq!(paths, [(blob.as_str(), false), (blob.as_str(), true), ("/same-origin", true)]);
    let at_storage = storage.seen();
    assert_eq!(at_storage.len(), 2);
    assert!(at_storage.iter().all(|s| s.header("authorization").is_empty()), "credentials reached storage");
}

#[tokio::test]
async fn a_401_from_a_redirect_target_is_not_answered() {
    let storage =
        Scripted::start(|_| Reply::new(401, "").header("www-authenticate", r#"Basic realm="storage""#)).await;
    let fake = redirecting_registry(storage.url("/blob")).await;
    let client = with_credentials(&fake);
    let e = client.get_blob_bytes(&fake.repository("app"), &layer(), 1024).await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED), "{e}");
    // Storage's challenge is not the registry's to answer: no second try, no credentials.
    let at_storage = storage.seen();
    assert_eq!(at_storage.len(), 1, "{:?}", storage.requests());
    assert_eq!(at_storage[0].header("authorization"), "");
    assert_eq!(fake.requests().len(), 3, "{:?}", fake.requests());
}

#[tokio::test]
async fn redirects_stop_after_ten() {
    let fake = Fake::start(|seen| {
        let hop: u32 = seen.path().strip_prefix("/hop/").map_or(0, |n| n.parse().unwrap());
        Reply::new(307, "").header("location", format!("/hop/{}", hop + 1))
    })
    .await;
    let client = fake.client(|_| {});
    let e = client.get_blob_bytes(&fake.repository("app"), &layer(), 1024).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    assert_eq!(
        e.to_string(),
        format!(
            "invalid response: GET http://{}/v2/app/blobs/{}: more than 10 redirects",
            fake.host(),
            layer().digest
        )
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 11, "{requests:?}");
    assert_eq!(requests.last().unwrap(), "GET /hop/10");
}

#[tokio::test]
async fn a_registry_on_the_internet_cannot_send_the_client_inside() {
    let storage = Scripted::start(|_| Reply::new(200, LAYER)).await;
    let port = storage.addr().port();
    // Each repository redirects to one spelling of an internal address.
    let targets = [
        format!("http://127.1:{port}/x"),
        format!("http://2130706433:{port}/x"),
        format!("http://0x7f.1:{port}/x"),
        format!("http://0177.0.0.1:{port}/x"),
        format!("http://localhost:{port}/x"),
        format!("http://[::1]:{port}/x"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
    ];
    let locations = targets.clone();
    let fake = Fake::start(move |seen| {
        let n: usize = seen.path()["/v2/r".len()..].split('/').next().unwrap().parse().unwrap();
        Reply::new(307, "").header("location", locations[n].clone())
    })
    .await;
    let client = fake.public_client();
    let host = fake.host();
    let digest = layer().digest;
    for (n, target) in targets.iter().enumerate() {
        let e = client.get_blob_bytes(&fake.repository(&format!("r{n}")), &layer(), 1024).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{target}: {e}");
        let request = format!("GET http://{host}/v2/r{n}/blobs/{digest}");
        let want = match n {
            // Spellings only the resolver reads as loopback: refused once connected.
            0..=3 => {
                let authority = target["http://".len()..].split('/').next().unwrap();
                format!(
                    "invalid response: GET {target}: refusing the connection to {authority} at 127.0.0.1: a \
                     registry sent the client there, and it is a loopback, private or link-local address"
                )
            }
            4 | 5 => {
                format!("invalid response: {request}: refusing the redirect to {target}: a loopback address")
            }
            _ => format!(
                "invalid response: {request}: refusing the redirect to {target}: a private or link-local address"
            ),
        };
        assert_eq!(e.to_string(), want);
    }
    assert_eq!(storage.requests(), Vec::<String>::new(), "a refused target was reached");
    // A registry that is itself on loopback may send the client next door.
    let local = fake.client(|_| {});
    let got = local.get_blob_bytes(&fake.repository("r0"), &layer(), 1024).await.unwrap();
    assert_eq!(got.as_ref(), LAYER);
    assert_eq!(storage.requests().len(), 1);
}

#[tokio::test]
async fn no_hop_of_a_redirect_goes_from_https_to_plain_http() {
    let storage = Scripted::start(|_| Reply::new(200, LAYER)).await;
    let plain = storage.url("/blob");
    let tls = serve(
        Some(pki().server.clone()),
        0,
        handler(move |_| {
            let mut r = reply(307, "");
            r.headers_mut().insert("location", plain.parse().unwrap());
            async move { r }
        }),
    )
    .await;
    let secure = tls.url("https", "/hop");
    // An http registry sending the client to https storage, which sends it back to http.
    let fake = Fake::start(move |_| Reply::new(307, "").header("location", secure.clone())).await;
    let client = fake.client_with(
        AuthConfig::anonymous(),
        |t| t.ca_pem.push(pki().ca_pem.as_bytes().to_vec()),
        |_| {},
    );
    let e = client.get_blob_bytes(&fake.repository("app"), &layer(), 1024).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "invalid response: GET http://{}/v2/app/blobs/{}: refusing the redirect to {}: a downgrade from \
             https to plain http",
            fake.host(),
            layer().digest,
            storage.url("/blob")
        )
    );
    assert_eq!(storage.requests(), Vec::<String>::new());
}

#[tokio::test(start_paused = true)]
async fn a_token_server_that_never_answers_fails_every_waiting_request_after_the_timeout() {
    let tokens =
        Scripted::start(|_| Reply::new(200, r#"{"token":"t"}"#).delay(Duration::from_secs(86_400))).await;
    let realm = tokens.url("/token");
    let fake = Fake::start(move |_| {
        Reply::new(401, "").header("www-authenticate", format!(r#"Bearer realm="{realm}",service="fake""#))
    })
    .await;
    let client = fake.client(|_| {});
    let started = Instant::now();
    let (ra, rb) = (fake.reference("app:a"), fake.reference("app:b"));
    let (a, b) = tokio::join!(client.get_manifest(&ra), client.get_manifest(&rb));
    for e in [a.unwrap_err(), b.unwrap_err()] {
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("no response within 60s"), "{e}");
    }
    // Both waited on one token fetch and share its failure: one wait, not one each.
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    assert_eq!(tokens.requests().len(), 1, "{:?}", tokens.requests());
}
