//! `conformance/expected-differences.json`: cases where we knowingly differ from upstream.
//!
//! ```json
//! {
//!   "notes": "...",
//!   "differences": [
//!     {"file": "digest.json", "case": "parse[3] \"sha256:\"", "reason": "..."}
//!   ]
//! }
//! ```
//!
//! `file` is the vector file's name, `case` a case name exactly as the reports print
//! it. A failing listed case becomes `Skip("expected difference: <reason>")`; a listed
//! case that passes becomes a failure, and so does an entry that names no case.

use std::path::Path;

use serde::Deserialize;

use super::{Case, FileResult, Outcome};
use crate::Result;

/// The parsed `expected-differences.json`.
#[derive(Debug, Default, Deserialize)]
pub struct ExpectedDifferences {
    /// The listed differences.
    pub differences: Vec<Difference>,
}

/// One listed difference.
#[derive(Debug, Clone, Deserialize)]
pub struct Difference {
    /// The vector file's name, e.g. `digest.json`.
    pub file: String,
    /// The case name, exactly as reported.
    pub case: String,
    /// Why we differ.
    pub reason: String,
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

    /// Applies the list to `results` and returns one failing case per stale entry.
    ///
    /// `coverage(file_name)` says whether such a vector file was loaded at all, and whether
    /// every suite that recognizes it ran; an entry is stale when its file was not loaded,
    /// or when all suites of its file ran and none produced the case.
    pub fn apply(&self, results: &mut [FileResult], coverage: impl Fn(&str) -> (bool, bool)) -> Vec<Case> {
        let mut stale = Vec::new();
        for difference in &self.differences {
            let mut found = false;
            for result in results.iter_mut().filter(|r| r.file_name == difference.file) {
                for case in result.cases.iter_mut().filter(|c| c.name == difference.case) {
                    found = true;
                    case.outcome = match &case.outcome {
                        Outcome::Fail(_) => {
                            Outcome::Skip(format!("expected difference: {}", difference.reason))
                        }
                        Outcome::Pass => Outcome::Fail(
                            "listed in expected-differences.json but passes: remove the entry".to_owned(),
                        ),
                        Outcome::Skip(reason) => Outcome::Skip(reason.clone()),
                    };
                }
            }
            if found {
                continue;
            }
            let name = format!("{} {:?}", difference.file, difference.case);
            match coverage(&difference.file) {
                (false, _) => stale.push(Case {
                    name,
                    outcome: Outcome::Fail(format!("stale entry: no vector file named {}", difference.file)),
                }),
                (true, true) => stale.push(Case {
                    name,
                    outcome: Outcome::Fail(format!(
                        "stale entry: {} has no case of this name",
                        difference.file
                    )),
                }),
                (true, false) => {} // a suite that was not selected may produce it
            }
        }
        stale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> Vec<FileResult> {
        vec![FileResult {
            suite: "spec".into(),
            file: "digest.json".into(),
            file_name: "digest.json".into(),
            cases: vec![
                Case { name: "a".into(), outcome: Outcome::Fail("differs".into()) },
                Case { name: "b".into(), outcome: Outcome::Pass },
                Case { name: "c".into(), outcome: Outcome::Pass },
            ],
            ..FileResult::default()
        }]
    }

    #[test]
    fn listed_failures_skip_and_listed_passes_fail() {
        let list = ExpectedDifferences::parse(
            r#"{"notes": "x", "differences": [
                {"file": "digest.json", "case": "a", "reason": "we accept sha512"},
                {"file": "digest.json", "case": "b", "reason": "fixed since"}
            ]}"#,
        )
        .unwrap();
        let mut results = results();
        let stale = list.apply(&mut results, |_| (true, true));
        assert!(stale.is_empty());
        let outcomes: Vec<_> = results[0].cases.iter().map(|c| c.outcome.clone()).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Skip("expected difference: we accept sha512".into()),
                Outcome::Fail("listed in expected-differences.json but passes: remove the entry".into()),
                Outcome::Pass,
            ]
        );
    }

    #[test]
    fn stale_entries_fail_only_when_judgeable() {
        let list = ExpectedDifferences::parse(
            r#"{"differences": [
                {"file": "digest.json", "case": "zz", "reason": "r"},
                {"file": "gone.json", "case": "a", "reason": "r"}
            ]}"#,
        )
        .unwrap();
        let stale = list.apply(&mut results(), |f| (f == "digest.json", true));
        assert_eq!(stale.len(), 2);
        assert_eq!(stale[0].name, r#"digest.json "zz""#);
        assert_eq!(
            stale[0].outcome,
            Outcome::Fail("stale entry: digest.json has no case of this name".into())
        );
        assert_eq!(stale[1].outcome, Outcome::Fail("stale entry: no vector file named gone.json".into()));
        // When a suite that could produce the case did not run, nothing can be said.
        assert!(list.apply(&mut results(), |f| (f == "digest.json", false)).len() == 1);
    }

    #[test]
    fn the_committed_list_parses() {
        let path = crate::workspace::root().join("conformance/expected-differences.json");
        ExpectedDifferences::load(&path).unwrap();
    }
}
