//! The token protocol as the issuer answers it (the registry's `/token`, and the
//! workspace's test issuer for distribution): GET with Basic or anonymous, the `OAuth2`
//! password and refresh-token grants, and every refusal.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use oci_registry::auth::{Htpasswd, Signer, TokenAnswer, TokenIssuer, TokenOptions, TokenRequest};
use serde_json::json;

const PASSWORD: &str = "s3cret";

fn issuer() -> TokenIssuer {
    let users = Htpasswd::parse(&Htpasswd::line("oci-test", PASSWORD, 4).unwrap()).unwrap();
    let options = TokenOptions {
        issuer: "iss".into(),
        service: "default-svc".into(),
        expires_in: 300,
        anonymous_actions: Vec::new(),
    };
    TokenIssuer::new(Signer::generate().unwrap(), users, options)
}

fn get<'a>(query: &'a str, authorization: Option<&'a str>) -> TokenRequest<'a> {
    TokenRequest { method: "GET", query, authorization, ..TokenRequest::default() }
}

fn post(form: &str) -> TokenRequest<'_> {
    TokenRequest {
        method: "POST",
        content_type: Some("application/x-www-form-urlencoded; charset=utf-8"),
        body: form.as_bytes(),
        ..TokenRequest::default()
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn claims(answer: &TokenAnswer) -> serde_json::Value {
    let token = answer.body["token"].as_str().unwrap();
    assert_eq!(answer.body["access_token"], token);
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn the_user_gets_every_requested_action_and_anonymous_gets_none() {
    let issuer = issuer();
    let query =
        "service=svc&scope=repository%3Afoo%3Apull%2Cpush&scope=repository:bar:delete+registry:catalog:*";
    let auth = basic("oci-test", PASSWORD);
    let answer = issuer.answer(&get(query, Some(&auth)), 1_700_000_000);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["expires_in"], 300);
    assert_eq!(answer.body["issued_at"], "2023-11-14T22:13:20Z");
    assert!(answer.body.get("refresh_token").is_none());
    let granted = claims(&answer);
    assert_eq!(
        (&granted["sub"], &granted["aud"], &granted["iss"]),
        (&json!("oci-test"), &json!("svc"), &json!("iss"))
    );
    assert_eq!(granted["exp"], 1_700_000_300);
    assert_eq!(
        granted["access"],
        json!([
            { "type": "repository", "name": "foo", "actions": ["pull", "push"] },
            { "type": "repository", "name": "bar", "actions": ["delete"] },
            { "type": "registry", "name": "catalog", "actions": ["*"] },
        ])
    );

    let anonymous = issuer.answer(&get("scope=repository:foo:pull&offline_token=true", None), 0);
    assert_eq!(anonymous.status, 200);
    assert!(anonymous.body.get("refresh_token").is_none());
    let none = claims(&anonymous);
    assert_eq!(
        (&none["sub"], &none["aud"], &none["access"]),
        (&json!(""), &json!("default-svc"), &json!([]))
    );
}

#[test]
fn bad_credentials_and_requests_are_refused() {
    let issuer = issuer();
    let wrong = basic("oci-test", "nope");
    let answer = issuer.answer(&get("scope=repository:foo:pull", Some(&wrong)), 0);
    assert_eq!(answer.status, 401);
    assert_eq!(answer.headers, [("WWW-Authenticate", "Basic realm=\"token\"".to_owned())]);
    assert_eq!(answer.body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(issuer.answer(&get("", Some("Bearer abc")), 0).status, 401);
    assert_eq!(issuer.answer(&get("", Some("Basic !!!")), 0).status, 400);
    let auth = basic("oci-test", PASSWORD);
    let malformed = issuer.answer(&get("scope=nonsense", Some(&auth)), 0);
    assert_eq!(
        (malformed.status, &malformed.body["error_description"]),
        (400, &json!("malformed scope `nonsense`"))
    );
    assert_eq!(issuer.answer(&TokenRequest { method: "PUT", ..TokenRequest::default() }, 0).status, 405);

    let form = format!("grant_type=password&username=oci-test&password={PASSWORD}");
    assert_eq!(issuer.answer(&post(&form), 0).body["error_description"], "client_id is required");
    let with_client = format!("{form}&client_id=x");
    let not_a_form = TokenRequest { content_type: None, ..post(&with_client) };
    assert_eq!(issuer.answer(&not_a_form, 0).status, 400);
    assert_eq!(
        issuer.answer(&post("grant_type=password&username=oci-test&password=no&client_id=x"), 0).status,
        401
    );
    assert_eq!(
        issuer.answer(&post("grant_type=refresh_token&refresh_token=unknown&client_id=x"), 0).status,
        401
    );
    assert_eq!(issuer.answer(&post("grant_type=client_credentials&client_id=x"), 0).status, 400);
}

#[test]
fn oauth_password_and_refresh_grants() {
    let issuer = issuer();
    let form = format!(
        "grant_type=password&username=oci-test&password={PASSWORD}&client_id=oci&access_type=offline\
         &service=svc&scope=repository%3Afoo%3Apull+repository%3Abar%3Apush&expires_in=2"
    );
    let answer = issuer.answer(&post(&form), 100);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["scope"], "repository:foo:pull repository:bar:push");
    assert_eq!(answer.body["expires_in"], 2);
    assert_eq!(claims(&answer)["exp"], 102);
    let refresh = answer.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh.len(), 48);

    let form =
        format!("grant_type=refresh_token&refresh_token={refresh}&client_id=oci&scope=repository:foo:delete");
    let answer = issuer.answer(&post(&form), 200);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["refresh_token"], refresh);
    let refreshed = claims(&answer);
    assert_eq!((&refreshed["sub"], &refreshed["aud"]), (&json!("oci-test"), &json!("default-svc")));
    assert_eq!(refreshed["access"][0]["actions"], json!(["delete"]));

    // Online password grants (no access_type) and GET offline_token=true.
    let online = issuer
        .answer(&post(&format!("grant_type=password&username=oci-test&password={PASSWORD}&client_id=c")), 0);
    assert!(online.body.get("refresh_token").is_none());
    let auth = basic("oci-test", PASSWORD);
    let offline = issuer.answer(&get("offline_token=true&client_id=c", Some(&auth)), 0);
    assert_eq!(offline.body["refresh_token"].as_str().unwrap().len(), 48);
}

#[test]
fn anonymous_requests_get_only_the_anonymous_actions() {
    let users = Htpasswd::parse("").unwrap();
    let options = TokenOptions { anonymous_actions: vec!["pull".into()], ..TokenOptions::default() };
    let issuer = TokenIssuer::new(Signer::generate().unwrap(), users, options);
    let answer =
        issuer.answer(&get("scope=repository:foo:pull,push,delete&scope=registry:catalog:*", None), 0);
    assert_eq!(
        claims(&answer)["access"],
        json!([{ "type": "repository", "name": "foo", "actions": ["pull"] }])
    );
}
