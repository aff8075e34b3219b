//! Exactly rounded f32 fused multiply-adds for the optimizers' update loops, fast on every CPU.
//!
//! The update rules use `a * b + c` with a single rounding where PyTorch's kernels do (see the
//! optimizers' module docs), which is what makes SGD bit-identical to torch. On a CPU with FMA
//! that is one instruction; `f32::mul_add` without the `fma` target feature instead calls libm's
//! `fmaf`, which can be a slow software routine (about 10 ns per call here, dominating a step).
//!
//! So each update loop is written once, generic over [`MulAdd`], and [`run_fused`] runs it
//! compiled for AVX2+FMA when the CPU has them (vectorised, with hardware FMA; see
//! `gradwork_tensor::simd`), and otherwise with an exact emulation. Both round exactly once, so
//! the results are bitwise identical either way.
//!
//! The emulation: the product of two f32 is exact in f64, and computing the sum in f64 with
//! *round-to-odd* and then rounding to f32 gives the correctly rounded result (Boldo and
//! Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to
//! odd", 2008: valid because f64 carries at least 2·24+2 bits). Round-to-odd is obtained from the
//! ordinary f64 sum and its exact error (TwoSum): when the sum was inexact and its last bit is
//! even, it is moved one unit toward the error.

pub(crate) use gradwork_tensor::simd::MulAdd;
use gradwork_tensor::simd::{self, FusedKernel};

/// The exact software emulation (any CPU), so a CPU without FMA computes the same bits.
pub(crate) struct Emulated;

impl MulAdd for Emulated {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        fma(a, b, c)
    }
}

/// Runs an update loop with hardware FMA (and AVX2 vectorisation) when the CPU has it, else
/// with the exact emulation: the results are the same bits.
pub(crate) fn run_fused<K: FusedKernel>(kernel: &mut K) {
    simd::run_fused::<K, Emulated>(kernel);
}

/// An update loop whose buffers can be cut at an element index into two independent loops.
pub(crate) trait SplitKernel: FusedKernel + Send + Sized {
    /// The number of parameter elements.
    fn len(&self) -> usize;
    /// The loops over elements `..mid` and `mid..`.
    fn split_at(self, mid: usize) -> (Self, Self);
}

/// The smallest parallel piece of an update. Every element's update is independent of the
/// others, so the split cannot change a result; the minimum keeps small tensors on one thread.
const UPDATE_CHUNK: usize = 1 << 15;

/// Runs an update, split over rayon's threads when the tensor is large.
///
/// The cut is one contiguous piece per thread, the same at every step, not many small pieces
/// handed out by work stealing: the calling thread updates the first piece and the other thread
/// (kept spinning by `par::install_busy` in a training loop) the second, step after step, so
/// each piece's parameters and moments stay in that thread's caches. With stolen small pieces
/// they moved between cores from step to step: that cost little on cores that share a cache, and
/// made the update 3x slower where they do not. The MLP at batch 128 on two vCPUs on different
/// CCDs: 108k-115k samples/s against 87k-95k before; on one CCD unchanged (157k); batch 32 on
/// one CCD 110.7k against 102.8k (medians of 17 and 16 processes).
pub(crate) fn run_update<K: SplitKernel>(kernel: K) {
    let pieces = rayon::current_num_threads().min(kernel.len() / UPDATE_CHUNK);
    run_pieces(kernel, pieces.max(1));
}

/// Runs `kernel` as `pieces` contiguous pieces of about equal length, the first on this thread.
/// Cuts fall on multiples of 16 floats, so that two threads never write one cache line of an
/// aligned buffer.
fn run_pieces<K: SplitKernel>(mut kernel: K, pieces: usize) {
    if pieces <= 1 {
        run_fused(&mut kernel);
        return;
    }
    let n = kernel.len();
    let first = pieces / 2;
    let mid = (n * first / pieces).next_multiple_of(16).min(n);
    let (left, right) = kernel.split_at(mid);
    rayon::join(
        || run_pieces(left, first),
        || run_pieces(right, pieces - first),
    );
}

/// Cuts an optional buffer like the others.
pub(crate) fn split_opt(
    buffer: Option<&mut [f32]>,
    mid: usize,
) -> (Option<&mut [f32]>, Option<&mut [f32]>) {
    match buffer {
        Some(b) => {
            let (l, r) = b.split_at_mut(mid);
            (Some(l), Some(r))
        }
        None => (None, None),
    }
}

/// PyTorch's `lerp(start, end, weight)`: the formula switches at weight 0.5 for accuracy.
#[inline(always)]
pub(crate) fn lerp<F: MulAdd>(start: f32, end: f32, weight: f32) -> f32 {
    if weight.abs() < 0.5 {
        lerp_near_start::<F>(start, end, weight)
    } else {
        lerp_near_end(start, end, weight)
    }
}

/// [`lerp`]'s formula for `|weight| < 0.5`.
#[inline(always)]
pub(crate) fn lerp_near_start<F: MulAdd>(start: f32, end: f32, weight: f32) -> f32 {
    F::mul_add(weight, end - start, start)
}

/// [`lerp`]'s formula for `|weight| >= 0.5` (and NaN).
#[inline(always)]
pub(crate) fn lerp_near_end(start: f32, end: f32, weight: f32) -> f32 {
    end - (end - start) * (1.0 - weight)
}

/// `a * b + c` with a single rounding, bit-identical to `a.mul_add(b, c)`, by emulation.
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

/// Test support: deterministic values spanning several magnitudes and both signs.
#[cfg(test)]
pub(crate) fn test_values(n: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            unit * 10f32.powi((state % 5) as i32 - 3)
        })
        .collect()
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
