use super::*;

fn results() -> Vec<FileResult> {
    let case = |name: &str, outcome| Case { name: name.into(), outcome };
    vec![FileResult {
        suite: "spec".into(),
        file: "digest.json".into(),
        file_name: "digest.json".into(),
        cases: vec![
            case("a", Outcome::Fail("differs: sha512".into())),
            case("b", Outcome::Pass),
            case("c", Outcome::Pass),
            case("d", Outcome::Skip("no bytes for blob 1".into())),
            case("e", Outcome::Fail("differs: other".into())),
            case("f", Outcome::Skip("no bytes for blob 2".into())),
            case("g", Outcome::Skip("unlisted".into())),
        ],
        ..FileResult::default()
    }]
}

fn entry(case: &str, outcome: Kind, expect: &str) -> Expected {
    Expected {
        file: Some("digest.json".into()),
        case: case.into(),
        outcome,
        expect: expect.into(),
        reason: "because".into(),
    }
}

#[test]
fn globs() {
    assert!(glob("abc", "abc"));
    assert!(!glob("abc", "abcd"));
    assert!(!glob("abc", "xabc"));
    assert!(glob("a*", "a"));
    assert!(glob("a*c", "abbbc"));
    assert!(glob("*", ""));
    assert!(glob("a*b*c", "a\nxbyc"));
    assert!(!glob("a*b*c", "acb"));
    assert!(!glob("ab*ba", "aba"), "the parts may not overlap");
    assert!(glob("data/*/delete/tags", "data/Image/delete/tags"));
}

#[test]
fn each_entry_pins_its_outcome() {
    let entries = [
        entry("a", Kind::Fail, "differs: sha*"),
        entry("b", Kind::Fail, "*"),
        entry("d", Kind::Skip, "no bytes for blob *"),
        entry("e", Kind::Fail, "differs: sha*"),
        entry("f", Kind::Fail, "*"),
    ];
    let mut results = results();
    let stale = apply(&entries, &mut results, |_| (true, true));
    assert!(stale.is_empty(), "{stale:?}");
    let outcomes: Vec<_> = results[0].cases.iter().map(|c| c.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::ExpectedFailure("differs: sha512\nexpected: because".into()),
            Outcome::Fail("passes, but is listed as a failure: remove the entry".into()),
            Outcome::Pass,
            Outcome::Skip("no bytes for blob 1".into()),
            Outcome::Fail(
                "fails with another message than listed:\ndiffers: other\nlisted: differs: sha*".into()
            ),
            Outcome::Fail("is skipped (no bytes for blob 2), but is listed as a failure".into()),
            Outcome::Fail(
                "skipped, and no entry of conformance/expected-differences.json expects it: unlisted".into()
            ),
        ]
    );
}

#[test]
fn an_entry_names_its_file() {
    let mut other = entry("a", Kind::Fail, "*");
    other.file = Some("other.json".into());
    let mut results = results();
    let stale = apply(&[other], &mut results, |f| (f == "other.json", true));
    assert_eq!(results[0].cases[0].outcome, Outcome::Fail("differs: sha512".into()));
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].name, r#"other.json "a""#);
    assert_eq!(stale[0].outcome, Outcome::Fail("stale entry: no case of this name".into()));
}

#[test]
fn stale_entries_fail_only_when_judgeable() {
    let entries = [entry("zz", Kind::Fail, "*"), {
        let mut e = entry("a", Kind::Fail, "*");
        e.file = Some("gone.json".into());
        e
    }];
    let stale = apply(&entries, &mut results(), |f| (f == "digest.json", true));
    assert_eq!(stale.len(), 2);
    assert_eq!(stale[0].name, r#"digest.json "zz""#);
    assert_eq!(stale[0].outcome, Outcome::Fail("stale entry: no case of this name".into()));
    assert_eq!(stale[1].outcome, Outcome::Fail("stale entry: no vector file named gone.json".into()));
    // When a suite that could produce the case did not run, nothing can be said.
    assert_eq!(apply(&entries, &mut results(), |f| (f == "digest.json", false)).len(), 1);
}

#[test]
fn unknown_fields_and_baselines() {
    let err = ExpectedDifferences::parse(r#"{"differences": [], "extra": 1}"#).unwrap_err();
    assert!(err.starts_with("invalid expected-differences list: unknown field `extra`"), "{err}");
    let list = ExpectedDifferences::parse(
        r#"{"targets": {"reg 1": {"expected": [
            {"case": "x", "outcome": "skip", "expect": "*", "reason": "r"}]}}}"#,
    )
    .unwrap();
    assert_eq!(list.baseline("reg 1").unwrap().expected.len(), 1);
    assert_eq!(
        list.baseline("reg 2").unwrap_err(),
        r#"conformance/expected-differences.json has no baseline for target "reg 2" (known: reg 1)"#
    );
}

#[test]
fn the_committed_list_parses() {
    let path = crate::workspace::root().join("conformance/expected-differences.json");
    let list = ExpectedDifferences::load(&path).unwrap();
    assert!(list.differences.iter().all(|e| e.file.is_some()), "vector entries name their file");
    for (name, baseline) in &list.targets {
        assert!(baseline.expected.iter().all(|e| e.file.is_none()), "{name}: registry entries name no file");
    }
}
