use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::*;
use crate::registry::{certs, htpasswd};

/// Not a test: when the registry tests need a token issuer process, they run this test
/// binary with `--ignored --exact` on this function and the arguments in
/// [`CHILD_ARGS_ENV`], since a unit test binary cannot run `cargo xtask token-server`.
/// Ignored, so that no test run counts it; run without the variable it fails.
#[test]
#[ignore = "not a test: the registry tests run it as the token issuer's process"]
fn serve_as_child_process() {
    let args = std::env::var(CHILD_ARGS_ENV)
        .unwrap_or_else(|_| panic!("run only as the token issuer's process, with {CHILD_ARGS_ENV} set"));
    let args: Vec<String> = args.lines().map(str::to_owned).collect();
    main(&args).unwrap();
}

fn issuer(name: &str) -> (Issuer, String) {
    let dir = crate::workspace::target_dir().join("peers").join(format!("xtask-test-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let certs = certs::generate(&dir).unwrap();
    let password = htpasswd::random_password().unwrap();
    let users = dir.join("htpasswd");
    std::fs::write(&users, htpasswd::line("oci-test", &password).unwrap()).unwrap();
    let options = Options {
        port: 1,
        key: certs.issuer_key,
        cert: certs.issuer_cert,
        users,
        issuer: "iss".into(),
        service: "default-svc".into(),
        expires_in: 300,
    };
    (Issuer::load(&options).unwrap(), password)
}

fn get(query: &str, authorization: Option<&str>) -> Request {
    let mut request =
        Request { method: "GET".into(), path: "/token".into(), query: query.into(), ..Request::default() };
    if let Some(value) = authorization {
        request.headers.push(("Authorization".into(), value.into()));
    }
    request
}

fn post(form: &str) -> Request {
    Request {
        method: "POST".into(),
        path: "/token".into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded; charset=utf-8".into())],
        body: form.as_bytes().to_vec(),
        ..Request::default()
    }
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn claims(reply: &Reply) -> serde_json::Value {
    let token = reply.body["token"].as_str().unwrap();
    assert_eq!(reply.body["access_token"], token);
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn the_user_gets_every_requested_action_and_anonymous_gets_none() {
    let (issuer, password) = issuer("issuer-get");
    let query =
        "service=svc&scope=repository%3Afoo%3Apull%2Cpush&scope=repository:bar:delete+registry:catalog:*";
    let reply = issuer.route(&get(query, Some(&basic("oci-test", &password))), 1_700_000_000);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["expires_in"], 300);
    assert_eq!(reply.body["issued_at"], "2023-11-14T22:13:20Z");
    assert!(reply.body.get("refresh_token").is_none());
    let granted = claims(&reply);
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

    let anonymous = issuer.route(&get("scope=repository:foo:pull&offline_token=true", None), 0);
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
    let (issuer, password) = issuer("issuer-refusals");
    let wrong = issuer.route(&get("scope=repository:foo:pull", Some(&basic("oci-test", "nope"))), 0);
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.headers, [("WWW-Authenticate", "Basic realm=\"token\"".to_owned())]);
    assert_eq!(wrong.body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(issuer.route(&get("", Some("Bearer abc")), 0).status, 401);
    assert_eq!(issuer.route(&get("", Some("Basic !!!")), 0).status, 400);
    let malformed = issuer.route(&get("scope=nonsense", Some(&basic("oci-test", &password))), 0);
    assert_eq!(
        (malformed.status, &malformed.body["error_description"]),
        (400, &json!("malformed scope `nonsense`"))
    );
    assert_eq!(
        issuer.route(&Request { method: "GET".into(), path: "/".into(), ..Request::default() }, 0).status,
        404
    );
    assert_eq!(
        issuer
            .route(&Request { method: "PUT".into(), path: "/token".into(), ..Request::default() }, 0)
            .status,
        405
    );

    let form = format!("grant_type=password&username=oci-test&password={password}");
    assert_eq!(issuer.route(&post(&form), 0).body["error_description"], "client_id is required");
    let mut not_a_form = post(&format!("{form}&client_id=x"));
    not_a_form.headers.clear();
    assert_eq!(issuer.route(&not_a_form, 0).status, 400);
    assert_eq!(
        issuer.route(&post("grant_type=password&username=oci-test&password=no&client_id=x"), 0).status,
        401
    );
    assert_eq!(
        issuer.route(&post("grant_type=refresh_token&refresh_token=unknown&client_id=x"), 0).status,
        401
    );
    assert_eq!(issuer.route(&post("grant_type=client_credentials&client_id=x"), 0).status, 400);
}

#[test]
fn oauth_password_and_refresh_grants() {
    let (issuer, password) = issuer("issuer-oauth");
    let form = format!(
        "grant_type=password&username=oci-test&password={password}&client_id=oci&access_type=offline\
         &service=svc&scope=repository%3Afoo%3Apull+repository%3Abar%3Apush&expires_in=2"
    );
    let reply = issuer.route(&post(&form), 100);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["scope"], "repository:foo:pull repository:bar:push");
    assert_eq!(reply.body["expires_in"], 2);
    assert_eq!(claims(&reply)["exp"], 102);
    let refresh = reply.body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh.len(), 48);

    let reply = issuer.route(
        &post(&format!(
            "grant_type=refresh_token&refresh_token={refresh}&client_id=oci&scope=repository:foo:delete"
        )),
        200,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["refresh_token"], refresh);
    let refreshed = claims(&reply);
    assert_eq!((&refreshed["sub"], &refreshed["aud"]), (&json!("oci-test"), &json!("default-svc")));
    assert_eq!(refreshed["access"][0]["actions"], json!(["delete"]));

    // Online password grants (no access_type) and GET offline_token=true.
    let online = issuer
        .route(&post(&format!("grant_type=password&username=oci-test&password={password}&client_id=c")), 0);
    assert!(online.body.get("refresh_token").is_none());
    let offline =
        issuer.route(&get("offline_token=true&client_id=c", Some(&basic("oci-test", &password))), 0);
    assert_eq!(offline.body["refresh_token"].as_str().unwrap().len(), 48);
}

#[test]
fn options_round_trip_through_arguments() {
    let args: Vec<String> =
        ["--port", "5", "--key", "k.pem", "--cert", "c.pem", "--users", "u"].map(str::to_owned).to_vec();
    let options = Options::parse(&args).unwrap();
    assert_eq!((options.issuer.as_str(), options.service.as_str()), ("oci-test-issuer", "oci-test-registry"));
    assert_eq!(options.expires_in, DEFAULT_EXPIRES_IN);
    assert_eq!(Options::parse(&options.to_args()).unwrap(), options);
    assert_eq!(Options::parse(&args[..6]).unwrap_err(), "token-server: --users is required");
    assert!(
        Options::parse(&["--bogus".to_owned()]).unwrap_err().starts_with("token-server: unknown argument")
    );
    assert_eq!(
        Options::parse(&["--port".to_owned(), "70000".to_owned()]).unwrap_err(),
        "token-server: --port 70000 is out of range"
    );
}
