//! Go's `path.Match`, byte for byte, for `familiar_match`.
//!
//! `*` matches any run of non-`/` bytes, `?` one non-`/` character, `[...]` a class
//! (`^` negates, `a-z` ranges, `\` escapes), `\c` the character `c`. A malformed
//! pattern is an error even when the name fails to match before the fault is reached.

use crate::error::{Error, ErrorKind, Part};

/// Whether `name` matches the whole of `pattern`.
pub(crate) fn matches(pattern: &str, name: &str) -> Result<bool, Error> {
    let bad = |at: usize| Error::at(ErrorKind::PatternInvalid, Part::Pattern, pattern, at);
    let mut rest = pattern.as_bytes();
    let mut name = name.as_bytes();
    'chunks: while !rest.is_empty() {
        let (star, chunk, after) = scan_chunk(rest);
        rest = after;
        let chunk_at = pattern.len() - rest.len() - chunk.len();
        if star && chunk.is_empty() {
            // A trailing `*` matches the rest of the name unless it has a `/`.
            return Ok(!name.contains(&b'/'));
        }
        let here = match_chunk(chunk, name).map_err(|at| bad(chunk_at + at))?;
        // The last chunk must use up the name; otherwise a later star may still match.
        if let Some(t) = here.filter(|t| t.is_empty() || !rest.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                if let Some(t) = match_chunk(chunk, &name[i + 1..]).map_err(|at| bad(chunk_at + at))? {
                    if rest.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'chunks;
                }
                i += 1;
            }
        }
        // No match: still report a malformed remainder of the pattern.
        while !rest.is_empty() {
            let (_, chunk, after) = scan_chunk(rest);
            rest = after;
            let chunk_at = pattern.len() - rest.len() - chunk.len();
            match_chunk(chunk, b"").map_err(|at| bad(chunk_at + at))?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off the leading stars and the chunk up to the next star outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

/// Decodes one character as Go's `utf8.DecodeRune`: `None` (`RuneError`) and width 1
/// for an invalid or truncated sequence.
fn decode(s: &[u8]) -> (Option<char>, usize) {
    let width = match s.first() {
        Some(0..=0x7f) => 1,
        Some(0xc0..=0xdf) => 2,
        Some(0xe0..=0xef) => 3,
        Some(0xf0..=0xf7) => 4,
        _ => return (None, 1),
    };
    match s.get(..width).map(std::str::from_utf8) {
        Some(Ok(c)) => (c.chars().next(), width),
        _ => (None, 1),
    }
}

const RUNE_ERROR: char = '\u{fffd}';

/// Matches one chunk at the start of `s`: `Ok(Some(rest))` on a match, `Ok(None)`
/// otherwise, `Err(offset in chunk)` for a malformed chunk (checked to its end).
fn match_chunk<'s>(chunk: &[u8], mut s: &'s [u8]) -> Result<Option<&'s [u8]>, usize> {
    let len = chunk.len();
    let mut chunk = chunk;
    let mut failed = false;
    while let Some(&first) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match first {
            b'[' => {
                let mut r = '\0';
                if !failed {
                    let (c, n) = decode(s);
                    r = c.unwrap_or(RUNE_ERROR);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, after) = get_esc(chunk).map_err(|at| len - chunk.len() + at)?;
                    chunk = after;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, after) = get_esc(&chunk[1..]).map_err(|at| len - chunk.len() + 1 + at)?;
                        hi = h;
                        chunk = after;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    s = &s[decode(s).1..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if first == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(len);
                    }
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { None } else { Some(s) })
}

/// One possibly escaped character of a class, as Go's `getEsc`: `Err(offset)` when it
/// is missing, `-` or `]`, invalid, or last in the pattern (the class is unclosed).
fn get_esc(chunk: &[u8]) -> Result<(char, &[u8]), usize> {
    let mut at = 0;
    match chunk.first() {
        None | Some(b'-' | b']') => return Err(0),
        Some(b'\\') => at = 1,
        Some(_) => {}
    }
    let (c, n) = decode(&chunk[at..]);
    match c {
        _ if at == chunk.len() => Err(at),
        None if n == 1 => Err(at),
        _ if at + n == chunk.len() => Err(at + n),
        c => Ok((c.unwrap_or(RUNE_ERROR), &chunk[at + n..])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_go_path_match() {
        // From Go's path/match_test.go.
        let cases: &[(&str, &str, Result<bool, usize>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(1)),
            ("[-]", "-", Err(1)),
            ("[x-]", "x", Err(3)),
            ("[x-]", "-", Err(3)),
            ("[x-]", "z", Err(3)),
            ("[-x]", "x", Err(1)),
            ("[-x]", "-", Err(1)),
            ("[-x]", "a", Err(1)),
            ("\\", "a", Err(1)),
            ("[a-b-c]", "a", Err(4)),
            ("[", "a", Err(1)),
            ("[^", "a", Err(2)),
            ("[^bc", "a", Err(4)),
            ("a[", "a", Err(2)),
            ("a[", "ab", Err(2)),
            ("a[", "x", Err(2)),
            ("a/b[", "x", Err(4)),
            ("*x", "xxx", Ok(true)),
        ];
        for (pattern, name, expected) in cases {
            let got = matches(pattern, name).map_err(|e| e.offset());
            assert_eq!(got, *expected, "{pattern:?} {name:?}");
        }
        assert_eq!(
            matches("[-x]", "foo").unwrap_err().to_string(),
            "invalid character '-' in pattern at byte 1"
        );
    }
}
