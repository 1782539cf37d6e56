//! The framework's record of a checked case: its [`Outcome`], the [`Case`] that names
//! it, and [`CaseNames`] to keep names unique within a file.
//!

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The verdict on one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Our implementation agrees with the vector.
    Pass,
    /// It does not; the message says how.
    Fail(String),
    /// The case was not checked; the message says why.
    Skip(String),
    /// It fails as `expected-differences.json` says it must (a deliberate difference
    /// from upstream, or a known bug of a registry target): the failure's message, then
    /// the listed reason. Not a failure of the run; any other failure of the case is.
    ExpectedFailure(String),
}

impl Outcome {
    /// `Pass` for `Ok`, `Fail(message)` for `Err(message)`.
    #[must_use]
    pub fn from_result(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Self::Pass,
            Err(message) => Self::Fail(message),
        }
    }
}

/// One checked case of a vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Unique and stable within its file, e.g. `parse[3] "sha256:"`; this is the name
    /// `expected-differences.json` refers to.
    pub name: String,
    /// The verdict.
    pub outcome: Outcome,
}

impl Case {
    /// Runs `check` and records its outcome under `name`; a panic in `check` is a
    /// failure of this case, not of the run.
    pub fn check(name: impl Into<String>, check: impl FnOnce() -> Outcome) -> Self {
        let outcome = catch_unwind(AssertUnwindSafe(check)).unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".to_owned());
            Outcome::Fail(format!("panicked: {message}"))
        });
        Self { name: name.into(), outcome }
    }
}

/// Makes case names unique within a file by appending ` #2`, ` #3`, ... to repeats.
#[derive(Debug, Default)]
pub struct CaseNames {
    seen: BTreeSet<String>,
}

impl CaseNames {
    /// `name` itself the first time, then `name #2`, `name #3`, ...
    pub fn unique(&mut self, name: String) -> String {
        if self.seen.insert(name.clone()) {
            return name;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{name} #{n}");
            if self.seen.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_names_are_made_unique() {
        let mut names = CaseNames::default();
        assert_eq!(names.unique("a".into()), "a");
        assert_eq!(names.unique("a".into()), "a #2");
        assert_eq!(names.unique("a #2".into()), "a #2 #2");
        assert_eq!(names.unique("a".into()), "a #3");
    }

    #[test]
    fn a_panicking_check_fails_its_case() {
        let case = Case::check("boom", || panic!("kaput"));
        assert_eq!(case.outcome, Outcome::Fail("panicked: kaput".to_owned()));
        let case = Case::check("ok", || Outcome::Pass);
        assert_eq!(case, Case { name: "ok".into(), outcome: Outcome::Pass });
    }
}
