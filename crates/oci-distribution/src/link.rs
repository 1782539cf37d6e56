//! The `Link` header (RFC 8288) and the `rel="next"` page of tag and catalog lists.
//!
//! ```text
//! Link       = #link-value
//! link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
//! link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
//! ```

use std::fmt;

use http::header::LINK;
use http::{HeaderMap, Uri};

use crate::url::{resolve, same_origin};
use crate::{Error, ErrorKind, Result};

/// One link: its target as written, and its parameters with lowercase names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) target: String,
    pub(crate) params: Vec<(String, String)>,
}

impl Link {
    /// The value of the first parameter `name` (any case).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether one of the space-separated relation types of `rel` is `relation` (any case).
    pub(crate) fn has_rel(&self, relation: &str) -> bool {
        self.param("rel")
            .is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case(relation)))
    }
}

/// A malformed `Link` value: what was expected, at which byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkError {
    pub(crate) offset: usize,
    pub(crate) expected: &'static str,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {} at byte {}", self.expected, self.offset)
    }
}

impl std::error::Error for LinkError {}

/// Parses one `Link` header value into its links.
pub(crate) fn parse(value: &str) -> Result<Vec<Link>, LinkError> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = skip_list_separators(rest);
        if rest.is_empty() {
            return Ok(links);
        }
        let (link, after) = link_value(value, rest)?;
        links.push(link);
        rest = ows(after);
        if !rest.is_empty() && !rest.starts_with(',') {
            return Err(error(value, rest, "',' between links"));
        }
    }
}

/// Every link of every `Link` header of `headers`, in order.
pub(crate) fn parse_headers(headers: &HeaderMap) -> Result<Vec<Link>> {
    let mut links = Vec::new();
    for value in headers.get_all(LINK) {
        let bad = || Error::new(ErrorKind::InvalidResponse, format!("Link header {value:?}"));
        let text = value.to_str().map_err(|e| bad().with_source(e))?;
        links.extend(parse(text).map_err(|e| bad().with_source(e))?);
    }
    Ok(links)
}

/// The URL of the next page of a list: the target of the first `rel="next"` link,
/// resolved against `request_uri` and followed verbatim (registries put opaque tokens
/// in it). A link to another origin is refused with an error of kind
/// [`InvalidResponse`](ErrorKind::InvalidResponse), as is a malformed header.
pub(crate) fn next_page(headers: &HeaderMap, request_uri: &Uri) -> Result<Option<Uri>> {
    let Some(next) = parse_headers(headers)?.into_iter().find(|l| l.has_rel("next")) else {
        return Ok(None);
    };
    let uri = resolve(request_uri, &next.target)?;
    if !same_origin(&uri, request_uri) {
        let why = format!("the next page {uri} of {request_uri} is on another origin");
        return Err(Error::new(ErrorKind::InvalidResponse, why));
    }
    Ok(Some(uri))
}

fn error(whole: &str, rest: &str, expected: &'static str) -> LinkError {
    LinkError { offset: whole.len() - rest.len(), expected }
}

/// Optional white space.
fn ows(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// Empty list elements and separators (`#rule` allows `, ,`).
fn skip_list_separators(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', ','])
}

/// `"<" URI-Reference ">" *( OWS ";" OWS link-param )`
fn link_value<'a>(whole: &str, s: &'a str) -> Result<(Link, &'a str), LinkError> {
    let (target, mut rest) = target(whole, s)?;
    let mut params = Vec::new();
    loop {
        let after = ows(rest);
        let Some(after) = after.strip_prefix(';') else { break };
        let after = ows(after);
        if after.is_empty() || after.starts_with(',') || after.starts_with(';') {
            rest = after; // an empty parameter: tolerated
            continue;
        }
        let (param, after) = link_param(whole, after)?;
        params.push(param);
        rest = after;
    }
    Ok((Link { target: target.to_owned(), params }, rest))
}

/// `"<" URI-Reference ">"`
fn target<'a>(whole: &str, s: &'a str) -> Result<(&'a str, &'a str), LinkError> {
    let inner = s.strip_prefix('<').ok_or_else(|| error(whole, s, "'<'"))?;
    let end = inner.find('>').ok_or_else(|| error(whole, inner, "'>'"))?;
    Ok((inner[..end].trim(), &inner[end + 1..]))
}

/// `token BWS [ "=" BWS ( token / quoted-string ) ]`
fn link_param<'a>(whole: &str, s: &'a str) -> Result<((String, String), &'a str), LinkError> {
    let (name, rest) = token(whole, s, "a parameter name")?;
    let rest = ows(rest);
    let Some(rest) = rest.strip_prefix('=') else {
        return Ok(((name.to_ascii_lowercase(), String::new()), rest));
    };
    let rest = ows(rest);
    let (value, rest) = if rest.starts_with('"') {
        quoted_string(whole, rest)?
    } else {
        token(whole, rest, "a parameter value").map(|(t, r)| (t.to_owned(), r))?
    };
    Ok(((name.to_ascii_lowercase(), value), rest))
}

/// `1*tchar`
fn token<'a>(whole: &str, s: &'a str, expected: &'static str) -> Result<(&'a str, &'a str), LinkError> {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    let end = s.find(|c: char| !is_tchar(c)).unwrap_or(s.len());
    if end == 0 {
        return Err(error(whole, s, expected));
    }
    Ok((&s[..end], &s[end..]))
}

/// `DQUOTE *( qdtext / quoted-pair ) DQUOTE`, unescaped.
fn quoted_string<'a>(whole: &str, s: &'a str) -> Result<(String, &'a str), LinkError> {
    let mut value = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(error(whole, &s[s.len()..], "a closing '\"'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(target: &str, params: &[(&str, &str)]) -> Link {
        Link {
            target: target.to_owned(),
            params: params.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
        }
    }

    #[test]
    fn parses_links_params_and_quoted_strings() {
        let cases: Vec<(&str, Vec<Link>)> = vec![
            ("", vec![]),
            (
                r#"</v2/_catalog?last=b&n=2>; rel="next""#,
                vec![link("/v2/_catalog?last=b&n=2", &[("rel", "next")])],
            ),
            ("</a>;rel=next", vec![link("/a", &[("rel", "next")])]),
            (
                "</a> ; REL = next ; type=\"text/html\"",
                vec![link("/a", &[("rel", "next"), ("type", "text/html")])],
            ),
            (
                r#"</a>; rel="prev", </b>; rel="next""#,
                vec![link("/a", &[("rel", "prev")]), link("/b", &[("rel", "next")])],
            ),
            (
                r#"</a>; title="a, b; c"; rel="next", </b>"#,
                vec![link("/a", &[("title", "a, b; c"), ("rel", "next")]), link("/b", &[])],
            ),
            (r#"</a>; title="say \"hi\"""#, vec![link("/a", &[("title", r#"say "hi""#)])]),
            ("</a>; crossorigin", vec![link("/a", &[("crossorigin", "")])]),
            ("</a>;; rel=next;", vec![link("/a", &[("rel", "next")])]),
            (", </a>,, </b> ,", vec![link("/a", &[]), link("/b", &[])]),
            ("< /a >", vec![link("/a", &[])]),
            ("<https://r.example/a,b>; rel=next", vec![link("https://r.example/a,b", &[("rel", "next")])]),
            (
                "</a>; title*=UTF-8'de'n%c3%a4chstes",
                vec![link("/a", &[("title*", "UTF-8'de'n%c3%a4chstes")])],
            ),
        ];
        for (value, want) in cases {
            assert_eq!(parse(value), Ok(want), "{value:?}");
        }
    }

    #[test]
    fn rejects_malformed_values_with_offsets() {
        for (value, offset, expected) in [
            ("/a; rel=next", 0, "'<'"),
            ("</a; rel=next", 1, "'>'"),
            ("</a> rel=next", 5, "',' between links"),
            ("</a>; =next", 6, "a parameter name"),
            ("</a>; rel=", 10, "a parameter value"),
            (r#"</a>; rel="next"#, 15, "a closing '\"'"),
        ] {
            assert_eq!(parse(value), Err(LinkError { offset, expected }), "{value:?}");
        }
    }

    #[test]
    fn rel_has_several_values() {
        let l = &parse(r#"</a>; rel="first NEXT""#).unwrap()[0];
        assert!(l.has_rel("next") && l.has_rel("first") && !l.has_rel("prev"));
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(LINK, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn next_page_resolves_and_stays_on_the_origin() {
        let request: Uri = "https://quay.example/v2/org/repo/tags/list?n=50".parse().unwrap();
        let quay =
            "<https://quay.example/v2/org/repo/tags/list?n=50&next_page=gAAAAABk-x_Y%3D%3D>; rel=\"next\"";
        for (values, want) in [
            (vec![], None),
            (vec![r#"</v2/org/repo/tags/list?n=50&last=b>; rel="prev""#], None),
            (
                vec![r#"</v2/org/repo/tags/list?n=50&last=b>; rel="next""#],
                Some("https://quay.example/v2/org/repo/tags/list?n=50&last=b"),
            ),
            (
                vec![quay],
                Some("https://quay.example/v2/org/repo/tags/list?n=50&next_page=gAAAAABk-x_Y%3D%3D"),
            ),
            (
                vec![r#"</first>; rel="prev""#, r#"<https://quay.example:443/second>; rel="next""#],
                Some("https://quay.example:443/second"),
            ),
            (vec![r#"<list?last=c>; rel="next""#], Some("https://quay.example/v2/org/repo/tags/list?last=c")),
        ] {
            let got = next_page(&headers(&values), &request).unwrap().map(|u| u.to_string());
            assert_eq!(got.as_deref(), want, "{values:?}");
        }
        for value in [
            r#"<https://evil.example/v2/org/repo/tags/list>; rel="next""#,
            r#"<http://quay.example/v2/org/repo/tags/list>; rel="next""#,
            r#"<https://quay.example:8443/v2/x>; rel="next""#,
            r#"<//169.254.169.254/latest>; rel="next""#,
            r#"</v2/x; rel="next""#,
        ] {
            let e = next_page(&headers(&[value]), &request).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidResponse, "{value}");
        }
    }
}
