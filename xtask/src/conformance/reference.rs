//! The `reference` suite: distribution/reference and oras-go vectors through
//! `oci-reference`.
//!
//! Four formats, recognized by their cases (never by file name): cases with a `regexp`
//! (the grammar's productions), and cases with a `func` naming a distribution/reference
//! function (`Parse`, `WithName`, `ParseNormalizedNamed`, `FamiliarMatch`, ...) or an
//! oras-go one (`ParseReference`, `Reference.Validate`, ...). Each case is named
//! `<func or regexp>[<index in the file>] <quoted input>`, e.g.
//! `Parse[14] "validname@sha512:ff…"`.
//!
//! `error` holds upstream's Go error variable, mapped to an [`ErrorKind`]; `expect` and
//! `derived` fields are both checked (the vector files say `derived` values are what a
//! faithful port computes).

use oci_reference::{
    AnyReference, Error, ErrorKind, Reference, StrictParts, UnnormalizedReference, endpoint_host, grammar,
};
use oci_spec_types::Digest;
use serde_json::Value;

use super::{Case, Outcome};

/// The distribution/reference and oras-go functions the vectors exercise.
const FUNCS: &[&str] = &[
    "Parse",
    "WithName",
    "WithTag",
    "WithDigest",
    "ParseNamed",
    "Field.UnmarshalText(Parse)",
    "ParseNormalizedNamed",
    "ParseAnyReference",
    "ParseDockerRef",
    "FamiliarMatch",
    "ParseReference",
    "Reference.Validate",
    "Reference.Host",
    "Reference.ReferenceOrDefault",
    "Reference.String",
];

/// The regular expressions of distribution/reference the vectors exercise.
const REGEXPS: &[&str] =
    &["anchored(domainAndPort)", "anchoredNameRegexp", "referenceRegexp", "anchoredIdentifierRegexp"];

type Check = Result<(), String>;

fn text<'a>(case: &'a Value, key: &str) -> Option<&'a str> {
    case.get(key).and_then(Value::as_str)
}

fn required<'a>(case: &'a Value, key: &str) -> Result<&'a str, String> {
    text(case, key).ok_or_else(|| format!("malformed case: no string `{key}`"))
}

/// Whether this vector file's format belongs to the reference suite (detect by JSON
/// structure, not file name).
#[must_use]
pub fn detect(json: &Value) -> bool {
    let Some(cases) = json.get("cases").and_then(Value::as_array) else {
        return false;
    };
    let known = |case: &Value| {
        text(case, "regexp").is_some_and(|r| REGEXPS.contains(&r))
            || text(case, "func").is_some_and(|f| FUNCS.contains(&f))
    };
    cases.iter().any(known)
}

/// Runs every case of the file; case names unique and stable within a file.
#[must_use]
pub fn run(json: &Value) -> Vec<Case> {
    let cases = json.get("cases").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    cases
        .iter()
        .enumerate()
        .map(|(index, case)| Case { name: case_name(index, case), outcome: outcome(case) })
        .collect()
}

fn case_name(index: usize, case: &Value) -> String {
    let kind = text(case, "regexp").or_else(|| text(case, "func")).unwrap_or("?");
    let label = match (text(case, "input"), text(case, "reference"), text(case, "name")) {
        (Some(input), _, _) => input.to_owned(),
        (None, Some(reference), _) => format!("{reference} ~ {}", text(case, "pattern").unwrap_or("")),
        (None, None, Some(name)) => name.to_owned(),
        (None, None, None) => text(case, "name_input").unwrap_or("").to_owned(),
    };
    let label = if label.chars().count() > 48 {
        format!("{}…", label.chars().take(47).collect::<String>())
    } else {
        label
    };
    format!("{kind}[{index}] {label:?}")
}

fn outcome(case: &Value) -> Outcome {
    let result = match (text(case, "regexp"), text(case, "func")) {
        (Some(regexp), _) => regexp_case(regexp, case),
        (None, Some(func)) => func_case(func, case),
        (None, None) => Err("malformed case: neither `regexp` nor `func`".to_owned()),
    };
    match result {
        Ok(()) => Outcome::Pass,
        Err(message) => Outcome::Fail(message),
    }
}

fn func_case(func: &str, case: &Value) -> Check {
    match func {
        "Parse" | "Field.UnmarshalText(Parse)" => {
            expect_reference(case, UnnormalizedReference::parse(required(case, "input")?))
        }
        "WithName" => expect_reference(case, UnnormalizedReference::parse_name(required(case, "input")?)),
        "ParseNamed" => expect_reference(case, Reference::parse_fully_qualified(required(case, "input")?)),
        "ParseNormalizedNamed" => expect_reference(case, Reference::parse(required(case, "input")?)),
        "ParseDockerRef" => expect_reference(case, Reference::parse_docker_ref(required(case, "input")?)),
        "WithTag" | "WithDigest" => match (text(case, "name"), text(case, "name_input")) {
            (Some(name), _) => expect_reference(case, with_on_name(func, case, name)?),
            (None, Some(name)) => expect_reference(case, with_on_normalized(func, case, name)?),
            (None, None) => Err("malformed case: no `name` or `name_input`".to_owned()),
        },
        "ParseAnyReference" => {
            let parsed = Reference::parse_any(required(case, "input")?);
            expect_outcome(case, parsed, |any| check_fields(case, |key| any_field(any, key)))
        }
        "FamiliarMatch" => {
            let any = Reference::parse_any(required(case, "reference")?)
                .map_err(|e| format!("the reference does not parse: {e}"))?;
            let matched = any.familiar_match(required(case, "pattern")?);
            expect_outcome(case, matched, |&matched| {
                check_fields(case, |key| (key == "matched").then_some(Field::Bool(matched)))
            })
        }
        "ParseReference" => {
            let parsed = Reference::parse_strict(required(case, "input")?);
            expect_outcome(case, parsed, |r| check_fields(case, |key| strict_field(&r.strict_parts(), key)))
        }
        "Reference.Validate" => expect_outcome(case, oras_parts(case)?.validate(), |()| Ok(())),
        "Reference.Host" => {
            same("host", Some(endpoint_host(required(case, "registry")?)), text(case, "expect"))
        }
        "Reference.ReferenceOrDefault" => {
            same("reference or default", Some(oras_parts(case)?.reference_or_default()), text(case, "expect"))
        }
        "Reference.String" => same("string", Some(&oras_parts(case)?.to_string()), text(case, "expect")),
        other => Err(format!("malformed case: unknown func `{other}`")),
    }
}

/// `WithTag`/`WithDigest` on `WithName(name)` (`reference_parse.json`), the other part
/// first: the grammar-only builders of [`UnnormalizedReference`], as upstream's.
fn with_on_name(
    func: &str,
    case: &Value,
    name: &str,
) -> Result<Result<UnnormalizedReference, Error>, String> {
    let base =
        UnnormalizedReference::parse_name(name).map_err(|e| format!("the name does not parse: {e}"))?;
    let (tag, digest) = (text(case, "tag"), text(case, "digest"));
    Ok(if func == "WithTag" {
        let base = match digest {
            Some(d) => base.with_digest(d).map_err(|e| format!("the digest is refused: {e}"))?,
            None => base,
        };
        base.with_tag(tag.ok_or("malformed case: no `tag`")?)
    } else {
        let base = match tag {
            Some(t) => base.with_tag(t).map_err(|e| format!("the tag is refused: {e}"))?,
            None => base,
        };
        base.with_digest(digest.ok_or("malformed case: no `digest`")?)
    })
}

/// `WithTag`/`WithDigest` on `ParseNormalizedNamed(name_input)`
/// (`reference_normalize.json`): a [`Reference`] takes a typed digest, parsed the way
/// references parse digests.
fn with_on_normalized(func: &str, case: &Value, name: &str) -> Result<Result<Reference, Error>, String> {
    let base = Reference::parse(name).map_err(|e| format!("the name does not parse: {e}"))?;
    if func == "WithTag" {
        return Ok(base.with_tag(text(case, "tag").ok_or("malformed case: no `tag`")?));
    }
    let digest = text(case, "digest").ok_or("malformed case: no `digest`")?;
    Ok(oci_reference::parse_digest(digest).and_then(|d| base.with_digest(&d)))
}

fn oras_parts(case: &Value) -> Result<StrictParts<'_>, String> {
    let fields = case.get("reference").ok_or("malformed case: no `reference`")?;
    let field =
        |key| fields.get(key).and_then(Value::as_str).ok_or(format!("malformed case: no `reference.{key}`"));
    Ok(StrictParts::new(field("Registry")?, field("Repository")?, field("Reference")?))
}

fn regexp_case(regexp: &str, case: &Value) -> Check {
    let input = required(case, "input")?;
    let want_match =
        case.get("match").and_then(Value::as_bool).ok_or("malformed case: no boolean `match`")?;
    let (matched, subs): (bool, Vec<(&str, &str)>) = match regexp {
        "anchored(domainAndPort)" => {
            (grammar::domain_and_port(input).is_ok_and(|(_, rest)| rest.is_empty()), vec![])
        }
        "anchoredIdentifierRegexp" => {
            (grammar::identifier(input).is_ok_and(|(_, rest)| rest.is_empty()), vec![])
        }
        "anchoredNameRegexp" => match grammar::name(input) {
            Ok(n) => (true, vec![("domain", n.domain.unwrap_or("")), ("remote_name", n.path)]),
            Err(_) => (false, vec![]),
        },
        "referenceRegexp" => match grammar::reference(input) {
            Ok(c) => (
                true,
                vec![("name", c.name), ("tag", c.tag.unwrap_or("")), ("digest", c.digest.unwrap_or(""))],
            ),
            Err(_) => (false, vec![]),
        },
        other => return Err(format!("malformed case: unknown regexp `{other}`")),
    };
    if matched != want_match {
        return Err(format!("matched: {matched}, expected {want_match}"));
    }
    let Some(want_subs) = case.get("subs").and_then(Value::as_object) else {
        return Ok(());
    };
    for (key, want) in want_subs {
        let got = subs.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        if got.is_none() {
            return Err(format!("malformed case: unknown submatch `{key}`"));
        }
        same(key, got, want.as_str())?;
    }
    Ok(())
}

/// An expected value of one key of `expect`/`derived`.
enum Field<'a> {
    Str(Option<&'a str>),
    Bool(bool),
}

fn same(what: &str, got: Option<&str>, want: Option<&str>) -> Check {
    if got == want { Ok(()) } else { Err(format!("{what}: got {got:?}, expected {want:?}")) }
}

/// Checks every key of the case's `expect` and `derived` objects against `field`.
fn check_fields<'a>(case: &Value, field: impl Fn(&str) -> Option<Field<'a>>) -> Check {
    for section in ["expect", "derived"] {
        let Some(expected) = case.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (key, want) in expected {
            match (field(key), want) {
                (Some(Field::Str(got)), Value::String(want)) => same(key, got, Some(want))?,
                (Some(Field::Str(got)), Value::Null) => same(key, got, None)?,
                (Some(Field::Bool(got)), Value::Bool(want)) => {
                    if got != *want {
                        return Err(format!("{key}: got {got}, expected {want}"));
                    }
                }
                (None, _) => return Err(format!("malformed case: unknown {section} field `{key}`")),
                (Some(_), other) => return Err(format!("malformed case: {section}.{key} is {other}")),
            }
        }
    }
    Ok(())
}

/// The parts of a parsed reference the vectors look at, from either reference type.
#[derive(Debug)]
struct View<'a> {
    string: &'a str,
    name: &'a str,
    /// Go's `Domain()`: `""` without one.
    domain: &'a str,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    familiar_name: &'a str,
    familiar_string: &'a str,
}

impl<'a> From<&'a Reference> for View<'a> {
    fn from(r: &'a Reference) -> Self {
        View {
            string: r.as_str(),
            name: r.name(),
            domain: r.domain(),
            path: r.path(),
            tag: r.tag(),
            digest: r.digest().map(Digest::as_str),
            familiar_name: r.familiar_name(),
            familiar_string: r.familiar_string(),
        }
    }
}

impl<'a> From<&'a UnnormalizedReference> for View<'a> {
    fn from(r: &'a UnnormalizedReference) -> Self {
        View {
            string: r.as_str(),
            name: r.name(),
            domain: r.domain().unwrap_or(""),
            path: r.path(),
            tag: r.tag(),
            digest: r.digest(),
            familiar_name: r.familiar_name(),
            familiar_string: r.familiar_string(),
        }
    }
}

/// The Go type of a reference, by which parts it has.
fn go_kind(r: &View<'_>) -> &'static str {
    match (r.tag.is_some(), r.digest.is_some()) {
        (false, false) => "repository",
        (true, false) => "tagged",
        (false, true) => "canonical",
        (true, true) => "reference",
    }
}

fn reference_field<'a>(r: &View<'a>, key: &str) -> Option<Field<'a>> {
    Some(match key {
        "string" | "roundtrip_string" => Field::Str(Some(r.string)),
        "name" => Field::Str(Some(r.name)),
        "domain" => Field::Str(Some(r.domain)),
        "path" => Field::Str(Some(r.path)),
        "tag" => Field::Str(r.tag),
        "digest" => Field::Str(r.digest),
        "familiar_name" => Field::Str(Some(r.familiar_name)),
        "familiar_string" => Field::Str(Some(r.familiar_string)),
        "kind" => Field::Str(Some(go_kind(r))),
        "is_tagged" => Field::Bool(r.tag.is_some()),
        "is_canonical" => Field::Bool(r.digest.is_some()),
        _ => return None,
    })
}

fn any_field<'a>(any: &'a AnyReference, key: &str) -> Option<Field<'a>> {
    match (any, key) {
        (AnyReference::Named(r), _) => reference_field(&View::from(r), key),
        (AnyReference::Digest(d), "string" | "familiar_string") => Some(Field::Str(Some(d.as_str()))),
        (AnyReference::Digest(_), "kind") => Some(Field::Str(Some("digest"))),
        (AnyReference::Digest(_), _) => None,
    }
}

fn strict_field<'a>(parts: &StrictParts<'a>, key: &str) -> Option<Field<'a>> {
    Some(Field::Str(Some(match key {
        "Registry" => parts.registry,
        "Repository" => parts.repository,
        "Reference" => parts.reference,
        _ => return None,
    })))
}

fn expect_reference<T>(case: &Value, parsed: Result<T, Error>) -> Check
where
    T: std::fmt::Debug,
    for<'a> &'a T: Into<View<'a>>,
{
    expect_outcome(case, parsed, |r| {
        let view = r.into();
        check_fields(case, |key| reference_field(&view, key))
    })
}

/// The error kind for upstream's error name.
fn kind_for(go_name: &str) -> Result<ErrorKind, String> {
    Ok(match go_name {
        "ErrReferenceInvalidFormat" => ErrorKind::InvalidReferenceFormat,
        "ErrTagInvalidFormat" => ErrorKind::TagInvalid,
        "ErrDigestInvalidFormat" => ErrorKind::DigestInvalid,
        "ErrNameContainsUppercase" | "repository-name-uppercase" => ErrorKind::NameContainsUppercase,
        "ErrNameEmpty" => ErrorKind::NameEmpty,
        "ErrNameTooLong" => ErrorKind::NameTooLong,
        "ErrNameNotCanonical" => ErrorKind::NameNotCanonical,
        "ErrDigestInvalidLength" => ErrorKind::DigestInvalidLength,
        "ErrDigestUnsupported" => ErrorKind::DigestUnsupported,
        "identifier-64-hex" => ErrorKind::NameIsIdentifier,
        "path.ErrBadPattern" => ErrorKind::PatternInvalid,
        other => return Err(format!("malformed case: unknown error `{other}`")),
    })
}

/// What a case expects.
enum Expected {
    Success,
    /// Any error (upstream asserts only that there is one).
    AnyError,
    Error(ErrorKind),
}

/// From `error` (a Go error name, `"any"`, or oras-go's boolean) and `valid`; for
/// `"any"`, `derived_error.kind` names the error a faithful port gives.
fn expected(case: &Value) -> Result<Expected, String> {
    let derived = || match case.get("derived_error").and_then(|d| text(d, "kind")) {
        Some(name) => kind_for(name).map(Expected::Error),
        None => Ok(Expected::AnyError),
    };
    match (case.get("error"), case.get("valid").and_then(Value::as_bool)) {
        (Some(Value::String(any)), _) if any == "any" => derived(),
        (Some(Value::String(name)), _) => kind_for(name).map(Expected::Error),
        (Some(Value::Bool(true)), _) | (_, Some(false)) => derived(),
        (Some(Value::Null | Value::Bool(false)) | None, _) => Ok(Expected::Success),
        (Some(other), _) => Err(format!("malformed case: `error` is {other}")),
    }
}

fn expect_outcome<T: std::fmt::Debug>(
    case: &Value,
    got: Result<T, Error>,
    on_ok: impl FnOnce(&T) -> Check,
) -> Check {
    match (expected(case)?, got) {
        (Expected::Success, Ok(value)) => on_ok(&value),
        (Expected::Success, Err(e)) => Err(format!("expected success, got {} error: {e}", e.kind())),
        (Expected::AnyError, Ok(value)) => Err(format!("expected an error, got {value:?}")),
        (Expected::Error(want), Ok(value)) => Err(format!("expected {want} error, got {value:?}")),
        (Expected::Error(want), Err(e)) if e.kind() != want => {
            Err(format!("expected {want} error, got {} error: {e}", e.kind()))
        }
        (Expected::AnyError | Expected::Error(_), Err(_)) => Ok(()),
    }
}
