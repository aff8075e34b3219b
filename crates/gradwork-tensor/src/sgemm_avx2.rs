//! The AVX2 micro-kernel and packers of [`crate::sgemm_x86`], for CPUs with AVX2 and FMA but
//! not AVX-512: 6x16 tiles, two 8-float vectors per row of the tile, so the 12 accumulators,
//! two vectors of the right panel and a broadcast fit the 16 registers.
//!
//! Panels whose source runs along K are transposed 8x8 in registers. A left panel is 6 floats
//! per step, so its packers store 8 and let the next step overwrite the two extra (the caller
//! leaves slack past the panel). Edge tiles go through a small buffer: AVX2's masked stores are
//! slow on AMD cores.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::sgemm_x86::{PackedKernel, TileStore};

/// Rows of a tile (and lanes of a left panel).
const MR: usize = 6;
/// Columns of a tile (and lanes of a right panel).
const NR: usize = 16;
/// Floats of one vector.
const V: usize = 8;

/// The AVX2 + FMA kernel.
pub(crate) struct Avx2;

/// Packs a panel of `L` lanes (6 or 16): `dst[p * L + l] = src[l * lane_stride + p * k_stride]`
/// for `l < lanes`, `p < kc`, zero for the lanes past `lanes`; writes up to 2 floats past
/// `kc * L` (for `L = 6`).
///
/// # Safety
/// AVX2; `src` readable at those offsets; `dst.len() >= kc * L + 2`.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_panel<const L: usize>(
    src: *const f32,
    (lane_stride, k_stride): (usize, usize),
    lanes: usize,
    kc: usize,
    dst: &mut [f32],
) {
    assert!(dst.len() >= kc * L + 2 && lanes <= L && (L == MR || L == NR));
    let d = dst.as_mut_ptr();
    if lane_stride == 1 {
        // Lanes contiguous in the source: one or two (masked) vectors per step. Steps go up,
        // so each 8-float store's extra lanes are overwritten by the next step's.
        let masks = [lane_mask(lanes), lane_mask(lanes.saturating_sub(V))];
        for p in 0..kc {
            let from = src.wrapping_add(p * k_stride);
            for (half, &mask) in masks.iter().enumerate().take(L.div_ceil(V)) {
                // SAFETY: the lanes under the mask are readable, the others are not read; the
                // store lands inside dst (kc * L + 2 floats).
                unsafe {
                    let v = _mm256_maskload_ps(from.wrapping_add(half * V), mask);
                    _mm256_storeu_ps(d.add(p * L + half * V), v);
                }
            }
        }
    } else if k_stride == 1 {
        // Lanes run along k: transpose 8x8 blocks (8 lanes by 8 steps).
        for p0 in (0..kc).step_by(V) {
            let steps = V.min(kc - p0);
            let step_mask = lane_mask(steps);
            for l0 in (0..L).step_by(V) {
                let mut rows = [_mm256_setzero_ps(); V];
                for (l, row) in rows.iter_mut().enumerate() {
                    if l0 + l < lanes {
                        let at = src.wrapping_add((l0 + l) * lane_stride + p0);
                        // SAFETY: steps p0 .. p0 + steps of this lane are readable.
                        *row = unsafe { _mm256_maskload_ps(at, step_mask) };
                    }
                }
                let columns = transpose8(rows);
                for (t, column) in columns.iter().enumerate().take(steps) {
                    // SAFETY: inside dst; a 6-lane panel's store spills 2 floats into the next
                    // step (rewritten by it) or the slack.
                    unsafe { _mm256_storeu_ps(d.add((p0 + t) * L + l0), *column) };
                }
            }
        }
    } else {
        for p in 0..kc {
            for l in 0..L {
                dst[p * L + l] = if l < lanes {
                    // SAFETY: lane l < lanes at step p is readable.
                    unsafe { *src.add(l * lane_stride + p * k_stride) }
                } else {
                    0.0
                };
            }
        }
    }
}

/// The `_mm256_maskload_ps` / `_mm256_maskstore_ps` mask of the first `n` of eight 32-bit lanes
/// (all 8 for `n >= 8`, none for 0). Shared by the AVX2 kernels of this crate.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn lane_mask(n: usize) -> __m256i {
    let index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n.min(V) as i32), index)
}

/// Transposes an 8x8 block held as 8 row vectors: returns the 8 column vectors.
#[inline]
#[target_feature(enable = "avx2")]
fn transpose8(r: [__m256; V]) -> [__m256; V] {
    // Pairs of rows interleaved by single floats, then by pairs: u[m] (m < 4) holds column m
    // of rows 0..4 in its low half and column m + 4 in its high half; u[4 + m] the same for
    // rows 4..8.
    let mut u = [_mm256_setzero_ps(); V];
    for half in 0..2 {
        let rr = &r[4 * half..4 * half + 4];
        let t0 = _mm256_unpacklo_ps(rr[0], rr[1]);
        let t1 = _mm256_unpackhi_ps(rr[0], rr[1]);
        let t2 = _mm256_unpacklo_ps(rr[2], rr[3]);
        let t3 = _mm256_unpackhi_ps(rr[2], rr[3]);
        u[4 * half] = _mm256_shuffle_ps::<0x44>(t0, t2);
        u[4 * half + 1] = _mm256_shuffle_ps::<0xEE>(t0, t2);
        u[4 * half + 2] = _mm256_shuffle_ps::<0x44>(t1, t3);
        u[4 * half + 3] = _mm256_shuffle_ps::<0xEE>(t1, t3);
    }
    let mut out = [_mm256_setzero_ps(); V];
    for m in 0..4 {
        out[m] = _mm256_permute2f128_ps::<0x20>(u[m], u[4 + m]);
        out[4 + m] = _mm256_permute2f128_ps::<0x31>(u[m], u[4 + m]);
    }
    out
}

/// `dst[j * rows + i] = src[i * cols + j]` for `i < rows`, `j < cols`: 8x8 blocks transposed
/// in registers, edges with masked loads and stores.
///
/// # Safety
/// AVX2.
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn transpose_matrix(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    assert!(src.len() >= rows * cols && dst.len() >= rows * cols);
    let (s, d) = (src.as_ptr(), dst.as_mut_ptr());
    for i0 in (0..rows).step_by(V) {
        let block_rows = V.min(rows - i0);
        let row_mask = lane_mask(block_rows);
        for j0 in (0..cols).step_by(V) {
            let block_cols = V.min(cols - j0);
            let col_mask = lane_mask(block_cols);
            let mut r = [_mm256_setzero_ps(); V];
            for (l, row) in r.iter_mut().enumerate().take(block_rows) {
                // SAFETY: row i0 + l < rows, columns j0 .. j0 + block_cols under the mask.
                *row = unsafe { _mm256_maskload_ps(s.add((i0 + l) * cols + j0), col_mask) };
            }
            let out = transpose8(r);
            for (c, column) in out.iter().enumerate().take(block_cols) {
                // SAFETY: dst row j0 + c < cols, its elements i0 .. i0 + block_rows.
                unsafe { _mm256_maskstore_ps(d.add((j0 + c) * rows + i0), row_mask, *column) };
            }
        }
    }
}

/// Writes (or adds) the first `rows` rows and `cols` columns of a tile's sums to `c`.
///
/// # Safety
/// AVX; `c` writable (and readable when `store.add`) at `i * rsc + j` for `i < rows`,
/// `j < cols`; `store.bias` readable for `cols` floats.
// Always inlined, and without a target feature of its own, so that it compiles inside each
// kernel and the tile's sums stay in registers (as a call it took 10% of a product).
#[inline(always)]
unsafe fn store_tile(
    ab: &[[__m256; 2]; MR],
    c: *mut f32,
    rsc: usize,
    rows: usize,
    cols: usize,
    store: TileStore,
) {
    let zero = _mm256_setzero_ps();
    for (i, acc) in ab.iter().enumerate().take(rows) {
        // SAFETY: row i < rows of the caller's tile; only its first `cols` columns (and bias
        // values) are touched.
        unsafe {
            let row = c.add(i * rsc);
            if cols == NR {
                for (half, &v) in acc.iter().enumerate() {
                    let at = row.add(half * V);
                    let mut v = if store.add {
                        _mm256_add_ps(_mm256_loadu_ps(at), v)
                    } else {
                        v
                    };
                    if let Some(bias) = store.bias {
                        v = _mm256_add_ps(v, _mm256_loadu_ps(bias.add(half * V)));
                    }
                    if store.relu {
                        // Not (v <= 0), unordered: all ones for v > 0 and for NaN.
                        let keep = _mm256_cmp_ps::<_CMP_NLE_UQ>(v, zero);
                        v = _mm256_and_ps(keep, v);
                    }
                    _mm256_storeu_ps(at, v);
                }
            } else {
                let mut sums = [0.0f32; NR];
                _mm256_storeu_ps(sums.as_mut_ptr(), acc[0]);
                _mm256_storeu_ps(sums.as_mut_ptr().add(V), acc[1]);
                for (j, &s) in sums.iter().enumerate().take(cols) {
                    let at = row.add(j);
                    let mut v = if store.add { *at + s } else { s };
                    if let Some(bias) = store.bias {
                        v += *bias.add(j);
                    }
                    *at = if store.relu {
                        crate::epilogue::relu(v)
                    } else {
                        v
                    };
                }
            }
        }
    }
}

impl PackedKernel for Avx2 {
    const MR: usize = MR;
    const NR: usize = NR;
    const MC: usize = 120;
    /// 256 columns: a K block of the right operand is then 256 KB, which stays in a 1 MB L2
    /// beside the row block and the output tiles. With 1,024 (1 MB) the kernel lost 8-10% on
    /// products whose right operand is that wide (1000x1000x1000: 87.2 against 97.0 GFLOP/s,
    /// in-process A/B on Zen 4 with AVX-512 switched off).
    const NC: usize = 256;

    unsafe fn pack_a(
        src: *const f32,
        strides: (usize, usize),
        lanes: usize,
        kc: usize,
        dst: &mut [f32],
    ) {
        // SAFETY: the caller's contract; this type is only used when the CPU has AVX2 and FMA.
        unsafe { pack_panel::<MR>(src, strides, lanes, kc, dst) }
    }

    unsafe fn pack_b(
        src: *const f32,
        strides: (usize, usize),
        lanes: usize,
        kc: usize,
        dst: &mut [f32],
    ) {
        // SAFETY: as above.
        unsafe { pack_panel::<NR>(src, strides, lanes, kc, dst) }
    }

    unsafe fn pack_b_gathered(src: *const f32, rows: &[usize], cols: &[i32], dst: &mut [f32]) {
        // Not used: only the AVX-512 path reads gathered operands (`gathers_available`). Kept
        // correct for completeness, one element at a time.
        assert!(dst.len() >= rows.len() * NR && cols.len() <= NR);
        for (p, &row) in rows.iter().enumerate() {
            for l in 0..NR {
                dst[p * NR + l] = match cols.get(l) {
                    // SAFETY: the caller vouches for src + row + cols[l].
                    Some(&col) => unsafe { *src.add(row + col as usize) },
                    None => 0.0,
                };
            }
        }
    }

    /// The 6x16 micro-kernel (see [`PackedKernel::kernel`]).
    ///
    /// # Safety
    /// AVX2 and FMA; `c` writable (and readable when `add`) at the tile's offsets; `a` and `b`
    /// hold `kc * 6` and `kc * 16` floats.
    #[target_feature(enable = "avx2,fma")]
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
        assert!(a.len() >= kc * MR && b.len() >= kc * NR && rows <= MR && cols <= NR);
        let (a, b) = (a.as_ptr(), b.as_ptr());
        let mut ab = [[_mm256_setzero_ps(); 2]; MR];
        for p in 0..kc {
            // SAFETY: p < kc, inside both panels (asserted above).
            unsafe {
                let b0 = _mm256_loadu_ps(b.add(p * NR));
                let b1 = _mm256_loadu_ps(b.add(p * NR + V));
                let ap = a.add(p * MR);
                for (i, acc) in ab.iter_mut().enumerate() {
                    let av = _mm256_broadcast_ss(&*ap.add(i));
                    acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
                }
            }
        }
        // SAFETY: the caller's output window.
        unsafe { store_tile(&ab, c, rsc, rows, cols, store) }
    }

    const READS_ROWS: bool = true;

    /// [`Self::kernel`] for a whole left panel read in place: row `i` of the tile at `a + i * lda`.
    ///
    /// # Safety
    /// AVX2 and FMA; `a` readable at `i * lda + p` for `i < 6`, `p < kc`; `c` as in
    /// [`Self::kernel`] with 6 rows; `b` holds `kc * 16`.
    #[target_feature(enable = "avx2,fma")]
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
        assert!(b.len() >= kc * NR && cols <= NR);
        let b = b.as_ptr();
        let mut ab = [[_mm256_setzero_ps(); 2]; MR];
        // Two row groups, each addressed from one pointer as base + {0, 1, 2} * lda.
        let groups = [a, a.wrapping_add(3 * lda)];
        for p in 0..kc {
            // SAFETY: p < kc, inside the panel and the rows (the caller's contract).
            unsafe {
                let b0 = _mm256_loadu_ps(b.add(p * NR));
                let b1 = _mm256_loadu_ps(b.add(p * NR + V));
                for (g, &base) in groups.iter().enumerate() {
                    let at = base.add(p);
                    for r in 0..3 {
                        let acc = &mut ab[3 * g + r];
                        let av = _mm256_broadcast_ss(&*at.add(r * lda));
                        acc[0] = _mm256_fmadd_ps(av, b0, acc[0]);
                        acc[1] = _mm256_fmadd_ps(av, b1, acc[1]);
                    }
                }
            }
        }
        // SAFETY: the caller's output window.
        unsafe { store_tile(&ab, c, rsc, MR, cols, store) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usable() -> bool {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }

    /// Both panel widths hold exactly the strided source, zero-padded, along each of the three
    /// packing paths, for every lane count and several remainders of K.
    #[test]
    fn panels_hold_the_source_elements() {
        if !usable() {
            eprintln!("skipped: no AVX2 with FMA");
            return;
        }
        let src: Vec<f32> = (0..40 * 40).map(|v| v as f32).collect();
        for (lane_stride, k_stride) in [(1, 40), (40, 1), (40, 2)] {
            for kc in [1, 5, 8, 9, 17, 33] {
                for lanes in 0..=MR {
                    check::<MR>(&src, (lane_stride, k_stride), lanes, kc);
                }
                for lanes in 0..=NR {
                    check::<NR>(&src, (lane_stride, k_stride), lanes, kc);
                }
            }
        }
    }

    fn check<const L: usize>(src: &[f32], strides: (usize, usize), lanes: usize, kc: usize) {
        let mut dst = vec![f32::NAN; kc * L + 2];
        // SAFETY: the largest offset, 15 * 40 + 32 * 2, is inside src; dst has the slack.
        unsafe { pack_panel::<L>(src.as_ptr(), strides, lanes, kc, &mut dst) };
        for p in 0..kc {
            for l in 0..L {
                let expected = if l < lanes {
                    src[l * strides.0 + p * strides.1]
                } else {
                    0.0
                };
                assert_eq!(
                    dst[p * L + l].to_bits(),
                    expected.to_bits(),
                    "{L} lanes wide, strides {strides:?}, {lanes} lanes, kc {kc}: step {p} lane {l}"
                );
            }
        }
    }
}
