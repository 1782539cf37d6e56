//! The statuses of the upstream suite and the verdict of one checked node.
//!
//! Upstream (`conformance_tests.json`, `v2.status_precedence`) orders its statuses
//! `Unknown < Disabled < Skip < Pass < FAIL < Error`, and a node's status only moves
//! up: a node with a passing and a skipped child passes, one failing child fails it.
//! A [`Verdict`] is one node (one reported case) with what its checks said on the way;
//! [`Verdict::outcome`] maps it onto the report's three outcomes as upstream's junit
//! writer does (`Skip` and `Disabled` are skipped, `FAIL`, `Error` and `Unknown` are
//! failures).

use std::fmt;

use crate::conformance::Outcome;

/// The status of a node, in upstream's order of precedence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Nothing was checked (yet).
    #[default]
    Unknown,
    /// Not run: disabled by default upstream.
    Disabled,
    /// Not checked: the registry lacks an optional feature.
    Skip,
    /// Checked and conformant.
    Pass,
    /// Checked and not conformant.
    Fail,
    /// The check itself could not run (the suite's own problem).
    Error,
}

impl Status {
    /// Every status, lowest precedence first.
    pub const ALL: [Self; 6] =
        [Self::Unknown, Self::Disabled, Self::Skip, Self::Pass, Self::Fail, Self::Error];

    /// The status after `other` is reported: the higher of the two.
    #[must_use]
    pub fn set(self, other: Self) -> Self {
        self.max(other)
    }

    /// Upstream's name of the status (`FAIL` in capitals, as its reports print it).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Disabled => "Disabled",
            Self::Skip => "Skip",
            Self::Pass => "Pass",
            Self::Fail => "FAIL",
            Self::Error => "Error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a node's checks found: the status and the messages that explain it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    status: Status,
    /// Why checks failed (or errored): what was sent and what came back.
    failures: Vec<String>,
    /// Why checks were skipped or disabled.
    skips: Vec<String>,
    /// Remarks on passing checks (how they passed), shown in the HTML report only.
    notes: Vec<String>,
}

impl Verdict {
    /// A passing check.
    #[must_use]
    pub fn pass() -> Self {
        Self { status: Status::Pass, ..Self::default() }
    }

    /// A passing check with a remark on how it passed.
    #[must_use]
    pub fn pass_with_note(note: impl Into<String>) -> Self {
        Self { status: Status::Pass, notes: vec![note.into()], ..Self::default() }
    }

    /// A failed check; `message` says what was sent and what came back.
    #[must_use]
    pub fn fail(message: impl Into<String>) -> Self {
        Self { status: Status::Fail, failures: vec![message.into()], ..Self::default() }
    }

    /// A check that could not run.
    #[must_use]
    pub fn error(message: impl Into<String>) -> Self {
        Self { status: Status::Error, failures: vec![message.into()], ..Self::default() }
    }

    /// A check skipped because the registry lacks an optional feature.
    #[must_use]
    pub fn skip(reason: impl Into<String>) -> Self {
        Self { status: Status::Skip, skips: vec![reason.into()], ..Self::default() }
    }

    /// A check disabled by default upstream.
    #[must_use]
    pub fn disabled(reason: impl Into<String>) -> Self {
        Self { status: Status::Disabled, skips: vec![reason.into()], ..Self::default() }
    }

    /// `Pass` when `ok`, else a failure with `message()`.
    #[must_use]
    pub fn check(ok: bool, message: impl FnOnce() -> String) -> Self {
        if ok { Self::pass() } else { Self::fail(message()) }
    }

    /// The status so far.
    #[must_use]
    pub fn status(&self) -> Status {
        self.status
    }

    /// Whether a check failed or errored.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.status >= Status::Fail
    }

    /// Adds a child's verdict: the status moves up, the messages are kept.
    pub fn add(&mut self, child: Self) {
        self.status = self.status.set(child.status);
        self.failures.extend(child.failures);
        self.skips.extend(child.skips);
        self.notes.extend(child.notes);
    }

    /// This verdict with `child` added.
    #[must_use]
    pub fn and(mut self, child: Self) -> Self {
        self.add(child);
        self
    }

    /// This verdict, or `fallback` when no check was added to it.
    #[must_use]
    pub fn or(self, fallback: Self) -> Self {
        if self.status == Status::Unknown { fallback } else { self }
    }

    /// Adds a remark, shown with a passing outcome in the HTML report.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// The report's outcome, and for a pass the remarks for the HTML report (skipped
    /// children of a passing node included).
    #[must_use]
    pub fn outcome(&self) -> (Outcome, Option<String>) {
        match self.status {
            Status::Pass => {
                let remarks: Vec<&str> = self
                    .notes
                    .iter()
                    .map(String::as_str)
                    .chain(self.skips.iter().map(String::as_str))
                    .collect();
                (Outcome::Pass, (!remarks.is_empty()).then(|| remarks.join("\n")))
            }
            Status::Skip | Status::Disabled => (Outcome::Skip(self.skips.join("\n")), None),
            Status::Fail => (Outcome::Fail(self.failures.join("\n")), None),
            Status::Error => (Outcome::Fail(format!("error: {}", self.failures.join("\n"))), None),
            Status::Unknown => (Outcome::Fail("no check ran".to_owned()), None),
        }
    }
}

/// A failure whose message says what was sent and what came back.
impl From<String> for Verdict {
    fn from(message: String) -> Self {
        Self::fail(message)
    }
}

/// Merges `verdicts` into one node's verdict.
impl FromIterator<Verdict> for Verdict {
    fn from_iter<I: IntoIterator<Item = Verdict>>(iter: I) -> Self {
        let mut verdict = Self::default();
        for child in iter {
            verdict.add(child);
        }
        verdict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_upstreams() {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["Unknown", "Disabled", "Skip", "Pass", "FAIL", "Error"]);
        for (i, low) in Status::ALL.iter().enumerate() {
            for high in &Status::ALL[i..] {
                assert_eq!(low.set(*high), *high, "{low} then {high}");
                assert_eq!(high.set(*low), *high, "{high} then {low}: a status only moves up");
            }
        }
    }

    #[test]
    fn the_vector_lists_the_same_statuses() {
        let path = crate::workspace::root().join("conformance/vectors/conformance_tests.json");
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let values: Vec<&str> =
            json["v2"]["status_values"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let ours: Vec<&str> = Status::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(values, ours);
        assert_eq!(
            json["v2"]["status_precedence"].as_str().unwrap(),
            "Unknown < Disabled < Skip < Pass < FAIL < Error (a node's status only moves up)"
        );
    }

    #[test]
    fn a_node_passes_over_skipped_children_and_fails_with_any_failure() {
        let node: Verdict = [Verdict::skip("no tag delete"), Verdict::pass()].into_iter().collect();
        assert_eq!(node.status(), Status::Pass);
        assert_eq!(node.outcome(), (Outcome::Pass, Some("no tag delete".to_owned())));

        let node = Verdict::pass().and(Verdict::fail("sent PUT, got 500")).and(Verdict::skip("x"));
        assert!(node.failed());
        assert_eq!(node.outcome(), (Outcome::Fail("sent PUT, got 500".to_owned()), None));

        // An aggregate starts Unknown: skipped children alone leave it skipped.
        let node = Verdict::default().and(Verdict::skip("no tag delete")).and(Verdict::skip("again"));
        assert_eq!(node.outcome(), (Outcome::Skip("no tag delete\nagain".to_owned()), None));
        assert_eq!(Verdict::default().or(Verdict::skip("nothing")).status(), Status::Skip);
        assert_eq!(Verdict::pass().or(Verdict::skip("nothing")).status(), Status::Pass);
        assert_eq!(Verdict::from("sent, got".to_owned()), Verdict::fail("sent, got"));

        let node = Verdict::disabled("disabled by default, as upstream").and(Verdict::skip("no API"));
        assert_eq!(node.status(), Status::Skip);
        assert_eq!(
            node.outcome(),
            (Outcome::Skip("disabled by default, as upstream\nno API".to_owned()), None)
        );
    }

    #[test]
    fn outcomes_follow_the_junit_map() {
        // Pass -> passed; Skip, Disabled -> skipped; FAIL, Error, Unknown -> failures here.
        assert_eq!(Verdict::pass().outcome(), (Outcome::Pass, None));
        assert_eq!(
            Verdict::pass_with_note("via fallback tag").outcome().1.as_deref(),
            Some("via fallback tag")
        );
        assert_eq!(Verdict::disabled("off").outcome(), (Outcome::Skip("off".to_owned()), None));
        assert_eq!(Verdict::skip("lacks it").outcome(), (Outcome::Skip("lacks it".to_owned()), None));
        assert_eq!(Verdict::error("no data").outcome(), (Outcome::Fail("error: no data".to_owned()), None));
        assert_eq!(Verdict::default().outcome(), (Outcome::Fail("no check ran".to_owned()), None));
        let mut noted = Verdict::check(true, String::new);
        noted.note("one");
        assert_eq!(noted.outcome(), (Outcome::Pass, Some("one".to_owned())));
        assert_eq!(Verdict::check(false, || "why".to_owned()).outcome().0, Outcome::Fail("why".to_owned()));
    }
}
