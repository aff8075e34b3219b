//! Adam's parameter move `p + (s·m) / denom` without the subnormal penalty, and with the same
//! bits.
//!
//! Why: a parameter whose gradient stays at zero (a dead ReLU unit's weights, say) keeps a first
//! moment `m` that shrinks by `beta1` every step, and after about 700 steps `s·m` (the step size
//! times `m`) is subnormal, soon followed by `m` itself. On the CPUs we measured (AMD Zen 4), a
//! multiply or divide that reads or produces a subnormal costs 2-3x: a 235k-parameter Adam update
//! went from 146 to 314 us per step from about the 650th step of zero gradients, part way through
//! the first epoch of the MNIST MLP at batch 32. The moment updates themselves (fused
//! multiply-adds) and the additions run at full speed with subnormals; only `s·m / denom` pays.
//!
//! Such a move is far below half an ulp of any parameter that is not itself tiny, so it leaves
//! the parameter's bits unchanged. [`Unmovable::for_step`] computes, once per step, a bound on
//! `|m|` below which the move is that small and a bound on `|p|` above which that is certain;
//! [`Unmovable::apply`] then substitutes a zero moment in those lanes, which gives the same
//! result (the parameter) with normal numbers only. Every other lane, including a tiny moment
//! on a tiny parameter, computes the formula as written.
//!
//! The proof, for `|m| < M`, `s` finite, `eps > 0` and `denom` either NaN or `>= eps` (it is
//! `sqrt(v)/c + eps` rounded, with `v, c >= 0`):
//! - `a = fl(s·m)` has `|a| <= |s|·M·(1 + 2^-24) + 2^-150` (relative error `2^-24` in the
//!   normal range, absolute `2^-150` in the subnormal one);
//! - `q = fl(a / denom)` has `|q| <= (|a| / eps)·(1 + 2^-24) + 2^-150 =: Q`;
//! - for a normal `p` with `2^e <= |p| < 2^(e+1)`, its neighbours are at least `2^(e-24)` away,
//!   so `fl(p + q) = p` whenever `|q| < 2^(e-25)`, which `|p| >= 2^26·Q` guarantees; the bound
//!   below uses `2^27·Q` so that evaluating it in f64 and rounding it to f32 cannot undercut it.
//! - With the zero moment the lane computes `p + (±0)/denom`: `p` exactly (`p` is not zero), or
//!   `denom`'s NaN, exactly as the formula does when `denom` is NaN. An infinite `p` stays
//!   infinite either way.
//!
//! `M` is chosen so that every `m` whose product `s·m` can be subnormal qualifies
//! (`M = 2^-124 / |s|`, at least `2^-126` and at most `2^-64`); the bound on `|p|` is then about
//! `2^-97 / eps`, 4e-22 for the default `eps = 1e-8`.

/// The lanes of one step whose move provably leaves the parameter unchanged: `|m| < moment`
/// and `|p| >= param` (see the module docs).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unmovable {
    moment: f32,
    param: f32,
}

impl Unmovable {
    /// The bounds for a step of size `neg_step`; none qualifies (NaN bounds compare false) when
    /// `eps` is not positive or the step is not finite.
    pub(crate) fn for_step(neg_step: f32, eps: f32) -> Self {
        if !(eps > 0.0 && neg_step.is_finite()) {
            return Unmovable {
                moment: f32::NAN,
                param: f32::NAN,
            };
        }
        let step = f64::from(neg_step.abs());
        let moment = (f64::powi(2.0, -124) / step).clamp(f64::powi(2.0, -126), f64::powi(2.0, -64));
        let rounding = 1.0 + f64::powi(2.0, -24);
        let subnormal_error = f64::powi(2.0, -150);
        let product = step * moment * rounding + subnormal_error;
        let quotient = product / f64::from(eps) * rounding + subnormal_error;
        Unmovable {
            // Exact: a power of two in f32's normal range.
            moment: moment as f32,
            param: (quotient * f64::powi(2.0, 27)) as f32,
        }
    }

    /// `p + (neg_step·m) / denom`, bit for bit, without a tiny `m` reaching the multiply and the
    /// divide in the lanes this step cannot move.
    ///
    /// The lane mask is built with `&` (not `&&`) so the loop stays branch-free and vectorises,
    /// and the zero goes into the product instead of selecting `p` at the end: selecting the
    /// result lets the compiler drop the substitution (the discarded lanes' value does not
    /// matter to it) and keep the slow subnormal divide.
    #[inline(always)]
    pub(crate) fn apply(self, p: f32, m: f32, denom: f32, neg_step: f32) -> f32 {
        let unmoved = (m.abs() < self.moment) & (p.abs() >= self.param);
        let m_used = if unmoved { 0.0 } else { m };
        p + neg_step * m_used / denom
    }
}

#[cfg(test)]
mod tests {
    use super::Unmovable;
    // SplitMix64, so the cases are the same on every run.
    use gradwork_tensor::splitmix64 as next;

    fn pick(state: &mut u64, from: &[f32]) -> f32 {
        from[(next(state) % from.len() as u64) as usize]
    }

    /// A float with a random mantissa and sign, of magnitude about `scale`.
    fn around(state: &mut u64, scale: f32) -> f32 {
        let mantissa = 1.0 + (next(state) >> 40) as f32 / (1u64 << 24) as f32;
        let sign = if next(state) & 1 == 0 { 1.0 } else { -1.0 };
        sign * mantissa * scale
    }

    /// `around(scale·2^shift)` for a random shift in `lowest..=highest`.
    fn near(state: &mut u64, scale: f32, lowest: i32, highest: i32) -> f32 {
        let shift = lowest + (next(state) % (highest - lowest + 1) as u64) as i32;
        around(state, scale * 2f32.powi(shift))
    }

    /// The substitution must give the formula's bits on every input, in particular on moments
    /// and parameters just inside and outside the bounds, on zero, infinite and NaN values, and
    /// for steps and epsilons from tiny to huge; and it must actually fire.
    #[test]
    fn the_move_matches_the_formula_bit_for_bit() {
        let mut state = 7u64;
        let steps = [
            -1e-3,
            -0.1,
            -1.0,
            -3e4,
            -1e-30,
            -0.0,
            0.0,
            2.5e-3,
            -f32::MAX,
        ];
        let epsilons = [1e-8, 1e-30, 1e-3, 1.0, 1e30, f32::MIN_POSITIVE, 0.0];
        let (mut unmoved, mut cases) = (0usize, 0usize);
        for _ in 0..400_000 {
            let neg_step = pick(&mut state, &steps);
            let eps = pick(&mut state, &epsilons);
            let bounds = Unmovable::for_step(neg_step, eps);
            let m = match next(&mut state) % 5 {
                0 => f32::from_bits((next(&mut state) as u32) & 0x807f_ffff), // subnormal or zero
                // Near the moment bound, on both sides.
                1 if bounds.moment.is_finite() => near(&mut state, bounds.moment, -12, 2),
                2 => pick(
                    &mut state,
                    &[0.0, -0.0, f32::MIN_POSITIVE, -f32::MIN_POSITIVE],
                ),
                3 => around(&mut state, 1e-5),
                _ => pick(&mut state, &[f32::NAN, f32::INFINITY, 1e30]),
            };
            let p = match next(&mut state) % 4 {
                // Near the parameter bound, on both sides, where a wrong bound would show.
                0 if bounds.param.is_finite() => near(&mut state, bounds.param, -30, 9),
                1 => pick(
                    &mut state,
                    &[0.0, -0.0, f32::INFINITY, -f32::INFINITY, f32::NAN],
                ),
                2 => f32::from_bits(next(&mut state) as u32),
                _ => around(&mut state, 0.01),
            };
            // `denom` is `sqrt(v)/c + eps` rounded, so it is >= eps or NaN.
            let denom = match next(&mut state) % 4 {
                0 => eps,
                1 => pick(&mut state, &[f32::NAN, f32::INFINITY]),
                _ => around(&mut state, 1e-4).abs() + eps,
            };
            let want = p + neg_step * m / denom;
            let got = bounds.apply(p, m, denom, neg_step);
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "p {p:e} m {m:e} denom {denom:e} step {neg_step:e} eps {eps:e} {bounds:?}"
            );
            cases += 1;
            if m != 0.0 && m.abs() < bounds.moment && p.abs() >= bounds.param {
                unmoved += 1;
            }
        }
        assert!(
            unmoved > cases / 20,
            "the substitution fired {unmoved} times of {cases}"
        );
    }

    /// The bounds cover every moment whose product with the step is subnormal, leave real
    /// parameters qualifying for usual settings, and are off when a zero `eps` or a
    /// non-finite step would break the proof.
    #[test]
    fn the_bounds_cover_subnormal_products_and_are_off_when_unsafe() {
        let usual = Unmovable::for_step(-1e-3, 1e-8);
        assert!(1e-3 * usual.moment >= f32::MIN_POSITIVE, "{usual:?}");
        assert!(usual.param > 0.0 && usual.param < 1e-20, "{usual:?}");
        let big_step = Unmovable::for_step(-8.0, 1e-8);
        assert_eq!(big_step.moment, f32::MIN_POSITIVE);
        for off in [
            Unmovable::for_step(-1e-3, 0.0),
            Unmovable::for_step(f32::NEG_INFINITY, 1e-8),
            Unmovable::for_step(f32::NAN, 1e-8),
        ] {
            assert!(off.moment.is_nan() && off.param.is_nan(), "{off:?}");
            // NaN bounds compare false, so no lane is substituted.
            assert_eq!(
                off.apply(1.0, 1e-40, 1e-8, -1e-3),
                1.0 + -1e-3 * 1e-40 / 1e-8
            );
        }
    }
}
