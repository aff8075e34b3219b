//! [`crate::im2col::col2im`] for unit stride and dilation, gathered instead of scattered, with
//! AVX-512.
//!
//! The portable col2im walks the column matrix and adds each run of it onto the image: nine
//! read-modify-write passes over every input element for a 3x3 kernel, whose overlapping
//! stores (each tap's run shifted by one element from the last) keep the store buffer busy.
//! Here each output vector of 16 image elements is computed once: it is loaded and adds,
//! tap by tap in the portable loop's order, the 16 column entries that land on it (masked where
//! a tap falls outside the output), then is stored. Every element receives the same additions in
//! the same order as in the portable loop, so the bits are the same.

#![allow(unsafe_code)]

use std::arch::x86_64::*;

use crate::im2col::ConvGeometry;

/// [`crate::im2col::col2im`] (same contract) when the convolution has unit stride and dilation
/// and the CPU has AVX-512F; `false`, with nothing written, otherwise.
pub(crate) fn col2im(g: &ConvGeometry, col: &[f32], row_stride: usize, image: &mut [f32]) -> bool {
    if g.stride != (1, 1) || g.dilation != (1, 1) || !crate::cpu::has_avx512() {
        return false;
    }
    let p = g.out_plane();
    let rows = g.col_rows();
    assert!(
        image.len() >= g.c_group() * g.h * g.w
            && (rows == 0 || (rows - 1) * row_stride + p <= col.len()),
        "col2im: buffers too small"
    );
    // SAFETY: the CPU has AVX-512F; the sizes are checked above.
    unsafe { gather(g, col, row_stride, image) };
    true
}

/// # Safety
/// AVX-512F; `image` holds `c_group * h * w` elements and `col` `col_rows` rows of `ho * wo`
/// at `row_stride`.
#[target_feature(enable = "avx512f")]
unsafe fn gather(g: &ConvGeometry, col: &[f32], row_stride: usize, image: &mut [f32]) {
    let (ph, pw) = g.padding;
    let (ho, wo) = (g.ho as isize, g.wo as isize);
    let lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    for c in 0..g.c_group() {
        for y in 0..g.h {
            let out_row = &mut image[(c * g.h + y) * g.w..][..g.w];
            for x0 in (0..g.w).step_by(16) {
                let n = 16.min(g.w - x0);
                let lanes: __mmask16 = if n == 16 { 0xFFFF } else { (1u16 << n) - 1 };
                // SAFETY: lanes x0 .. x0 + n of the image row. Starting from what the image
                // holds (zeros in every caller) keeps the portable loop's exact additions.
                let mut acc = unsafe { _mm512_maskz_loadu_ps(lanes, out_row.as_ptr().add(x0)) };
                for i in 0..g.kh {
                    // The output row this tap reads for image row y.
                    let oh = (y + ph) as isize - i as isize;
                    if oh < 0 || oh >= ho {
                        continue;
                    }
                    for j in 0..g.kw {
                        let r = (c * g.kh + i) * g.kw + j;
                        // Output columns x + pw - j for the 16 lanes: valid where 0 <= . < wo.
                        let first = (x0 + pw) as isize - j as isize;
                        let ow = _mm512_add_epi32(lane, _mm512_set1_epi32(first as i32));
                        let valid = lanes
                            & _mm512_cmpge_epi32_mask(ow, _mm512_setzero_si512())
                            & _mm512_cmplt_epi32_mask(ow, _mm512_set1_epi32(wo as i32));
                        if valid == 0 {
                            continue;
                        }
                        // SAFETY: the lanes under `valid` read row r's entries oh * wo + ow with
                        // 0 <= ow < wo, inside the row (checked by the caller); the pointer for
                        // the others is formed with wrapping arithmetic and not dereferenced.
                        let v = unsafe {
                            let at = col
                                .as_ptr()
                                .wrapping_add(r * row_stride)
                                .wrapping_offset(oh * wo + first);
                            _mm512_maskz_loadu_ps(valid, at)
                        };
                        acc = _mm512_mask_add_ps(acc, valid, acc, v);
                    }
                }
                // SAFETY: lanes x0 .. x0 + n of the image row.
                unsafe { _mm512_mask_storeu_ps(out_row.as_mut_ptr().add(x0), lanes, acc) };
            }
        }
    }
}
