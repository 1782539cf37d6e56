//! The registry client every verb uses, made from the global options.

use oci::Client;
use std::path::PathBuf;

use oci::distribution::auth::credentials::HelperRunner;
use oci::distribution::auth::{AuthConfig, CredentialChain};
use oci::distribution::{RetryPolicy, TransportConfig};

use crate::args::Global;
use crate::exit::Failure;

/// The client of every verb: the docker and podman credentials (or `--authfile`),
/// `--plain-http` hosts, `--ca-file`, `--retries`.
pub(crate) fn client(global: &Global) -> Result<Client, Failure> {
    let mut transport = TransportConfig::default();
    for host in &global.plain_http {
        transport = transport.with_plain_http_host(host.clone());
    }
    if let Some(ca) = &global.ca_file {
        transport = transport.with_ca_file(ca);
    }
    let auth = match &global.authfile {
        Some(file) => AuthConfig::anonymous()
            .with_credentials(CredentialChain::from_files([PathBuf::from(file)], &HelperRunner::new())),
        None => AuthConfig::from_env(),
    };
    let mut builder = Client::builder().transport(transport).auth(auth);
    if let Some(retries) = global.retries {
        let mut policy = RetryPolicy::default();
        policy.max_retries = retries;
        builder = builder.retry(policy);
    }
    builder.build().map_err(|e| Failure::of(&e))
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
