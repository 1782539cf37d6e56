//! The workloads of `bench copy` beyond those of `bench registry` (which are copies
//! too: registry -> layout, layout -> registry, the small image both ways), on the large
//! image that `bench registry` left in the registry:
//!
//! 3. `copy-registry`: registry -> another registry (the embedded one, in its own
//!    process), blobs streamed through; skopeo `docker://` -> `docker://`.
//! 4. `copy-mount`: registry -> another repository of the same registry: mounts only;
//!    skopeo with its (empty) blob-info cache uploads.
//! 6. `copy-again`: a pull and a registry -> registry copy run a second time by a new
//!    client, nothing to do: the requests it sent (counted by proxies in front of both
//!    registries) and its time.

use super::report::{Best, Timed};
use super::server::start_embedded;
use super::{Bench, LARGE_CONCURRENCY, LARGE_LAYER_SIZE, LARGE_LAYERS, remove, skopeo};
use crate::Result;
use oci::{CopyOptions, Location};

impl Bench {
    /// Workloads 3, 4 and 6.
    pub(super) fn copies(&self) -> Result<()> {
        let bytes = (LARGE_LAYERS * LARGE_LAYER_SIZE) as u64;
        let (_, source_name) = self.image("large")?;
        let source = format!("docker://{source_name}");
        let store = self.scratch.join("embedded");
        std::fs::create_dir_all(&store).map_err(|e| format!("{}: {e}", store.display()))?;
        let (embedded, other_host, _) = start_embedded(&store)?;
        let options = || CopyOptions::default().with_client(self.client.clone()).with_jobs(LARGE_CONCURRENCY);

        let (mut across, mut mounted) = (Best::default(), Best::default());
        for round in 1..=self.rounds {
            let ours_to = format!("docker://{other_host}/{}/across-ours-{round}:v1", self.prefix);
            across.ours(&self.timed_copy(&source, &ours_to, options())?);
            let theirs_to = format!("docker://{other_host}/{}/across-skopeo-{round}:v1", self.prefix);
            across.theirs(self.theirs(|cache| skopeo::copy_between(&source_name, &theirs_to[9..], cache))?);
            let (_, ours_to) = self.image(&format!("mount-ours-{round}"))?;
            mounted.ours(&self.timed_copy(&source, &format!("docker://{ours_to}"), options())?);
            let (_, theirs_to) = self.image(&format!("mount-skopeo-{round}"))?;
            mounted.theirs(self.theirs(|cache| skopeo::copy_between(&source_name, &theirs_to, cache))?);
            eprintln!(
                "  copy round {round}: across {:?} (skopeo {:?}), mount {:?} (skopeo {:?})",
                across.ours, across.theirs, mounted.ours, mounted.theirs
            );
        }
        across.print("copy-registry", bytes);
        mounted.print("copy-mount", bytes);
        self.again(&source_name, &other_host)?;
        drop(embedded);
        remove(&store)
    }

    /// Our copy of `from` to `to`, timed as [`Bench::ours`] times it.
    fn timed_copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<Timed> {
        let (from, to): (Location, Location) = (parse(from)?, parse(to)?);
        self.ours(|_| async move {
            let report = oci::copy(&from, &to, options).await.map_err(|e| format!("{from} -> {to}: {e}"))?;
            Ok(report.bytes_copied)
        })
    }

    /// Workload 6: a pull into a directory and a copy to the other registry, each run
    /// twice through a proxy that counts the requests; the second runs' counts and times.
    fn again(&self, source_name: &str, other_host: &str) -> Result<()> {
        let addr = |host: &str| host.parse().map_err(|e| format!("{host}: {e}"));
        let front = self.runtime.block_on(oci_test_support::front::Front::start(addr(&self.host)?, |_| None));
        let other = self.runtime.block_on(oci_test_support::front::Front::start(addr(other_host)?, |_| None));
        let path = source_name.split_once('/').map_or(source_name, |(_, p)| p);
        let through = format!("docker://{}/{path}", front.host());
        let dir = self.scratch.join("again");
        let targets = [
            ("copy-again-pull", format!("oci:{}:v1", dir.display())),
            ("copy-again-registry", format!("docker://{}/{}/again:v1", other.host(), self.prefix)),
        ];
        for (name, to) in targets {
            let options = || {
                let client = oci_distribution::Client::builder()
                    .transport(
                        oci_distribution::TransportConfig::default()
                            .with_plain_http_host(front.host())
                            .with_plain_http_host(other.host()),
                    )
                    .build();
                client.map(|c| CopyOptions::default().with_client(c).with_jobs(LARGE_CONCURRENCY))
            };
            // A new client for each run, as a new process has: nothing known from before.
            let options = || options().map_err(|e| format!("a client through the proxy: {e}"));
            self.timed_copy(&through, &to, options()?)?;
            let before = (front.requests().len(), other.requests().len());
            let second = self.timed_copy(&through, &to, options()?)?;
            let elapsed = second.elapsed;
            let mut requests = front.requests()[before.0..].to_vec();
            requests.extend(other.requests()[before.1..].iter().cloned());
            let gets = requests.iter().filter(|r| r.starts_with("GET")).count();
            println!(
                "bench {name}: {} requests ({gets} GET) for 1 manifest and {} blobs, {:.3} s, {} bytes moved",
                requests.len(),
                LARGE_LAYERS + 1,
                elapsed.as_secs_f64(),
                second.bytes,
            );
            eprintln!("  {name} requests: {requests:?}");
        }
        remove(&dir)
    }
}

fn parse(s: &str) -> Result<Location> {
    s.parse().map_err(|e| format!("{s}: {e}"))
}
