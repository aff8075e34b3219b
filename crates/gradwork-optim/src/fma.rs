//! A fast, exactly rounded f32 fused multiply-add without the `fma` target feature.
//!
//! `f32::mul_add` is correctly rounded but, unless the crate is compiled with the `fma` target
//! feature, it calls libm's `fmaf`, which can be a slow software routine (about 10 ns per call
//! here, dominating an optimizer step). The product of two f32 is exact in f64, and computing the
//! sum in f64 with *round-to-odd* and then rounding to f32 gives the correctly rounded result
//! (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
//! rounding to odd", 2008: valid because f64 carries at least 2·24+2 bits). Round-to-odd is
//! obtained from the ordinary f64 sum and its exact error (TwoSum): when the sum was inexact and
//! its last bit is even, it is moved one unit toward the error.

/// `a * b + c` with a single rounding, bit-identical to `a.mul_add(b, c)`.
#[inline]
pub(crate) fn fma(a: f32, b: f32, c: f32) -> f32 {
    let p = f64::from(a) * f64::from(b); // exact: 24 + 24 significant bits fit in 53
    let cc = f64::from(c);
    let s = p + cc;
    if !s.is_finite() {
        return s as f32;
    }
    // TwoSum: err is exactly (p + cc) - s.
    let bv = s - p;
    let err = (p - (s - bv)) + (cc - bv);
    let mut bits = s.to_bits();
    if err != 0.0 && bits & 1 == 0 {
        // Round to odd: step one ulp toward the exact value (s is non-zero when err is).
        if (err > 0.0) == (s > 0.0) {
            bits += 1;
        } else {
            bits -= 1;
        }
    }
    f64::from_bits(bits) as f32
}

#[cfg(test)]
mod tests {
    use super::fma;

    fn check(a: f32, b: f32, c: f32) {
        let want = a.mul_add(b, c);
        let got = fma(a, b, c);
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "fma({a:e}, {b:e}, {c:e}) = {got:e}, mul_add gives {want:e}"
        );
    }

    #[test]
    fn matches_mul_add_on_random_and_hard_inputs() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let r = next();
            // Random bit patterns (all exponents) and values near each other (cancellation).
            let a = f32::from_bits(r as u32);
            let b = f32::from_bits((r >> 32) as u32);
            let c = f32::from_bits(next() as u32);
            check(a, b, c);
            let x = (r as u32 >> 9) as f32 / (1u32 << 23) as f32 + 0.5;
            let y = ((r >> 32) as u32 >> 9) as f32 / (1u32 << 23) as f32 - 1.5;
            check(x, y, -(x * y));
            check(x, 1.0 + f32::EPSILON, -x);
            check(-0.1, x, x * 0.1);
        }
        for &(a, b, c) in &[
            (0.0f32, 0.0f32, -0.0f32),
            (-0.0, 5.0, 0.0),
            (f32::MAX, 2.0, -f32::MAX),
            (f32::MIN_POSITIVE, 0.5, 0.0),
            (1e-30, 1e-30, 1e-45),
            (f32::INFINITY, 0.0, 1.0),
            (f32::NAN, 1.0, 1.0),
            (1.0 + f32::EPSILON, 1.0 - f32::EPSILON / 2.0, -1.0),
        ] {
            check(a, b, c);
        }
    }
}
