//! Tests against the real registry: each configuration answers as a client will meet it,
//! the token registry verifies the issuer's JWTs, and blobs go in and come back out.

use std::process::{Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::http::{Response, request};
use super::*;
use crate::peers::missing_deb_packages;

/// Fails unless the registry can run here: the tests that need it are ignored unless asked
/// for (`cargo xtask test` installs it first), and fail without it.
fn require_registry() {
    assert!(
        missing_deb_packages(&["docker-registry"]).unwrap().is_empty(),
        "docker-registry is not installed (`cargo xtask test` installs it)"
    );
}

fn prepare(name: &str) -> Peers {
    Peers::prepare(&workspace::target_dir().join("peers").join(format!("xtask-test-{name}"))).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.text()))
}

fn sha256(data: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, data);
    format!("sha256:{}", htpasswd::hex(digest.as_ref()))
}

/// The absolute form of an upload `Location`.
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") { location.to_owned() } else { format!("{base}{location}") }
}

/// Pushes `content` to `repo` with a monolithic POST + PUT, reads it back, deletes it and
/// checks it is gone: proves the storage and `delete.enabled` settings.
fn push_read_delete_blob(base: &str, repo: &str, authorization: Option<&str>, content: &[u8]) {
    let auth: Vec<(&str, &str)> = authorization.map(|a| ("Authorization", a)).into_iter().collect();
    let digest = sha256(content);
    let started = request("POST", &format!("{base}/v2/{repo}/blobs/uploads/"), &auth, &[]).unwrap();
    assert_eq!(started.status, 202, "{}", started.text());
    let location = absolute(base, started.header("Location").unwrap());
    let separator = if location.contains('?') { '&' } else { '?' };
    let mut headers = auth.clone();
    headers.push(("Content-Type", "application/octet-stream"));
    let put = request("PUT", &format!("{location}{separator}digest={digest}"), &headers, content).unwrap();
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(put.header("Docker-Content-Digest"), Some(digest.as_str()));

    let blob_url = format!("{base}/v2/{repo}/blobs/{digest}");
    let got = request("GET", &blob_url, &auth, &[]).unwrap();
    assert_eq!((got.status, got.body.as_slice()), (200, content));
    let head = request("HEAD", &blob_url, &auth, &[]).unwrap();
    assert_eq!(head.header("Content-Length"), Some(content.len().to_string().as_str()));
    assert_eq!(request("DELETE", &blob_url, &auth, &[]).unwrap().status, 202);
    let gone = request("GET", &blob_url, &auth, &[]).unwrap();
    assert_eq!(gone.status, 404);
    assert_eq!(json(&gone)["errors"][0]["code"], "BLOB_UNKNOWN");
}

#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn plain_registry_answers_and_stores_blobs() {
    require_registry();
    let mut peers = prepare("plain");
    let url = peers.start_registry("plain", Kind::Plain, Logging::Requests).unwrap();
    let ping = http::get(&format!("{url}/v2/")).unwrap();
    assert_eq!(ping.status, 200);
    assert_eq!(ping.header("Docker-Distribution-Api-Version"), Some("registry/2.0"));
    push_read_delete_blob(&url, "plain/test", None, b"plain blob");
    let config = std::fs::read_to_string(peers.work_dir.join("plain/config.yml")).unwrap();
    assert!(config.contains(&format!("addr: {}", url.trim_start_matches("http://"))), "{config}");
    assert!(peers.work_dir.join("plain/storage/docker/registry/v2/repositories/plain/test").is_dir());
}

#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn basic_registry_challenges_and_accepts_only_the_test_user() {
    require_registry();
    let mut peers = prepare("basic");
    let url = peers.start_registry("basic", Kind::Basic, Logging::Requests).unwrap();
    let ping = format!("{url}/v2/");
    let challenge = http::get(&ping).unwrap();
    assert_eq!(challenge.status, 401);
    assert_eq!(challenge.header("WWW-Authenticate"), Some("Basic realm=\"oci-test-basic\""));
    let right = basic(USERNAME, &peers.password);
    assert_eq!(request("GET", &ping, &[("Authorization", &right)], &[]).unwrap().status, 200);
    let wrong = request("GET", &ping, &[("Authorization", &basic(USERNAME, "wrong"))], &[]).unwrap();
    assert_eq!(wrong.status, 401);
    assert_eq!(json(&wrong)["errors"][0]["code"], "UNAUTHORIZED");
    let stranger =
        request("GET", &ping, &[("Authorization", &basic("someone", &peers.password))], &[]).unwrap();
    assert_eq!(stranger.status, 401);
    push_read_delete_blob(&url, "basic/test", Some(&right), b"basic blob");
}

/// A token from the issuer's GET endpoint.
fn get_token(realm: &str, query: &str, authorization: Option<&str>) -> Response {
    let headers: Vec<(&str, &str)> = authorization.map(|a| ("Authorization", a)).into_iter().collect();
    request("GET", &format!("{realm}?{query}"), &headers, &[]).unwrap()
}

fn bearer(token_response: &Response) -> String {
    assert_eq!(token_response.status, 200, "{}", token_response.text());
    format!("Bearer {}", json(token_response)["token"].as_str().unwrap())
}

#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn token_registry_verifies_the_issuers_jwts() {
    require_registry();
    let mut peers = prepare("token");
    let realm = peers.start_issuer().unwrap();
    let url = peers.start_registry("token", Kind::Token { realm: &realm }, Logging::Requests).unwrap();
    let tags = format!("{url}/v2/foo/tags/list");

    let challenge = http::get(&tags).unwrap();
    assert_eq!(challenge.status, 401);
    assert_eq!(
        challenge.header("WWW-Authenticate").unwrap(),
        format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\",scope=\"repository:foo:pull\"")
    );

    // The test user's token is accepted: the repository is unknown rather than forbidden.
    let password = peers.password.clone();
    let user = Some(basic(USERNAME, &password));
    let token = bearer(&get_token(
        &realm,
        &format!("service={SERVICE}&scope=repository:foo:pull,push"),
        user.as_deref(),
    ));
    let listed = request("GET", &tags, &[("Authorization", &token)], &[]).unwrap();
    assert_eq!(listed.status, 404, "{}", listed.text());
    assert_eq!(json(&listed)["errors"][0]["code"], "NAME_UNKNOWN");
    assert_eq!(request("GET", &format!("{url}/v2/"), &[("Authorization", &token)], &[]).unwrap().status, 200);

    // Anonymous tokens grant nothing; wrong passwords get no token; a token for another
    // service or repository is refused.
    let anonymous = bearer(&get_token(&realm, &format!("service={SERVICE}&scope=repository:foo:pull"), None));
    let denied = request("GET", &tags, &[("Authorization", &anonymous)], &[]).unwrap();
    assert_eq!(denied.status, 401);
    assert!(
        denied.header("WWW-Authenticate").unwrap().contains("error=\"insufficient_scope\""),
        "{denied:?}"
    );
    let wrong = get_token(&realm, "scope=repository:foo:pull", Some(&basic(USERNAME, "wrong")));
    assert_eq!(wrong.status, 401);
    let other_service =
        bearer(&get_token(&realm, "service=elsewhere&scope=repository:foo:pull", user.as_deref()));
    assert_eq!(request("GET", &tags, &[("Authorization", &other_service)], &[]).unwrap().status, 401);
    let other_repo = bearer(&get_token(&realm, "scope=repository:bar:pull", user.as_deref()));
    assert_eq!(request("GET", &tags, &[("Authorization", &other_repo)], &[]).unwrap().status, 401);

    // OAuth2: a password grant with a refresh token, then a refresh grant.
    let form = format!(
        "grant_type=password&username={USERNAME}&password={password}&client_id=xtask&access_type=offline\
         &service={SERVICE}&scope=repository%3Afoo%3Apull"
    );
    let form_type = [("Content-Type", "application/x-www-form-urlencoded")];
    let granted = request("POST", &realm, &form_type, form.as_bytes()).unwrap();
    let oauth_token = bearer(&granted);
    assert_eq!(request("GET", &tags, &[("Authorization", &oauth_token)], &[]).unwrap().status, 404);
    let refresh = json(&granted)["refresh_token"].as_str().unwrap().to_owned();
    let form =
        format!("grant_type=refresh_token&refresh_token={refresh}&client_id=xtask&scope=repository:foo:pull");
    let refreshed = bearer(&request("POST", &realm, &form_type, form.as_bytes()).unwrap());
    assert_eq!(request("GET", &tags, &[("Authorization", &refreshed)], &[]).unwrap().status, 404);

    let all = bearer(&get_token(&realm, "scope=repository:token/test:pull,push,delete", user.as_deref()));
    push_read_delete_blob(&url, "token/test", Some(&all), b"token blob");
}

/// Registry 2.8 accepts tokens up to 60 s past `exp` (and before `nbf`): its `Leeway`.
/// Client tests of expiry must rely on `expires_in`, not on the registry refusing.
#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn the_token_registry_checks_expiry_with_a_minute_of_leeway() {
    require_registry();
    let mut peers = prepare("token-expiry");
    let realm = peers.start_issuer().unwrap();
    let url = peers.start_registry("token", Kind::Token { realm: &realm }, Logging::Requests).unwrap();
    let user = basic(USERNAME, &peers.password);
    let short = get_token(&realm, "scope=repository:foo:pull&expires_in=1", Some(&user));
    assert_eq!(json(&short)["expires_in"], 1);

    let signer = oci_registry::auth::Signer::from_pem(
        &std::fs::read_to_string(&peers.certs.issuer_key).unwrap(),
        &std::fs::read_to_string(&peers.certs.issuer_cert).unwrap(),
    )
    .unwrap();
    let access = vec![oci_registry::auth::Access::parse("repository:foo:pull").unwrap()];
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let status = |issued_at: u64, expires_in: u64| {
        let claims = oci_registry::auth::Claims {
            issuer: ISSUER.to_owned(),
            subject: USERNAME.to_owned(),
            audience: SERVICE.to_owned(),
            issued_at,
            expires_in,
            access: access.clone(),
        };
        let token = format!("Bearer {}", signer.sign(&claims).unwrap());
        request("GET", &format!("{url}/v2/foo/tags/list"), &[("Authorization", &token)], &[]).unwrap().status
    };
    assert_eq!(status(now, 300), 404, "a fresh token is accepted");
    assert_eq!(status(now - 100, 90), 404, "expired 10 s ago: within the leeway");
    assert_eq!(status(now - 400, 300), 401, "expired 100 s ago");
    assert_eq!(status(now + 30, 300), 404, "valid in 30 s: within the leeway");
    assert_eq!(status(now + 120, 300), 401, "not valid before 2 minutes from now");
}

/// Runs curl with `args`; returns its exit code and stdout.
fn curl(args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>) {
    let mut child = Command::new("curl")
        .args(["--silent", "--max-time", "10"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.code().unwrap_or(-1), output.stdout)
}

#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn tls_registry_serves_https_with_the_test_ca() {
    require_registry();
    let mut peers = prepare("tls");
    let url = peers.start_registry("tls", Kind::Tls, Logging::Requests).unwrap();
    assert!(url.starts_with("https://127.0.0.1:"));
    let plain_http = http::get(&format!("{}/v2/", url.replacen("https", "http", 1))).unwrap();
    assert_eq!(plain_http.status, 400);
    assert!(plain_http.text().contains("Client sent an HTTP request to an HTTPS server"));

    // A client that is not ours checks the certificate (the peers step installs curl).
    let installed = Command::new("curl").arg("--version").stdout(Stdio::null()).status();
    assert!(installed.is_ok_and(|s| s.success()), "curl is not installed (`cargo xtask test` installs it)");
    let ca = peers.certs.ca.to_string_lossy().into_owned();
    let ping = format!("{url}/v2/");
    assert_eq!(
        curl(&["--cacert", &ca, "-o", "/dev/null", "-w", "%{http_code}", &ping], b""),
        (0, b"200".to_vec())
    );
    // Without the test CA the certificate is not trusted (curl exit 60).
    assert_eq!(curl(&["-o", "/dev/null", &ping], b"").0, 60);
    // The certificate also covers localhost (port on 127.0.0.1 only, so pin the address).
    let port = url.rsplit(':').next().unwrap();
    let localhost = format!("https://localhost:{port}/v2/");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let (code, _) = curl(&["--cacert", &ca, "--resolve", &resolve, "-o", "/dev/null", &localhost], b"");
    assert_eq!(code, 0);

    // Monolithic blob push through TLS, then read back.
    let content = b"tls blob";
    let digest = sha256(content);
    let (code, head) = curl(
        &[
            "--cacert",
            &ca,
            "-X",
            "POST",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &format!("{url}/v2/tls/test/blobs/uploads/"),
        ],
        b"",
    );
    assert_eq!(code, 0);
    let head = http::parse_response(&head, true).unwrap();
    assert_eq!(head.status, 202);
    let location = absolute(&url, head.header("Location").unwrap());
    let put_url = format!("{location}&digest={digest}");
    let put =
        ["--cacert", &ca, "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", "@-"];
    let (code, status) =
        curl(&[&put[..], &["-o", "/dev/null", "-w", "%{http_code}", &put_url]].concat(), content);
    assert_eq!((code, status), (0, b"201".to_vec()));
    let (code, body) = curl(&["--cacert", &ca, &format!("{url}/v2/tls/test/blobs/{digest}")], b"");
    assert_eq!((code, body), (0, content.to_vec()));
}

#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn test_registries_start_all_four_and_export_their_env() {
    require_registry();
    let work_dir = workspace::target_dir().join("peers").join("xtask-test-all");
    let registries = TestRegistries::start_servers(&work_dir).unwrap();
    let env: std::collections::HashMap<String, String> = registries.env().into_iter().collect();
    assert_eq!(env["OCI_TEST_REGISTRY_PLAIN"], registries.plain);
    assert_eq!(env["OCI_TEST_REGISTRY_BASIC"], registries.basic);
    assert_eq!(env["OCI_TEST_REGISTRY_TOKEN"], registries.token);
    assert_eq!(env["OCI_TEST_REGISTRY_TLS"], registries.tls);
    assert_eq!(env["OCI_TEST_USERNAME"], "oci-test");
    assert_eq!(env["OCI_TEST_PASSWORD"], registries.password);
    assert_eq!(env["OCI_TEST_CA_FILE"], work_dir.join("certs/ca.pem").to_string_lossy());
    assert_eq!(env["OCI_TEST_TOKEN_REALM"], registries.token_realm);
    assert_eq!(env["OCI_TEST_TOKEN_SERVICE"], "oci-test-registry");
    assert_eq!(env.len(), 9);

    assert_eq!(http::get(&format!("{}/v2/", registries.plain)).unwrap().status, 200);
    assert_eq!(http::get(&format!("{}/v2/", registries.basic)).unwrap().status, 401);
    let token = http::get(&format!("{}/v2/", registries.token)).unwrap();
    assert!(
        token
            .header("WWW-Authenticate")
            .unwrap()
            .starts_with(&format!("Bearer realm=\"{}\"", registries.token_realm))
    );
    let tls_over_http = registries.tls.replacen("https", "http", 1);
    assert_eq!(http::get(&format!("{tls_over_http}/v2/")).unwrap().status, 400);

    let pids = std::fs::read_to_string(work_dir.join(PIDS_FILE)).unwrap();
    assert_eq!(pids.lines().count(), 5, "{pids}");
    let urls = [registries.plain.clone(), registries.basic.clone(), registries.token.clone(), tls_over_http];
    drop(registries);
    for url in urls {
        assert!(http::get(&format!("{url}/v2/")).is_err(), "{url} still answers after drop");
    }
}

#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn the_test_context_gets_the_env_and_keeps_the_servers() {
    require_registry();
    let registries =
        TestRegistries::start_servers(&workspace::target_dir().join("peers").join("xtask-test-context"))
            .unwrap();
    let plain = registries.plain.clone();
    let mut ctx = Context::default();
    hand_over(registries, &mut ctx);
    assert_eq!(ctx.servers.len(), 5);
    let exported = ctx.cargo(&["--version"]);
    let exported: Vec<_> =
        exported.get_envs().filter_map(|(k, v)| Some((k.to_str()?, v?.to_str()?))).collect();
    assert!(exported.contains(&("OCI_TEST_REGISTRY_PLAIN", plain.as_str())), "{exported:?}");
    assert_eq!(
        http::get(&format!("{plain}/v2/")).unwrap().status,
        200,
        "the servers outlive the TestRegistries"
    );
    drop(ctx);
    assert!(http::get(&format!("{plain}/v2/")).is_err(), "dropping the context stops the servers");
}

#[test]
fn shell_quoting_keeps_values_as_one_word() {
    assert_eq!(shell_quote("http://127.0.0.1:5000"), "http://127.0.0.1:5000");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote(""), "''");
    assert_eq!(shell_quote("a b"), "'a b'");
}

#[test]
fn baselines_are_named_by_major_and_minor_version() {
    assert_eq!(
        baseline_of("docker-registry github.com/docker/distribution 2.8.2+ds1\n").unwrap(),
        "docker-registry 2.8"
    );
    assert_eq!(
        baseline_of("registry github.com/distribution/distribution/v3 v3.0.0").unwrap(),
        "docker-registry 3.0"
    );
    assert_eq!(
        baseline_of("").unwrap_err(),
        "/usr/bin/docker-registry --version said \"\", which names no version"
    );
}

#[ignore = "needs docker-registry: `cargo xtask test` installs it and runs it"]
#[test]
fn the_installed_registry_has_a_baseline() {
    require_registry();
    let name = baseline_name().unwrap();
    let differences = crate::conformance::load_expected_differences().unwrap();
    assert!(
        differences.baseline(&name).is_ok(),
        "no baseline {name:?} in conformance/expected-differences.json"
    );
}
