//! A fast path for the plain decimals that fill numeric CSV files (`-12.345678`, `7`, `0.5`),
//! exact to the last bit: it returns what `str::parse::<f32>` returns, or `None` to send the cell
//! down the standard path (exponents, long mantissas, `inf`, non-ASCII...).
//!
//! Digits are read eight at a time (one 64-bit load, a digit test and three multiplications per
//! eight bytes), which is what makes a numeric CSV parse at several hundred MB/s.

/// Exact powers of ten as `f64` (all up to 1e22 are exactly representable).
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The nearest `f64`s to `10^-k` (within half an ulp: Rust's float literals are correctly rounded).
const INVERSE_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14,
    1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22,
];

/// `10^k` for the digit counts of one eight-byte step.
const SCALE: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The most digits the fast path takes (`10^19 < 2^64`, so they cannot overflow a `u64`).
const MAX_DIGITS: usize = 19;

const ONES: u64 = 0x0101_0101_0101_0101;

/// The eight bytes at `i` as a little-endian word (byte `i` lowest), zero-padded past the end.
#[inline(always)]
fn load8(bytes: &[u8], i: usize) -> u64 {
    match bytes.get(i..i + 8) {
        Some(eight) => u64::from_le_bytes(eight.try_into().expect("eight bytes")),
        None => {
            let mut padded = [0u8; 8];
            let rest = bytes.get(i..).unwrap_or(&[]);
            padded[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(padded)
        }
    }
}

/// How many of the word's bytes, from the lowest, are ASCII digits (8 when all are).
///
/// A byte is a digit when subtracting `'0'` does not borrow and adding `0x46` does not reach
/// `0x80`; borrows and carries only travel upwards, i.e. out of the first non-digit, so the
/// bytes below it are judged exactly.
#[inline(always)]
fn leading_digits(word: u64) -> usize {
    let below = word.wrapping_sub(ONES * b'0' as u64);
    let above = word.wrapping_add(ONES * 0x46);
    ((below | above) & (ONES * 0x80)).trailing_zeros() as usize / 8
}

/// The value of the word's lowest `count` bytes read as decimal digits, first byte most
/// significant. The digits are shifted to the top of the word (zeros below act as leading zeros),
/// then adjacent digits, pairs and quads are combined by three multiplications.
#[inline(always)]
fn digits_value(word: u64, count: usize) -> u64 {
    if count == 0 {
        return 0;
    }
    let digits = (word & (ONES * 0x0f)) << (8 * (8 - count));
    let pairs = (digits.wrapping_mul(10 * 256 + 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs.wrapping_mul(100 * 65536 + 1) >> 16) & 0x0000_ffff_0000_ffff;
    quads.wrapping_mul(10_000 * (1 << 32) + 1) >> 32
}

/// Reads digits from `i`, eight at a time, into `mantissa`; returns the position after them.
#[inline(always)]
fn read_digits(bytes: &[u8], mut i: usize, mantissa: &mut u64) -> usize {
    loop {
        let word = load8(bytes, i);
        let count = leading_digits(word);
        *mantissa = mantissa
            .wrapping_mul(SCALE[count])
            .wrapping_add(digits_value(word, count));
        i += count;
        if count < 8 {
            return i;
        }
    }
}

/// Parses `[+-]digits[.digits]` starting at `bytes[start]` and stopping at the first byte that
/// does not continue it; returns the value, correctly rounded to `f32`, and the position where it
/// stopped. `None` when there is no digit, more than 19 digits, or a value too close to an
/// `f32` rounding midpoint for the fast arithmetic (see [`parse_f32_fast`]).
#[inline]
pub(crate) fn parse_decimal_prefix(bytes: &[u8], start: usize) -> Option<(f32, usize)> {
    let (negative, first_digit) = match bytes.get(start)? {
        b'-' => (true, start + 1),
        b'+' => (false, start + 1),
        _ => (false, start),
    };
    let mut mantissa = 0u64;
    let mut i = read_digits(bytes, first_digit, &mut mantissa);
    let mut total_digits = i - first_digit;
    let mut fraction_digits = 0;
    if bytes.get(i) == Some(&b'.') {
        let fraction_start = i + 1;
        i = read_digits(bytes, fraction_start, &mut mantissa);
        fraction_digits = i - fraction_start;
        total_digits += fraction_digits;
    }
    let value = decimal_to_f32(mantissa, total_digits, fraction_digits)?;
    Some((if negative { -value } else { value }, i))
}

/// The `f32` nearest to `mantissa / 10^fraction_digits`, or `None` when the fast path must
/// decline: no digit, more than 19 digits, or a value the fast arithmetic cannot round with
/// certainty (next to an `f32` midpoint).
#[inline(always)]
fn decimal_to_f32(mantissa: u64, total_digits: usize, fraction_digits: usize) -> Option<f32> {
    // With at most 19 digits the wrapping arithmetic of the callers never wrapped.
    if total_digits == 0 || total_digits > MAX_DIGITS {
        return None;
    }
    // The 29 mantissa bits an f32 drops from an f64: exactly 100...0 means an f32 midpoint.
    const DROPPED: u64 = (1 << 29) - 1;
    const MIDPOINT: u64 = 1 << 28;
    // The product of the mantissa's nearest f64 and the nearest f64 of 10^-k, itself rounded, is
    // within 3 roundings of half an ulp of the decimal, i.e. within 4 f64 ulps; when no f32
    // midpoint is within 8 ulps of it, it rounds to the same f32 as the decimal itself.
    // Otherwise (about one cell in 30 million) the exact division decides, or, for a mantissa
    // above 2^53 (not exact in f64), the standard parser.
    let exact = mantissa <= 1 << 53;
    // (A mantissa of 2^63 or more, 19 digits from 92..., is left to the standard parser, so
    // the conversion can be the one-instruction signed one; it is exact up to 2^53.)
    if mantissa >> 63 != 0 {
        return None;
    }
    let m = mantissa as i64 as f64;
    let mut magnitude = m * INVERSE_POWERS_OF_TEN[fraction_digits];
    // (Subtracting first makes the window test one comparison: the low 29 bits of the
    // difference are those of `dropped - (MIDPOINT - 8)` modulo 2^29.)
    if (magnitude.to_bits().wrapping_sub(MIDPOINT - 8) & DROPPED) <= 16 {
        if !exact {
            return None;
        }
        magnitude = m / POWERS_OF_TEN[fraction_digits];
        if magnitude != 0.0 && magnitude.to_bits() & DROPPED == MIDPOINT {
            return None;
        }
    }
    // No range check is needed: at most 19 digits keep a non-zero value within
    // [1e-19, 1e19), far inside the normal f32 range.
    debug_assert!(
        magnitude == 0.0 || (f32::MIN_POSITIVE as f64..=f32::MAX as f64).contains(&magnitude)
    );
    Some(magnitude as f32)
}

/// Parses a whole cell `[+-]digits[.digits]` (at most 19 digits), correctly rounded to `f32`.
///
/// Why it is exact: for a mantissa up to 2^53, it and the power of ten are exact `f64`s, so
/// their quotient is the correctly rounded `f64` of the decimal (IEEE division). Rounding that
/// `f64` to `f32` gives the correctly rounded `f32` unless the `f64` sits exactly on a midpoint
/// between two `f32`s (double rounding): that case returns `None`. (With at most 19 digits the
/// value is never outside the normal `f32` range.) The quotient is only computed near a
/// midpoint: elsewhere a product with `10^-k`, at most 4 `f64` ulps from the decimal (for any
/// 19-digit mantissa), has no midpoint between it and the decimal and so rounds to the same
/// `f32`. Near a midpoint a mantissa above 2^53 is left to the standard parser.
pub(crate) fn parse_f32_fast(cell: &[u8]) -> Option<f32> {
    match parse_decimal_prefix(cell, 0)? {
        (value, end) if end == cell.len() => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{digits_value, leading_digits, load8, parse_decimal_prefix, parse_f32_fast};

    fn check(text: &str) {
        let expected = text.parse::<f32>().ok();
        if let Some(fast) = parse_f32_fast(text.as_bytes()) {
            let expected =
                expected.unwrap_or_else(|| panic!("{text:?}: fast path accepted what std refuses"));
            assert_eq!(fast.to_bits(), expected.to_bits(), "{text:?}");
        }
    }

    #[test]
    fn fast_path_agrees_bit_for_bit_with_std_or_declines() {
        for text in [
            "0",
            "-0",
            "+1",
            "1.",
            ".5",
            "-.5",
            "0.1",
            "3.4028235e38",
            "16777217",
            "16777217.0",
            "0.000000000000000000001",
            "123456789012345",
            "1234567890123456",
            "99.123456",
            "-99.999999",
            "0.30000001192092896",
            "1.00000005960464477539",
            "",
            "-",
            ".",
            "1..2",
            "1e5",
            "nan",
            "inf",
            "12a",
        ] {
            check(text);
        }
        // A sweep of 8-significant-digit decimals, where f64-then-f32 double rounding could bite.
        let mut state = 12345u64;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let digits = (state >> 20) % 1_000_000_000_000;
            let point = (state >> 5) % 13;
            let text = format!("{digits}");
            let cut = text.len().saturating_sub(point as usize);
            check(&format!("{}.{}", &text[..cut], &text[cut..]));
        }
    }

    #[test]
    fn midpoints_are_declined() {
        // 16777217 = 2^24 + 1 lies exactly between the f32s 2^24 and 2^24 + 2.
        assert_eq!(parse_f32_fast(b"16777217"), None);
        assert_eq!(parse_f32_fast(b"1.5"), Some(1.5));
    }

    #[test]
    fn eight_byte_digit_steps_match_a_byte_loop() {
        let mut state = 99u64;
        for _ in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Bytes drawn mostly from digits, sometimes from anything (high bytes included).
            let bytes: Vec<u8> = (0..8)
                .map(|k| {
                    let r = (state >> (k * 8)) as u8;
                    if r.is_multiple_of(5) {
                        r
                    } else {
                        b'0' + r % 10
                    }
                })
                .collect();
            let word = load8(&bytes, 0);
            let naive_count = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            assert_eq!(leading_digits(word), naive_count, "{bytes:?}");
            let naive_value = bytes[..naive_count]
                .iter()
                .fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
            assert_eq!(digits_value(word, naive_count), naive_value, "{bytes:?}");
        }
    }

    #[test]
    fn prefix_parse_stops_at_the_first_byte_after_the_number() {
        for (text, number) in [
            ("12.5,3", "12.5"),
            ("-7\n", "-7"),
            ("1.25\r\n", "1.25"),
            ("+.5;", "+.5"),
            ("123456789.123", "123456789.123"),
            ("0.000001 ", "0.000001"),
            ("42", "42"),
            ("3.", "3."),
        ] {
            let (value, end) = parse_decimal_prefix(text.as_bytes(), 0)
                .unwrap_or_else(|| panic!("{text:?} declined"));
            assert_eq!(end, number.len(), "{text:?}");
            assert_eq!(value.to_bits(), number.parse::<f32>().unwrap().to_bits());
        }
        // From an offset, and with the number running into the end of the buffer (padding).
        let line = b"x,-99.999999";
        let (value, end) = parse_decimal_prefix(line, 2).unwrap();
        assert_eq!((value, end), (-99.999_999, line.len()));
        assert_eq!(parse_decimal_prefix(b"a1", 0), None);
        assert_eq!(parse_decimal_prefix(b"-.", 0), None);
        assert_eq!(parse_decimal_prefix(b"", 0), None);
    }

    #[test]
    fn typical_csv_numbers_take_the_fast_path() {
        for text in ["-12.345678", "0.000001", "99", "7", "-0.5", "1234567.25"] {
            let fast = parse_f32_fast(text.as_bytes()).unwrap_or_else(|| panic!("{text:?}"));
            assert_eq!(fast.to_bits(), text.parse::<f32>().unwrap().to_bits());
        }
        // 20 digits (and 19 from 2^63 up) are left to the standard parser; 17 to 19 digits
        // (mantissas above 2^53, as in Python's float reprs) are not.
        assert_eq!(parse_f32_fast(b"12345678901234567890"), None);
        assert_eq!(parse_f32_fast(b"9999999999999999999"), None); // above 2^63
        for text in [
            "1234567890123456789",
            "0.30000000000000004",
            "-26.079609967919583",
        ] {
            let fast = parse_f32_fast(text.as_bytes()).unwrap_or_else(|| panic!("{text:?}"));
            assert_eq!(fast.to_bits(), text.parse::<f32>().unwrap().to_bits());
        }
    }

    #[test]
    fn decimals_next_to_f32_midpoints_agree_with_std() {
        // Decimals a few f64 ulps from a midpoint between two f32s: where the product with
        // 10^-k could round either way, so the exact division must decide.
        let mut state = 3u64;
        let mut checked = 0;
        for _ in 0..50_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // In [1, 8): 15 decimals then put the decimal within about one f64 ulp.
            let low = 1.0 + (state >> 40) as f32 / (1u64 << 24) as f32 * 7.0;
            let high = f32::from_bits(low.to_bits() + 1);
            let midpoint = (f64::from(low) + f64::from(high)) / 2.0;
            for digits in [13, 14, 15, 16, 17, 18] {
                let text = format!("{midpoint:.digits$}");
                let mut bytes = text.clone().into_bytes();
                for delta in [0i8, 1, -1] {
                    let last = bytes.len() - 1;
                    let digit = (text.as_bytes()[last] - b'0') as i8 + delta;
                    if !(0..=9).contains(&digit) {
                        continue;
                    }
                    bytes[last] = b'0' + digit as u8;
                    let cell = std::str::from_utf8(&bytes).unwrap();
                    check(cell);
                    checked += usize::from(parse_f32_fast(cell.as_bytes()).is_some());
                }
            }
        }
        assert!(
            checked > 100_000,
            "only {checked} near-midpoint decimals took the fast path"
        );
    }

    #[test]
    fn long_decimals_agree_with_std() {
        // 15 to 19 significant digits, mantissas on both sides of 2^53.
        let mut state = 11u64;
        let mut taken = 0;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let digits = 15 + (state >> 61) as usize % 5;
            let text: String = (0..digits)
                .map(|k| char::from(b'0' + ((state >> (k * 3 % 60)) % 10) as u8))
                .collect();
            let point = (state >> 7) as usize % (digits + 1);
            let cell = format!("{}.{}", &text[..point], &text[point..]);
            check(&cell);
            taken += usize::from(parse_f32_fast(cell.as_bytes()).is_some());
        }
        assert!(
            taken > 190_000,
            "only {taken} long decimals took the fast path"
        );
    }
}
