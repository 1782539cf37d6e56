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

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// The protocol itself is tested where it lives (`oci-registry`'s `tests/token.rs`);
/// here, that the process answers `/token` through it with tokens distribution can
/// verify (the signing certificate in `x5c`) and nothing else.
#[test]
fn the_issuer_answers_token_requests_with_x5c_tokens_and_nothing_else() {
    let (issuer, password) = issuer("issuer-wrapper");
    let reply =
        issuer.route(&get("service=svc&scope=repository:foo:pull", Some(&basic("oci-test", &password))), 0);
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.body["token"].as_str().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!((&header["alg"], header["x5c"].as_array().map(Vec::len)), (&json!("ES256"), Some(1)));
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!((&claims["iss"], &claims["aud"]), (&json!("iss"), &json!("svc")));
    assert_eq!(issuer.route(&get("", Some(&basic("oci-test", "nope"))), 0).status, 401);
    let elsewhere = Request { method: "GET".into(), path: "/".into(), ..Request::default() };
    assert_eq!(issuer.route(&elsewhere, 0).status, 404);
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
