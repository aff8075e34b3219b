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
        x.len() == h * w
            && dx.len() == h * w
            && y.len() == ho * wo
            && dy.len() == ho * wo
            && 2 * ho <= h
            && 2 * wo <= w,
        "max_pool2d_backward: plane sizes do not match"
    );
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
