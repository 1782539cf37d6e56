//! HTTP byte ranges: the `Range` request header and a strict `Content-Range` parser.

use http::HeaderValue;

use crate::{Error, ErrorKind, Result};

/// A parsed `Content-Range: bytes <first>-<last>/<complete length or *>` (RFC 9110
/// section 14.4): inclusive positions, and the whole length when the server knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentRange {
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) complete: Option<u64>,
}

impl ContentRange {
    /// How many bytes the range covers; `None` for `0-18446744073709551615`, which no
    /// `u64` holds.
    pub(crate) fn len(self) -> Option<u64> {
        (self.last - self.first).checked_add(1)
    }
}

/// Parses a `Content-Range` value strictly: the unit `bytes` (any ASCII case), one space,
/// decimal positions without signs or spaces, `first <= last`, and `last` inside the
/// complete length when one is given. The unsatisfied form (`bytes */<len>`) and
/// anything else is `None`.
pub(crate) fn parse_content_range(value: &str) -> Option<ContentRange> {
    let (unit, rest) = value.split_once(' ')?;
    if !unit.eq_ignore_ascii_case("bytes") {
        return None;
    }
    let (range, complete) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last) = (decimal(first)?, decimal(last)?);
    let complete = if complete == "*" { None } else { Some(decimal(complete)?) };
    if first > last || complete.is_some_and(|len| last >= len) {
        return None;
    }
    Some(ContentRange { first, last, complete })
}

/// A non-empty run of ASCII digits that fits a `u64`.
pub(crate) fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `Range: bytes=<offset>-`: everything from `offset` on.
pub(crate) fn range_from(offset: u64) -> Result<HeaderValue> {
    header(format!("bytes={offset}-"))
}

/// `Range: bytes=<first>-<last>`, inclusive.
pub(crate) fn range_between(first: u64, last: u64) -> Result<HeaderValue> {
    header(format!("bytes={first}-{last}"))
}

/// A header value built from ASCII digits and punctuation.
pub(crate) fn header(value: String) -> Result<HeaderValue> {
    HeaderValue::try_from(value)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, "building a header value").with_source(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_is_parsed_strictly() {
        let ok = |first, last, complete| Some(ContentRange { first, last, complete });
        for (value, want) in [
            ("bytes 0-0/1", ok(0, 0, Some(1))),
            ("bytes 100-199/200", ok(100, 199, Some(200))),
            ("bytes 5-9/*", ok(5, 9, None)),
            ("Bytes 0-9/10", ok(0, 9, Some(10))),
            ("bytes 007-8/9", ok(7, 8, Some(9))),
            ("bytes 18446744073709551614-18446744073709551614/*", ok(u64::MAX - 1, u64::MAX - 1, None)),
            ("bytes */200", None),
            ("bytes 10-9/200", None),
            ("bytes 0-200/200", None),
            ("bytes 0-9/0", None),
            ("bytes=0-9/10", None),
            ("bytes  0-9/10", None),
            ("bytes 0-9 /10", None),
            ("bytes +0-9/10", None),
            ("bytes -1-9/10", None),
            ("bytes 0-9/10/11", None),
            ("bytes 0-9", None),
            ("bytes 0--9/10", None),
            ("items 0-9/10", None),
            ("bytes 0-18446744073709551616/*", None),
            ("0-9/10", None),
            ("", None),
        ] {
            assert_eq!(parse_content_range(value), want, "{value:?}");
        }
        assert_eq!(ok(3, 7, None).map(ContentRange::len), Some(Some(5)));
    }

    #[test]
    fn range_headers() {
        assert_eq!(range_from(0).unwrap(), "bytes=0-");
        assert_eq!(range_from(1_048_576).unwrap(), "bytes=1048576-");
        assert_eq!(range_between(10, 19).unwrap(), "bytes=10-19");
    }
}
