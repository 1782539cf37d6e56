//! Progress of blob transfers: bytes done out of the total, per blob.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use oci_spec_types::Digest;

/// Receives the progress of blob pulls and pushes.
///
/// `update` is called with the blob's digest, the bytes done so far and the total when
/// known. Calls for one blob never report fewer bytes than an earlier call (a resumed
/// download or a resynchronized upload reports again only once it is past what it had
/// reported). A closure `Fn(&Digest, u64, Option<u64>)` is a `Progress`:
///
/// ```
/// use std::sync::Arc;
/// use oci_distribution::{Progress, PullOptions};
///
/// let progress: Arc<dyn Progress> = Arc::new(|digest: &oci_spec_types::Digest, done: u64, total: Option<u64>| {
///     eprintln!("{digest}: {done}/{total:?}");
/// });
/// let options = PullOptions::default().with_progress(progress);
/// # drop(options);
/// ```
pub trait Progress: Send + Sync {
    /// `done` bytes of the blob `digest` are transferred, out of `total` when known.
    fn update(&self, digest: &Digest, done: u64, total: Option<u64>);
}

impl<F> Progress for F
where
    F: Fn(&Digest, u64, Option<u64>) + Send + Sync,
{
    fn update(&self, digest: &Digest, done: u64, total: Option<u64>) {
        self(digest, done, total);
    }
}

/// Reports one blob's progress to an optional [`Progress`], never going backwards and
/// never reporting the same figure twice in a row.
pub(crate) struct Reporter {
    sink: Option<Arc<dyn Progress>>,
    digest: Digest,
    total: Option<u64>,
    /// The last figure reported, plus one (0: nothing reported yet).
    last: AtomicU64,
}

impl Reporter {
    pub(crate) fn new(sink: Option<Arc<dyn Progress>>, digest: Digest, total: Option<u64>) -> Self {
        Self { sink, digest, total, last: AtomicU64::new(0) }
    }

    /// Reports `done` bytes unless an equal or larger figure was reported already.
    pub(crate) fn report(&self, done: u64) {
        let Some(sink) = &self.sink else { return };
        let next = done.saturating_add(1);
        if self.last.fetch_max(next, Ordering::Relaxed) < next {
            sink.update(&self.digest, done, self.total);
        }
    }

    /// The total, once learned (a pull without a known size learns it from the response).
    pub(crate) fn set_total(&mut self, total: Option<u64>) {
        self.total = total;
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("digest", &self.digest)
            .field("total", &self.total)
            .field("enabled", &self.sink.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn reports_only_forward() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let progress: Arc<dyn Progress> = Arc::new(move |_: &Digest, done: u64, total: Option<u64>| {
            sink.lock().unwrap().push((done, total));
        });
        let reporter = Reporter::new(Some(progress), Digest::sha256(b"x"), Some(10));
        for done in [0, 0, 4, 2, 4, 10, 7, 10] {
            reporter.report(done);
        }
        assert_eq!(*seen.lock().unwrap(), [(0, Some(10)), (4, Some(10)), (10, Some(10))]);
        Reporter::new(None, Digest::sha256(b"x"), None).report(3);
    }
}
