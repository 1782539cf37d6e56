//! The matrix's figures: a row per fault (every operation and rate), printed as a
//! table, and written as `junit.xml` (a test case per run) and `index.html`.

use std::fmt::Write as _;
use std::path::Path;

use super::cases::{Case, Expect};
use super::ops::{Op, Outcome};
use crate::Result;

/// One run.
#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) op: Op,
    pub(super) rate: u32,
    pub(super) seed: u64,
    /// Requests a fault hit.
    pub(super) injected: usize,
    pub(super) outcome: Outcome,
}

impl Run {
    /// Whether the outcome meets the goal for a case of `expect`.
    pub(super) fn acceptable(&self, expect: Expect) -> bool {
        match &self.outcome {
            Outcome::Survived => true,
            Outcome::CleanError(_) => expect == Expect::SurviveOrFailCleanly,
            _ => false,
        }
    }
}

/// The counts of one row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub(super) runs: usize,
    pub(super) injected: usize,
    pub(super) survived: usize,
    pub(super) clean: usize,
    pub(super) wrong: usize,
    pub(super) corrupt: usize,
    pub(super) leaks: usize,
    pub(super) hangs: usize,
    pub(super) panics: usize,
}

impl Counts {
    fn add(&mut self, run: &Run) {
        self.runs += 1;
        self.injected += run.injected;
        match run.outcome {
            Outcome::Survived => self.survived += 1,
            Outcome::CleanError(_) => self.clean += 1,
            Outcome::Wrong(_) => self.wrong += 1,
            Outcome::Corrupt(_) => self.corrupt += 1,
            Outcome::Leak => self.leaks += 1,
            Outcome::Hang => self.hangs += 1,
            Outcome::Panic(_) => self.panics += 1,
        }
    }

    fn cells(&self) -> [usize; 9] {
        [
            self.runs,
            self.injected,
            self.survived,
            self.clean,
            self.wrong,
            self.corrupt,
            self.leaks,
            self.hangs,
            self.panics,
        ]
    }
}

const HEADERS: [&str; 10] =
    ["fault", "runs", "injected", "survived", "clean errors", "wrong", "corrupt", "leaks", "hangs", "panics"];

/// Every row, in the order the cases ran.
#[derive(Debug, Default)]
pub(super) struct Table {
    rows: Vec<(Case, Counts, Vec<Run>)>,
}

impl Table {
    pub(super) fn add(&mut self, case: &Case, run: Run) {
        if self.rows.last().is_none_or(|(c, _, _)| c.name != case.name) {
            self.rows.push((case.clone(), Counts::default(), Vec::new()));
        }
        if let Some((_, counts, runs)) = self.rows.last_mut() {
            counts.add(&run);
            runs.push(run);
        }
    }

    /// The sum of every row.
    pub(super) fn total(&self) -> Counts {
        let mut total = Counts::default();
        for (_, _, runs) in &self.rows {
            for run in runs {
                total.add(run);
            }
        }
        total
    }

    /// No wrong result, corruption, leak, hang or panic, and every run of a case that a
    /// correct client survives survived.
    pub(super) fn goal_met(&self) -> bool {
        self.rows.iter().all(|(case, _, runs)| runs.iter().all(|r| r.acceptable(case.expect)))
    }

    pub(super) fn print(&self) {
        let widths = [22, 5, 8, 8, 12, 5, 7, 5, 5, 6];
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (cell, width) in cells.iter().zip(widths) {
                let _ = write!(out, "{cell:>width$}  ");
            }
            println!("{}", out.trim_end());
        };
        line(&HEADERS.map(str::to_owned));
        for (case, counts, _) in &self.rows {
            let mut cells = vec![case.name.clone()];
            cells.extend(counts.cells().map(|c| c.to_string()));
            line(&cells);
        }
        let mut cells = vec!["total".to_owned()];
        cells.extend(self.total().cells().map(|c| c.to_string()));
        line(&cells);
        let verdict = if self.goal_met() { "goal met" } else { "goal MISSED" };
        println!("faults: {verdict}");
    }

    pub(super) fn write_junit(&self, path: &Path) -> Result<()> {
        let total = self.total();
        let failures =
            self.rows.iter().flat_map(|(c, _, runs)| runs.iter().filter(|r| !r.acceptable(c.expect))).count();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ =
            writeln!(xml, "<testsuites name=\"faults\" tests=\"{}\" failures=\"{failures}\">", total.runs);
        for (case, counts, runs) in &self.rows {
            let failed = runs.iter().filter(|r| !r.acceptable(case.expect)).count();
            let _ = writeln!(
                xml,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\">",
                escape(&case.name),
                counts.runs
            );
            for run in runs {
                let name = format!("{} 1-in-{} seed {}", run.op.name(), run.rate, run.seed);
                let _ = write!(
                    xml,
                    "    <testcase classname=\"faults.{}\" name=\"{}\"",
                    escape(&case.name),
                    escape(&name)
                );
                if run.acceptable(case.expect) {
                    xml.push_str("/>\n");
                } else {
                    let _ = writeln!(
                        xml,
                        "><failure message=\"{}\"/></testcase>",
                        escape(&format!("{:?}", run.outcome))
                    );
                }
            }
            xml.push_str("  </testsuite>\n");
        }
        xml.push_str("</testsuites>\n");
        std::fs::write(path, xml).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub(super) fn write_html(&self, path: &Path) -> Result<()> {
        let mut html = String::from(
            "<!doctype html>\n<meta charset=\"utf-8\">\n<title>Fault matrix</title>\n<style>\
             body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}\
             td:first-child{text-align:left}.bad{background:#fdd}</style>\n<h1>Fault matrix</h1>\n<table>\n<tr>",
        );
        for h in HEADERS {
            let _ = write!(html, "<th>{h}</th>");
        }
        html.push_str("</tr>\n");
        let row = |html: &mut String, name: &str, counts: &Counts, bad: bool| {
            let _ = write!(html, "<tr{}><td>{}</td>", if bad { " class=\"bad\"" } else { "" }, escape(name));
            for c in counts.cells() {
                let _ = write!(html, "<td>{c}</td>");
            }
            html.push_str("</tr>\n");
        };
        for (case, counts, runs) in &self.rows {
            row(&mut html, &case.name, counts, runs.iter().any(|r| !r.acceptable(case.expect)));
        }
        row(&mut html, "total", &self.total(), !self.goal_met());
        html.push_str("</table>\n<h2>Runs that missed the goal</h2>\n<ul>\n");
        for (case, _, runs) in &self.rows {
            for run in runs.iter().filter(|r| !r.acceptable(case.expect)) {
                let what =
                    format!("{} under {} (1 in {}): {:?}", run.op.name(), case.name, run.rate, run.outcome);
                let _ = writeln!(html, "<li>{}</li>", escape(&what));
            }
        }
        html.push_str("</ul>\n");
        std::fs::write(path, html).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
