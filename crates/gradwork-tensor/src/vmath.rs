//! `exp`, `sigmoid` and `tanh` for f32 in branch-free arithmetic, so that loops over tensors
//! vectorise (libm's `expf`/`tanhf` are one call per element: ~30% of an LSTM's training time).
//!
//! Each function is generic over [`MulAdd`], like the other kernels of [`crate::simd`]: inside
//! [`crate::simd::run_fused`] on a CPU with FMA the polynomials use fused multiply-adds, else the
//! caller's fallback. The result depends on the CPU's features, never on the thread count.
//!
//! Accuracy (tested against f64 over the whole range, including subnormal results): `exp` within
//! 2 ulp, `sigmoid` and `tanh` within 3 ulp. NaN propagates; infinities give the limits.
//!
//! ```
//! use gradwork_tensor::simd::Fused;
//! use gradwork_tensor::vmath::{exp, tanh};
//! assert!((tanh::<Fused>(0.5) - 0.5f32.tanh()).abs() <= 1e-7);
//! assert_eq!(exp::<Fused>(0.0), 1.0);
//! assert_eq!(tanh::<Fused>(f32::INFINITY), 1.0);
//! ```

use crate::simd::MulAdd;

/// `log2(e)`.
const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// `ln 2` split in two: the high part has 15 significant bits, so `n * LN2_HI` is exact for the
/// `|n| <= 150` used here, and `x - n ln 2` keeps its precision (Cody and Waite).
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// Adding and subtracting `1.5 * 2^23` rounds a float of magnitude below `2^22` to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
/// Taylor coefficients `1/k!` for `k = 2..=7`: on `|r| <= ln(2)/2` the truncation error is below
/// `r^8 / 8! < 6e-9`, a tenth of an ulp.
const EXP_POLY: [f32; 6] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
];

/// `e^x`: overflows to infinity above ~88.72, underflows through the subnormals to 0 below
/// ~-103.97, like libm.
#[inline(always)]
pub fn exp<F: MulAdd>(x: f32) -> f32 {
    // Clamped so that the exponent below stays in range (a NaN stays NaN).
    let x = x.clamp(-104.0, 89.0);
    // x = n ln 2 + r with |r| <= ln(2) / 2.
    let n = (x * LOG2_E + ROUND_MAGIC) - ROUND_MAGIC;
    let r = F::mul_add(-n, LN2_HI, x);
    let r = F::mul_add(-n, LN2_LO, r);
    let mut p = EXP_POLY[5];
    for &c in EXP_POLY[..5].iter().rev() {
        p = F::mul_add(p, r, c);
    }
    // 1 + r + r^2 (1/2 + r/6 + ...).
    let p = F::mul_add(p, r * r, r) + 1.0;
    // 2^n in two factors, each a normal float for every n in -150..=129, so that subnormal and
    // overflowing results round once, in the last multiplication.
    let n = n as i32;
    let half = n >> 1;
    p * pow2(half) * pow2(n - half)
}

/// `2^n` for `-126 <= n <= 127`, built from its exponent bits.
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// The logistic function `1 / (1 + e^-x)`, without overflow for any `x`: `e^-|x|` is at most 1,
/// and a negative `x` takes the form `e^x / (1 + e^x)`.
#[inline(always)]
pub fn sigmoid<F: MulAdd>(x: f32) -> f32 {
    let e = exp::<F>(-x.abs());
    let numerator = if x >= 0.0 { 1.0 } else { e };
    numerator / (1.0 + e)
}

/// Below this magnitude `tanh` is an odd polynomial; above it `1 - 2 / (e^{2|x|} + 1)`, which
/// loses less than a bit to cancellation there.
const TANH_SMALL: f32 = 0.625;
/// `tanh(x) = x + x^3 P(x^2)` on `|x| < 0.625`: the minimax coefficients of the Cephes library's
/// `tanhf`, highest degree first.
const TANH_POLY: [f32; 5] = [
    -5.704_988_7e-3,
    2.063_909e-2,
    -5.373_971_6e-2,
    1.333_144_2e-1,
    -3.333_328e-1,
];

/// The hyperbolic tangent. Odd, exact at 0 (keeping the sign of zero), 1 in magnitude from ~9.01.
#[inline(always)]
pub fn tanh<F: MulAdd>(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let mut p = TANH_POLY[0];
    for &c in &TANH_POLY[1..] {
        p = F::mul_add(p, z, c);
    }
    let small = F::mul_add(p * z, a, a);
    let large = 1.0 - 2.0 / (exp::<F>(2.0 * a) + 1.0);
    // `a < TANH_SMALL` is false for NaN, whose `large` is NaN. Computed for |x| and given x's
    // sign after, so that tanh(-0) is -0 and the function is exactly odd.
    let magnitude = if a < TANH_SMALL { small } else { large };
    magnitude.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::{exp, sigmoid, tanh};
    use crate::simd::{Fused, Unfused};

    /// Distance in units in the last place between `got` and the f64 reference rounded to f32
    /// (0 when both are the same NaN-ness or infinity).
    fn ulps(got: f32, want: f64) -> u32 {
        let want = want as f32;
        if want.is_nan() || got.is_nan() {
            return if want.is_nan() && got.is_nan() {
                0
            } else {
                u32::MAX
            };
        }
        if got == want {
            return 0;
        }
        if got.is_sign_negative() != want.is_sign_negative() {
            return got.to_bits().wrapping_add(want.to_bits()) & 0x7fff_ffff;
        }
        got.to_bits().abs_diff(want.to_bits())
    }

    /// Every 4099th f32 bit pattern of both signs (a million values), every 13th one of
    /// `[0.5, 0.8]` (where `tanh` switches formula) and of both signs, plus special values.
    fn inputs() -> impl Iterator<Item = f32> {
        let switch = (0.5f32.to_bits()..0.8f32.to_bits())
            .step_by(13)
            .map(f32::from_bits)
            .flat_map(|x| [x, -x]);
        let specials = [
            0.0,
            -0.0,
            0.625,
            -0.625,
            0.624_999_94,
            88.72,
            88.73,
            -87.34,
            -103.97,
            -103.98,
            9.01,
            f32::MIN_POSITIVE,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        (0..u32::MAX / 4099)
            .map(|i| f32::from_bits(i * 4099))
            .chain(switch)
            .chain(specials)
    }

    fn max_ulps(f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64, domain: f32) -> (u32, f32) {
        inputs()
            .filter(|x| x.is_nan() || x.abs() <= domain)
            .map(|x| (ulps(f(x), reference(f64::from(x))), x))
            .max_by_key(|&(u, _)| u)
            .expect("inputs")
    }

    #[test]
    fn exp_is_within_2_ulp_from_underflow_to_overflow() {
        for (name, worst) in [
            ("fused", max_ulps(exp::<Fused>, f64::exp, 110.0)),
            ("unfused", max_ulps(exp::<Unfused>, f64::exp, 110.0)),
        ] {
            assert!(worst.0 <= 2, "{name}: {} ulp at x = {:e}", worst.0, worst.1);
        }
        assert_eq!(exp::<Fused>(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp::<Fused>(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp::<Fused>(0.0), 1.0);
        assert!(exp::<Fused>(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_and_tanh_are_within_3_ulp_everywhere() {
        let sigmoid_ref = |x: f64| 1.0 / (1.0 + (-x).exp());
        for (name, worst) in [
            (
                "sigmoid",
                max_ulps(sigmoid::<Fused>, sigmoid_ref, f32::INFINITY),
            ),
            (
                "sigmoid unfused",
                max_ulps(sigmoid::<Unfused>, sigmoid_ref, f32::INFINITY),
            ),
            ("tanh", max_ulps(tanh::<Fused>, f64::tanh, f32::INFINITY)),
            (
                "tanh unfused",
                max_ulps(tanh::<Unfused>, f64::tanh, f32::INFINITY),
            ),
        ] {
            assert!(worst.0 <= 3, "{name}: {} ulp at x = {:e}", worst.0, worst.1);
        }
    }

    #[test]
    fn limits_signs_and_nan() {
        assert_eq!(tanh::<Fused>(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh::<Fused>(f32::INFINITY), 1.0);
        assert_eq!(tanh::<Fused>(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh::<Fused>(20.0), 1.0);
        assert_eq!(sigmoid::<Fused>(f32::INFINITY), 1.0);
        assert_eq!(sigmoid::<Fused>(f32::NEG_INFINITY), 0.0);
        assert_eq!(sigmoid::<Fused>(0.0), 0.5);
        assert!(sigmoid::<Fused>(-100.0) > 0.0, "a subnormal, not 0");
        assert!(tanh::<Fused>(f32::NAN).is_nan() && sigmoid::<Fused>(f32::NAN).is_nan());
    }
}
