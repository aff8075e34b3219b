//! The building blocks of the convolution kernels: im2col, its adjoint col2im, and a bounds-checked
//! strided `sgemm`.
//!
//! For one image and one group, im2col lays out every receptive field as a column: row
//! `r = (c * kh + i) * kw + j` (input channel `c` of the group, kernel offset `(i, j)`), column
//! `p = oh * w_out + ow` (output position). Then a convolution is one matrix product
//! `weight[o_g, K] @ col[K, P]`, and col2im scatters a `[K, P]` gradient back onto the image.

use crate::tensor::Elem;

/// The sizes of one convolution, after validation (see `conv::plan`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvGeometry {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height and width.
    pub h: usize,
    pub w: usize,
    /// Output channels.
    pub o: usize,
    /// Number of groups.
    pub groups: usize,
    /// Kernel height and width.
    pub kh: usize,
    pub kw: usize,
    /// Output height and width.
    pub ho: usize,
    pub wo: usize,
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
}

impl ConvGeometry {
    /// Input channels per group.
    pub fn c_group(&self) -> usize {
        self.c / self.groups
    }
    /// Output channels per group.
    pub fn o_group(&self) -> usize {
        self.o / self.groups
    }
    /// Rows of the column matrix of one group: `c_group * kh * kw`.
    pub fn col_rows(&self) -> usize {
        self.c_group() * self.kh * self.kw
    }
    /// Output positions per image: `ho * wo`, the columns of the column matrix.
    pub fn out_plane(&self) -> usize {
        self.ho * self.wo
    }
    /// Elements of one input image `[C, H, W]`.
    pub fn in_image(&self) -> usize {
        self.c * self.h * self.w
    }
    /// Elements of one output image `[O, Ho, Wo]`.
    pub fn out_image(&self) -> usize {
        self.o * self.out_plane()
    }
    /// Multiply-adds of one pass over the batch (saturating: only compared with a threshold).
    pub fn flops(&self) -> usize {
        [self.o, self.col_rows(), self.out_plane()]
            .iter()
            .fold(self.n, |acc, &d| acc.saturating_mul(d))
    }
    /// A 1x1 kernel with unit stride and no padding: the column matrix *is* the input image, so
    /// im2col and col2im are skipped.
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.stride == (1, 1)
            && self.padding == (0, 0)
            && self.ho == self.h
            && self.wo == self.w
    }

    /// The output columns `ow` whose input column `ow * sw + offset - pw` lies inside `0..w`
    /// for the kernel column offset `offset = j * dw`, as a half-open range.
    fn valid_cols(&self, offset: usize) -> (usize, usize) {
        valid_range(self.wo, self.w, self.stride.1, self.padding.1, offset)
    }
}

/// The outputs `o < out_len` with `0 <= o * stride + offset - pad < in_len`, as `lo..hi`.
fn valid_range(
    out_len: usize,
    in_len: usize,
    stride: usize,
    pad: usize,
    offset: usize,
) -> (usize, usize) {
    // o * stride >= pad - offset  and  o * stride < in_len + pad - offset.
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    let hi = (in_len + pad).saturating_sub(offset).div_ceil(stride);
    let hi = hi.min(out_len);
    (lo.min(hi), hi)
}

/// Fills the rows of `col` (`col_rows` rows of `ho * wo` elements, row `r` starting at
/// `r * row_stride`) with the receptive fields of `image`, the `c_group` channels `[c_group, H,
/// W]` of one group of one image. Padding reads as zero. A `row_stride` wider than `ho * wo`
/// leaves room for other images' columns between the rows.
pub(crate) fn im2col(g: &ConvGeometry, image: &[Elem], col: &mut [Elem], row_stride: usize) {
    let (sh, sw) = g.stride;
    let (dh, dw) = g.dilation;
    let plane = g.h * g.w;
    let p = g.out_plane();
    let mut r = 0;
    for c in 0..g.c_group() {
        let channel = &image[c * plane..(c + 1) * plane];
        for i in 0..g.kh {
            let (oh_lo, oh_hi) = valid_range(g.ho, g.h, sh, g.padding.0, i * dh);
            for j in 0..g.kw {
                let (ow_lo, ow_hi) = g.valid_cols(j * dw);
                let row = &mut col[r * row_stride..r * row_stride + p];
                r += 1;
                row[..oh_lo * g.wo].fill(0.0);
                row[oh_hi * g.wo..].fill(0.0);
                for oh in oh_lo..oh_hi {
                    let out = &mut row[oh * g.wo..(oh + 1) * g.wo];
                    out[..ow_lo].fill(0.0);
                    out[ow_hi..].fill(0.0);
                    if ow_lo == ow_hi {
                        continue;
                    }
                    let ih = oh * sh + i * dh - g.padding.0;
                    let first = ih * g.w + ow_lo * sw + j * dw - g.padding.1;
                    let src = &channel[first..];
                    let dst = &mut out[ow_lo..ow_hi];
                    if sw == 1 {
                        copy_run(dst, &src[..dst.len()]);
                    } else {
                        for (k, d) in dst.iter_mut().enumerate() {
                            *d = src[k * sw];
                        }
                    }
                }
            }
        }
    }
}

/// `dst.copy_from_slice(src)` for the short runs of an image row (often a dozen elements), in
/// inline fixed-size moves: a `memcpy` call per run cost more than the copy.
#[inline]
fn copy_run(dst: &mut [Elem], src: &[Elem]) {
    if dst.len() > 64 {
        dst.copy_from_slice(src);
        return;
    }
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (d, s) in (&mut d).zip(&mut s) {
        let run: [Elem; 8] = s.try_into().expect("chunks of 8");
        d.copy_from_slice(&run);
    }
    let (mut d, mut s) = (d.into_remainder(), s.remainder());
    if d.len() >= 4 {
        let run: [Elem; 4] = s[..4].try_into().expect("4 elements");
        d[..4].copy_from_slice(&run);
        (d, s) = (&mut d[4..], &s[4..]);
    }
    if d.len() >= 2 {
        let run: [Elem; 2] = s[..2].try_into().expect("2 elements");
        d[..2].copy_from_slice(&run);
        (d, s) = (&mut d[2..], &s[2..]);
    }
    if let (Some(d), Some(&s)) = (d.first_mut(), s.first()) {
        *d = s;
    }
}

/// The adjoint of [`im2col`]: adds every entry of the rows of `col` (row `r` starting at `r *
/// row_stride`, `ho * wo` elements each) onto the input position it was read from, in `image`
/// (`[c_group, H, W]`, which the caller zeroes first). Entries that fell on padding are dropped.
/// The order of additions is fixed.
pub(crate) fn col2im(g: &ConvGeometry, col: &[Elem], row_stride: usize, image: &mut [Elem]) {
    #[cfg(target_arch = "x86_64")]
    if crate::im2col_x86::col2im(g, col, row_stride, image) {
        return;
    }
    col2im_portable(g, col, row_stride, image);
}

/// [`col2im`] without vector intrinsics (and the reference their test compares with).
pub(crate) fn col2im_portable(
    g: &ConvGeometry,
    col: &[Elem],
    row_stride: usize,
    image: &mut [Elem],
) {
    let (sh, sw) = g.stride;
    let (dh, dw) = g.dilation;
    let plane = g.h * g.w;
    let p = g.out_plane();
    let mut r = 0;
    for c in 0..g.c_group() {
        let channel = &mut image[c * plane..(c + 1) * plane];
        for i in 0..g.kh {
            let (oh_lo, oh_hi) = valid_range(g.ho, g.h, sh, g.padding.0, i * dh);
            for j in 0..g.kw {
                let (ow_lo, ow_hi) = g.valid_cols(j * dw);
                let row = &col[r * row_stride..r * row_stride + p];
                r += 1;
                if ow_lo == ow_hi {
                    continue;
                }
                for oh in oh_lo..oh_hi {
                    let ih = oh * sh + i * dh - g.padding.0;
                    let first = ih * g.w + ow_lo * sw + j * dw - g.padding.1;
                    let src = &row[oh * g.wo + ow_lo..oh * g.wo + ow_hi];
                    let dst = &mut channel[first..];
                    if sw == 1 {
                        for (d, s) in dst.iter_mut().zip(src) {
                            *d += s;
                        }
                    } else {
                        for (k, s) in src.iter().enumerate() {
                            dst[k * sw] += s;
                        }
                    }
                }
            }
        }
    }
}

/// Where the column matrix of one group reads the input, for reading it in place (an implicit
/// im2col, see [`gemm_gathered`]): `(taps, positions)`, with row `r = (c * kh + i) * kw + j` of
/// the column matrix at offset `taps[r]` and column `t * P + (oh * wo + ow)` (image `t` of
/// `images`) at `positions[..]`, both relative to the group's first input element. Element
/// `(r, q)` is then the input at `taps[r] + positions[q]`. `None` with padding (which reads
/// zeros from outside the image) or offsets too large for the vector gathers' 32 bits.
pub(crate) fn gather_offsets(g: &ConvGeometry, images: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    if g.padding != (0, 0) {
        return None;
    }
    let (sh, sw) = g.stride;
    let (dh, dw) = g.dilation;
    let plane = g.h * g.w;
    let taps: Vec<usize> = (0..g.c_group())
        .flat_map(|c| (0..g.kh).flat_map(move |i| (0..g.kw).map(move |j| (c, i, j))))
        .map(|(c, i, j)| c * plane + i * dh * g.w + j * dw)
        .collect();
    let positions: Vec<usize> = (0..images)
        .flat_map(|t| (0..g.ho).flat_map(move |oh| (0..g.wo).map(move |ow| (t, oh, ow))))
        .map(|(t, oh, ow)| t * g.in_image() + oh * sh * g.w + ow * sw)
        .collect();
    let largest = taps.last().copied().unwrap_or(0) + positions.last().copied().unwrap_or(0);
    (largest <= i32::MAX as usize).then_some((taps, positions))
}

/// Offsets as the 32-bit lane indices of a gather (checked to fit by [`gather_offsets`]).
pub(crate) fn as_lane_offsets(offsets: &[usize]) -> Vec<i32> {
    offsets.iter().map(|&o| o as i32).collect()
}

/// A read-only matrix operand: element `(r, c)` is `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [Elem],
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [Elem], cols: usize) -> Self {
        MatRef {
            data,
            row_stride: cols,
            col_stride: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [Elem], cols: usize) -> Self {
        MatRef {
            data,
            row_stride: 1,
            col_stride: cols,
        }
    }
}

/// [`gemm`] with `b[p, j] = x[row_offsets[p] + col_offsets[j]]` read in place (`k` row and `n`
/// column offsets): the bits of [`gemm`] on that matrix written out. `false` (nothing written)
/// where the packed kernel does not run; the caller then writes the matrix out.
pub(crate) fn gemm_gathered(
    m: usize,
    a: MatRef,
    x: &[Elem],
    (row_offsets, col_offsets): (&[usize], &[i32]),
    beta: Elem,
    c: &mut [Elem],
) -> bool {
    let (k, n) = (row_offsets.len(), col_offsets.len());
    if m == 0 || n == 0 || k == 0 {
        return false; // `gemm` handles the empty cases
    }
    assert!(c.len() >= m * n, "conv gemm: output too small");
    let a_last = (m - 1) * a.row_stride + (k - 1) * a.col_stride;
    assert!(a_last < a.data.len(), "conv gemm: operand out of bounds");
    #[allow(unsafe_code)]
    // SAFETY: the asserts above bound every element of `a` read and every element of `c`
    // written (`i*n + j`); `sgemm_gathered` checks the offsets into `x` itself.
    unsafe {
        crate::sgemm::sgemm_gathered(
            m,
            a.data.as_ptr(),
            (a.row_stride, a.col_stride),
            x,
            row_offsets,
            col_offsets,
            c.as_mut_ptr(),
            n,
            beta != 0.0,
        )
    }
}

/// `c = a @ b + beta * c` for `a: [m, k]`, `b: [k, n]` and `c` row-major `[m, n]` (`beta` is 0
/// or 1: overwrite or accumulate). One sgemm call over the whole K dimension, so each element is
/// the same sequence of operations wherever it runs.
pub(crate) fn gemm(m: usize, k: usize, n: usize, a: MatRef, b: MatRef, beta: Elem, c: &mut [Elem]) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= m * n, "conv gemm: output too small");
    if k == 0 {
        if beta == 0.0 {
            c[..m * n].fill(0.0);
        }
        return;
    }
    let a_last = (m - 1) * a.row_stride + (k - 1) * a.col_stride;
    let b_last = (k - 1) * b.row_stride + (n - 1) * b.col_stride;
    assert!(
        a_last < a.data.len() && b_last < b.data.len(),
        "conv gemm: operand out of bounds"
    );
    #[allow(unsafe_code)]
    // SAFETY: the asserts above show that every element sgemm reads, `a[i*rsa + p*csa]` for
    // i < m, p < k and `b[p*rsb + j*csb]` for p < k, j < n, lies inside its slice, and that `c`
    // holds the m*n elements written at `i*n + j`; `c` is a unique borrow, so nothing aliases it.
    unsafe {
        crate::sgemm::sgemm(
            m,
            k,
            n,
            a.data.as_ptr(),
            (a.row_stride, a.col_stride),
            b.data.as_ptr(),
            (b.row_stride, b.col_stride),
            c.as_mut_ptr(),
            n,
            beta != 0.0,
            crate::epilogue::Epilogue::NONE,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// col2im's dispatched path (gathered with AVX-512 where the CPU has it, for unit stride and
    /// dilation) gives the portable scatter's bits, on kernels from 1x1 to 4x3, paddings 0 to 2,
    /// images wider than one vector and not, several channels, a padded row stride and a
    /// nonzero starting image (the additions continue from it). Stride 2 takes the portable
    /// path on both sides.
    #[test]
    fn col2im_paths_agree_bit_for_bit() {
        let mut rng = Rng::seed_from(9);
        for (c, h, w) in [(1, 5, 5), (3, 13, 13), (2, 7, 20), (2, 4, 35)] {
            for (kh, kw) in [(1, 1), (3, 3), (2, 3), (4, 3)] {
                for padding in [(0, 0), (1, 1), (2, 1)] {
                    for stride in [(1, 1), (2, 2)] {
                        let out = |len: usize, k: usize, pad: usize, s: usize| {
                            (len + 2 * pad).checked_sub(k).map(|span| span / s + 1)
                        };
                        let (Some(ho), Some(wo)) = (
                            out(h, kh, padding.0, stride.0),
                            out(w, kw, padding.1, stride.1),
                        ) else {
                            continue;
                        };
                        let g = ConvGeometry {
                            n: 1,
                            c,
                            h,
                            w,
                            o: 1,
                            groups: 1,
                            kh,
                            kw,
                            ho,
                            wo,
                            stride,
                            padding,
                            dilation: (1, 1),
                        };
                        let row_stride = ho * wo + 3;
                        let col: Vec<Elem> = (0..g.col_rows() * row_stride)
                            .map(|_| rng.next_normal() as Elem)
                            .collect();
                        let start: Vec<Elem> =
                            (0..c * h * w).map(|_| rng.next_normal() as Elem).collect();
                        let (mut fast, mut slow) = (start.clone(), start);
                        col2im(&g, &col, row_stride, &mut fast);
                        col2im_portable(&g, &col, row_stride, &mut slow);
                        let bits = |v: &[Elem]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
                        assert_eq!(
                            bits(&fast),
                            bits(&slow),
                            "{c}x{h}x{w}, kernel {kh}x{kw}, padding {padding:?}, stride {stride:?}"
                        );
                    }
                }
            }
        }
    }
}
