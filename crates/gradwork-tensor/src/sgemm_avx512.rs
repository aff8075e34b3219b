//! The AVX-512 micro-kernel and packers of [`crate::sgemm_x86`]: 16x16 tiles, one vector per
//! row of the tile.
//!
//! A panel whose source runs along K (a row-major left operand, a transposed right one) is read
//! 16x16 at a time into registers and transposed there; a source that runs along the panel is
//! copied one vector per k. Edges are read with masked loads and zero-filled, and the kernel
//! stores its edge tiles with masked stores. A gathered operand (a convolution's column matrix
//! read in place) is packed from 32-float windows with permutes.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::sgemm_x86::{PackedKernel, TileStore};

/// The tile: 16 rows by 16 columns.
const TILE: usize = 16;

/// The AVX-512F kernel.
pub(crate) struct Avx512;

/// Packs one panel: `dst[p * 16 + l] = src[l * lane_stride + p * k_stride]` for lanes
/// `l < lanes` and `p < kc`, and zero for the lanes past `lanes`.
///
/// # Safety
/// AVX-512F; `src` readable at every offset named above; `dst.len() >= kc * 16`.
#[target_feature(enable = "avx512f")]
unsafe fn pack_panel(
    src: *const f32,
    lane_stride: usize,
    k_stride: usize,
    lanes: usize,
    kc: usize,
    dst: &mut [f32],
) {
    assert!(dst.len() >= kc * TILE && lanes <= TILE);
    let d = dst.as_mut_ptr();
    let lane_mask = mask(lanes);
    if lane_stride == 1 {
        // The panel's lanes are contiguous in the source: one (masked) vector per k.
        for p in 0..kc {
            // SAFETY: lanes 0..lanes of step p are readable, masked lanes are not read; dst
            // holds kc * 16 floats.
            unsafe {
                let v = _mm512_maskz_loadu_ps(lane_mask, src.add(p * k_stride));
                _mm512_storeu_ps(d.add(p * TILE), v);
            }
        }
    } else if k_stride == 1 {
        // Each lane runs along k: transpose 16x16 blocks in registers.
        for p0 in (0..kc).step_by(TILE) {
            let steps = TILE.min(kc - p0);
            let step_mask = mask(steps);
            let mut rows = [_mm512_setzero_ps(); TILE];
            for (l, row) in rows.iter_mut().enumerate().take(lanes) {
                let at = src.wrapping_add(l * lane_stride + p0);
                // Sixteen lanes are sixteen streams through memory, more than the hardware
                // prefetchers follow: ask for the same steps of the next panel's lane (measured
                // on batch-1024 inference, whose input packs this way: ~5% faster). A hint only,
                // so a line past the operand is harmless.
                _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(TILE * lane_stride) as *const i8);
                // SAFETY: steps p0 .. p0 + steps of lane l are readable; the rest are masked.
                *row = unsafe {
                    if steps == TILE {
                        _mm512_loadu_ps(at)
                    } else {
                        _mm512_maskz_loadu_ps(step_mask, at)
                    }
                };
            }
            let columns = transpose(rows);
            for (s, column) in columns.iter().enumerate().take(steps) {
                // SAFETY: p0 + s < kc, so the 16 floats at (p0 + s) * 16 are inside dst.
                unsafe { _mm512_storeu_ps(d.add((p0 + s) * TILE), *column) };
            }
        }
    } else {
        for p in 0..kc {
            for l in 0..TILE {
                // SAFETY: lane l < lanes at step p is readable.
                dst[p * TILE + l] = if l < lanes {
                    unsafe { *src.add(l * lane_stride + p * k_stride) }
                } else {
                    0.0
                };
            }
        }
    }
}

/// The smallest and largest of some offsets.
fn span(offsets: impl Iterator<Item = usize>) -> (usize, usize) {
    offsets.fold((usize::MAX, 0), |(lo, hi), o| (lo.min(o), hi.max(o)))
}

/// The load masks of a window of `extent + 1 <= 32` floats: its first and second vector.
fn window_masks(extent: usize) -> (__mmask16, __mmask16) {
    (mask(extent + 1), mask((extent + 1).saturating_sub(TILE)))
}

/// The elements `at[picks[l]]` for the lanes of `keep` (zero elsewhere), `picks` below 32, read
/// as two masked vector loads and one permute.
///
/// # Safety
/// AVX-512F; `at` readable at the offsets under the two masks.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn window(
    at: *const f32,
    low: __mmask16,
    high: __mmask16,
    picks: __m512i,
    keep: __mmask16,
) -> __m512 {
    // SAFETY: the caller's; the second pointer is formed with wrapping_add since with an empty
    // mask it may lie past the operand.
    unsafe {
        let first = _mm512_maskz_loadu_ps(low, at);
        let second = _mm512_maskz_loadu_ps(high, at.wrapping_add(TILE));
        _mm512_maskz_permutex2var_ps(keep, first, picks, second)
    }
}

/// The mask of the first `n <= 16` lanes.
#[inline(always)]
fn mask(n: usize) -> __mmask16 {
    if n >= TILE {
        0xFFFF
    } else {
        ((1u32 << n) - 1) as __mmask16
    }
}

/// Transposes a 16x16 block held as 16 row vectors: returns the 16 column vectors.
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose(r: [__m512; TILE]) -> [__m512; TILE] {
    // Stage 1: interleave neighbouring rows by single floats within each 128-bit lane.
    let mut a = [_mm512_setzero_ps(); TILE];
    for i in 0..8 {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // Stage 2: pairs of floats. Now lane L of b[4j + m] holds element 4L + m of rows 4j..4j+3.
    let mut b = [_mm512_setzero_ps(); TILE];
    for j in 0..4 {
        let (x0, x1, x2, x3) = (a[4 * j], a[4 * j + 1], a[4 * j + 2], a[4 * j + 3]);
        let pd = _mm512_castps_pd;
        b[4 * j] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(x0), pd(x2)));
        b[4 * j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(x0), pd(x2)));
        b[4 * j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(x1), pd(x3)));
        b[4 * j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(x1), pd(x3)));
    }
    // Stages 3 and 4: a 4x4 transpose of 128-bit lanes across b[m], b[4 + m], b[8 + m],
    // b[12 + m]; lane L of the result is column 4L + m.
    let mut out = [_mm512_setzero_ps(); TILE];
    for m in 0..4 {
        let (q0, q1, q2, q3) = (b[m], b[4 + m], b[8 + m], b[12 + m]);
        let p0 = _mm512_shuffle_f32x4::<0x44>(q0, q1);
        let p1 = _mm512_shuffle_f32x4::<0xEE>(q0, q1);
        let p2 = _mm512_shuffle_f32x4::<0x44>(q2, q3);
        let p3 = _mm512_shuffle_f32x4::<0xEE>(q2, q3);
        out[m] = _mm512_shuffle_f32x4::<0x88>(p0, p2);
        out[4 + m] = _mm512_shuffle_f32x4::<0xDD>(p0, p2);
        out[8 + m] = _mm512_shuffle_f32x4::<0x88>(p1, p3);
        out[12 + m] = _mm512_shuffle_f32x4::<0xDD>(p1, p3);
    }
    out
}

/// Writes the first `rows` rows and `cols` columns of a tile's sums to `c` as `store` says:
/// added to the old values or over them, then the bias, then the ReLU (`v` where `v > 0` or NaN,
/// else +0: [`crate::epilogue::relu`]'s rule).
///
/// # Safety
/// AVX-512F; `c` writable (and readable when `store.add`) at `i * rsc + j` for `i < rows`,
/// `j < cols`; `store.bias` readable for `cols` floats.
// Always inlined, and without a target feature of its own, so that it compiles inside each
// kernel and the tile's sums stay in registers (as a call it took 10% of a product).
#[inline(always)]
unsafe fn store_tile(
    ab: &[__m512; TILE],
    c: *mut f32,
    rsc: usize,
    rows: usize,
    cols: usize,
    store: TileStore,
) {
    let cols_mask = mask(cols);
    // SAFETY: the caller's: `cols` bias values are readable.
    let bias = store
        .bias
        .map(|b| unsafe { _mm512_maskz_loadu_ps(cols_mask, b) });
    for (i, &acc) in ab.iter().enumerate().take(rows) {
        // SAFETY: row i < rows, columns under the mask: the caller's output window.
        unsafe {
            let row = c.add(i * rsc);
            let mut v = if store.add {
                _mm512_add_ps(_mm512_maskz_loadu_ps(cols_mask, row), acc)
            } else {
                acc
            };
            if let Some(bias) = bias {
                v = _mm512_add_ps(v, bias);
            }
            if store.relu {
                // Not (v <= 0), unordered: true for v > 0 and for NaN.
                let keep = _mm512_cmp_ps_mask::<_CMP_NLE_UQ>(v, _mm512_setzero_ps());
                v = _mm512_maskz_mov_ps(keep, v);
            }
            _mm512_mask_storeu_ps(row, cols_mask, v);
        }
    }
}

/// `dst[j * rows + i] = src[i * cols + j]` for `i < rows`, `j < cols`: 16x16 blocks
/// transposed in registers, edges with masked loads and stores.
///
/// # Safety
/// AVX-512F.
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn transpose_matrix(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    for i0 in (0..rows).step_by(TILE) {
        let block_rows = TILE.min(rows - i0);
        for j0 in (0..cols).step_by(TILE) {
            let block_cols = TILE.min(cols - j0);
            let col_mask = mask(block_cols);
            let mut r = [_mm512_setzero_ps(); TILE];
            for (l, row) in r.iter_mut().enumerate().take(block_rows) {
                // SAFETY: row i0 + l < rows, columns j0 .. j0 + block_cols under the mask.
                *row = unsafe { _mm512_maskz_loadu_ps(col_mask, s.add((i0 + l) * cols + j0)) };
            }
            let out = transpose(r);
            let row_mask = mask(block_rows);
            for (c, column) in out.iter().enumerate().take(block_cols) {
                // SAFETY: dst row j0 + c < cols, its elements i0 .. i0 + block_rows.
                unsafe { _mm512_mask_storeu_ps(d.add((j0 + c) * rows + i0), row_mask, *column) };
            }
        }
    }
}

impl PackedKernel for Avx512 {
    const MR: usize = TILE;
    const NR: usize = TILE;
    const MC: usize = 128;
    /// 1,024 columns (1 MB a K block, in L2/L3).
    const NC: usize = 1024;

    unsafe fn pack_a(
        src: *const f32,
        strides: (usize, usize),
        lanes: usize,
        kc: usize,
        dst: &mut [f32],
    ) {
        // SAFETY: the caller's contract; this type is only used when the CPU has AVX-512F.
        unsafe { pack_panel(src, strides.0, strides.1, lanes, kc, dst) }
    }

    unsafe fn pack_b(
        src: *const f32,
        strides: (usize, usize),
        lanes: usize,
        kc: usize,
        dst: &mut [f32],
    ) {
        // SAFETY: as above.
        unsafe { pack_panel(src, strides.0, strides.1, lanes, kc, dst) }
    }

    /// Packs one panel of a gathered operand: `dst[p * 16 + l] = src[rows[p] + cols[l]]` for
    /// `p < rows.len()` and `l < cols.len() <= 16`, zero for the lanes past `cols.len()`.
    ///
    /// A convolution's offsets come in short runs (output positions along a row, kernel taps along
    /// a kernel row), so most panels read a window of at most 32 consecutive floats per step, or
    /// per lane: two loads and one permute gather 16 elements from it, where a `vgatherdps` took
    /// ~30 cycles on Zen 4. Panels whose offsets spread further (across images) fall back to
    /// gathers.
    ///
    /// # Safety
    /// AVX-512F; `src` readable at every offset `rows[p] + cols[l]`;
    /// `dst.len() >= rows.len() * 16`.
    #[target_feature(enable = "avx512f")]
    unsafe fn pack_b_gathered(src: *const f32, rows: &[usize], cols: &[i32], dst: &mut [f32]) {
        assert!(dst.len() >= rows.len() * TILE && cols.len() <= TILE && !cols.is_empty());
        let lane_mask = mask(cols.len());
        let d = dst.as_mut_ptr();
        let (first_col, last_col) = span(cols.iter().map(|&c| c as usize));
        if last_col - first_col < 2 * TILE {
            // The lanes lie in one window: the same permute for every step.
            let (low, high) = window_masks(last_col - first_col);
            let lanes: [i32; TILE] =
                std::array::from_fn(|l| cols.get(l).map_or(0, |&c| c - first_col as i32));
            // SAFETY (all blocks below): the loads read offsets rows[p] + first_col + t for t up to
            // last_col - first_col, each between two offsets the caller vouches for, hence inside
            // the same operand; dst holds rows.len() * 16 floats.
            let lanes = unsafe { _mm512_loadu_epi32(lanes.as_ptr()) };
            for (p, &row) in rows.iter().enumerate() {
                unsafe {
                    let at = src.add(row + first_col);
                    let v = window(at, low, high, lanes, lane_mask);
                    _mm512_storeu_ps(d.add(p * TILE), v);
                }
            }
            return;
        }
        for p0 in (0..rows.len()).step_by(TILE) {
            let steps = &rows[p0..rows.len().min(p0 + TILE)];
            let (first_row, last_row) = span(steps.iter().copied());
            if last_row - first_row < 2 * TILE {
                // 16 steps lie in one window: read each lane's 16 steps, then transpose.
                let (low, high) = window_masks(last_row - first_row);
                let picks: [i32; TILE] =
                    std::array::from_fn(|t| steps.get(t).map_or(0, |&r| (r - first_row) as i32));
                let step_mask = mask(steps.len());
                let mut by_lane = [_mm512_setzero_ps(); TILE];
                unsafe {
                    let picks = _mm512_loadu_epi32(picks.as_ptr());
                    for (lane, &col) in by_lane.iter_mut().zip(cols) {
                        let at = src.add(col as usize + first_row);
                        *lane = window(at, low, high, picks, step_mask);
                    }
                }
                for (t, column) in transpose(by_lane).iter().enumerate().take(steps.len()) {
                    unsafe { _mm512_storeu_ps(d.add((p0 + t) * TILE), *column) };
                }
            } else {
                let offsets = unsafe { _mm512_maskz_loadu_epi32(lane_mask, cols.as_ptr()) };
                for (t, &row) in steps.iter().enumerate() {
                    unsafe {
                        let v = _mm512_mask_i32gather_ps::<4>(
                            _mm512_setzero_ps(),
                            lane_mask,
                            offsets,
                            src.add(row),
                        );
                        _mm512_storeu_ps(d.add((p0 + t) * TILE), v);
                    }
                }
            }
        }
    }

    /// The 16x16 micro-kernel: `c[i * rsc + j] (+)= sum_p a[p * 16 + i] * b[p * 16 + j]` for
    /// `i < rows`, `j < cols`, the sum a chain of fused multiply-adds from zero in order of `p`.
    ///
    /// # Safety
    /// AVX-512F; `c` writable (and readable when `store.add`) at those offsets; `a` and `b` hold
    /// `kc * 16`; `store.bias` readable for `cols` floats.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel(
        kc: usize,
        a: &[f32],
        b: &[f32],
        c: *mut f32,
        rsc: usize,
        rows: usize,
        cols: usize,
        store: TileStore,
    ) {
        assert!(a.len() >= kc * TILE && b.len() >= kc * TILE);
        let (a, b) = (a.as_ptr(), b.as_ptr());
        let mut ab = [_mm512_setzero_ps(); TILE];
        for p in 0..kc {
            // SAFETY: p < kc, inside both panels (asserted above).
            unsafe {
                let bv = _mm512_loadu_ps(b.add(p * TILE));
                let ap = a.add(p * TILE);
                for (i, acc) in ab.iter_mut().enumerate() {
                    *acc = _mm512_fmadd_ps(_mm512_set1_ps(*ap.add(i)), bv, *acc);
                }
            }
        }
        // SAFETY: the caller's output window and bias.
        unsafe { store_tile(&ab, c, rsc, rows, cols, store) }
    }

    const READS_ROWS: bool = true;

    /// [`Self::kernel`] for a whole left panel read in place: row `i` of the tile at `a + i * lda`.
    ///
    /// # Safety
    /// AVX-512F; `a` readable at `i * lda + p` for `i < 16`, `p < kc`; `c` as in [`Self::kernel`]
    /// with 16 rows; `b` holds `kc * 16`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_rows(
        kc: usize,
        a: *const f32,
        lda: usize,
        b: &[f32],
        c: *mut f32,
        rsc: usize,
        cols: usize,
        store: TileStore,
    ) {
        assert!(b.len() >= kc * TILE);
        let b = b.as_ptr();
        let mut ab = [_mm512_setzero_ps(); TILE];
        // Four row groups, each addressed from one pointer as base + {0, 1, 2, 3} * lda.
        let groups: [*const f32; 4] = std::array::from_fn(|g| a.wrapping_add(4 * g * lda));
        for p in 0..kc {
            // SAFETY: p < kc, inside the panel and the rows (the caller's contract).
            unsafe {
                let bv = _mm512_loadu_ps(b.add(p * TILE));
                for (g, &base) in groups.iter().enumerate() {
                    let at = base.add(p);
                    for r in 0..4 {
                        let acc = &mut ab[4 * g + r];
                        *acc = _mm512_fmadd_ps(_mm512_set1_ps(*at.add(r * lda)), bv, *acc);
                    }
                }
            }
        }
        // SAFETY: the caller's output window (16 rows) and bias.
        unsafe { store_tile(&ab, c, rsc, TILE, cols, store) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed panel is exactly the strided source, zero-padded, for every lane count and
    /// every remainder of K, along each of the three packing paths.
    #[test]
    fn panels_hold_the_source_elements() {
        if !std::is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: no AVX-512F");
            return;
        }
        let src: Vec<f32> = (0..40 * 40).map(|v| v as f32).collect();
        for (lane_stride, k_stride) in [(1, 40), (40, 1), (40, 2)] {
            for lanes in 0..=TILE {
                for kc in [1, 7, 16, 17, 33] {
                    let mut dst = vec![f32::NAN; kc * TILE];
                    // SAFETY: the largest offset, 15 * 40 + 32 * 2, is inside src.
                    unsafe { pack_panel(src.as_ptr(), lane_stride, k_stride, lanes, kc, &mut dst) };
                    for p in 0..kc {
                        for l in 0..TILE {
                            let expected = if l < lanes {
                                src[l * lane_stride + p * k_stride]
                            } else {
                                0.0
                            };
                            assert_eq!(
                                dst[p * TILE + l].to_bits(),
                                expected.to_bits(),
                                "strides ({lane_stride}, {k_stride}), {lanes} lanes, kc {kc}: \
                                 step {p} lane {l}"
                            );
                        }
                    }
                }
            }
        }
    }
}
