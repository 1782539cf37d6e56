//! The workloads: rounds of our client, skopeo and the raw transfer on the same work.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use oci_spec_types::{Descriptor, MediaType};

use super::client::{self, LAYOUT_TAG, RawSource};
use super::report::Figures;
use super::{
    Bench, LARGE_CONCURRENCY, LARGE_LAYER_SIZE, LARGE_LAYERS, SMALL_CONCURRENCY, SMALL_LAYER_SIZE,
    SMALL_LAYERS, Step, generated_layers, layout_layers, order, remove, skopeo,
};
use crate::Result;

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
        let (source, source_name) = self.image("large")?;
        let (mut pull, mut pull_fsync) = (Figures::default(), Figures::default());
        let mut kept: Option<PathBuf> = None;
        for round in 1..=self.rounds {
            for step in order(round, &[Step::Ours, Step::OursFsync, Step::Skopeo, Step::Limit]) {
                let dir = self.scratch.join(format!("pull-{}-{round}", step.name()));
                match step {
                    Step::Ours | Step::OursFsync => {
                        let fsync = step == Step::OursFsync;
                        let timed = self.ours(|c| {
                            let (source, dir) = (source.clone(), dir.clone());
                            async move { client::pull(&c, &source, &dir, LARGE_CONCURRENCY, fsync).await }
                        })?;
                        if fsync { &mut pull_fsync } else { &mut pull }.record_ours(&timed);
                        if kept.is_none() && !fsync {
                            kept = Some(dir);
                        } else {
                            remove(&dir)?;
                        }
                    }
                    Step::Skopeo => {
                        let time =
                            self.theirs(|cache| skopeo::pull(&source_name, &dir, LAYOUT_TAG, cache))?;
                        pull.skopeo.extend(time);
                        remove_if_there(&dir)?;
                    }
                    Step::Limit => {
                        let timed = self.ours(|c| {
                            let source = source.clone();
                            async move { client::raw_download(&c, &source, LARGE_CONCURRENCY).await }
                        })?;
                        pull.record_limit(&timed);
                    }
                }
            }
            pull.print_round("registry-pull", round, true);
            pull_fsync.print_round("registry-pull-fsync", round, true);
        }
        pull.print_rates("registry-pull", self.skopeo);
        pull_fsync.skopeo.clone_from(&pull.skopeo);
        pull_fsync.limit.clone_from(&pull.limit);
        pull_fsync.print_rates("registry-pull-fsync", self.skopeo);
        kept.ok_or_else(|| "no layout was pulled".to_owned())
    }

    /// `registry-push`, from the layout directory `layout`.
    fn large_push(&self, layout: &Path) -> Result<()> {
        let mut push = Figures::default();
        for round in 1..=self.rounds {
            for step in order(round, &[Step::Ours, Step::Skopeo, Step::Limit]) {
                let (target, target_name) = self.image(&format!("push-{}-{round}", step.name()))?;
                match step {
                    Step::Ours | Step::OursFsync => {
                        let timed = self.ours(|c| {
                            let dir = layout.to_owned();
                            async move { client::push(&c, &dir, &target, LARGE_CONCURRENCY).await }
                        })?;
                        push.record_ours(&timed);
                    }
                    Step::Skopeo => {
                        let time =
                            self.theirs(|cache| skopeo::push(layout, LAYOUT_TAG, &target_name, cache))?;
                        push.skopeo.extend(time);
                    }
                    Step::Limit => {
                        let blobs = layout_layers(layout)?;
                        let timed = self.ours(|c| async move {
                            client::raw_upload(&c, &target, blobs, LARGE_CONCURRENCY).await
                        })?;
                        push.record_limit(&timed);
                    }
                }
            }
            push.print_round("registry-push", round, true);
        }
        push.print_rates("registry-push", self.skopeo);
        Ok(())
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

    fn small_push(&self, layout: &Path, layers: &[Vec<u8>]) -> Result<()> {
        let mut push = Figures::default();
        for round in 1..=self.rounds {
            for step in order(round, &[Step::Ours, Step::Skopeo, Step::Limit]) {
                let (target, target_name) = self.image(&format!("small-{}-{round}", step.name()))?;
                match step {
                    Step::Ours | Step::OursFsync => {
                        let timed = self.ours(|c| {
                            let dir = layout.to_owned();
                            async move { client::push(&c, &dir, &target, SMALL_CONCURRENCY).await }
                        })?;
                        push.record_ours(&timed);
                    }
                    Step::Skopeo => {
                        let time =
                            self.theirs(|cache| skopeo::push(layout, LAYOUT_TAG, &target_name, cache))?;
                        push.skopeo.extend(time);
                    }
                    Step::Limit => {
                        let blobs = layers
                            .iter()
                            .map(|l| {
                                let descriptor = Descriptor::for_bytes(MediaType::LAYER_TAR_GZIP, l);
                                (descriptor, RawSource::Bytes(Bytes::copy_from_slice(l)))
                            })
                            .collect();
                        let timed = self.ours(|c| async move {
                            client::raw_upload(&c, &target, blobs, SMALL_CONCURRENCY).await
                        })?;
                        push.record_limit(&timed);
                    }
                }
            }
            push.print_round("registry-small-push", round, false);
        }
        push.print_times("registry-small-push", self.skopeo);
        Ok(())
    }

    fn small_pull(&self) -> Result<()> {
        let (source, source_name) = self.image(&format!("small-{}-1", Step::Ours.name()))?;
        let mut pull = Figures::default();
        for round in 1..=self.rounds {
            for step in order(round, &[Step::Ours, Step::Skopeo, Step::Limit]) {
                let dir = self.scratch.join(format!("small-pull-{}-{round}", step.name()));
                match step {
                    Step::Ours | Step::OursFsync => {
                        let timed = self.ours(|c| {
                            let (source, dir) = (source.clone(), dir.clone());
                            async move { client::pull(&c, &source, &dir, SMALL_CONCURRENCY, false).await }
                        })?;
                        pull.record_ours(&timed);
                        remove(&dir)?;
                    }
                    Step::Skopeo => {
                        let time =
                            self.theirs(|cache| skopeo::pull(&source_name, &dir, LAYOUT_TAG, cache))?;
                        pull.skopeo.extend(time);
                        remove_if_there(&dir)?;
                    }
                    Step::Limit => {
                        let timed = self.ours(|c| {
                            let source = source.clone();
                            async move { client::raw_download(&c, &source, SMALL_CONCURRENCY).await }
                        })?;
                        pull.record_limit(&timed);
                    }
                }
            }
            pull.print_round("registry-small-pull", round, false);
        }
        pull.print_times("registry-small-pull", self.skopeo);
        Ok(())
    }
}

fn remove_if_there(dir: &Path) -> Result<()> {
    if dir.exists() { remove(dir) } else { Ok(()) }
}
