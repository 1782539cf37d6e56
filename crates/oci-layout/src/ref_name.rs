//! The grammar of `org.opencontainers.image.ref.name`, the tags of a layout.
//!
//! From the image-spec's annotations:
//!
//! ```text
//! ref       ::= component ("/" component)*
//! component ::= alphanum (separator alphanum)*
//! alphanum  ::= [A-Za-z0-9]+
//! separator ::= [-._:@+] | "--"
//! ```
//!
//! One function per production; each returns the rest of the input, or the byte offset
//! where the input stopped matching.

use crate::{Error, ErrorKind, Result};

/// Whether `name` is a valid `ref.name` (a tag of an image layout).
///
/// ```
/// use oci_layout::ref_name;
///
/// assert!(ref_name::is_valid("v1.0.0-vendor.0"));
/// assert!(ref_name::is_valid("example.com/app:v1"));
/// assert!(ref_name::is_valid("a--b"));
/// assert!(!ref_name::is_valid("a---b"));
/// assert!(!ref_name::is_valid("a//b"));
/// ```
#[must_use]
pub fn is_valid(name: &str) -> bool {
    parse_ref(name.as_bytes()).is_ok()
}

/// Checks `name` against the grammar; the error ([`ErrorKind::InvalidRefName`]) says at
/// which byte it stopped matching.
///
/// ```
/// use oci_layout::ref_name;
///
/// let err = ref_name::validate("app/-x").unwrap_err();
/// assert_eq!(err.to_string(), r#"invalid ref name: "app/-x" does not match the grammar at byte 4"#);
/// ```
pub fn validate(name: &str) -> Result<()> {
    parse_ref(name.as_bytes()).map_err(|pos| {
        Error::new(ErrorKind::InvalidRefName)
            .with_detail(format!("{name:?} does not match the grammar at byte {pos}"))
    })
}

/// `ref ::= component ("/" component)*`, to the end of the input.
fn parse_ref(input: &[u8]) -> Result<(), usize> {
    let mut rest = parse_component(input, 0)?;
    while let [b'/', after @ ..] = rest {
        rest = parse_component(after, input.len() - after.len())?;
    }
    if rest.is_empty() { Ok(()) } else { Err(input.len() - rest.len()) }
}

/// `component ::= alphanum (separator alphanum)*`; `at` is the offset of `input`.
fn parse_component(input: &[u8], at: usize) -> Result<&[u8], usize> {
    let mut rest = parse_alphanum(input).ok_or(at)?;
    while let Some(after_sep) = parse_separator(rest) {
        rest = parse_alphanum(after_sep).ok_or(at + input.len() - after_sep.len())?;
    }
    Ok(rest)
}

/// `alphanum ::= [A-Za-z0-9]+`.
fn parse_alphanum(input: &[u8]) -> Option<&[u8]> {
    let n = input.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
    (n > 0).then(|| &input[n..])
}

/// `separator ::= [-._:@+] | "--"` (the longer one when both match).
fn parse_separator(input: &[u8]) -> Option<&[u8]> {
    match input {
        [b'-', b'-', rest @ ..] | [b'-' | b'.' | b'_' | b':' | b'@' | b'+', rest @ ..] => Some(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_point_at_the_failure() {
        for (input, pos) in [("", 0), ("-a", 0), ("a-", 2), ("a---b", 3), ("a//b", 2), ("a b", 1), ("a/", 2)]
        {
            assert_eq!(parse_ref(input.as_bytes()), Err(pos), "{input:?}");
        }
        for ok in ["latest", "UPPER/lower", "foo@sha256", "sha256:abc", "a_b", "a+b", "a--b.c/d"] {
            assert_eq!(parse_ref(ok.as_bytes()), Ok(()), "{ok:?}");
        }
    }
}
