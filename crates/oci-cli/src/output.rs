//! What a verb prints on stdout: text for people, or (`--json`) one JSON document.

use serde_json::{Value, json};

use crate::exit::Failure;

/// Prints `value` as one JSON document, or `text` when not `json`.
pub(crate) fn print(json: bool, value: &Value, text: &str) -> Result<(), Failure> {
    if json {
        let line = serde_json::to_string_pretty(value)
            .map_err(|e| Failure::new(crate::exit::FAILURE, format!("writing JSON: {e}")))?;
        println!("{line}");
    } else if !text.is_empty() {
        println!("{}", text.trim_end_matches('\n'));
    }
    Ok(())
}

/// The JSON of a copy's report (the shape `oci copy --json` documents).
pub(crate) fn copy_report(source: &str, destination: &str, report: &oci::CopyReport) -> Value {
    json!({
        "source": source,
        "destination": destination,
        "digest": report.destination.digest.to_string(),
        "mediaType": report.destination.media_type.to_string(),
        "size": report.destination.size,
        "sourceDigest": report.source.digest.to_string(),
        "tags": report.tags,
        "manifests": { "copied": report.manifests_copied, "skipped": report.manifests_skipped },
        "blobs": {
            "copied": report.blobs_copied,
            "skipped": report.blobs_skipped,
            "mounted": report.blobs_mounted,
            "foreignSkipped": report.foreign_skipped,
        },
        "referrers": report.referrers,
        "bytes": { "copied": report.bytes_copied, "skipped": report.bytes_skipped },
    })
}
