//! Byte-level helpers of the grammar: a class table and runs of hex digits eight bytes
//! at a time.

// Byte classes, as bits of a table entry.
pub(crate) const LOWER: u8 = 1;
pub(crate) const DIGIT: u8 = 2;
pub(crate) const UPPER: u8 = 4;
pub(crate) const UNDERSCORE: u8 = 8;
pub(crate) const DOT_DASH: u8 = 16;
pub(crate) const LOWER_ALNUM: u8 = LOWER | DIGIT;
pub(crate) const ALNUM: u8 = LOWER | DIGIT | UPPER;
pub(crate) const WORD: u8 = ALNUM | UNDERSCORE;
pub(crate) const TAG: u8 = WORD | DOT_DASH;

/// The classes of every byte.
static CLASSES: [u8; 256] = {
    let mut table = [0; 256];
    let mut b: u8 = 0;
    loop {
        table[b as usize] = match b {
            b'a'..=b'z' => LOWER,
            b'0'..=b'9' => DIGIT,
            b'A'..=b'Z' => UPPER,
            b'_' => UNDERSCORE,
            b'.' | b'-' => DOT_DASH,
            _ => 0,
        };
        if b == u8::MAX {
            break;
        }
        b += 1;
    }
    table
};

#[inline]
pub(crate) fn is(b: u8, class: u8) -> bool {
    CLASSES[usize::from(b)] & class != 0
}

/// The end of the run of bytes of `class` from `i`.
#[inline]
pub(crate) fn run(s: &str, i: usize, class: u8) -> usize {
    i + s.as_bytes().get(i..).unwrap_or_default().iter().take_while(|&&b| is(b, class)).count()
}

/// Eight copies of `b`.
pub(crate) const fn lanes(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

pub(crate) const HIGH_BITS: u64 = lanes(0x80);

/// Whether all eight bytes of `w` are hex digits (`0-9a-f`, and `A-F` when `upper`),
/// eight at a time: for ASCII bytes, adding `0x80 - lo` sets a lane's high bit exactly
/// when the byte is at least `lo`, without carrying into the next lane.
fn all_hex(w: u64, upper: bool) -> bool {
    if w & HIGH_BITS != 0 {
        return false;
    }
    let at_least = |lo: u8| w.wrapping_add(lanes(0x80 - lo));
    let within = |lo: u8, hi: u8| at_least(lo) & !at_least(hi + 1);
    let mut hex = within(b'0', b'9') | within(b'a', b'f');
    if upper {
        hex |= within(b'A', b'F');
    }
    hex & HIGH_BITS == HIGH_BITS
}

/// The end of the run of hex digits (`0-9a-f`, and `A-F` when `upper`) from `i`.
pub(crate) fn hex_run(s: &str, i: usize, upper: bool) -> usize {
    let bytes = s.as_bytes().get(i..).unwrap_or_default();
    let mut end = i;
    for chunk in bytes.chunks_exact(8) {
        let Ok(chunk) = <[u8; 8]>::try_from(chunk) else { break };
        if !all_hex(u64::from_ne_bytes(chunk), upper) {
            break;
        }
        end += 8;
    }
    let is_hex =
        |b: &u8| b.is_ascii_digit() || matches!(b, b'a'..=b'f') || (upper && matches!(b, b'A'..=b'F'));
    end + s.as_bytes()[end..].iter().take_while(|b| is_hex(b)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_runs_eight_at_a_time_agree_with_one_at_a_time() {
        for c in (0u8..=127).map(char::from).chain(['é', '\u{ff}']) {
            for at in 0..12 {
                let mut s = "0123456789abcdefABCDEF".repeat(2);
                s.replace_range(at..=at, c.encode_utf8(&mut [0; 4]));
                for (upper, digits) in [(false, "0123456789abcdef"), (true, "0123456789abcdefABCDEF")] {
                    let expected = s.find(|c| !digits.contains(c)).unwrap_or(s.len());
                    assert_eq!(hex_run(&s, 0, upper), expected, "{s:?} upper={upper}");
                }
            }
        }
    }
}
