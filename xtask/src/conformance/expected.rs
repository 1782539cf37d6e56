//! `conformance/expected-differences.json`: every outcome that is not a pass and is
//! expected, each pinned to the message it must give.
//!
//! ```json
//! {
//!   "notes": "...",
//!   "differences": [
//!     {"file": "digest.json", "case": "parse[3] \"sha256:\"", "outcome": "fail",
//!      "expect": "expected an error, got *", "reason": "..."}
//!   ],
//!   "targets": {
//!     "docker-registry 2.8": {
//!       "notes": "...",
//!       "expected": [
//!         {"case": "data/*/delete/tags", "outcome": "skip",
//!          "expect": "tag delete unsupported: DELETE * -> 405 *", "reason": "..."}
//!       ]
//!     }
//!   }
//! }
//! ```
//!
//! `differences` are the vector suites' entries (`file` is the vector file's name);
//! `targets` hold one baseline per registry the registry suite is run against in
//! `cargo xtask test` (`--baseline NAME`). `case` is a case name exactly as the reports
//! print it, and `expect` the whole message the case must give; in both, `*` stands for
//! any run of characters (registry messages carry random repository names).
//!
//! Under a list, an entry with `"outcome": "fail"` turns the matching failure into an
//! [`Outcome::ExpectedFailure`], and `"skip"` accepts the matching skip. Anything else
//! fails: a listed case that passes (remove the entry), fails or skips with another
//! message, or does the other of the two; a skip that no entry expects (the set of
//! skips changed); an entry that matches no case when every suite that could produce
//! it ran.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{Case, FileResult, Outcome};
use crate::Result;

/// The parsed `expected-differences.json`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDifferences {
    /// What the file is, for its readers.
    #[serde(default)]
    pub notes: String,
    /// The vector suites' expected outcomes.
    #[serde(default)]
    pub differences: Vec<Expected>,
    /// The registry suite's baselines, by target name.
    #[serde(default)]
    pub targets: BTreeMap<String, Baseline>,
}

/// The expected outcomes of the registry suite against one target.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// What the target is and how it is run.
    #[serde(default)]
    pub notes: String,
    /// Its expected skips and failures.
    pub expected: Vec<Expected>,
}

/// Which outcome an entry expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The case fails (a deliberate difference, or the target's bug).
    Fail,
    /// The case is skipped (a feature the target lacks, a case that cannot run).
    Skip,
}

/// One expected outcome.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The vector file's name (vector suites only).
    #[serde(default)]
    pub file: Option<String>,
    /// The case name, `*` matching any run of characters.
    pub case: String,
    /// The outcome expected.
    pub outcome: Kind,
    /// The whole message expected, `*` matching any run of characters.
    pub expect: String,
    /// Why this outcome is right for us (or is the target's fault).
    pub reason: String,
}

impl Expected {
    fn names(&self, file_name: &str, case: &str) -> bool {
        self.file.as_deref().is_none_or(|f| f == file_name) && glob(&self.case, case)
    }

    fn label(&self) -> String {
        match &self.file {
            Some(file) => format!("{file} {:?}", self.case),
            None => format!("{:?}", self.case),
        }
    }

    /// The outcome of a case this entry names.
    fn judge(&self, outcome: &Outcome) -> Outcome {
        let (kind, message) = match outcome {
            Outcome::Pass => {
                let what = if self.outcome == Kind::Fail { "a failure" } else { "a skip" };
                return Outcome::Fail(format!("passes, but is listed as {what}: remove the entry"));
            }
            Outcome::Fail(m) => (Kind::Fail, m),
            Outcome::Skip(m) => (Kind::Skip, m),
            Outcome::ExpectedFailure(_) => return outcome.clone(),
        };
        let verb = |k| if k == Kind::Fail { "fails" } else { "is skipped" };
        if kind != self.outcome {
            return Outcome::Fail(format!(
                "{} ({message}), but is listed as {}",
                verb(kind),
                if self.outcome == Kind::Fail { "a failure" } else { "a skip" }
            ));
        }
        if !glob(&self.expect, message) {
            return Outcome::Fail(format!(
                "{} with another message than listed:\n{message}\nlisted: {}",
                verb(kind),
                self.expect
            ));
        }
        match kind {
            Kind::Fail => Outcome::ExpectedFailure(format!("{message}\nexpected: {}", self.reason)),
            Kind::Skip => outcome.clone(),
        }
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (newlines
/// too) and every other character itself.
#[must_use]
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

impl ExpectedDifferences {
    /// Reads the list from `path`; a missing file is an empty list.
    pub fn load(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("reading {}: {e}", path.display())),
        }
    }

    /// Parses the JSON text of the list.
    pub fn parse(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| format!("invalid expected-differences list: {e}"))
    }

    /// The baseline of target `name`, or an error naming the known ones.
    pub fn baseline(&self, name: &str) -> Result<&Baseline> {
        self.targets.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.targets.keys().map(String::as_str).collect();
            format!(
                "conformance/expected-differences.json has no baseline for target {name:?} (known: {})",
                known.join(", ")
            )
        })
    }
}

/// Applies `entries` to `results` and returns one failing case per stale entry.
///
/// Every case a listed entry names is judged by it; every other skip fails. An entry
/// is stale when `coverage(file)` says its file was not loaded (`(false, _)`), or when
/// every suite of its file ran (`(true, true)`) and it named no case; entries without a
/// file are judged with `coverage("")`.
pub fn apply(
    entries: &[Expected],
    results: &mut [FileResult],
    coverage: impl Fn(&str) -> (bool, bool),
) -> Vec<Case> {
    let mut used = vec![false; entries.len()];
    for result in results.iter_mut() {
        for case in &mut result.cases {
            let found = entries.iter().position(|e| e.names(&result.file_name, &case.name));
            case.outcome = match (found, &case.outcome) {
                (Some(i), outcome) => {
                    used[i] = true;
                    entries[i].judge(outcome)
                }
                (None, Outcome::Skip(message)) => Outcome::Fail(format!(
                    "skipped, and no entry of conformance/expected-differences.json expects it: {message}"
                )),
                (None, outcome) => outcome.clone(),
            };
        }
    }
    let mut stale = Vec::new();
    for (entry, _) in entries.iter().zip(used).filter(|(_, used)| !used) {
        let file = entry.file.as_deref().unwrap_or_default();
        let why = match coverage(file) {
            (false, _) => format!("stale entry: no vector file named {file}"),
            (true, true) => "stale entry: no case of this name".to_owned(),
            (true, false) => continue, // a suite that was not selected may produce it
        };
        stale.push(Case { name: entry.label(), outcome: Outcome::Fail(why) });
    }
    stale
}

#[cfg(test)]
#[path = "expected_tests.rs"]
mod tests;
