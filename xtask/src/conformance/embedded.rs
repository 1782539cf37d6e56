//! The registry suite's default target: the workspace's own registry, started on
//! loopback (a random port) over a temporary directory for the length of one run.

use std::sync::mpsc;
use std::thread::JoinHandle;

use oci_registry::{DiskStorage, Registry};

use crate::Result;

/// The name of its baseline in `conformance/expected-differences.json`.
pub const BASELINE: &str = "embedded";

/// The embedded registry, serving from a thread of its own until dropped.
pub struct Embedded {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Embedded {
    /// Starts it: disk storage (image layouts, fsync on, as `oci serve` runs) in a new
    /// temporary directory, plain HTTP on `127.0.0.1:0`.
    pub fn start() -> Result<Self> {
        let dir =
            tempfile::tempdir().map_err(|e| format!("creating the embedded registry's directory: {e}"))?;
        let storage = DiskStorage::open(dir.path(), true)
            .map_err(|e| format!("opening the embedded registry's store: {e}"))?;
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
                match Registry::builder().storage(storage).bind("127.0.0.1:0").await {
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
        let url = ready_rx
            .recv()
            .map_err(|_| "the embedded registry's thread ended before it started".to_owned())??;
        Ok(Self { url, stop: Some(stop), thread: Some(thread), _dir: dir })
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
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
