//! The registry client every verb uses, made from the global options.

use oci::{Client, Registry};
use std::path::PathBuf;

use oci::distribution::auth::credentials::CredentialFuture;
use oci::distribution::auth::credentials::HelperRunner;
use oci::distribution::auth::{AuthConfig, Credential, CredentialChain, CredentialSource};
use oci::distribution::{RetryPolicy, TransportConfig};

use crate::args::Global;
use crate::exit::Failure;

/// The client of every verb: `--username/--password`, else the docker and podman
/// credentials (or `--authfile`); `--plain-http` hosts, `--tls-verify`, `--insecure`,
/// `--ca-file`, `--retries`.
pub(crate) fn client(global: &Global) -> Result<Client, Failure> {
    let auth = match (&global.username, &global.password, &global.authfile) {
        (Some(username), Some(password), _) => {
            AuthConfig::anonymous().with_credentials(Everywhere(Credential::basic(username, password)))
        }
        (Some(_), None, _) => return Err(Failure::usage("--username needs --password")),
        (None, Some(_), _) => return Err(Failure::usage("--password needs --username")),
        (None, None, Some(file)) => AuthConfig::anonymous()
            .with_credentials(CredentialChain::from_files([PathBuf::from(file)], &HelperRunner::new())),
        (None, None, None) => AuthConfig::from_env(),
    };
    client_with(global, auth)
}

/// The credential of `--username/--password`, for every registry of the call.
struct Everywhere(Credential);

impl CredentialSource for Everywhere {
    fn credential<'a>(&'a self, _registry: &'a str, _repository: Option<&'a str>) -> CredentialFuture<'a> {
        let credential = self.0.clone();
        Box::pin(async move { Ok(Some(credential)) })
    }
}

/// A client of the global options with `auth` for its credentials.
pub(crate) fn client_with(global: &Global, auth: AuthConfig) -> Result<Client, Failure> {
    let mut transport = TransportConfig::default();
    for host in &global.plain_http {
        transport = transport.with_plain_http_host(host.clone());
    }
    if !global.tls_verify {
        transport = transport.with_insecure_host("*");
    }
    for host in &global.insecure {
        transport = transport.with_insecure_host(host.clone());
    }
    if let Some(ca) = &global.ca_file {
        transport = transport.with_ca_file(ca);
    }
    let mut builder = Client::builder().transport(transport).auth(auth);
    if let Some(retries) = global.retries {
        let mut policy = RetryPolicy::default();
        policy.max_retries = retries;
        builder = builder.retry(policy);
    }
    builder.build().map_err(|e| Failure::of(&e))
}

/// A registry named on the command line (`host[:port]`, a `docker://` prefix allowed),
/// and the host as written.
pub(crate) fn registry(s: &str) -> Result<(Registry, String), Failure> {
    let bare = s.strip_prefix("docker://").unwrap_or(s).trim_end_matches('/');
    let parsed: Registry = bare.parse().map_err(|e| Failure::usage(format!("{s:?}: {e}")))?;
    Ok((parsed, bare.to_owned()))
}

/// `-v` and `-vv`: the libraries' tracing, to stderr.
pub(crate) fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => tracing::Level::INFO,
        2 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .try_init();
}
