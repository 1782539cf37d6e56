//! `cargo xtask bench cli`: the `oci` binary against `skopeo`, each run as a whole
//! process, as people and scripts run them: the copy bench's transfers, then start-up
//! (`--version`) and `inspect` on the embedded registry.
//!
//! The `oci` binary is built in release mode first. Against docker-registry (plain
//! HTTP, both tools told so): `cli-pull` (the large image to a layout directory),
//! `cli-push` (that layout to a new repository), `cli-small-push` and `cli-small-pull`
//! (the small image), `cli-copy-registry` (docker-registry to the embedded registry,
//! in its own process) and `cli-copy-mount` (to another repository of the same
//! registry). `oci` runs with the copy bench's jobs (`-j 4` for the large image, 16 for
//! the small one); skopeo with its own settings and an empty blob-info cache each time.
//! Then `cli-version` and `cli-inspect` (an image of the embedded registry: digest,
//! layers, config), [`QUICK_RUNS`] runs each. Every figure is the best of its runs; the
//! order of the two tools alternates from round to round.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::super::layout::settle;
use super::client::{self, LAYOUT_TAG};
use super::report::Best;
use super::server::start_embedded;
use super::skopeo::{self, timed};
use super::{
    Bench, LARGE_CONCURRENCY, LARGE_LAYER_SIZE, LARGE_LAYERS, SMALL_CONCURRENCY, SMALL_LAYER_SIZE,
    SMALL_LAYERS, generated_layers, remove,
};
use crate::{Result, workspace};

/// Runs of each tool for the quick commands (`--version`, `inspect`).
const QUICK_RUNS: usize = 20;

/// One contest of `oci` and skopeo over the rounds.
struct Contest<'a> {
    bench: &'a Bench,
    best: Best,
}

impl<'a> Contest<'a> {
    fn new(bench: &'a Bench) -> Self {
        Self { bench, best: Best::default() }
    }

    /// Round `round`: `ours` and `theirs`, in an order that alternates.
    fn round(
        &mut self,
        round: usize,
        ours: impl FnOnce() -> Result<Duration>,
        theirs: impl FnOnce(&Path) -> Result<Duration>,
    ) -> Result<()> {
        let run_ours = || -> Result<()> {
            settle();
            let elapsed = ours()?;
            self.best.ours_time(elapsed);
            Ok(())
        };
        if round % 2 == 1 {
            run_ours()?;
            self.best.theirs(self.bench.theirs(theirs)?);
        } else {
            let skopeo = self.bench.theirs(theirs)?;
            run_ours()?;
            self.best.theirs(skopeo);
        }
        Ok(())
    }
}

/// The `oci` binary.
struct Oci(PathBuf);

impl Oci {
    /// `oci ARGS EXTRA`, timed.
    fn run(&self, args: &[&str], extra: &[&str]) -> Result<Duration> {
        timed(Command::new(&self.0).args(args).args(extra))
    }
}

impl Bench {
    /// The CLI bench.
    pub(super) fn cli(&self) -> Result<()> {
        let oci = Oci(workspace::oci_binary(true)?);
        let plain = ["--no-progress", "--plain-http", self.host.as_str()];
        // Setup: the large image in the registry, the small one in a layout and the registry.
        let (large, large_name) = self.image("cli-large")?;
        let layers = generated_layers(LARGE_LAYERS, LARGE_LAYER_SIZE, 0xc11);
        self.runtime.block_on(client::push_generated(&self.client, &large, layers))?;
        let small_layout = self.scratch.join("cli-small-source");
        client::write_layout(&small_layout, generated_layers(SMALL_LAYERS, SMALL_LAYER_SIZE, 0xc115))?;
        let small_src = format!("oci:{}:{LAYOUT_TAG}", small_layout.display());
        let (_, small_name) = self.image("cli-small")?;
        oci.run(&["copy", &small_src, &format!("docker://{small_name}")], &plain)?;

        let kept = self.scratch.join("cli-pulled");
        self.cli_pull(&oci, "cli-pull", &large_name, LARGE_CONCURRENCY, Some(&kept))?;
        self.cli_push(&oci, "cli-push", &kept, LARGE_CONCURRENCY)?;
        remove(&kept)?;
        self.cli_push(&oci, "cli-small-push", &small_layout, SMALL_CONCURRENCY)?;
        remove(&small_layout)?;
        self.cli_pull(&oci, "cli-small-pull", &small_name, SMALL_CONCURRENCY, None)?;

        let store = self.scratch.join("cli-embedded");
        std::fs::create_dir_all(&store).map_err(|e| format!("{}: {e}", store.display()))?;
        let (embedded, other_host, _) = start_embedded(&store)?;
        self.cli_copies(&oci, &large_name, &other_host)?;
        self.cli_quick(&oci, &other_host)?;
        drop(embedded);
        remove(&store)
    }

    /// `oci copy` and `skopeo copy` of `image` to layout directories; our first one is
    /// kept at `keep` when given. The large image's figure is a rate, the small one's a time.
    fn cli_pull(&self, oci: &Oci, name: &str, image: &str, jobs: usize, keep: Option<&Path>) -> Result<()> {
        let plain = ["--no-progress", "--plain-http", self.host.as_str()];
        let jobs = jobs.to_string();
        let mut pull = Contest::new(self);
        for round in 1..=self.rounds {
            let ours = match keep {
                Some(kept) if round == 1 => kept.to_owned(),
                _ => self.scratch.join(format!("{name}-oci-{round}")),
            };
            let theirs = self.scratch.join(format!("{name}-skopeo-{round}"));
            let to = format!("oci:{}:{LAYOUT_TAG}", ours.display());
            pull.round(
                round,
                || oci.run(&["copy", &format!("docker://{image}"), &to, "-j", &jobs], &plain),
                |cache| skopeo::pull(image, &theirs, LAYOUT_TAG, cache),
            )?;
            for dir in [&theirs, &ours] {
                if dir.exists() && Some(dir.as_path()) != keep {
                    remove(dir)?;
                }
            }
            eprintln!("  {name} round {round}: oci {:?}, skopeo {:?}", pull.best.ours, pull.best.theirs);
        }
        print(&pull.best, name, keep.is_some());
        Ok(())
    }

    /// `oci copy` and `skopeo copy` of the layout directory `layout` to new repositories.
    fn cli_push(&self, oci: &Oci, name: &str, layout: &Path, jobs: usize) -> Result<()> {
        let plain = ["--no-progress", "--plain-http", self.host.as_str()];
        let jobs = jobs.to_string();
        let from = format!("oci:{}:{LAYOUT_TAG}", layout.display());
        let mut push = Contest::new(self);
        for round in 1..=self.rounds {
            let (_, ours_to) = self.image(&format!("{name}-oci-{round}"))?;
            let (_, theirs_to) = self.image(&format!("{name}-skopeo-{round}"))?;
            push.round(
                round,
                || oci.run(&["copy", &from, &format!("docker://{ours_to}"), "-j", &jobs], &plain),
                |cache| skopeo::push(layout, LAYOUT_TAG, &theirs_to, cache),
            )?;
            eprintln!("  {name} round {round}: oci {:?}, skopeo {:?}", push.best.ours, push.best.theirs);
        }
        print(&push.best, name, name == "cli-push");
        Ok(())
    }

    /// `cli-copy-registry` (to the embedded registry at `other_host`) and `cli-copy-mount`
    /// (to another repository of the registry) of the large image `image`.
    fn cli_copies(&self, oci: &Oci, image: &str, other_host: &str) -> Result<()> {
        let plain = ["--no-progress", "--plain-http", self.host.as_str()];
        let both = [&plain[..], &["--plain-http", other_host]].concat();
        let jobs = LARGE_CONCURRENCY.to_string();
        let (mut across, mut mounted) = (Contest::new(self), Contest::new(self));
        let source = format!("docker://{image}");
        for round in 1..=self.rounds {
            let ours_to = format!("{other_host}/{}/cli-across-oci-{round}:v1", self.prefix);
            let theirs_to = format!("{other_host}/{}/cli-across-skopeo-{round}:v1", self.prefix);
            across.round(
                round,
                || oci.run(&["copy", &source, &format!("docker://{ours_to}"), "-j", &jobs], &both),
                |cache| skopeo::copy_between(image, &theirs_to, cache),
            )?;
            let (_, ours_to) = self.image(&format!("cli-mount-oci-{round}"))?;
            let (_, theirs_to) = self.image(&format!("cli-mount-skopeo-{round}"))?;
            mounted.round(
                round,
                || oci.run(&["copy", &source, &format!("docker://{ours_to}"), "-j", &jobs], &plain),
                |cache| skopeo::copy_between(image, &theirs_to, cache),
            )?;
            eprintln!(
                "  cli-copy round {round}: across {:?} (skopeo {:?}), mount {:?} (skopeo {:?})",
                across.best.ours, across.best.theirs, mounted.best.ours, mounted.best.theirs
            );
        }
        across.best.print("cli-copy-registry", (LARGE_LAYERS * LARGE_LAYER_SIZE) as u64);
        mounted.best.print("cli-copy-mount", (LARGE_LAYERS * LARGE_LAYER_SIZE) as u64);
        Ok(())
    }

    /// `cli-version`, and `cli-inspect` of the image the first copy left in the embedded
    /// registry at `other_host`.
    fn cli_quick(&self, oci: &Oci, other_host: &str) -> Result<()> {
        let (mut version, mut inspect) = (Contest::new(self), Contest::new(self));
        let inspected = format!("{other_host}/{}/cli-across-oci-1:v1", self.prefix);
        let args = ["inspect", "--plain-http", other_host, inspected.as_str()];
        for run in 1..=QUICK_RUNS {
            version.round(run, || oci.run(&["--version"], &[]), |_| skopeo::version())?;
            inspect.round(run, || oci.run(&args, &[]), |_| skopeo::inspect(&inspected))?;
        }
        version.best.print_times("cli-version");
        inspect.best.print_times("cli-inspect");
        Ok(())
    }
}

/// The large image's figure as a rate, the small one's as a time.
fn print(best: &Best, name: &str, large: bool) {
    if large {
        best.print(name, (LARGE_LAYERS * LARGE_LAYER_SIZE) as u64);
    } else {
        best.print_times(name);
    }
}
