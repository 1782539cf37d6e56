//! The whole client against hostile servers: a token server that never answers, and
//! registries that redirect where the client must not follow.

use std::time::Duration;

use oci_test_support::scripted::Scripted;
use tokio::time::Instant;

use super::fake::{Fake, Reply};
use crate::ErrorKind;

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
