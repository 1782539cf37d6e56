//! What a copy is asked to do ([`CopyOptions`]), what it tells as it goes
//! ([`CopyEvent`]), and what it did ([`CopyReport`]).

use std::fmt;
use std::sync::Arc;

use oci_distribution::Client;
use oci_spec_types::{Descriptor, Digest, MediaType, Platform};

/// Concurrent requests per registry host (and per layout file), both ends of the copy
/// counted against the same budget. Six, as containers/image: enough to fill a fast
/// link with several blobs in flight, under the ten or so connections past which
/// registries (Docker Hub, GitHub) start answering 429.
pub const DEFAULT_JOBS: usize = 6;

/// What [`CopyOptions::progress`] calls.
pub type ProgressFn = Arc<dyn Fn(&CopyEvent) + Send + Sync>;

/// How a copy runs; every field has a default.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct CopyOptions {
    /// The registry client (credentials, TLS, retries); `Client::builder().build()` when
    /// none is given.
    pub client: Option<Client>,
    /// The platforms to copy out of an index; all (the index kept whole) when empty.
    /// One platform copies its image alone; several make a new index of just those.
    pub platforms: Vec<Platform>,
    /// Copy layers with `urls` (non-distributable, "foreign") too; skipped by default,
    /// as the registries that serve them expect.
    pub include_foreign: bool,
    /// Copy the referrers (signatures, SBOMs, attestations) of the root and of every
    /// manifest under it, and theirs in turn, each after its subject; off by default.
    pub referrers: bool,
    /// With `referrers`, only those of these artifact types (all when empty).
    pub referrer_types: Vec<MediaType>,
    /// Flush every file written into a layout to disk before it appears (as skopeo
    /// does); off by default, when a crash of the machine (not of the process) soon
    /// after a copy can lose what it wrote.
    pub fsync: bool,
    /// Concurrent requests per host (see [`DEFAULT_JOBS`]); 0 means the default.
    pub jobs: usize,
    /// The tags to write at the destination, instead of the destination location's own
    /// (or, when it names none, the source's).
    pub dest_tags: Vec<String>,
    /// Told what happens to every blob and manifest.
    pub progress: Option<ProgressFn>,
}

impl fmt::Debug for CopyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CopyOptions")
            .field("platforms", &self.platforms)
            .field("include_foreign", &self.include_foreign)
            .field("referrers", &self.referrers)
            .field("referrer_types", &self.referrer_types)
            .field("fsync", &self.fsync)
            .field("jobs", &self.jobs)
            .field("dest_tags", &self.dest_tags)
            .field("progress", &self.progress.is_some())
            .finish_non_exhaustive()
    }
}

impl CopyOptions {
    /// The same options with `client`.
    #[must_use]
    pub fn with_client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The same options selecting `platforms` (empty: all).
    #[must_use]
    pub fn with_platforms(mut self, platforms: impl IntoIterator<Item = Platform>) -> Self {
        self.platforms = platforms.into_iter().collect();
        self
    }

    /// The same options, copying foreign layers or not.
    #[must_use]
    pub fn with_include_foreign(mut self, include: bool) -> Self {
        self.include_foreign = include;
        self
    }

    /// The same options copying referrers, of `types` only unless it is empty.
    #[must_use]
    pub fn with_referrers(mut self, types: impl IntoIterator<Item = MediaType>) -> Self {
        self.referrers = true;
        self.referrer_types = types.into_iter().collect();
        self
    }

    /// The same options, flushing layout files to disk or not.
    #[must_use]
    pub fn with_fsync(mut self, fsync: bool) -> Self {
        self.fsync = fsync;
        self
    }

    /// The same options with `jobs` concurrent requests per host.
    #[must_use]
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// The same options writing `tags` at the destination.
    #[must_use]
    pub fn with_dest_tags(mut self, tags: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.dest_tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// The same options, telling `progress` what happens.
    #[must_use]
    pub fn with_progress(mut self, progress: impl Fn(&CopyEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }

    pub(crate) fn jobs(&self) -> usize {
        if self.jobs == 0 { DEFAULT_JOBS } else { self.jobs }
    }
}

/// What happens to one blob or manifest of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyEvent {
    /// A blob's transfer started.
    BlobStarted {
        /// The blob's digest.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// Bytes of a blob arrived at the destination (`done` of `size`).
    BlobProgress {
        /// The blob's digest.
        digest: Digest,
        /// Bytes so far.
        done: u64,
        /// Its size.
        size: u64,
    },
    /// The destination had the blob.
    BlobSkipped {
        /// The blob's digest.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// The blob was mounted from the source repository (same registry): no bytes moved.
    BlobMounted {
        /// The blob's digest.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// A blob's transfer finished, verified.
    BlobDone {
        /// The blob's digest.
        digest: Digest,
        /// Its size.
        size: u64,
    },
    /// A manifest was written, or (`skipped`) the destination had it.
    Manifest {
        /// Its digest.
        digest: Digest,
        /// Whether the destination had it already.
        skipped: bool,
    },
}

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyReport {
    /// The root the source location named.
    pub source: Descriptor,
    /// The root written at the destination: the source's, or the image or new index
    /// the platform selection made (its digest is then its own).
    pub destination: Descriptor,
    /// The tags written at the destination.
    pub tags: Vec<String>,
    /// Manifests written.
    pub manifests_copied: usize,
    /// Manifests the destination had.
    pub manifests_skipped: usize,
    /// Blobs transferred.
    pub blobs_copied: usize,
    /// Blobs the destination had.
    pub blobs_skipped: usize,
    /// Blobs mounted from the source repository.
    pub blobs_mounted: usize,
    /// Foreign layers (with `urls`) left out.
    pub foreign_skipped: usize,
    /// Referrers copied (or found there), each with its own graph.
    pub referrers: usize,
    /// Bytes of the blobs transferred.
    pub bytes_copied: u64,
    /// Bytes of the blobs skipped or mounted.
    pub bytes_skipped: u64,
}

impl CopyReport {
    pub(crate) fn new(source: Descriptor, destination: Descriptor) -> Self {
        Self {
            source,
            destination,
            tags: Vec::new(),
            manifests_copied: 0,
            manifests_skipped: 0,
            blobs_copied: 0,
            blobs_skipped: 0,
            blobs_mounted: 0,
            foreign_skipped: 0,
            referrers: 0,
            bytes_copied: 0,
            bytes_skipped: 0,
        }
    }
}

/// A layer with `urls` (non-distributable, "foreign"): its content lives there, and it
/// is copied only when asked.
pub(crate) fn is_foreign(descriptor: &Descriptor) -> bool {
    !descriptor.urls.is_empty()
}
