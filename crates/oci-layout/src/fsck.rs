//! Checking a whole layout: [`FsckReport`].

use std::collections::BTreeMap;
use std::fmt;

use oci_spec_types::Digest;

use crate::graph;
use crate::{Error, ErrorKind, Layout, Result, ref_name};

/// How bad a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Allowed by the image-spec, worth knowing: a platform's manifest of an index, or
    /// the subject of a referrer, that is not in the layout; a digest this build cannot
    /// compute.
    Warning,
    /// The layout is broken: content missing or not matching its digest.
    Error,
}

/// What a [`Finding`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// A reachable blob is not stored.
    MissingBlob,
    /// A stored blob has another size than a descriptor of it says.
    SizeMismatch,
    /// A stored blob's content does not hash to its digest.
    DigestMismatch,
    /// A blob referenced as a manifest or index is not one.
    InvalidManifest,
    /// A path under `blobs/` is not `blobs/<algorithm>/<encoded>` of a digest.
    InvalidBlobPath,
    /// A tag of `index.json` does not match the `ref.name` grammar.
    InvalidRefName,
    /// Embedded `data` of a descriptor does not match its digest or size.
    DataMismatch,
    /// The digest's algorithm cannot be computed by this build, so content is unchecked.
    UnverifiableDigest,
    /// The blob could not be read (an unsafe file, an I/O error).
    Unreadable,
}

/// One thing [`Layout::fsck`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// What it is about.
    pub kind: FindingKind,
    /// The blob, when it is about one.
    pub digest: Option<Digest>,
    /// The path inside the layout, when it is about one that is not a digest.
    pub path: Option<String>,
    /// What is wrong, for people.
    pub detail: String,
}

impl Finding {
    fn new(severity: Severity, kind: FindingKind, detail: impl Into<String>) -> Self {
        Self { severity, kind, digest: None, path: None, detail: detail.into() }
    }

    fn with_digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    fn with_path(mut self, path: String) -> Self {
        self.path = Some(path);
        self
    }
}

impl fmt::Display for Finding {
    /// `error: <digest or path>: <detail>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity}: ")?;
        if let Some(digest) = &self.digest {
            write!(f, "{digest}: ")?;
        }
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.detail)
    }
}

/// What [`Layout::fsck`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FsckReport {
    /// Everything worth saying, errors and warnings, in the order found.
    pub findings: Vec<Finding>,
    /// How many stored blobs were hashed.
    pub blobs_verified: usize,
    /// How many bytes were hashed.
    pub bytes_verified: u64,
    /// Stored blobs that nothing reachable from `index.json` references (allowed by the
    /// image-spec; [`Layout::gc`] deletes them).
    pub unreferenced: Vec<Digest>,
}

impl FsckReport {
    /// Whether no finding is an [`Severity::Error`].
    #[must_use]
    pub fn is_ok(&self) -> bool {
        self.errors().next().is_none()
    }

    /// The findings of severity [`Severity::Error`].
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Error)
    }
}

pub(crate) fn fsck(layout: &Layout) -> Result<FsckReport> {
    let graph = graph::walk(layout)?;
    let findings = graph.unfollowed.iter().map(|u| {
        let kind = match u.problem {
            graph::Problem::Unreadable => FindingKind::Unreadable,
            graph::Problem::DigestMismatch => FindingKind::DigestMismatch,
            graph::Problem::InvalidManifest => FindingKind::InvalidManifest,
        };
        Finding::new(Severity::Error, kind, u.detail.clone()).with_digest(u.digest.clone())
    });
    let mut report = FsckReport { findings: findings.collect(), ..FsckReport::default() };
    let index = layout.read_index()?;
    for name in index.manifests.iter().filter_map(|d| d.annotations.ref_name()) {
        if let Err(e) = ref_name::validate(name) {
            report.findings.push(Finding::new(Severity::Error, FindingKind::InvalidRefName, e.to_string()));
        }
    }
    let listing = layout.driver().list_blobs()?;
    for path in listing.invalid_paths {
        report.findings.push(
            Finding::new(
                Severity::Error,
                FindingKind::InvalidBlobPath,
                "not blobs/<algorithm>/<encoded> of a digest",
            )
            .with_path(path),
        );
    }
    let stored: BTreeMap<&Digest, u64> = listing.blobs.iter().map(|(d, s)| (d, *s)).collect();
    // Reachable blobs against their descriptors.
    for (digest, node) in &graph.nodes {
        let d = &node.descriptor;
        if let Some(false) = d.data_matches() {
            report.findings.push(
                Finding::new(
                    Severity::Error,
                    FindingKind::DataMismatch,
                    "embedded data does not match the descriptor",
                )
                .with_digest(digest.clone()),
            );
        }
        let Some(&size) = stored.get(digest) else {
            let severity =
                if node.parent.missing_is_expected() { Severity::Warning } else { Severity::Error };
            let detail = format!("not in the layout ({})", node.parent.describe());
            report
                .findings
                .push(Finding::new(severity, FindingKind::MissingBlob, detail).with_digest(digest.clone()));
            continue;
        };
        if size != d.size {
            let detail = format!(
                "stored with {size} bytes, the descriptor says {} ({})",
                d.size,
                node.parent.describe()
            );
            report.findings.push(
                Finding::new(Severity::Error, FindingKind::SizeMismatch, detail).with_digest(digest.clone()),
            );
        }
    }
    // Every stored blob against its name (once, reachable or not).
    for (digest, _) in &listing.blobs {
        verify_blob(layout, digest, &mut report)?;
        if !graph.nodes.contains_key(digest) {
            report.unreferenced.push(digest.clone());
        }
    }
    Ok(report)
}

/// Hashes one stored blob; content errors become findings, I/O errors end the check.
fn verify_blob(layout: &Layout, digest: &Digest, report: &mut FsckReport) -> Result<()> {
    if !digest.is_verifiable() {
        report.findings.push(
            Finding::new(
                Severity::Warning,
                FindingKind::UnverifiableDigest,
                "this build cannot compute the algorithm",
            )
            .with_digest(digest.clone()),
        );
        return Ok(());
    }
    let mut reader = match layout.blob_reader(digest) {
        Ok(r) => r,
        Err(e) => {
            report.findings.push(
                Finding::new(Severity::Error, FindingKind::Unreadable, e.to_string())
                    .with_digest(digest.clone()),
            );
            return Ok(());
        }
    };
    match crate::verify::copy(&mut reader, &mut std::io::sink()) {
        Ok(n) => {
            report.blobs_verified += 1;
            report.bytes_verified += n;
        }
        Err(e) => {
            let err = Error::io(e);
            let kind = match err.kind() {
                ErrorKind::UnexpectedDigest | ErrorKind::UnexpectedSize => FindingKind::DigestMismatch,
                ErrorKind::Io => return Err(err.with_digest(digest.clone())),
                _ => FindingKind::Unreadable,
            };
            let detail = err.detail().unwrap_or("cannot be read").to_owned();
            if !report.findings.iter().any(|f| f.kind == kind && f.digest.as_ref() == Some(digest)) {
                report.findings.push(Finding::new(Severity::Error, kind, detail).with_digest(digest.clone()));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_read_well() {
        let f = Finding::new(Severity::Error, FindingKind::MissingBlob, "not in the layout")
            .with_digest(Digest::sha256(b""));
        assert_eq!(
            f.to_string(),
            "error: sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855: not in the layout"
        );
        let report = FsckReport {
            findings: vec![Finding::new(Severity::Warning, FindingKind::MissingBlob, "x")],
            ..FsckReport::default()
        };
        assert!(report.is_ok());
    }
}
