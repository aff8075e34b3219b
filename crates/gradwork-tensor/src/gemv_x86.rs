//! The matrix-vector dot products of [`crate::gemv`], written with x86 vector intrinsics.
//!
//! The portable kernel computes one output at a time, so every 32 weights cost two loads (the
//! input's and the weight's) and the input vector is re-read once per output. Here one pass over
//! the input serves several outputs at once: 4 with AVX-512, 3 with AVX2 (as many as the 16 AVX2
//! registers hold). The tail of a dot product is read with masked loads instead of being copied
//! into zero-padded arrays.
//!
//! The arithmetic is exactly the portable kernel's with [`crate::simd::Fused`]: each output keeps
//! [`LANES`] interleaved partial sums, the tail continues them with zeros in the missing lanes,
//! and the partial sums are folded pairwise (16, 8, 4, 2, 1). So the AVX-512, AVX2 and portable
//! FMA paths give the same bits, which a test checks.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::gemv::LANES;
use crate::sgemm_avx2::lane_mask;

const _: () = assert!(LANES == 32, "the kernels below hold 32 lanes per output");

/// `out[j] = dot(a, b[j*col_stride..][..k])` for each `j`; `false` (nothing written) when the CPU
/// has neither AVX-512F nor AVX2 with FMA.
///
/// # Panics
/// When a column would read past the end of `b` (the caller checks this first).
pub(crate) fn dots(a: &[f32], b: &[f32], col_stride: usize, out: &mut [f32]) -> bool {
    out.is_empty()
        || dots_with_avx512(a, b, col_stride, out)
        || dots_with_avx2(a, b, col_stride, out)
}

/// `true` when every column `j < out.len()` (`a.len()` floats from `j * col_stride`) lies in
/// `b`: the bound the unsafe kernels rely on. Panics otherwise; `false` for no columns.
fn columns_in_bounds(a: &[f32], b: &[f32], col_stride: usize, out: &[f32]) -> bool {
    if out.is_empty() {
        return false;
    }
    assert!(
        (out.len() - 1) * col_stride + a.len() <= b.len(),
        "gemv column out of bounds"
    );
    true
}

/// [`dots`] with the AVX-512 kernel; `false` (nothing written) without AVX-512F or columns.
/// Separate so that the test can compare the kernels bit for bit.
pub(crate) fn dots_with_avx512(a: &[f32], b: &[f32], col_stride: usize, out: &mut [f32]) -> bool {
    if !crate::cpu::has_avx512() || !columns_in_bounds(a, b, col_stride, out) {
        return false;
    }
    // SAFETY: the CPU has AVX-512F, the kernel's only target feature, and every column is in
    // bounds (both checked above).
    unsafe { dots_avx512(a, b, col_stride, out) };
    true
}

/// [`dots`] with the AVX2 kernel; `false` (nothing written) without AVX2 and FMA or columns.
pub(crate) fn dots_with_avx2(a: &[f32], b: &[f32], col_stride: usize, out: &mut [f32]) -> bool {
    let usable = crate::cpu::isa().is_some();
    if !usable || !columns_in_bounds(a, b, col_stride, out) {
        return false;
    }
    // SAFETY: as above, for AVX2 and FMA.
    unsafe { dots_avx2(a, b, col_stride, out) };
    true
}

/// # Safety
/// The CPU has AVX-512F, and `(out.len() - 1) * col_stride + a.len() <= b.len()`.
#[target_feature(enable = "avx512f")]
unsafe fn dots_avx512(a: &[f32], b: &[f32], col_stride: usize, out: &mut [f32]) {
    // SAFETY (both closures): `for_column_blocks` passes the start of columns it has checked are
    // in bounds, and the closures run with this function's AVX-512F.
    for_column_blocks(
        b,
        col_stride,
        out,
        |first| unsafe { columns_avx512::<4>(a, first, col_stride) },
        |first| unsafe { columns_avx512::<1>(a, first, col_stride) },
    );
}

/// Writes `out[j]`, the dot product with column `j` (starting at `b[j * col_stride]`), by blocks
/// of `C` columns from `block`, then the remaining columns one by one from `single`.
///
/// # Panics
/// When a column's start lies outside `b` (the callers check more: the whole column).
#[inline(always)]
fn for_column_blocks<const C: usize>(
    b: &[f32],
    col_stride: usize,
    out: &mut [f32],
    mut block: impl FnMut(*const f32) -> [f32; C],
    mut single: impl FnMut(*const f32) -> [f32; 1],
) {
    let start = |j: usize| b[j * col_stride..].as_ptr();
    let mut j = 0;
    while j + C <= out.len() {
        out[j..j + C].copy_from_slice(&block(start(j)));
        j += C;
    }
    while j < out.len() {
        out[j] = single(start(j))[0];
        j += 1;
    }
}

/// Dot products of `a` with the `C` columns starting at `first`, `col_stride` apart.
///
/// # Safety
/// AVX-512F, and each column `first + c*col_stride` has `a.len()` readable floats.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn columns_avx512<const C: usize>(
    a: &[f32],
    first: *const f32,
    col_stride: usize,
) -> [f32; C] {
    let (whole, rem) = (a.len() / LANES, a.len() % LANES);
    let x = a.as_ptr();
    let mut acc = [[_mm512_setzero_ps(); 2]; C];
    for chunk in 0..whole {
        let at = chunk * LANES;
        // SAFETY: `at + 32 <= a.len()`, and each column is as long as `a`.
        unsafe {
            let (x0, x1) = (_mm512_loadu_ps(x.add(at)), _mm512_loadu_ps(x.add(at + 16)));
            for (c, acc) in acc.iter_mut().enumerate() {
                let w = first.add(c * col_stride + at);
                acc[0] = _mm512_fmadd_ps(x0, _mm512_loadu_ps(w), acc[0]);
                acc[1] = _mm512_fmadd_ps(x1, _mm512_loadu_ps(w.add(16)), acc[1]);
            }
        }
    }
    if rem > 0 {
        // Zeros in the missing lanes: `0 * 0 + acc`, as the portable kernel's padded tail.
        let low: __mmask16 = ((1u32 << rem.min(16)) - 1) as u16;
        let high: __mmask16 = ((1u32 << rem.saturating_sub(16)) - 1) as u16;
        let at = whole * LANES;
        // SAFETY: masked lanes are not read, and the others are below `a.len()`. The pointers of
        // a wholly masked half may lie past the end, so they are formed with `wrapping_add`.
        unsafe {
            let x0 = _mm512_maskz_loadu_ps(low, x.add(at));
            let x1 = _mm512_maskz_loadu_ps(high, x.wrapping_add(at + 16));
            for (c, acc) in acc.iter_mut().enumerate() {
                let w = first.add(c * col_stride + at);
                acc[0] = _mm512_fmadd_ps(x0, _mm512_maskz_loadu_ps(low, w), acc[0]);
                let w_high = w.wrapping_add(16);
                acc[1] = _mm512_fmadd_ps(x1, _mm512_maskz_loadu_ps(high, w_high), acc[1]);
            }
        }
    }
    let mut sums = [0.0; C];
    for (sum, &[low, high]) in sums.iter_mut().zip(&acc) {
        // Width 16: lane l + lane l+16.
        let s = _mm512_add_ps(low, high);
        // Width 8.
        let s_low = _mm512_castps512_ps256(s);
        let s_high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(s)));
        *sum = fold8(_mm256_add_ps(s_low, s_high));
    }
    sums
}

/// Folds 8 partial sums pairwise (widths 4, 2, 1) into one.
#[inline]
#[target_feature(enable = "avx")]
fn fold8(v: __m256) -> f32 {
    let v = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    _mm_cvtss_f32(_mm_add_ss(v, _mm_shuffle_ps::<1>(v, v)))
}

/// # Safety
/// The CPU has AVX2 and FMA, and `(out.len() - 1) * col_stride + a.len() <= b.len()`.
#[target_feature(enable = "avx2,fma")]
unsafe fn dots_avx2(a: &[f32], b: &[f32], col_stride: usize, out: &mut [f32]) {
    // SAFETY (both closures): as in `dots_avx512`, with this function's AVX2 and FMA.
    for_column_blocks(
        b,
        col_stride,
        out,
        |first| unsafe { columns_avx2::<3>(a, first, col_stride) },
        |first| unsafe { columns_avx2::<1>(a, first, col_stride) },
    );
}

/// As [`columns_avx512`], with four 8-lane vectors per output.
///
/// # Safety
/// AVX2 and FMA, and each column `first + c*col_stride` has `a.len()` readable floats.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn columns_avx2<const C: usize>(
    a: &[f32],
    first: *const f32,
    col_stride: usize,
) -> [f32; C] {
    let (whole, rem) = (a.len() / LANES, a.len() % LANES);
    let x = a.as_ptr();
    let mut acc = [[_mm256_setzero_ps(); 4]; C];
    for chunk in 0..whole {
        let at = chunk * LANES;
        for q in 0..4 {
            // SAFETY: `at + 32 <= a.len()`, and each column is as long as `a`.
            unsafe {
                let xq = _mm256_loadu_ps(x.add(at + 8 * q));
                for (c, acc) in acc.iter_mut().enumerate() {
                    let w = first.add(c * col_stride + at + 8 * q);
                    acc[q] = _mm256_fmadd_ps(xq, _mm256_loadu_ps(w), acc[q]);
                }
            }
        }
    }
    if rem > 0 {
        let at = whole * LANES;
        for q in 0..4 {
            // Lanes of this vector that hold data: `rem - 8q`, clamped to 0..=8.
            let mask = lane_mask(rem.saturating_sub(8 * q));
            // SAFETY: masked lanes are not read, and the others are below `a.len()`. A wholly
            // masked vector's pointers may lie past the end, so they use `wrapping_add`.
            unsafe {
                let xq = _mm256_maskload_ps(x.wrapping_add(at + 8 * q), mask);
                for (c, acc) in acc.iter_mut().enumerate() {
                    let w = first.wrapping_add(c * col_stride + at + 8 * q);
                    acc[q] = _mm256_fmadd_ps(xq, _mm256_maskload_ps(w, mask), acc[q]);
                }
            }
        }
    }
    // Width 16 pairs vector 0 with 2 and 1 with 3; width 8 adds the two results.
    let mut sums = [0.0; C];
    for (sum, &[v0, v1, v2, v3]) in sums.iter_mut().zip(&acc) {
        *sum = fold8(_mm256_add_ps(_mm256_add_ps(v0, v2), _mm256_add_ps(v1, v3)));
    }
    sums
}
