//! The registry client every verb uses, made from the global options.

use oci::Client;
use oci::distribution::TransportConfig;

use crate::args::Global;
use crate::exit::Failure;

/// The client of every verb: the docker and podman credentials, `--plain-http` hosts.
pub(crate) fn client(global: &Global) -> Result<Client, Failure> {
    let mut transport = TransportConfig::default();
    for host in &global.plain_http {
        transport = transport.with_plain_http_host(host.clone());
    }
    Client::builder().transport(transport).build().map_err(|e| Failure::of(&e))
}
