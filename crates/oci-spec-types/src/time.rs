//! RFC 3339 timestamps, as the image-spec uses for `created` fields.

use std::fmt;
use std::str::FromStr;

/// An RFC 3339 `date-time`, such as `2015-10-31T22:22:56.015925234Z`.
///
/// Kept as written (so documents round-trip to the byte) and checked on parse;
/// [`Timestamp::unix_seconds`] gives the instant.
///
/// ```
/// use oci_spec_types::Timestamp;
///
/// let t: Timestamp = "1970-01-02T01:00:00+01:00".parse()?;
/// assert_eq!(t.unix_seconds(), 86_400);
/// assert!("2015-13-01T00:00:00Z".parse::<Timestamp>().is_err());
/// # Ok::<(), oci_spec_types::TimestampError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    unix_seconds: i64,
    nanos: u32,
}

impl Timestamp {
    /// Seconds since the Unix epoch (UTC).
    #[must_use]
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }

    /// The fraction of a second, in nanoseconds.
    #[must_use]
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// The timestamp as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant `secs` after the Unix epoch, written in UTC to the second
    /// (`2024-02-29T12:00:00Z`).
    ///
    /// ```
    /// use oci_spec_types::Timestamp;
    ///
    /// assert_eq!(Timestamp::from_unix_seconds(951_782_400).as_str(), "2000-02-29T00:00:00Z");
    /// assert_eq!(Timestamp::from_unix_seconds(-1).as_str(), "1969-12-31T23:59:59Z");
    /// ```
    #[must_use]
    pub fn from_unix_seconds(secs: i64) -> Self {
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        let text = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        );
        Self { text, unix_seconds: secs, nanos: 0 }
    }

    /// Now, to the second, in UTC.
    #[must_use]
    pub fn now() -> Self {
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        Self::from_unix_seconds(since.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
    }
}

/// A string that is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    input: String,
    kind: TimestampErrorKind,
    what: &'static str,
}

/// Which part of a date-time is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimestampErrorKind {
    /// The date (`YYYY-MM-DD`, a day that exists).
    Date,
    /// The time of day (`hh:mm:ss[.frac]`) or the `T` before it.
    Time,
    /// The time zone (`Z` or `+hh:mm`).
    Offset,
    /// Something after the time zone.
    Trailing,
}

impl TimestampError {
    /// Which part is wrong.
    #[must_use]
    pub fn kind(&self) -> TimestampErrorKind {
        self.kind
    }
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid RFC 3339 date-time {:?}: {}", self.input, self.what)
    }
}

impl std::error::Error for TimestampError {}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (proleptic Gregorian) `days` after 1970-01-01, the inverse of
/// [`days_from_civil`] (Howard Hinnant's algorithms).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let s = self.b.get(self.pos..self.pos + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(s.iter().fold(0, |acc, &c| acc * 10 + u32::from(c - b'0')))
    }

    fn byte(&mut self, accept: &[u8]) -> Option<u8> {
        let c = *self.b.get(self.pos)?;
        if accept.contains(&c) {
            self.pos += 1;
            Some(c)
        } else {
            None
        }
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use TimestampErrorKind::{Date, Offset, Time, Trailing};
        let err = |kind, what| TimestampError { input: s.to_owned(), kind, what };
        let mut c = Cursor { b: s.as_bytes(), pos: 0 };
        let year = c.digits(4).ok_or_else(|| err(Date, "expected a four-digit year"))?;
        c.byte(b"-").ok_or_else(|| err(Date, "expected '-' after the year"))?;
        let month =
            c.digits(2).filter(|m| (1..=12).contains(m)).ok_or_else(|| err(Date, "month out of range"))?;
        c.byte(b"-").ok_or_else(|| err(Date, "expected '-' after the month"))?;
        let day = c
            .digits(2)
            .filter(|d| *d >= 1 && *d <= days_in_month(i64::from(year), month))
            .ok_or_else(|| err(Date, "day out of range"))?;
        c.byte(b"Tt").ok_or_else(|| err(Time, "expected 'T' between date and time"))?;
        let hour = c.digits(2).filter(|h| *h < 24).ok_or_else(|| err(Time, "hour out of range"))?;
        c.byte(b":").ok_or_else(|| err(Time, "expected ':' after the hour"))?;
        let minute = c.digits(2).filter(|m| *m < 60).ok_or_else(|| err(Time, "minute out of range"))?;
        c.byte(b":").ok_or_else(|| err(Time, "expected ':' after the minute"))?;
        // 60 is allowed for leap seconds, as RFC 3339 does.
        let second = c.digits(2).filter(|s| *s <= 60).ok_or_else(|| err(Time, "second out of range"))?;
        let mut nanos = 0u32;
        if c.byte(b".").is_some() {
            let start = c.pos;
            while c.b.get(c.pos).is_some_and(u8::is_ascii_digit) {
                c.pos += 1;
            }
            let frac = &c.b[start..c.pos];
            if frac.is_empty() {
                return Err(err(Time, "expected digits after '.'"));
            }
            for (i, d) in frac.iter().take(9).enumerate() {
                nanos += u32::from(d - b'0') * 10u32.pow(8 - u32::try_from(i).unwrap_or(8));
            }
        }
        let offset_seconds: i64 = match c.byte(b"Zz+-") {
            Some(b'Z' | b'z') => 0,
            Some(sign) => {
                let oh =
                    c.digits(2).filter(|h| *h < 24).ok_or_else(|| err(Offset, "offset hour out of range"))?;
                c.byte(b":").ok_or_else(|| err(Offset, "expected ':' in the offset"))?;
                let om = c
                    .digits(2)
                    .filter(|m| *m < 60)
                    .ok_or_else(|| err(Offset, "offset minute out of range"))?;
                let v = i64::from(oh * 3600 + om * 60);
                if sign == b'-' { -v } else { v }
            }
            None => return Err(err(Offset, "expected a time zone ('Z' or +hh:mm)")),
        };
        if c.pos != c.b.len() {
            return Err(err(Trailing, "unexpected characters after the time zone"));
        }
        let days = days_from_civil(i64::from(year), month, day);
        let unix_seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_seconds;
        Ok(Self { text: s.to_owned(), unix_seconds, nanos })
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_examples() {
        let t: Timestamp = "2015-10-31T22:22:56.015925234Z".parse().unwrap();
        assert_eq!(t.unix_seconds(), 1_446_330_176);
        assert_eq!(t.subsec_nanos(), 15_925_234);
        assert_eq!(t.to_string(), "2015-10-31T22:22:56.015925234Z");
        let t: Timestamp = "2000-02-29T00:00:00-00:30".parse().unwrap();
        assert_eq!(t.unix_seconds(), 951_784_200);
    }

    #[test]
    fn unix_seconds_write_and_parse_back() {
        for secs in [0, -1, 951_782_400, 1_709_208_000, 4_102_444_799, -62_135_596_800, 253_402_300_799] {
            let t = Timestamp::from_unix_seconds(secs);
            let parsed: Timestamp = t.as_str().parse().unwrap();
            assert_eq!(parsed.unix_seconds(), secs, "{t}");
        }
        assert_eq!(Timestamp::from_unix_seconds(-62_135_596_800).as_str(), "0001-01-01T00:00:00Z");
        assert!(Timestamp::now().unix_seconds() > 1_700_000_000);
    }

    #[test]
    fn refuses_what_is_not_rfc3339() {
        for s in [
            "",
            "2015-10-31",
            "2015-10-31T22:22:56",
            "2015-02-29T00:00:00Z",
            "2015-10-31T24:00:00Z",
            "2015-10-31T22:22:56.Z",
            "2015-10-31T22:22:56Zjunk",
            "15-10-31T22:22:56Z",
        ] {
            assert!(s.parse::<Timestamp>().is_err(), "{s:?}");
        }
        assert_eq!(
            "2015-10-31".parse::<Timestamp>().unwrap_err().to_string(),
            "invalid RFC 3339 date-time \"2015-10-31\": expected 'T' between date and time"
        );
        for (s, kind) in [
            ("2015-02-29T00:00:00Z", TimestampErrorKind::Date),
            ("2015-10-31T24:00:00Z", TimestampErrorKind::Time),
            ("2015-10-31T22:22:56+25:00", TimestampErrorKind::Offset),
            ("2015-10-31T22:22:56Zjunk", TimestampErrorKind::Trailing),
        ] {
            assert_eq!(s.parse::<Timestamp>().unwrap_err().kind(), kind, "{s:?}");
        }
    }
}
