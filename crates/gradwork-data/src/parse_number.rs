//! A fast path for the plain decimals that fill numeric CSV files (`-12.345678`, `7`, `0.5`),
//! exact to the last bit: it returns what `str::parse::<f32>` returns, or `None` to send the cell
//! down the standard path (exponents, long mantissas, `inf`, non-ASCII...).

/// Exact powers of ten as `f64` (all up to 1e22 are exactly representable).
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses `[+-]digits[.digits]` (at most 19 digits, mantissa at most 2^53), correctly rounded to `f32`.
///
/// Why it is exact: the mantissa (at most 2^53) and the power of ten are exact `f64`s, so
/// their quotient is the correctly rounded `f64` of the decimal (IEEE division). Rounding that
/// `f64` to `f32` gives the correctly rounded `f32` unless the `f64` sits exactly on a midpoint
/// between two `f32`s (double rounding); that case, and values outside the normal `f32` range,
/// return `None`.
pub(crate) fn parse_f32_fast(cell: &[u8]) -> Option<f32> {
    let (negative, digits) = match cell.first()? {
        b'-' => (true, &cell[1..]),
        b'+' => (false, &cell[1..]),
        _ => (false, cell),
    };
    // Digits accumulate in a u64 (19 digits cannot overflow it); the mantissa must then be
    // exact in f64 (at most 2^53), which is all the exactness argument needs.
    let mut mantissa: u64 = 0;
    let mut i = 0;
    while i < digits.len() && digits[i].is_ascii_digit() {
        mantissa = mantissa.wrapping_mul(10) + u64::from(digits[i] - b'0');
        i += 1;
    }
    let integer_digits = i;
    let mut fraction_digits = 0;
    if i < digits.len() && digits[i] == b'.' {
        i += 1;
        let start = i;
        while i < digits.len() && digits[i].is_ascii_digit() {
            mantissa = mantissa.wrapping_mul(10) + u64::from(digits[i] - b'0');
            i += 1;
        }
        fraction_digits = i - start;
    }
    let total_digits = integer_digits + fraction_digits;
    if i != digits.len() || total_digits == 0 || total_digits > 19 || fraction_digits > 22 {
        return None;
    }
    if mantissa > 1 << 53 {
        return None;
    }
    let magnitude = mantissa as f64 / POWERS_OF_TEN[fraction_digits];
    if magnitude != 0.0 {
        if !(f32::MIN_POSITIVE as f64..=f32::MAX as f64).contains(&magnitude) {
            return None;
        }
        // The 29 mantissa bits an f32 drops: exactly 100...0 means an f32 midpoint.
        const DROPPED: u64 = (1 << 29) - 1;
        if magnitude.to_bits() & DROPPED == 1 << 28 {
            return None;
        }
    }
    let value = magnitude as f32;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse_f32_fast;

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
}
