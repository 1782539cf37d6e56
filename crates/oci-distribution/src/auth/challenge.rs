//! `WWW-Authenticate` challenges (RFC 7235 section 4.1).
//!
//! A registry answers 401 with one or more challenges, in one header or several:
//!
//! ```text
//! WWW-Authenticate: Bearer realm="https://auth.example.io/token",service="registry.example.io",scope="repository:app:pull"
//! WWW-Authenticate: Negotiate, Basic realm="Artifactory"
//! ```
//!
//! [`parse_challenges`] and [`parse_header_values`] return *every* challenge: the scheme
//! as sent (compared case-insensitively), `token` and `quoted-string` parameters
//! (a backslash escapes any character, as RFC 7230's `quoted-pair`; parameter names are
//! lower-cased) or a `token68`. Malformed input never fails: a broken parameter is
//! skipped, an unterminated quoted string ends the parse, and missing `scope` or
//! `service` parameters are simply absent. [`pick`] chooses the challenge the client
//! answers: the first Basic or Bearer one (registries behind some proxies offer
//! `Negotiate` first).
//!
//! The module is public only with the `unstable-internals` feature (for the project's
//! conformance suite), with no stability promise.

#![cfg_attr(not(feature = "unstable-internals"), allow(unreachable_pub, dead_code))]

use std::fmt;

use http::HeaderValue;

/// An authentication scheme the client can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `Basic` (RFC 7617): the username and password on every request.
    Basic,
    /// `Bearer` (RFC 6750): a token obtained from the challenge's `realm`.
    Bearer,
}

impl Scheme {
    /// The scheme named `name`, compared case-insensitively; `None` for schemes the
    /// client does not answer (`Negotiate`, `Digest`, ...).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("basic") {
            Some(Self::Basic)
        } else if name.eq_ignore_ascii_case("bearer") {
            Some(Self::Bearer)
        } else {
            None
        }
    }

    /// The canonical spelling: `Basic` or `Bearer`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "Basic",
            Self::Bearer => "Bearer",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One challenge of a `WWW-Authenticate` header.
///
/// Its [`Display`](fmt::Display) form is a valid challenge that parses back to the same
/// value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    scheme: String,
    token68: Option<String>,
    params: Vec<(String, String)>,
}

impl Challenge {
    /// A challenge of `scheme` with no parameters.
    #[must_use]
    pub fn new(scheme: impl Into<String>) -> Self {
        Self { scheme: scheme.into(), token68: None, params: Vec::new() }
    }

    /// The same challenge with parameter `name` (lower-cased) set to `value`.
    #[must_use]
    pub fn with_param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_param(name.to_ascii_lowercase(), value.into());
        self
    }

    fn set_param(&mut self, name: String, value: String) {
        match self.params.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.params.push((name, value)),
        }
    }

    /// The scheme as the registry spelled it.
    #[must_use]
    pub fn scheme_name(&self) -> &str {
        &self.scheme
    }

    /// The scheme, when the client can answer it.
    #[must_use]
    pub fn scheme(&self) -> Option<Scheme> {
        Scheme::from_name(&self.scheme)
    }

    /// The `token68` form of the challenge's data (`Negotiate abc==`), if it has one.
    #[must_use]
    pub fn token68(&self) -> Option<&str> {
        self.token68.as_deref()
    }

    /// The parameter `name` (case-insensitive); the last occurrence wins.
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every parameter, names lower-cased, in the order they were first seen.
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The `realm` parameter: for Bearer, the token endpoint's URL (possibly relative).
    #[must_use]
    pub fn realm(&self) -> Option<&str> {
        self.param("realm")
    }

    /// The `service` parameter of a Bearer challenge.
    #[must_use]
    pub fn service(&self) -> Option<&str> {
        self.param("service")
    }

    /// The `scope` parameter of a Bearer challenge, as sent (space-separated scopes).
    #[must_use]
    pub fn scope(&self) -> Option<&str> {
        self.param("scope")
    }

    /// The scopes of the `scope` parameter, split at spaces.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope().into_iter().flat_map(|s| s.split(' ')).filter(|s| !s.is_empty())
    }

    /// The `error` parameter (RFC 6750: `invalid_token`, `insufficient_scope`, ...).
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.param("error")
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.scheme)?;
        if let Some(token) = &self.token68 {
            return write!(f, " {token}");
        }
        for (i, (name, value)) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{name}=\"")?;
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        Ok(())
    }
}

/// Every challenge of one `WWW-Authenticate` header value, in order.
#[must_use]
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut cursor = Cursor { s: header, pos: 0 };
    let mut out = Vec::new();
    loop {
        cursor.skip_separators();
        if cursor.at_end() {
            return out;
        }
        let scheme = cursor.token();
        if scheme.is_empty() {
            cursor.skip_element();
            continue;
        }
        let mut challenge = Challenge::new(scheme);
        let spaces = cursor.skip_ows();
        if spaces > 0 {
            if let Some(token) = cursor.token68() {
                challenge.token68 = Some(token.to_owned());
                out.push(challenge);
                continue;
            }
        }
        let end = parse_params(&mut cursor, &mut challenge);
        out.push(challenge);
        if end == ParamsEnd::Abandon {
            return out;
        }
    }
}

/// Every challenge of every value (as a response's `get_all(WWW_AUTHENTICATE)` gives),
/// in order. Bytes that are not UTF-8 are replaced, not fatal.
pub fn parse_header_values<'a>(values: impl IntoIterator<Item = &'a HeaderValue>) -> Vec<Challenge> {
    values.into_iter().flat_map(|v| parse_challenges(&String::from_utf8_lossy(v.as_bytes()))).collect()
}

/// The challenge the client answers: the first Basic or Bearer one.
#[must_use]
pub fn pick(challenges: &[Challenge]) -> Option<&Challenge> {
    challenges.iter().find(|c| c.scheme().is_some())
}

#[derive(Debug, PartialEq, Eq)]
enum ParamsEnd {
    /// The end of the input, or the start of the next challenge.
    Done,
    /// An unterminated quoted string: nothing after it can be trusted.
    Abandon,
}

/// `#auth-param` after a scheme: stops before a token that is not followed by `=` (the
/// next challenge's scheme).
fn parse_params(cursor: &mut Cursor<'_>, challenge: &mut Challenge) -> ParamsEnd {
    loop {
        cursor.skip_separators();
        if cursor.at_end() {
            return ParamsEnd::Done;
        }
        let start = cursor.pos;
        let name = cursor.token();
        if name.is_empty() {
            cursor.skip_element();
            continue;
        }
        cursor.skip_ows();
        if cursor.peek() != Some(b'=') {
            cursor.pos = start;
            return ParamsEnd::Done;
        }
        cursor.pos += 1;
        cursor.skip_ows();
        let value = if cursor.peek() == Some(b'"') {
            match cursor.quoted_string() {
                Some(value) => value,
                None => return ParamsEnd::Abandon,
            }
        } else {
            let value = cursor.token();
            if value.is_empty() {
                cursor.skip_element();
                continue;
            }
            value.to_owned()
        };
        challenge.set_param(name.to_ascii_lowercase(), value);
    }
}

/// `tchar` of RFC 7230 section 3.2.6.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The characters of `token68` (RFC 7235 section 2.1), before its `=` padding.
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Skips `OWS`; returns how many characters were skipped.
    fn skip_ows(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Skips whitespace and list commas.
    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    /// Skips a malformed list element: up to (not past) the next comma.
    fn skip_element(&mut self) {
        let rest = &self.s[self.pos..];
        self.pos += rest.find(',').unwrap_or(rest.len());
    }

    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// A `token68` that makes up the whole rest of the challenge (up to a comma or the end).
    fn token68(&mut self) -> Option<&'a str> {
        let bytes = self.s.as_bytes();
        let start = self.pos;
        let mut end = start;
        while bytes.get(end).copied().is_some_and(is_token68_char) {
            end += 1;
        }
        if end == start {
            return None;
        }
        while bytes.get(end) == Some(&b'=') {
            end += 1;
        }
        let mut after = end;
        while matches!(bytes.get(after), Some(b' ' | b'\t')) {
            after += 1;
        }
        if after < bytes.len() && bytes[after] != b',' {
            return None;
        }
        self.pos = after;
        Some(&self.s[start..end])
    }

    /// A `quoted-string` starting at the current `"`; `None` when unterminated.
    fn quoted_string(&mut self) -> Option<String> {
        let mut out = String::new();
        let mut chars = self.s[self.pos + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += 1 + i + 1;
                    return Some(out);
                }
                '\\' => out.push(chars.next()?.1),
                c => out.push(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_picks_basic_or_bearer_among_all() {
        let all = parse_challenges(r#"Negotiate, Bearer realm="https://auth.example.io/token",service=reg"#);
        assert_eq!(all.len(), 2);
        let chosen = pick(&all).unwrap();
        assert_eq!(chosen.scheme(), Some(Scheme::Bearer));
        assert_eq!(chosen.realm(), Some("https://auth.example.io/token"));
        assert_eq!(chosen.service(), Some("reg"));
        assert_eq!(chosen.scope(), None);
    }

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params().collect()
    }

    #[test]
    fn several_challenges_in_one_header() {
        let all = parse_challenges(
            r#"Negotiate, Basic realm="Artifactory Realm", Bearer realm="https://a/token",service="s",scope="repository:x:pull repository:y:push""#,
        );
        assert_eq!(
            all.iter().map(Challenge::scheme_name).collect::<Vec<_>>(),
            ["Negotiate", "Basic", "Bearer"]
        );
        assert_eq!(params(&all[1]), [("realm", "Artifactory Realm")]);
        assert_eq!(all[2].scopes().collect::<Vec<_>>(), ["repository:x:pull", "repository:y:push"]);
        assert_eq!(pick(&all).map(Challenge::scheme), Some(Some(Scheme::Basic)));
    }

    #[test]
    fn token68_and_case_insensitive_schemes() {
        let all = parse_challenges("Negotiate YIIB+/x==, bEaReR Realm=\"r\", NTLM");
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].token68(), Some("YIIB+/x=="));
        assert_eq!(all[1].scheme(), Some(Scheme::Bearer));
        assert_eq!(all[1].realm(), Some("r"));
        assert_eq!(all[2].scheme_name(), "NTLM");
        assert!(all[2].params().next().is_none() && all[2].token68().is_none());
    }

    #[test]
    fn tolerates_missing_and_malformed_params() {
        // GCR's ping omits scope; a broken parameter is skipped, later ones kept.
        let c = &parse_challenges(r#"Bearer realm="https://gcr.io/v2/token",service="gcr.io""#)[0];
        assert_eq!((c.service(), c.scope()), (Some("gcr.io"), None));
        let c =
            &parse_challenges(r#"Bearer realm="r", =bad, service=, scope="s",error=insufficient_scope"#)[0];
        assert_eq!(params(c), [("realm", "r"), ("scope", "s"), ("error", "insufficient_scope")]);
        let all = parse_challenges(r#"Bearer realm="r",service="unterminated, Basic realm=x"#);
        assert_eq!(all.len(), 1);
        assert_eq!(params(&all[0]), [("realm", "r")]);
        assert!(parse_challenges("").is_empty() && parse_challenges(" , ,").is_empty());
        assert_eq!(parse_challenges("\"junk\", Basic")[0].scheme(), Some(Scheme::Basic));
    }

    #[test]
    fn quoted_pairs_and_duplicate_params() {
        let c = &parse_challenges(r#"Bearer A="x\"y\\z\l", a=second, Ünicode="é""#)[0];
        assert_eq!(c.param("a"), Some("second"));
        assert_eq!(params(c), [("a", "second")]);
        let c = &parse_challenges(r#"Bearer realm="é\é""#)[0];
        assert_eq!(c.realm(), Some("éé"));
    }

    #[test]
    fn display_round_trips() {
        for header in [
            r#"Bearer realm="https://a/token", service="s", scope="repository:x:pull,push""#,
            r#"Basic realm="quote \" and \\ backslash""#,
            "Negotiate abc==",
            "Basic",
        ] {
            let all = parse_challenges(header);
            assert_eq!(all.len(), 1, "{header}");
            assert_eq!(all[0].to_string(), header);
            assert_eq!(parse_challenges(&all[0].to_string()), all);
        }
        let built = Challenge::new("Bearer").with_param("Realm", "r").with_param("service", "s");
        assert_eq!(built.to_string(), r#"Bearer realm="r", service="s""#);
    }

    #[test]
    fn several_header_values() {
        let values = [HeaderValue::from_static("Negotiate"), HeaderValue::from_static(r#"Bearer realm="r""#)];
        let all = parse_header_values(&values);
        assert_eq!(all.len(), 2);
        assert_eq!(pick(&all).and_then(Challenge::realm), Some("r"));
        let bytes = HeaderValue::from_bytes(b"Basic realm=\"caf\xe9\"").unwrap();
        assert_eq!(parse_header_values([&bytes])[0].realm(), Some("caf\u{fffd}"));
    }
}
