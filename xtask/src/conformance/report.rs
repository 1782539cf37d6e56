//! Counting outcomes and writing `junit.xml` and `report.html`.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use super::{Case, FileResult, Outcome};
use crate::Result;

/// How many cases passed, failed, were skipped and failed as expected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases that were skipped.
    pub skipped: usize,
    /// Cases that failed as `expected-differences.json` says they must.
    pub expected: usize,
}

impl Counts {
    /// The counts of `cases`.
    #[must_use]
    pub fn of(cases: &[Case]) -> Self {
        let mut counts = Self::default();
        for case in cases {
            match case.outcome {
                Outcome::Pass => counts.passed += 1,
                Outcome::Fail(_) => counts.failed += 1,
                Outcome::Skip(_) => counts.skipped += 1,
                Outcome::ExpectedFailure(_) => counts.expected += 1,
            }
        }
        counts
    }

    /// Adds `other` to these counts.
    pub fn add(&mut self, other: Self) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.expected += other.expected;
    }

    /// The number of cases counted.
    #[must_use]
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped + self.expected
    }
}

impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)?;
        match self.expected {
            0 => Ok(()),
            1 => write!(f, ", 1 expected failure"),
            n => write!(f, ", {n} expected failures"),
        }
    }
}

/// Writes `junit.xml` and `report.html` into `dir` (created if missing) and returns
/// their paths.
pub fn write(dir: &Path, results: &[FileResult]) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let junit = dir.join("junit.xml");
    std::fs::write(&junit, junit_xml(results)).map_err(|e| format!("writing {}: {e}", junit.display()))?;
    let html_path = dir.join("report.html");
    std::fs::write(&html_path, html(results)).map_err(|e| format!("writing {}: {e}", html_path.display()))?;
    Ok((junit, html_path))
}

/// Escapes text for XML element content and attribute values (XML 1.0): markup
/// characters become entities, line breaks and tabs become character references so they
/// survive in attributes, and characters XML 1.0 cannot carry become U+FFFD.
#[must_use]
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for HTML content and quoted attribute values; control characters other
/// than line breaks and tabs become U+FFFD.
#[must_use]
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The `JUnit` XML report: one `<testsuite>` per suite and file, one `<testcase>` per case.
#[must_use]
pub fn junit_xml(results: &[FileResult]) -> String {
    let mut total = Counts::default();
    let mut body = String::new();
    for result in results {
        let counts = Counts::of(&result.cases);
        total.add(counts);
        let suite_name = format!("{}/{}", result.suite, result.file);
        let _ = writeln!(
            body,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="0" skipped="{}">"#,
            xml_escape(&suite_name),
            counts.total(),
            counts.failed,
            counts.skipped + counts.expected,
        );
        for case in &result.cases {
            let open = format!(
                r#"    <testcase classname="{}" name="{}""#,
                xml_escape(&suite_name),
                xml_escape(&case.name)
            );
            let _ = match &case.outcome {
                Outcome::Pass => writeln!(body, "{open}/>"),
                Outcome::Fail(message) => writeln!(
                    body,
                    "{open}>\n      <failure message=\"{m}\">{m}</failure>\n    </testcase>",
                    m = xml_escape(message)
                ),
                Outcome::Skip(message) => writeln!(
                    body,
                    "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(message)
                ),
                Outcome::ExpectedFailure(message) => writeln!(
                    body,
                    "{open}>\n      <skipped message=\"expected failure: {}\"/>\n    </testcase>",
                    xml_escape(message)
                ),
            };
        }
        body.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"conformance\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">\n{body}</testsuites>\n",
        total.total(),
        total.failed,
        total.skipped + total.expected
    )
}

const CSS: &str = "
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; }
tr.pass td.outcome { background: #d7f5d7; }
tr.fail td.outcome { background: #f8d0d0; }
tr.skip td.outcome { background: #f6ecc0; }
tr.xfail td.outcome { background: #f3dcc0; }
td.msg { white-space: pre-wrap; font-family: monospace; }
td.name { font-family: monospace; }
h2 { margin-top: 1.5em; }
";

/// The self-contained HTML report: a summary table, then every case of every file.
#[must_use]
pub fn html(results: &[FileResult]) -> String {
    let mut total = Counts::default();
    let mut summary = String::new();
    let mut details = String::new();
    for (index, result) in results.iter().enumerate() {
        let counts = Counts::of(&result.cases);
        total.add(counts);
        let title = html_escape(&format!("{}/{}", result.suite, result.file));
        let row_class = if counts.failed > 0 { "fail" } else { "pass" };
        let _ = writeln!(
            summary,
            "<tr class=\"{row_class}\"><td><a href=\"#f{index}\">{title}</a></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num outcome\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            counts.total(),
            counts.passed,
            counts.failed,
            counts.skipped,
            counts.expected
        );
        let _ = writeln!(
            details,
            "<h2 id=\"f{index}\">{title}</h2>\n<p>{counts}</p>\n<table>\n<tr><th>case</th><th>outcome</th><th>message</th></tr>"
        );
        for case in &result.cases {
            let (class, label, message) = match &case.outcome {
                Outcome::Pass => ("pass", "pass", result.notes.get(&case.name).map_or("", String::as_str)),
                Outcome::Fail(m) => ("fail", "FAIL", m.as_str()),
                Outcome::Skip(m) => ("skip", "skip", m.as_str()),
                Outcome::ExpectedFailure(m) => ("xfail", "expected failure", m.as_str()),
            };
            let _ = writeln!(
                details,
                "<tr class=\"{class}\"><td class=\"name\">{}</td><td class=\"outcome\">{label}</td><td class=\"msg\">{}</td></tr>",
                html_escape(&case.name),
                html_escape(message)
            );
        }
        details.push_str("</table>\n");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Conformance report</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>Conformance report</h1>\n<p>conformance: {total}</p>\n<table>\n<tr><th>suite/file</th><th>cases</th><th>passed</th><th>failed</th><th>skipped</th><th>expected failures</th></tr>\n{summary}</table>\n{details}</body>\n</html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<FileResult> {
        vec![FileResult {
            suite: "spec".into(),
            file: "digest.json".into(),
            file_name: "digest.json".into(),
            cases: vec![
                Case { name: r#"parse[0] "a<b""#.into(), outcome: Outcome::Pass },
                Case {
                    name: "parse[1] 'x'".into(),
                    outcome: Outcome::Fail("expected <error> & \"kind\"\nline 2\u{1}".into()),
                },
                Case { name: "grammar[0]".into(), outcome: Outcome::Skip("unknown group".into()) },
                Case {
                    name: "parse[2]".into(),
                    outcome: Outcome::ExpectedFailure("sha512\nexpected: we accept it".into()),
                },
            ],
            notes: [(r#"parse[0] "a<b""#.to_owned(), "via <fallback>".to_owned())].into_iter().collect(),
        }]
    }

    #[test]
    fn counts_and_display() {
        let counts = Counts::of(&sample()[0].cases);
        assert_eq!(counts, Counts { passed: 1, failed: 1, skipped: 1, expected: 1 });
        assert_eq!(counts.total(), 4);
        assert_eq!(counts.to_string(), "1 passed, 1 failed, 1 skipped, 1 expected failure");
        let mut total = counts;
        total.add(counts);
        assert_eq!(total.to_string(), "2 passed, 2 failed, 2 skipped, 2 expected failures");
        let none = Counts { passed: 3, ..Counts::default() };
        assert_eq!(none.to_string(), "3 passed, 0 failed, 0 skipped");
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(xml_escape(r#"a<b>&"c"'d'"#), "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
        assert_eq!(xml_escape("x\ny\tz\u{0}"), "x&#10;y&#9;z\u{FFFD}");
        assert_eq!(xml_escape("sha256:é"), "sha256:é");
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            html_escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn junit_has_counts_and_escaped_cases() {
        let xml = junit_xml(&sample());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        assert!(
            xml.contains(r#"<testsuites name="conformance" tests="4" failures="1" errors="0" skipped="2">"#)
        );
        assert!(xml.contains(
            r#"<testsuite name="spec/digest.json" tests="4" failures="1" errors="0" skipped="2">"#
        ));
        assert!(
            xml.contains(r#"<testcase classname="spec/digest.json" name="parse[0] &quot;a&lt;b&quot;"/>"#)
        );
        assert!(
            xml.contains(r#"<failure message="expected &lt;error&gt; &amp; &quot;kind&quot;&#10;line 2�">"#)
        );
        assert!(xml.contains(r#"<skipped message="unknown group"/>"#));
        assert!(xml.contains(r#"<skipped message="expected failure: sha512&#10;expected: we accept it"/>"#));
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("</testsuite>").count(), 1);
    }

    #[test]
    fn html_has_summary_and_every_case() {
        let html = html(&sample());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<p>conformance: 1 passed, 1 failed, 1 skipped, 1 expected failure</p>"));
        assert!(html.contains("<a href=\"#f0\">spec/digest.json</a></td><td class=\"num\">4</td>"));
        assert!(
            html.contains(
                "<td class=\"name\">parse[0] &quot;a&lt;b&quot;</td><td class=\"outcome\">pass</td>"
            )
        );
        assert!(html.contains(
            "<td class=\"msg\">expected &lt;error&gt; &amp; &quot;kind&quot;\nline 2\u{FFFD}</td>"
        ));
        assert!(html.contains("<tr class=\"skip\">"));
        assert!(html.contains("<td class=\"outcome\">expected failure</td>"));
        assert!(html.contains("<td class=\"outcome\">pass</td><td class=\"msg\">via &lt;fallback&gt;</td>"));
        assert!(!junit_xml(&sample()).contains("fallback"), "notes are for the HTML report only");
        assert!(!html.contains("<script"));
    }

    #[test]
    fn writes_both_files() {
        let dir = std::env::temp_dir().join(format!("xtask-report-{}", std::process::id()));
        let (junit, html) = write(&dir, &sample()).unwrap();
        assert_eq!(std::fs::read_to_string(junit).unwrap(), junit_xml(&sample()));
        assert!(std::fs::read_to_string(html).unwrap().contains("spec/digest.json"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
