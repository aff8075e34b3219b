//! The backward pass of plain 2x2 max pooling (see `max_pool::route_plane_2x2`) with AVX-512
//! masks: eight windows per step.
//!
//! The portable loop works one window at a time: four compares, a priority chain and four
//! selects, about five cycles per input element on the MNIST CNN's first pooling, several times
//! the memory traffic. Here a step loads 16 floats of the window row above and 16 below, compares
//! them with the eight outputs (each duplicated into its window's two lanes), and resolves the
//! "first equal element in row-major order wins" rule on the 16-bit compare masks; one masked
//! move per row then writes the gradient or zero to every lane. Rows of fewer than eight windows
//! (the CNN's are 13 and 5 wide) are read and written with masks instead of a scalar tail.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::sgemm_avx2::lane_mask;

/// Panics unless an input plane of `h x w` (`input` elements) and output planes of `ho x wo`
/// (`outputs` element counts) fit plain 2x2 pooling: what the kernels' unchecked accesses rely on.
fn assert_plane_sizes(
    op: &str,
    (h, w): (usize, usize),
    (ho, wo): (usize, usize),
    input: usize,
    outputs: &[usize],
) {
    assert!(
        input == h * w && outputs.iter().all(|&n| n == ho * wo) && 2 * ho <= h && 2 * wo <= w,
        "{op}: plane sizes do not match"
    );
}

/// Routes one plane's gradient like `max_pool::route_plane_2x2`: `dx` (`h x w`) gets each
/// window's gradient `0.0 + dy` at the first element equal to its output `y` (`ho x wo`) and
/// zero everywhere else. `None` when the CPU lacks AVX-512F (nothing written); otherwise whether
/// every window contained its output.
pub(crate) fn route_plane_2x2(
    (h, w): (usize, usize),
    (ho, wo): (usize, usize),
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> Option<bool> {
    if !crate::cpu::has_avx512() {
        return None;
    }
    assert!(
        x.len() == h * w,
        "max_pool2d_backward: plane sizes do not match"
    );
    let outputs = [y.len(), dy.len()];
    assert_plane_sizes("max_pool2d_backward", (h, w), (ho, wo), dx.len(), &outputs);
    // SAFETY: the CPU has AVX-512F; the sizes are checked above.
    Some(unsafe { route_plane(w, ho, wo, x, y, dy, dx) })
}

/// # Safety
/// AVX-512F, and the slice sizes asserted by [`route_plane_2x2`].
#[target_feature(enable = "avx512f")]
unsafe fn route_plane(
    w: usize,
    ho: usize,
    wo: usize,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    dx: &mut [f32],
) -> bool {
    const EVEN: u16 = 0x5555;
    const ODD: u16 = 0xAAAA;
    // Lane 2i and 2i + 1 take output i: each output meets its window's two columns.
    let pairs = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    let used = 2 * wo;
    let mut missing = 0u32;
    dx[2 * ho * w..].fill(0.0);
    for oh in 0..ho {
        let (top, bottom) = (2 * oh * w, (2 * oh + 1) * w);
        for first in (0..wo).step_by(8) {
            let windows = 8.min(wo - first);
            let lanes: u16 = if windows == 8 {
                0xFFFF
            } else {
                (1u16 << (2 * windows)) - 1
            };
            let outputs = (1u16 << windows) - 1;
            let col = 2 * first;
            // SAFETY: masked lanes are not touched; the others are window columns
            // `col .. col + 2 * windows <= 2 * wo <= w` of rows 2oh and 2oh + 1 < h, and outputs
            // `first .. first + windows` of row oh < ho, all inside the asserted sizes.
            unsafe {
                let out_at = oh * wo + first;
                let yv = _mm512_maskz_loadu_ps(outputs, y.as_ptr().add(out_at));
                let dv = _mm512_maskz_loadu_ps(outputs, dy.as_ptr().add(out_at));
                // `0.0 + d`: what adding into a zeroed gradient gives (+0.0 for -0.0).
                let dv = _mm512_add_ps(_mm512_setzero_ps(), dv);
                let (yy, dd) = (
                    _mm512_permutexvar_ps(pairs, yv),
                    _mm512_permutexvar_ps(pairs, dv),
                );
                let t = _mm512_maskz_loadu_ps(lanes, x.as_ptr().add(top + col));
                let b = _mm512_maskz_loadu_ps(lanes, x.as_ptr().add(bottom + col));
                let eq_top = _mm512_cmpeq_ps_mask(t, yy) & lanes;
                let eq_bottom = _mm512_cmpeq_ps_mask(b, yy) & lanes;
                // Row-major priority inside a window: top-left, top-right, bottom-left,
                // bottom-right. A right element counts only if its left neighbour does not.
                let first_of = |eq: u16| (eq & EVEN) | (eq & ODD & !(eq << 1));
                let hit_top = first_of(eq_top);
                let top_window = (eq_top | (eq_top >> 1)) & EVEN;
                let hit_bottom = first_of(eq_bottom & !(top_window | (top_window << 1)));
                let hits = hit_top | hit_bottom;
                let found = (hits | (hits >> 1)) & EVEN & lanes;
                missing += (EVEN & lanes & !found).count_ones();
                let dxp = dx.as_mut_ptr();
                _mm512_mask_storeu_ps(dxp.add(top + col), lanes, _mm512_maskz_mov_ps(hit_top, dd));
                _mm512_mask_storeu_ps(
                    dxp.add(bottom + col),
                    lanes,
                    _mm512_maskz_mov_ps(hit_bottom, dd),
                );
            }
        }
        // The odd last column no window covers.
        dx[top + used..top + w].fill(0.0);
        dx[bottom + used..bottom + w].fill(0.0);
    }
    missing == 0
}

/// Plain 2x2 max pooling of one plane with one-byte codes (see `max_pool_codes`), sixteen
/// windows per step: the window row above and below are loaded as two vectors each, split into
/// the windows' four elements by lane permutes, and reduced in the window's row-major order by
/// the scalar rule (`v` replaces the best when `v > best` or `v` is NaN), carrying the code
/// along. False when the CPU lacks AVX-512F (nothing written).
pub(crate) fn code_plane_2x2(
    (h, w): (usize, usize),
    (ho, wo): (usize, usize),
    x: &[f32],
    y: &mut [f32],
    codes: &mut [u8],
) -> bool {
    if !crate::cpu::has_avx512() {
        return false;
    }
    let outputs = [y.len(), codes.len()];
    assert_plane_sizes("max_pool2d", (h, w), (ho, wo), x.len(), &outputs);
    // SAFETY: the CPU has AVX-512F; the sizes are checked above.
    unsafe { code_plane(w, ho, wo, x, y, codes) };
    true
}

/// The lane masks of a step over `windows <= 16` windows: the outputs, and the first and
/// second vector of a window row's `2 * windows` elements.
fn step_masks(windows: usize) -> (u16, u16, u16) {
    let low = |n: usize| if n >= 16 { 0xFFFF } else { (1u16 << n) - 1 };
    (
        low(windows),
        low(2 * windows),
        low((2 * windows).saturating_sub(16)),
    )
}

/// # Safety
/// AVX-512F, and the slice sizes asserted by [`code_plane_2x2`].
#[target_feature(enable = "avx512f")]
unsafe fn code_plane(w: usize, ho: usize, wo: usize, x: &[f32], y: &mut [f32], codes: &mut [u8]) {
    let even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    let odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for oh in 0..ho {
        let (top, bottom) = (2 * oh * w, (2 * oh + 1) * w);
        for first in (0..wo).step_by(16) {
            let (outputs, low, high) = step_masks(16.min(wo - first));
            let col = 2 * first;
            // SAFETY: masked lanes are not touched; the others are window columns
            // `col .. col + 2 * windows <= 2 * wo <= w` of rows 2oh and 2oh + 1 < h, and outputs
            // `first .. first + windows` of row oh < ho, all inside the asserted sizes.
            unsafe {
                let row = |start: usize| {
                    let p = x.as_ptr().add(start + col);
                    let (a, b) = (
                        _mm512_maskz_loadu_ps(low, p),
                        _mm512_maskz_loadu_ps(high, p.add(16)),
                    );
                    (
                        _mm512_permutex2var_ps(a, even, b),
                        _mm512_permutex2var_ps(a, odd, b),
                    )
                };
                let ((t0, t1), (b0, b1)) = (row(top), row(bottom));
                let mut best = t0;
                let mut code = _mm512_setzero_si512();
                for (v, c) in [(t1, 1), (b0, 2), (b1, 3)] {
                    let take = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, best)
                        | _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(v, v);
                    best = _mm512_mask_mov_ps(best, take, v);
                    code = _mm512_mask_mov_epi32(code, take, _mm512_set1_epi32(c));
                }
                let out_at = oh * wo + first;
                _mm512_mask_storeu_ps(y.as_mut_ptr().add(out_at), outputs, best);
                _mm512_mask_cvtepi32_storeu_epi8(
                    codes.as_mut_ptr().add(out_at).cast(),
                    outputs,
                    code,
                );
            }
        }
    }
}

/// Routes one plane's gradient by its 2x2 codes like `max_pool_codes::route_codes_2x2_portable`,
/// sixteen windows per step: each code and gradient is duplicated into its window's two lanes,
/// and a lane takes the gradient where the code names its column (top row) or its column plus
/// two (bottom row). False when the CPU lacks AVX-512F (nothing written).
pub(crate) fn route_codes_2x2(
    (h, w): (usize, usize),
    (ho, wo): (usize, usize),
    codes: &[u8],
    dy: &[f32],
    dx: &mut [f32],
) -> bool {
    if !crate::cpu::has_avx512() {
        return false;
    }
    let outputs = [codes.len(), dy.len()];
    assert_plane_sizes("max_pool2d_backward", (h, w), (ho, wo), dx.len(), &outputs);
    // SAFETY: the CPU has AVX-512F; the sizes are checked above.
    unsafe { route_codes(w, ho, wo, codes, dy, dx) };
    true
}

/// # Safety
/// AVX-512F, and the slice sizes asserted by [`route_codes_2x2`].
#[target_feature(enable = "avx512f")]
unsafe fn route_codes(w: usize, ho: usize, wo: usize, codes: &[u8], dy: &[f32], dx: &mut [f32]) {
    // Lane 2i and 2i + 1 take window i (first half) or 8 + i (second half).
    let first_half = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
    let second_half = _mm512_add_epi32(first_half, _mm512_set1_epi32(8));
    let column = _mm512_set_epi32(1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0);
    let column_below = _mm512_add_epi32(column, _mm512_set1_epi32(2));
    let used = 2 * wo;
    dx[2 * ho * w..].fill(0.0);
    for oh in 0..ho {
        let (top, bottom) = (2 * oh * w, (2 * oh + 1) * w);
        for first in (0..wo).step_by(16) {
            let windows = 16.min(wo - first);
            let (outputs, low, high) = step_masks(windows);
            let out_at = oh * wo + first;
            // SAFETY: masked lanes are not touched; the codes are read from a copy when fewer
            // than 16 remain; the other accesses are inside the asserted sizes as in
            // `code_plane`.
            unsafe {
                let bytes = if out_at + 16 <= codes.len() {
                    _mm_loadu_si128(codes.as_ptr().add(out_at).cast())
                } else {
                    let mut tail = [0u8; 16];
                    tail[..windows].copy_from_slice(&codes[out_at..out_at + windows]);
                    _mm_loadu_si128(tail.as_ptr().cast())
                };
                let code = _mm512_cvtepu8_epi32(bytes);
                let d = _mm512_maskz_loadu_ps(outputs, dy.as_ptr().add(out_at));
                // `0.0 + d`: what adding into a zeroed gradient gives (+0.0 for -0.0).
                let d = _mm512_add_ps(_mm512_setzero_ps(), d);
                let dxp = dx.as_mut_ptr();
                for (half, lanes, offset) in [(first_half, low, 0), (second_half, high, 16)] {
                    let (c, dd) = (
                        _mm512_permutexvar_epi32(half, code),
                        _mm512_permutexvar_ps(half, d),
                    );
                    let at = 2 * first + offset;
                    let hit_top = _mm512_cmpeq_epi32_mask(c, column);
                    let hit_bottom = _mm512_cmpeq_epi32_mask(c, column_below);
                    _mm512_mask_storeu_ps(
                        dxp.add(top + at),
                        lanes,
                        _mm512_maskz_mov_ps(hit_top, dd),
                    );
                    _mm512_mask_storeu_ps(
                        dxp.add(bottom + at),
                        lanes,
                        _mm512_maskz_mov_ps(hit_bottom, dd),
                    );
                }
            }
        }
        // The odd last column no window covers.
        dx[top + used..top + w].fill(0.0);
        dx[bottom + used..bottom + w].fill(0.0);
    }
}

/// [`code_plane_2x2`] for CPUs with AVX2 but not AVX-512 (or capped to AVX2): eight windows a
/// step, the rows split into the windows' elements by in-lane shuffles and a cross-lane
/// permute, shorter rows read and written with masks. The compiler leaves the portable loop
/// scalar, at ~15 cycles a window. False when the CPU lacks AVX2 (nothing written).
pub(crate) fn code_plane_2x2_avx2(
    (h, w): (usize, usize),
    (ho, wo): (usize, usize),
    x: &[f32],
    y: &mut [f32],
    codes: &mut [u8],
) -> bool {
    if crate::cpu::isa().is_none() {
        return false;
    }
    let outputs = [y.len(), codes.len()];
    assert_plane_sizes("max_pool2d", (h, w), (ho, wo), x.len(), &outputs);
    // SAFETY: the CPU has AVX2 (every `isa()` does); the sizes are checked above.
    unsafe { code_plane_avx2(w, ho, wo, x, y, codes) };
    true
}

/// # Safety
/// AVX2, and the slice sizes asserted by [`code_plane_2x2_avx2`].
#[target_feature(enable = "avx2")]
unsafe fn code_plane_avx2(
    w: usize,
    ho: usize,
    wo: usize,
    x: &[f32],
    y: &mut [f32],
    codes: &mut [u8],
) {
    // `shuffle` picks elements 0 and 2 (or 1 and 3) of each 128-bit half of both rows; the
    // permute then puts the halves in order: [0 2 4 6 | 8 10 12 14].
    let split = |a: __m256, b: __m256| {
        let even = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
        let odd = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
        let order = |v: __m256| {
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
        };
        (order(even), order(odd))
    };
    for oh in 0..ho {
        let (top, bottom) = (2 * oh * w, (2 * oh + 1) * w);
        for first in (0..wo).step_by(8) {
            let windows = 8.min(wo - first);
            let (low, high) = (
                lane_mask(2 * windows),
                lane_mask((2 * windows).saturating_sub(8)),
            );
            let col = 2 * first;
            let out_at = oh * wo + first;
            // SAFETY: masked lanes are not read or written; the others are window columns
            // `col .. col + 2 * windows <= 2 * wo <= w` of rows 2oh and 2oh + 1 < h, and outputs
            // `first .. first + windows` of row oh < ho.
            unsafe {
                let row = |start: usize| {
                    let p = x.as_ptr().add(start + col);
                    if windows == 8 {
                        split(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)))
                    } else {
                        split(
                            _mm256_maskload_ps(p, low),
                            _mm256_maskload_ps(p.add(8), high),
                        )
                    }
                };
                let ((t0, t1), (b0, b1)) = (row(top), row(bottom));
                let mut best = t0;
                let mut code = _mm256_setzero_ps();
                for (v, c) in [(t1, 1), (b0, 2), (b1, 3)] {
                    let take = _mm256_or_ps(
                        _mm256_cmp_ps::<_CMP_GT_OQ>(v, best),
                        _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v),
                    );
                    best = _mm256_blendv_ps(best, v, take);
                    code = _mm256_blendv_ps(code, _mm256_castsi256_ps(_mm256_set1_epi32(c)), take);
                }
                // Masked stores are microcoded on AMD: whole vectors, or lane by lane.
                if windows == 8 {
                    _mm256_storeu_ps(y.as_mut_ptr().add(out_at), best);
                } else {
                    let mut values = [0f32; 8];
                    _mm256_storeu_ps(values.as_mut_ptr(), best);
                    y[out_at..out_at + windows].copy_from_slice(&values[..windows]);
                }
                let mut lanes = [0u32; 8];
                _mm256_storeu_ps(lanes.as_mut_ptr().cast(), code);
                for (code, &lane) in codes[out_at..out_at + windows].iter_mut().zip(&lanes) {
                    *code = lane as u8;
                }
            }
        }
    }
}
