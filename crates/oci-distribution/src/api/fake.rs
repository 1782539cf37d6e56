//! A scripted registry for the endpoint unit tests (the shared scripted server, with a
//! client and references for it), for behaviours the real registry of the end-to-end
//! tests does not have (the referrers API, tag paging, opaque page tokens, wrong
//! digests).

use oci_reference::{Reference, Repository};
pub(super) use oci_test_support::scripted::Reply;
use oci_test_support::scripted::{Scripted, Seen};

use crate::auth::AuthConfig;
use crate::{Client, TransportConfig};

pub(super) struct Fake {
    server: Scripted,
}

impl Fake {
    pub(super) async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        Self { server: Scripted::start(handler).await }
    }

    /// A client for the server: plain HTTP (loopback), anonymous, default options
    /// changed by `options`. It trusts a CA of its own, so that it builds without the
    /// system's roots too (`--no-default-features`): it never speaks TLS.
    pub(super) fn client(&self, options: impl FnOnce(&mut crate::ClientOptions)) -> Client {
        self.client_with(AuthConfig::anonymous(), |_| {}, options)
    }

    /// A client as [`client`](Self::client) with `auth`, and the transport settings
    /// changed by `transport`.
    pub(super) fn client_with(
        &self,
        auth: AuthConfig,
        transport: impl FnOnce(&mut TransportConfig),
        options: impl FnOnce(&mut crate::ClientOptions),
    ) -> Client {
        let mut o = crate::ClientOptions::default();
        options(&mut o);
        let mut config = TransportConfig::default()
            .with_plain_http_host(self.server.host())
            .with_ca_pem(oci_test_support::pki::Ca::new("unused").pem().as_bytes().to_vec());
        transport(&mut config);
        Client::builder().transport(config).auth(auth).options(o).build().unwrap()
    }

    /// A client for which this server, on loopback, plays a registry on the internet:
    /// the target policy applies to where it sends the client.
    pub(super) fn public_client(&self) -> Client {
        self.client_with(
            AuthConfig::anonymous(),
            |t| t.targets = Some(std::sync::Arc::new(crate::targets::Targets::loopback_registries_public())),
            |_| {},
        )
    }

    /// `host:port` of the server.
    pub(super) fn host(&self) -> String {
        self.server.host()
    }

    /// `rest` (`repo[:tag|@digest]`) on this registry.
    pub(super) fn reference(&self, rest: &str) -> Reference {
        Reference::parse_strict(&format!("{}/{rest}", self.server.host())).unwrap()
    }

    /// The repository `name` on this registry.
    pub(super) fn repository(&self, name: &str) -> Repository {
        Repository::parse_strict(&format!("{}/{name}", self.server.host())).unwrap()
    }

    /// `METHOD path?query` of every request so far.
    pub(super) fn requests(&self) -> Vec<String> {
        self.server.requests()
    }

    /// Every request so far.
    pub(super) fn seen(&self) -> Vec<Seen> {
        self.server.seen()
    }
}
