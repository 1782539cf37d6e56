//! The workloads: rounds of our client, skopeo and the raw transfer on the same work.
//!
//! [`Bench::contest`] runs the rounds, records and prints the figures; each workload
//! only says what its steps do, through [`Bench::pull_step`] or [`Bench::push_step`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use oci_reference::Reference;
use oci_spec_types::{Descriptor, MediaType};

use super::client::{self, LAYOUT_TAG, RawSource};
use super::report::{Figures, Timed};
use super::{
    Bench, LARGE_CONCURRENCY, LARGE_LAYER_SIZE, LARGE_LAYERS, SMALL_CONCURRENCY, SMALL_LAYER_SIZE,
    SMALL_LAYERS, Step, generated_layers, layout_layers, order, remove, skopeo,
};
use crate::Result;

/// What one step of a round did, for [`Bench::contest`] to record.
enum Run {
    /// A run of our client (step [`Step::Ours`] or [`Step::OursFsync`]).
    Ours(Timed),
    /// skopeo's time, when it is installed.
    Skopeo(Option<Duration>),
    /// The raw transfer.
    Limit(Timed),
    /// The raw transfer that hashes.
    Hashed(Timed),
}

impl Bench {
    /// Workloads 1 and 2: the large image, pulled, then pushed from the pulled layout.
    pub(super) fn large(&self) -> Result<()> {
        let (source, _) = self.image("large")?;
        let layers = generated_layers(LARGE_LAYERS, LARGE_LAYER_SIZE, 0x1a26e);
        self.runtime.block_on(client::push_generated(&self.client, &source, layers))?;
        let layout = self.large_pull()?;
        let pushed = self.large_push(&layout);
        remove(&layout)?;
        pushed
    }

    /// `registry-pull` and `registry-pull-fsync`; returns the layout of our first pull.
    fn large_pull(&self) -> Result<PathBuf> {
        let source = self.image("large")?;
        let mut kept: Option<PathBuf> = None;
        self.contest("registry-pull", Some("registry-pull-fsync"), true, |step, round| {
            let dir = self.scratch.join(format!("pull-{}-{round}", step.name()));
            let keep = kept.is_none() && step == Step::Ours;
            let run = self.pull_step(step, &source, &dir, LARGE_CONCURRENCY, keep)?;
            if keep {
                kept = Some(dir);
            }
            Ok(run)
        })?;
        kept.ok_or_else(|| "no layout was pulled".to_owned())
    }

    /// `registry-push`, from the layout directory `layout`.
    fn large_push(&self, layout: &Path) -> Result<()> {
        self.contest("registry-push", None, true, |step, round| {
            let target = self.image(&format!("push-{}-{round}", step.name()))?;
            self.push_step(step, target, layout, LARGE_CONCURRENCY, || layout_layers(layout))
        })
    }

    /// Workload 3: the small image, pushed from a layout (`registry-small-push`), then
    /// pulled from the repository our first push filled (`registry-small-pull`).
    pub(super) fn small(&self) -> Result<()> {
        let layers: Vec<Vec<u8>> = generated_layers(SMALL_LAYERS, SMALL_LAYER_SIZE, 0x5a11).collect();
        let layout = self.scratch.join("small-source");
        client::write_layout(&layout, layers.iter().cloned())?;
        let pushed = self.small_push(&layout, &layers);
        remove(&layout)?;
        pushed?;
        self.small_pull()
    }

    /// `registry-small-push`, from the layout directory `layout` of `layers`.
    fn small_push(&self, layout: &Path, layers: &[Vec<u8>]) -> Result<()> {
        let blobs = || {
            let blob = |l: &Vec<u8>| {
                let descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR_GZIP, l);
                (descriptor, RawSource::Bytes(Bytes::copy_from_slice(l)))
            };
            Ok(layers.iter().map(blob).collect())
        };
        self.contest("registry-small-push", None, false, |step, round| {
            let target = self.image(&format!("small-{}-{round}", step.name()))?;
            self.push_step(step, target, layout, SMALL_CONCURRENCY, blobs)
        })
    }

    /// `registry-small-pull` and `registry-small-pull-fsync`, from the repository of our
    /// first small push.
    fn small_pull(&self) -> Result<()> {
        let source = self.image(&format!("small-{}-1", Step::Ours.name()))?;
        self.contest("registry-small-pull", Some("registry-small-pull-fsync"), false, |step, round| {
            let dir = self.scratch.join(format!("small-pull-{}-{round}", step.name()));
            self.pull_step(step, &source, &dir, SMALL_CONCURRENCY, false)
        })
    }

    /// Runs the rounds of a workload: in each, [`Step::Ours`] (and [`Step::OursFsync`]
    /// when there is an `fsync` workload beside `name`), [`Step::Skopeo`] and
    /// [`Step::Limit`], in the order of [`order`], each by `run(step, round)`; prints the
    /// figures of each round on stderr, then the best as rates (`rates`) or times. skopeo
    /// and the limit run once a round for both workloads: they count for each.
    fn contest(
        &self,
        name: &str,
        fsync: Option<&str>,
        rates: bool,
        mut run: impl FnMut(Step, usize) -> Result<Run>,
    ) -> Result<()> {
        let mut steps = vec![Step::Ours];
        steps.extend(fsync.map(|_| Step::OursFsync));
        steps.extend([Step::Skopeo, Step::Limit, Step::Hashed]);
        let (mut figures, mut fsync_figures) = (Figures::default(), Figures::default());
        for round in 1..=self.rounds {
            for step in order(round, &steps) {
                match run(step, round)? {
                    Run::Ours(timed) if step == Step::OursFsync => fsync_figures.record_ours(&timed),
                    Run::Ours(timed) => figures.record_ours(&timed),
                    Run::Skopeo(time) => figures.skopeo.extend(time),
                    Run::Limit(timed) => figures.record_limit(&timed),
                    Run::Hashed(timed) => figures.hashed.push(timed.elapsed),
                }
            }
            figures.print_round(name, round, rates);
            if let Some(fsync) = fsync {
                fsync_figures.print_round(fsync, round, rates);
            }
        }
        let print = if rates { Figures::print_rates } else { Figures::print_times };
        print(&figures, name, self.skopeo);
        if let Some(fsync) = fsync {
            fsync_figures.skopeo.clone_from(&figures.skopeo);
            fsync_figures.limit.clone_from(&figures.limit);
            fsync_figures.hashed.clone_from(&figures.hashed);
            print(&fsync_figures, fsync, self.skopeo);
        }
        Ok(())
    }

    /// One step of a pull of `source` (a reference and skopeo's name of it) into the new
    /// directory `dir` (the limit only downloads the layers); our pull's directory is
    /// removed unless `keep`, skopeo's always.
    fn pull_step(
        &self,
        step: Step,
        (source, source_name): &(Reference, String),
        dir: &Path,
        concurrency: usize,
        keep: bool,
    ) -> Result<Run> {
        Ok(match step {
            Step::Ours | Step::OursFsync => {
                let fsync = step == Step::OursFsync;
                let timed = self.ours(|c| {
                    let (source, dir) = (source.clone(), dir.to_owned());
                    async move { client::pull(&c, &source, &dir, concurrency, fsync).await }
                })?;
                if !keep {
                    remove(dir)?;
                }
                Run::Ours(timed)
            }
            Step::Skopeo => {
                let time = self.theirs(|cache| skopeo::pull(source_name, dir, LAYOUT_TAG, cache))?;
                remove_if_there(dir)?;
                Run::Skopeo(time)
            }
            Step::Limit | Step::Hashed => {
                let hash = step == Step::Hashed;
                let timed = self.ours(|c| {
                    let source = source.clone();
                    async move { client::raw_download(&c, &source, concurrency, hash).await }
                })?;
                if hash { Run::Hashed(timed) } else { Run::Limit(timed) }
            }
        })
    }

    /// One step of a push of the layout directory `layout` to `target` (a new
    /// repository, and skopeo's name of it); the limit uploads `blobs()`, made before
    /// the clock starts.
    fn push_step(
        &self,
        step: Step,
        (target, target_name): (Reference, String),
        layout: &Path,
        concurrency: usize,
        blobs: impl FnOnce() -> Result<Vec<(Descriptor, RawSource)>>,
    ) -> Result<Run> {
        Ok(match step {
            Step::Ours | Step::OursFsync => Run::Ours(self.ours(|c| {
                let dir = layout.to_owned();
                async move { client::push(&c, &dir, &target, concurrency).await }
            })?),
            Step::Skopeo => {
                Run::Skopeo(self.theirs(|cache| skopeo::push(layout, LAYOUT_TAG, &target_name, cache))?)
            }
            Step::Limit | Step::Hashed => {
                let (blobs, hash) = (blobs()?, step == Step::Hashed);
                let timed =
                    self.ours(
                        |c| async move { client::raw_upload(&c, &target, blobs, concurrency, hash).await },
                    )?;
                if hash { Run::Hashed(timed) } else { Run::Limit(timed) }
            }
        })
    }
}

/// Removes `dir` if it exists (skopeo may fail before making it).
fn remove_if_there(dir: &Path) -> Result<()> {
    if dir.exists() { remove(dir) } else { Ok(()) }
}
