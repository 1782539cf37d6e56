//! `cargo xtask conformance`: runs the conformance vectors through our crates.
//!
//! ```text
//! cargo xtask conformance [SUITE...] [--vectors DIR] [--registry URL] [--report DIR] [-v]
//! ```
//!
//! A *vector file* is any `*.json` in `<workspace>/conformance/vectors/` or in a
//! `--vectors DIR`. A *suite* ([`Suite`]) recognizes vector files by their structure
//! ([`Suite::detect`]), never by name, so a new file of a known format needs no code, and
//! turns each recognized file into [`Case`]s ([`Suite::run`]). Every file is offered to
//! every selected suite.
//!
//! Every vector case that does not pass must be listed in
//! `<workspace>/conformance/expected-differences.json` (see [`expected`]) with the
//! message it gives: a listed failure is an expected failure, a listed skip a skip, and
//! anything else (an unlisted skip, a listed case that passes or gives another message,
//! an entry that names no case) a failure, so the list stays honest.
//!
//! The `registry` suite has no vector format: it runs the distribution-spec conformance
//! workflows of `conformance_tests.json` through our client against the registry of
//! `--registry URL` (see [`registry`]), one report group per subtree of its tree.
//! Its skips say what the registry lacks; with `--baseline NAME` they, and the
//! registry's known failures, are judged by the baseline of target `NAME` in the same
//! file, as `cargo xtask test` does for the registries it starts. Without `--registry`
//! the target is the workspace's own registry ([`embedded`]: `oci-registry` on a
//! temporary directory, loopback, a random port), judged by its baseline `embedded`.
//!
//! The run prints one line per suite and file, the failing and expectedly failing cases,
//! writes `junit.xml` and `report.html` (see [`report`]), and ends with
//! `conformance: N passed, M failed, K skipped` (then `, E expected failures` when
//! there are any).

pub mod auth;
mod case;
pub mod distribution;
pub mod embedded;
pub mod expected;
pub mod layout;
pub mod reference;
pub mod registry;
pub mod report;
pub mod spec;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{Result, workspace};
use report::Counts;

pub use case::{Case, CaseNames, Outcome};

/// A conformance suite: a vector format and the checks run on it.
#[derive(Debug, Clone, Copy)]
pub struct Suite {
    /// The name used on the command line and in reports.
    pub name: &'static str,
    /// Whether a vector file (parsed JSON) has this suite's format.
    pub detect: fn(&Value) -> bool,
    /// Checks every case of a recognized vector file.
    pub run: fn(&Value) -> Vec<Case>,
}

/// The vector suites, in the order they run by default.
pub const SUITES: &[Suite] = &[
    Suite { name: "spec", detect: spec::detect, run: spec::run },
    Suite { name: "reference", detect: reference::detect, run: reference::run },
    Suite { name: "distribution", detect: distribution::detect, run: distribution::run },
    Suite { name: "auth", detect: auth::detect, run: auth::run },
    Suite { name: "layout", detect: layout::detect, run: layout::run },
];

/// The suite that talks to a live registry; it has no vector format.
const REGISTRY_SUITE: &str = "registry";

/// The cases of one vector file as checked by one suite (for the registry suite: of one
/// subtree of its tree).
#[derive(Debug, Clone, Default)]
pub struct FileResult {
    /// The suite's name.
    pub suite: String,
    /// The file as shown in reports (its name, or its path if two files share a name).
    pub file: String,
    /// The file name, which `expected-differences.json` entries refer to.
    pub file_name: String,
    /// The checked cases.
    pub cases: Vec<Case>,
    /// Remarks on passing cases (case name to remark), shown in `report.html` only: how
    /// a case passed, e.g. through the client's fallback when a registry lacks an API.
    pub notes: BTreeMap<String, String>,
}

/// The command-line options of `cargo xtask conformance`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Suites to run; empty means every suite (the registry suite targets the embedded
    /// registry unless `--registry` names another).
    pub suites: Vec<String>,
    /// Extra vector directories (`--vectors DIR`, repeatable).
    pub vectors: Vec<PathBuf>,
    /// The registry under test (`--registry URL`), for the registry suite.
    pub registry: Option<String>,
    /// The user the registry suite logs in as (`--username`, else `OCI_USERNAME`).
    pub username: Option<String>,
    /// That user's password (`--password`, else `OCI_PASSWORD`).
    pub password: Option<String>,
    /// CA certificates (PEM) the registry suite trusts (`--ca-file`, else
    /// `OCI_TEST_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// The target whose baseline judges the registry suite's skips and failures
    /// (`--baseline NAME`).
    pub baseline: Option<String>,
    /// How the embedded registry is reached when there is no `--registry`
    /// (`--embedded plain|basic|token|tls`, default plain).
    pub embedded: Option<embedded::Mode>,
    /// Where `junit.xml` and `report.html` go (`--report DIR`); default
    /// `<workspace>/target/conformance`.
    pub report_dir: Option<PathBuf>,
    /// Also list vector files no selected suite recognizes (`-v`).
    pub verbose: bool,
}

const USAGE: &str = "\
usage: cargo xtask conformance [SUITE...] [--vectors DIR] [--registry URL [--username U --password P]
                               [--ca-file PATH] [--baseline NAME]] [--report DIR] [-v]

  SUITE            one of the known suites (default: all of them)
  --vectors DIR    also run every *.json in DIR (repeatable)
  --registry URL   the registry the `registry` suite talks to: http://host:port is plain HTTP,
                   https://host:port (or host:port) TLS (default: the embedded registry,
                   started for the run and judged by its baseline `embedded`)
  --username U     log in to the registry as U (default: $OCI_USERNAME)
  --password P     the password of U (default: $OCI_PASSWORD)
  --ca-file PATH   trust the CA certificates of PATH (PEM) too (default: $OCI_TEST_CA_FILE)
  --embedded MODE  without --registry, reach the embedded registry as MODE: plain (the
                   default), basic (Basic auth), token (bearer tokens) or tls
  --baseline NAME  judge the registry's skips and failures by the baseline of target NAME in
                   conformance/expected-differences.json (any other skip or failure fails)
  --report DIR     where junit.xml and report.html go (default: target/conformance)
  -v, --verbose    list vector files that no selected suite recognizes";

impl Options {
    /// Parses the arguments after `conformance`; `Ok(None)` means help was asked for.
    pub fn parse(args: &[String]) -> Result<Option<Self>> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value =
                |flag: &str| args.next().cloned().ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"));
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "-v" | "--verbose" => options.verbose = true,
                "--vectors" => options.vectors.push(value("--vectors")?.into()),
                "--registry" => options.registry = Some(value("--registry")?),
                "--username" => options.username = Some(value("--username")?),
                "--password" => options.password = Some(value("--password")?),
                "--ca-file" => options.ca_file = Some(value("--ca-file")?.into()),
                "--baseline" => options.baseline = Some(value("--baseline")?),
                "--embedded" => {
                    let mode = value("--embedded")?;
                    let found = embedded::Mode::ALL
                        .iter()
                        .find(|(name, _)| name.strip_prefix("embedded-") == Some(mode.as_str()));
                    let Some((_, mode)) = found else {
                        return Err(format!(
                            "--embedded {mode}: expected plain, basic, token or tls\n\n{USAGE}"
                        ));
                    };
                    options.embedded = Some(*mode);
                }
                "--report" => options.report_dir = Some(value("--report")?.into()),
                flag if flag.starts_with('-') => {
                    return Err(format!("unknown option `{flag}`\n\n{USAGE}"));
                }
                suite => {
                    if !known_suites().contains(&suite) {
                        return Err(format!(
                            "unknown suite `{suite}`; known suites: {}",
                            known_suites().join(", ")
                        ));
                    }
                    if !options.suites.iter().any(|s| s == suite) {
                        options.suites.push(suite.to_owned());
                    }
                }
            }
        }
        Ok(Some(options))
    }
}

/// Every suite name the command line accepts.
#[must_use]
pub fn known_suites() -> Vec<&'static str> {
    SUITES.iter().map(|s| s.name).chain([REGISTRY_SUITE]).collect()
}

/// Entry point of `cargo xtask conformance`; `Ok(false)` when a case failed.
pub fn main(args: &[String]) -> Result<bool> {
    let Some(options) = Options::parse(args)? else {
        println!("{USAGE}\n\nknown suites: {}", known_suites().join(", "));
        return Ok(true);
    };
    Ok(run(&options)?.failed == 0)
}

/// A vector file found on disk and parsed.
struct VectorFile {
    path: PathBuf,
    display: String,
    file_name: String,
    json: Value,
}

/// Runs the selected suites (the registry suite against `options.registry`), prints the
/// results, writes the reports and returns the totals. The last line printed is
/// `conformance: N passed, M failed, K skipped`.
pub fn run(options: &Options) -> Result<Counts> {
    let selected: Vec<&Suite> = if options.suites.is_empty() {
        SUITES.iter().collect()
    } else {
        SUITES.iter().filter(|s| options.suites.iter().any(|name| name == s.name)).collect()
    };
    let mut dirs = vec![workspace::root().join("conformance").join("vectors")];
    dirs.extend(options.vectors.iter().cloned());
    let files = load_vector_files(&dirs)?;

    let mut results = Vec::new();
    for suite in &selected {
        for file in files.iter().filter(|f| (suite.detect)(&f.json)) {
            let cases = (suite.run)(&file.json);
            results.push(FileResult {
                suite: suite.name.to_owned(),
                file: file.display.clone(),
                file_name: file.file_name.clone(),
                cases,
                notes: BTreeMap::new(),
            });
        }
    }
    if options.verbose {
        for file in files.iter().filter(|f| !selected.iter().any(|s| (s.detect)(&f.json))) {
            println!("not run by the selected suites: {}", file.path.display());
        }
    }
    let integrity = integrity_cases(&files, &results);
    if !integrity.is_empty() {
        results.push(FileResult {
            suite: "vectors".to_owned(),
            file: "integrity".to_owned(),
            file_name: "integrity".to_owned(),
            cases: integrity,
            notes: BTreeMap::new(),
        });
    }

    // An expected difference is stale only if every suite that could produce its case ran.
    let fully_covered = |file_name: &str| {
        let matching: Vec<&VectorFile> = files.iter().filter(|f| f.file_name == file_name).collect();
        let covered = matching.iter().all(|f| {
            SUITES.iter().filter(|s| (s.detect)(&f.json)).all(|s| selected.iter().any(|x| x.name == s.name))
        });
        (!matching.is_empty(), covered)
    };
    let differences = load_expected_differences()?;
    let stale = expected::apply(&differences.differences, &mut results, fully_covered);
    results.extend(stale_result(stale, "expected-differences.json"));
    // After the expected differences: the registry suite's verdicts are the registry's,
    // not differences from upstream's vectors.
    let registry_selected = options.suites.is_empty() || options.suites.iter().any(|s| s == REGISTRY_SUITE);
    if registry_selected {
        // Without --registry, the embedded registry is the target, judged by its own
        // baseline.
        let embedded = if options.registry.is_none() {
            Some(embedded::Embedded::start(options.embedded.unwrap_or(embedded::Mode::Plain))?)
        } else {
            None
        };
        let target = match (&embedded, &options.registry) {
            (Some(embedded), _) => embedded.target().clone(),
            (None, url) => registry::Target::with_env_defaults(
                url.as_deref().unwrap_or_default(),
                options.username.clone(),
                options.password.clone(),
                options.ca_file.clone(),
            ),
        };
        let mut registry_results = registry::run(&target)?;
        let baseline = options.baseline.as_deref().or(embedded.as_ref().map(|_| embedded::BASELINE));
        if let Some(name) = baseline {
            apply_baseline(&differences, name, &mut registry_results)?;
        }
        results.extend(registry_results);
    }

    let total = print_results(&results);

    let report_dir =
        options.report_dir.clone().unwrap_or_else(|| workspace::target_dir().join("conformance"));
    let (junit, html) = report::write(&report_dir, &results)?;
    println!("reports: {}, {}", junit.display(), html.display());
    println!("conformance: {total}");
    Ok(total)
}

/// Judges the registry suite's `results` by the baseline of target `name` in
/// `differences`: listed skips and failures with their messages stand (failures as
/// expected failures), anything else not a pass fails, and so does an entry that names
/// no case.
pub fn apply_baseline(
    differences: &expected::ExpectedDifferences,
    name: &str,
    results: &mut Vec<FileResult>,
) -> Result<()> {
    let baseline = differences.baseline(name)?;
    let stale = expected::apply(&baseline.expected, results, |_| (true, true));
    results.extend(stale_result(stale, &format!("baseline {name}")));
    Ok(())
}

/// The workspace's `conformance/expected-differences.json`.
pub fn load_expected_differences() -> Result<expected::ExpectedDifferences> {
    expected::ExpectedDifferences::load(
        &workspace::root().join("conformance").join("expected-differences.json"),
    )
}

/// The stale entries of a list, as one result (none when there are none).
#[must_use]
pub fn stale_result(stale: Vec<Case>, list: &str) -> Option<FileResult> {
    (!stale.is_empty()).then(|| FileResult {
        suite: "expected-differences".to_owned(),
        file: list.to_owned(),
        file_name: list.to_owned(),
        cases: stale,
        notes: BTreeMap::new(),
    })
}

/// The failures of the vector files themselves: a file no suite runs (a format nobody
/// reads, or one malformed beyond recognition), and a file whose `count` (or `counts`)
/// is not the number of cases its suites checked (cases lost on the way).
fn integrity_cases(files: &[VectorFile], results: &[FileResult]) -> Vec<Case> {
    let mut out = Vec::new();
    for file in files {
        let name = format!("{} integrity", file.display);
        if registry::detect(&file.json) {
            continue; // the registry suite's workflows, run against a registry
        }
        if !SUITES.iter().any(|s| (s.detect)(&file.json)) {
            let why = "no suite runs this file: its format is unknown, or malformed beyond recognition";
            out.push(Case { name, outcome: Outcome::Fail(why.to_owned()) });
            continue;
        }
        let ran: Vec<&FileResult> =
            results.iter().filter(|r| r.file == file.display && r.suite != "expected-differences").collect();
        if ran.is_empty() {
            continue; // its suite was not selected
        }
        let checked: usize = ran.iter().map(|r| r.cases.len()).sum();
        if let Some(declared) = declared_count(&file.json) {
            if declared != checked {
                let why = format!("the file declares {declared} cases, {checked} were checked");
                out.push(Case { name, outcome: Outcome::Fail(why) });
            }
        }
    }
    out
}

/// The number of cases a vector file declares: its `count`, or the sum of its `counts`
/// (not counting fixtures, whose `config_files` entry is not cases).
fn declared_count(json: &Value) -> Option<usize> {
    if let Some(n) = json.get("count").and_then(Value::as_u64) {
        return usize::try_from(n).ok();
    }
    let counts = json.get("counts").and_then(Value::as_object)?;
    let sum: u64 =
        counts.iter().filter(|(k, _)| !k.ends_with("_files")).filter_map(|(_, v)| v.as_u64()).sum();
    usize::try_from(sum).ok()
}

/// Prints one line of counts per suite and file, and under it each failing (or
/// expectedly failing) case with its message; returns the totals.
#[must_use = "the totals say whether a case failed"]
pub fn print_results(results: &[FileResult]) -> Counts {
    let mut total = Counts::default();
    for result in results {
        let counts = Counts::of(&result.cases);
        total.add(counts);
        println!("{}/{}: {counts}", result.suite, result.file);
        for case in &result.cases {
            let (label, message) = match &case.outcome {
                Outcome::Fail(message) => ("", message),
                Outcome::ExpectedFailure(message) => ("expected failure: ", message),
                Outcome::Pass | Outcome::Skip(_) => continue,
            };
            println!("    {label}{}", case.name);
            for line in message.lines() {
                println!("        {line}");
            }
        }
    }
    total
}

/// Reads every `*.json` of `dirs` (sorted by name within a directory), skipping paths
/// seen before; names shared by two different files are shown as paths.
fn load_vector_files(dirs: &[PathBuf]) -> Result<Vec<VectorFile>> {
    let mut files: Vec<VectorFile> = Vec::new();
    let mut seen = BTreeSet::new();
    for dir in dirs {
        for path in json_files(dir)? {
            let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen.insert(canonical) {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("reading vector file {}: {e}", path.display()))?;
            let json = serde_json::from_str(&text)
                .map_err(|e| format!("parsing vector file {}: {e}", path.display()))?;
            let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let display = if files.iter().any(|f| f.file_name == file_name) {
                path.display().to_string()
            } else {
                file_name.clone()
            };
            files.push(VectorFile { path, display, file_name, json });
        }
    }
    Ok(files)
}

/// The `*.json` files directly inside `dir`, sorted; a missing default directory is empty.
fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.ends_with("conformance/vectors") => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(format!("reading vector directory {}: {e}", dir.display())),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("reading vector directory {}: {e}", dir.display()))?.path();
        if path.is_file() && path.extension().is_some_and(|ext| ext == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_options() {
        let options = Options::parse(&args(&[
            "spec",
            "--vectors",
            "/tmp/v",
            "--registry",
            "http://127.0.0.1:5000",
            "--username",
            "u",
            "--password",
            "p",
            "--ca-file",
            "/tmp/ca.pem",
            "--baseline",
            "reg 1",
            "--report",
            "out",
            "-v",
            "spec",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(options.suites, ["spec"]);
        assert_eq!(options.vectors, [PathBuf::from("/tmp/v")]);
        assert_eq!(options.registry.as_deref(), Some("http://127.0.0.1:5000"));
        assert_eq!((options.username.as_deref(), options.password.as_deref()), (Some("u"), Some("p")));
        assert_eq!(options.ca_file, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(options.baseline.as_deref(), Some("reg 1"));
        assert_eq!(options.report_dir, Some(PathBuf::from("out")));
        assert!(options.verbose);
        assert!(Options::parse(&args(&["--help"])).unwrap().is_none());
    }

    #[test]
    fn unknown_suite_lists_known_ones() {
        let err = Options::parse(&args(&["nope"])).unwrap_err();
        assert_eq!(err, format!("unknown suite `nope`; known suites: {}", known_suites().join(", ")));
        assert!(err.contains("spec") && err.contains("registry"), "{err}");
        assert!(Options::parse(&args(&["--vectors"])).unwrap_err().starts_with("--vectors needs a value"));
        assert!(Options::parse(&args(&["--bogus"])).unwrap_err().starts_with("unknown option `--bogus`"));
    }

    fn vector(display: &str, json: Value) -> VectorFile {
        VectorFile {
            path: PathBuf::from(display),
            display: display.to_owned(),
            file_name: display.to_owned(),
            json,
        }
    }

    fn ran(file: &str, cases: usize) -> FileResult {
        let cases = (0..cases).map(|i| Case { name: format!("c{i}"), outcome: Outcome::Pass }).collect();
        FileResult {
            suite: "spec".into(),
            file: file.into(),
            file_name: file.into(),
            cases,
            ..FileResult::default()
        }
    }

    #[test]
    fn vector_files_nobody_runs_and_lost_cases_fail() {
        let digest_case = serde_json::json!({"group": "parse", "input": "sha256:x", "error": "x"});
        let files = [
            vector("unknown.json", serde_json::json!({"cases": [{"x": 1}]})),
            vector(
                "short.json",
                serde_json::json!({"count": 3, "cases": [digest_case.clone(), digest_case]}),
            ),
            vector("fine.json", serde_json::json!({"count": 1, "cases": [{"group": "parse"}]})),
            vector("upstream.json", serde_json::json!({"v2": {"data_sets": []}})),
        ];
        let cases = integrity_cases(&files, &[ran("short.json", 2), ran("fine.json", 1)]);
        let got: Vec<(&str, &Outcome)> = cases.iter().map(|c| (c.name.as_str(), &c.outcome)).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "unknown.json integrity");
        assert_eq!(
            got[1],
            ("short.json integrity", &Outcome::Fail("the file declares 3 cases, 2 were checked".into()))
        );
        let counts = serde_json::json!({"counts": {"challenge": 2, "scope": 3, "config_files": 9}});
        assert_eq!(declared_count(&counts), Some(5));
    }
}
