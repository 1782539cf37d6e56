//! The registry suite's default target: the workspace's own registry, started on
//! loopback (a random port) over a temporary directory for the length of one run, in
//! one of four modes like the distribution peers: plain HTTP, Basic auth, bearer
//! tokens from its own token endpoint, or TLS.

use std::sync::mpsc;
use std::thread::JoinHandle;

use oci_registry::auth::{Htpasswd, TokenOptions};
use oci_registry::{Auth, DiskStorage, Registry, Sparse, TlsConfig};
use oci_test_support::pki::{Ca, Usage};

use super::registry::{Optional, Target};
use crate::Result;

/// The name of its baseline in `conformance/expected-differences.json`.
pub const BASELINE: &str = "embedded";

/// The test user of the Basic and token modes.
const USER: &str = "oci-test";

/// How the embedded registry is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plain HTTP, no authentication.
    Plain,
    /// Plain HTTP, Basic authentication of one user.
    Basic,
    /// Plain HTTP, bearer tokens from its `/token` for one user.
    Token,
    /// TLS (a CA of the run's own), no authentication.
    Tls,
}

impl Mode {
    /// Every mode, named as reports name them.
    pub const ALL: [(&'static str, Mode); 4] = [
        ("embedded-plain", Mode::Plain),
        ("embedded-basic", Mode::Basic),
        ("embedded-token", Mode::Token),
        ("embedded-tls", Mode::Tls),
    ];
}

/// The embedded registry, serving from a thread of its own until dropped.
pub struct Embedded {
    target: Target,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts it in `mode`: disk storage (image layouts, fsync on, as `oci serve` runs)
    /// in a new temporary directory, on `127.0.0.1:0`.
    pub fn start(mode: Mode) -> Result<Self> {
        let dir =
            tempfile::tempdir().map_err(|e| format!("creating the embedded registry's directory: {e}"))?;
        let storage = DiskStorage::open(dir.path().join("store"), true)
            .map_err(|e| format!("opening the embedded registry's store: {e}"))?;
        let password = oci_registry::auth::jwt::random_hex(16).map_err(|e| e.to_string())?;
        let users = || -> Result<Htpasswd> {
            let line = Htpasswd::line(USER, &password, 4).map_err(|e| e.to_string())?;
            Htpasswd::parse(&line).map_err(|e| e.to_string())
        };
        // Every optional part runs, the sparse data set included: the registry is told to
        // accept manifests that name content it lacks, which it refuses by default (its
        // own tests check both).
        let mut builder = Registry::builder().storage(storage).sparse(Sparse::All);
        let mut target = Target { optional: Optional::ALL, ..Target::default() };
        match mode {
            Mode::Plain => {}
            Mode::Basic => builder = builder.auth(Auth::basic(users()?)),
            Mode::Token => {
                builder =
                    builder.auth(Auth::bearer(users()?, TokenOptions::default()).map_err(|e| e.to_string())?);
            }
            Mode::Tls => {
                let ca = Ca::new("oci-registry test CA");
                let leaf = ca.leaf("127.0.0.1", &["127.0.0.1", "localhost"], Usage::Server);
                let tls = TlsConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes())
                    .map_err(|e| format!("the embedded registry's TLS: {e}"))?;
                builder = builder.tls(tls);
                let ca_file = dir.path().join("ca.pem");
                std::fs::write(&ca_file, ca.pem())
                    .map_err(|e| format!("writing {}: {e}", ca_file.display()))?;
                target.ca_file = Some(ca_file);
            }
        }
        if matches!(mode, Mode::Basic | Mode::Token) {
            target.username = Some(USER.to_owned());
            target.password = Some(password.clone());
        }
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime =
                match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("starting the embedded registry's runtime: {e}")));
                        return;
                    }
                };
            runtime.block_on(async move {
                match builder.bind("127.0.0.1:0").await {
                    Ok(registry) => {
                        let _ = ready_tx.send(Ok(registry.url()));
                        let _ = stopped.await;
                        registry.shutdown().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("starting the embedded registry: {e}")));
                    }
                }
            });
        });
        target.url = ready_rx
            .recv()
            .map_err(|_| "the embedded registry's thread ended before it started".to_owned())??;
        Ok(Self { target, stop: Some(stop), thread: Some(thread), _dir: dir })
    }

    /// The suite's target: its URL, the user of the auth modes, the CA of the TLS
    /// mode, and the optional checks upstream runs only when asked (it has them all).
    #[must_use]
    pub fn target(&self) -> &Target {
        &self.target
    }
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded").field("url", &self.target.url).finish_non_exhaustive()
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
