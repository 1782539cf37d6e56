//! Progress of a copy on stderr. On a terminal: a bar per blob in flight and a total
//! with bytes, speed and ETA (indicatif), and a line for each blob skipped or mounted.
//! Elsewhere (a pipe, a CI log): one line per blob as it finishes, is skipped or is
//! mounted, and a line every few seconds for a long one. Nothing with `--no-progress`.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use oci::{CopyEvent, Digest, ProgressFn};

/// How often a long blob gets a line off a terminal.
const EVERY: Duration = Duration::from_secs(5);

/// The progress callback of a copy, or `None` when none is wanted.
pub(crate) fn reporter(quiet: bool) -> Option<ProgressFn> {
    if quiet {
        return None;
    }
    if std::io::stderr().is_terminal() {
        let bars = Bars::new();
        Some(Arc::new(move |e: &CopyEvent| bars.event(e)))
    } else {
        let lines = Lines::default();
        Some(Arc::new(move |e: &CopyEvent| lines.event(e)))
    }
}

/// The line a blob skipped or mounted gets.
fn settled(event: &CopyEvent) -> Option<String> {
    match event {
        CopyEvent::BlobSkipped { digest, size } => {
            Some(format!("exists  {} ({})", short(digest), human(*size)))
        }
        CopyEvent::BlobMounted { digest, size } => {
            Some(format!("mounted {} ({})", short(digest), human(*size)))
        }
        _ => None,
    }
}

/// Off a terminal: a line per blob, and one every [`EVERY`] for those in flight.
#[derive(Default)]
struct Lines {
    last: Mutex<HashMap<Digest, Instant>>,
}

impl Lines {
    fn event(&self, event: &CopyEvent) {
        let line = match event {
            CopyEvent::BlobStarted { digest, .. } => {
                self.last
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(digest.clone(), Instant::now());
                return;
            }
            CopyEvent::BlobProgress { digest, done, size } => {
                let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
                let due = last.get(digest).is_none_or(|t| t.elapsed() >= EVERY);
                if !due || *done >= *size {
                    return;
                }
                last.insert(digest.clone(), Instant::now());
                format!("copying {} {} of {}", short(digest), human(*done), human(*size))
            }
            CopyEvent::BlobDone { digest, size } => {
                self.last.lock().unwrap_or_else(PoisonError::into_inner).remove(digest);
                format!("copied  {} ({})", short(digest), human(*size))
            }
            other => match settled(other) {
                Some(line) => line,
                None => return,
            },
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }
}

/// On a terminal: a bar per blob in flight, and the total.
struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    blobs: Mutex<HashMap<Digest, (ProgressBar, u64)>>,
}

impl Bars {
    fn new() -> Self {
        let multi = MultiProgress::new();
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template(
                "total   {bytes:>10} / {total_bytes:<10} {bytes_per_sec:>12}  eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self { multi, total, blobs: Mutex::new(HashMap::new()) }
    }

    fn event(&self, event: &CopyEvent) {
        let mut blobs = self.blobs.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            CopyEvent::BlobStarted { digest, size } => {
                let bar = self.multi.insert_before(&self.total, ProgressBar::new(*size));
                bar.set_style(
                    ProgressStyle::with_template("{msg} [{bar:30}] {bytes:>10} / {total_bytes:<10}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_message(short(digest));
                self.total.inc_length(*size);
                blobs.insert(digest.clone(), (bar, 0));
            }
            CopyEvent::BlobProgress { digest, done, .. } => {
                if let Some((bar, seen)) = blobs.get_mut(digest) {
                    self.total.inc(done.saturating_sub(*seen));
                    *seen = (*seen).max(*done);
                    bar.set_position(*done);
                }
            }
            CopyEvent::BlobDone { digest, size } => {
                if let Some((bar, seen)) = blobs.remove(digest) {
                    self.total.inc(size.saturating_sub(seen));
                    bar.finish_and_clear();
                }
                let _ = self.multi.println(format!("copied  {} ({})", short(digest), human(*size)));
            }
            other => {
                if let Some(line) = settled(other) {
                    let _ = self.multi.println(line);
                }
            }
        }
        if blobs.is_empty() && matches!(event, CopyEvent::Manifest { .. }) {
            self.total.finish_and_clear();
        }
    }
}

/// `sha256:0123456789ab`: enough of a digest to tell blobs apart.
fn short(digest: &Digest) -> String {
    let s = digest.as_str();
    s.chars().take(s.find(':').map_or(12, |c| c + 13)).collect()
}

/// `12.3 MiB`.
#[allow(clippy::cast_precision_loss)] // sizes far below 2^52
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
