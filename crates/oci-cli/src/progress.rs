//! Progress of a copy on stderr: one line per blob as it finishes (skipped and mounted
//! blobs say so), so that a log shows how far it got; nothing with `--no-progress`.

use std::io::Write as _;

use oci::CopyEvent;

/// The progress callback of a copy, or `None` when none is wanted.
pub(crate) fn lines(quiet: bool) -> Option<impl Fn(&CopyEvent) + Send + Sync + 'static> {
    (!quiet).then_some(|event: &CopyEvent| {
        let line = match event {
            CopyEvent::BlobDone { digest, size } => format!("copied  {} ({})", short(digest), human(*size)),
            CopyEvent::BlobSkipped { digest, size } => {
                format!("exists  {} ({})", short(digest), human(*size))
            }
            CopyEvent::BlobMounted { digest, size } => {
                format!("mounted {} ({})", short(digest), human(*size))
            }
            _ => return,
        };
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    })
}

/// `sha256:0123456789ab`: enough of a digest to tell blobs apart in a log.
fn short(digest: &oci::Digest) -> String {
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
