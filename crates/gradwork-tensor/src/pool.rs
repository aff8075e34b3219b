//! 2-D pooling (NCHW, PyTorch's `MaxPool2d`/`AvgPool2d` in floor mode, dilation 1): the options
//! and geometry both kinds share, and max pooling with argmax indices and its backward kernel.
//! Max pooling without indices (the training path) is in `max_pool.rs`, average pooling in
//! `avg_pool.rs`.
//!
//! Every `(n, c)` plane is pooled independently by one thread, sequentially, so any split of the
//! planes over threads gives the same bits. Backward kernels scatter-add within one plane in a
//! fixed order (overlapping windows add up).

use rayon::prelude::*;

use crate::error::{or_panic, Result, TensorError};
use crate::par::PARALLEL_THRESHOLD;
use crate::tensor::{Elem, Tensor};

/// `(n, c)` planes per parallel pooling task.
const PLANE_BLOCK: usize = 16;

/// Options of the pooling kernels, as `(height, width)` pairs.
///
/// ```
/// use gradwork_tensor::Pool2dOptions;
/// let o = Pool2dOptions::new((3, 3)).with_stride((2, 2)).with_padding((1, 1));
/// assert_eq!(o.kernel, (3, 3));
/// assert!(o.count_include_pad);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dOptions {
    /// Window size per axis (at least 1).
    pub kernel: (usize, usize),
    /// Step between windows per axis (at least 1).
    pub stride: (usize, usize),
    /// Implicit padding on both sides, at most half the kernel per axis. Max pooling pads with
    /// -inf; average pooling pads with zeros.
    pub padding: (usize, usize),
    /// Average pooling only: divide by the full window size `kh * kw` even where the window covers
    /// padding (PyTorch's default), or, when false, by the number of real elements it covers.
    pub count_include_pad: bool,
}

impl Pool2dOptions {
    /// PyTorch's defaults for a window of `kernel`: stride equal to the kernel, no padding,
    /// `count_include_pad` true.
    pub fn new(kernel: (usize, usize)) -> Self {
        Pool2dOptions {
            kernel,
            stride: kernel,
            padding: (0, 0),
            count_include_pad: true,
        }
    }

    /// These options with another stride.
    pub fn with_stride(self, stride: (usize, usize)) -> Self {
        Pool2dOptions { stride, ..self }
    }

    /// These options with another padding.
    pub fn with_padding(self, padding: (usize, usize)) -> Self {
        Pool2dOptions { padding, ..self }
    }

    /// These options with another `count_include_pad`.
    pub fn with_count_include_pad(self, count_include_pad: bool) -> Self {
        Pool2dOptions {
            count_include_pad,
            ..self
        }
    }
}

/// The sizes of one pooling, after validation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolGeometry {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub ho: usize,
    pub wo: usize,
    pub options: Pool2dOptions,
}

/// Half-open index ranges `(start, end)`, one per output row or column.
pub(crate) type Spans = Vec<(usize, usize)>;

impl PoolGeometry {
    /// The real input rows `h0..h1` under each output row, and the real input columns `w0..w1`
    /// under each output column. None is empty (padding is at most half the kernel).
    pub(crate) fn windows(&self) -> (Spans, Spans) {
        let axis = |outputs: usize, k: usize, s: usize, p: usize, len: usize| {
            (0..outputs)
                // padding <= k / 2 < k, so `o * s + k - p` does not underflow.
                .map(|o| ((o * s).saturating_sub(p), (o * s + k - p).min(len)))
                .collect::<Vec<_>>()
        };
        let Pool2dOptions {
            kernel,
            stride,
            padding,
            ..
        } = self.options;
        (
            axis(self.ho, kernel.0, stride.0, padding.0, self.h),
            axis(self.wo, kernel.1, stride.1, padding.1, self.w),
        )
    }
}

/// Validates pooling an input of shape `input` with `options`.
pub(crate) fn plan(
    op: &'static str,
    input: &[usize],
    options: &Pool2dOptions,
) -> Result<PoolGeometry> {
    let invalid = |reason: String| TensorError::invalid(op, input, reason);
    if input.len() != 4 {
        return Err(invalid("pooling needs an input [N, C, H, W]".into()));
    }
    let Pool2dOptions {
        kernel,
        stride,
        padding,
        ..
    } = *options;
    if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
        return Err(invalid(format!(
            "kernel {kernel:?} and stride {stride:?} must be positive"
        )));
    }
    if padding.0 > kernel.0 / 2 || padding.1 > kernel.1 / 2 {
        return Err(invalid(format!(
            "padding {padding:?} must be at most half the kernel {kernel:?}"
        )));
    }
    let (h, w) = (input[2], input[3]);
    if crate::layout::checked_numel(input).is_none() {
        return Err(invalid("the input's element count overflows usize".into()));
    }
    if h == 0 || w == 0 {
        return Err(invalid("the input planes are empty".into()));
    }
    // padding <= kernel / 2, so these cannot overflow unless the input is absurd.
    let padded = (h.checked_add(2 * padding.0), w.checked_add(2 * padding.1));
    let (Some(padded_h), Some(padded_w)) = padded else {
        return Err(invalid("the padded input size overflows usize".into()));
    };
    if kernel.0 > padded_h || kernel.1 > padded_w {
        return Err(invalid(format!(
            "the kernel {kernel:?} is larger than the padded input {padded_h}x{padded_w}"
        )));
    }
    Ok(PoolGeometry {
        planes: input[0] * input[1],
        h,
        w,
        ho: (padded_h - kernel.0) / stride.0 + 1,
        wo: (padded_w - kernel.1) / stride.1 + 1,
        options: *options,
    })
}

/// Runs `f(plane, out_plane)` over every plane of `out` (`plane_len` elements each), in parallel
/// over fixed groups of planes when `out` is large.
pub(crate) fn for_each_plane(
    out: &mut [Elem],
    plane_len: usize,
    f: impl Fn(usize, &mut [Elem]) + Sync,
) {
    if plane_len == 0 {
        return;
    }
    let run = |(b, block): (usize, &mut [Elem])| {
        for (i, plane) in block.chunks_mut(plane_len).enumerate() {
            f(b * PLANE_BLOCK + i, plane);
        }
    };
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(PLANE_BLOCK * plane_len)
            .enumerate()
            .for_each(run);
    } else {
        out.chunks_mut(PLANE_BLOCK * plane_len)
            .enumerate()
            .for_each(run);
    }
}

/// Pools every `(n, c)` plane of `input` into a new `[N, C, Ho, Wo]` tensor:
/// `pool(g, rows, cols, x, y)` gets one input plane `x` and must write every element of its
/// output plane `y` (which starts with unspecified values). `op` names the operation in errors.
pub(crate) fn pool_planes(
    op: &'static str,
    input: &Tensor,
    options: &Pool2dOptions,
    pool: impl Fn(&PoolGeometry, &[(usize, usize)], &[(usize, usize)], &[Elem], &mut [Elem]) + Sync,
) -> Result<Tensor> {
    let g = plan(op, input.shape(), options)?;
    let x = input.contiguous();
    // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
    let x = x.as_slice().unwrap();
    let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
    let mut out = crate::buffer::scratch(g.planes * plane_out);
    let (rows, cols) = g.windows();
    for_each_plane(&mut out, plane_out, |plane, y| {
        pool(
            &g,
            &rows,
            &cols,
            &x[plane * plane_in..(plane + 1) * plane_in],
            y,
        )
    });
    Tensor::try_from_vec(out, &output_shape(input.shape(), &g))
}

/// The shape `[N, C, Ho, Wo]` of a pooled output.
pub(crate) fn output_shape(input: &[usize], g: &PoolGeometry) -> [usize; 4] {
    [input[0], input[1], g.ho, g.wo]
}

impl Tensor {
    /// 2-D max pooling of an input `[N, C, H, W]`, with the position of each maximum.
    ///
    /// Returns the output `[N, C, Ho, Wo]` (`Ho = floor((H + 2p - kh) / s) + 1`) and, for each of
    /// its elements in row-major order, the flat index `h * W + w` of the maximum in the unpadded
    /// input plane of that `(n, c)`, as PyTorch's `return_indices=True`. Padding counts as -inf;
    /// a NaN in the window wins; among equal maxima the first in row-major order wins.
    ///
    /// ```
    /// use gradwork_tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::from_vec(vec![1.0, 5.0, 2.0, 0.0, 3.0, 4.0, 9.0, 8.0], &[1, 1, 2, 4]);
    /// let (y, indices) = x.max_pool2d_with_indices(&Pool2dOptions::new((2, 2)));
    /// assert_eq!(y.to_vec(), vec![5.0, 9.0]);
    /// assert_eq!(indices, vec![1, 6]);
    /// ```
    pub fn try_max_pool2d_with_indices(
        &self,
        options: &Pool2dOptions,
    ) -> Result<(Tensor, Vec<usize>)> {
        let g = plan("max_pool2d", self.shape(), options)?;
        let x = self.contiguous();
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let x = x.as_slice().unwrap();
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        let mut out = crate::buffer::zeroed(g.planes * plane_out);
        let mut indices = vec![0usize; g.planes * plane_out];
        let (rows, cols) = g.windows();
        let pool_plane = |plane: usize, y: &mut [Elem], arg: &mut [usize]| {
            let x = &x[plane * plane_in..(plane + 1) * plane_in];
            // Common kernels get fixed-size window loops the compiler unrolls.
            // Without NaNs the comparison compiles to branch-free selects; the NaN rule would
            // put an unpredictable branch in every step, so only planes holding a NaN pay it.
            let has_nan = x.iter().fold(false, |seen, v| seen | v.is_nan());
            match (g.options.kernel, has_nan) {
                (_, true) => max_plane::<0, 0, true>(&g, &rows, &cols, x, y, arg),
                ((2, 2), false) => max_plane::<2, 2, false>(&g, &rows, &cols, x, y, arg),
                ((3, 3), false) => max_plane::<3, 3, false>(&g, &rows, &cols, x, y, arg),
                _ => max_plane::<0, 0, false>(&g, &rows, &cols, x, y, arg),
            }
        };
        if plane_out > 0 {
            let block = PLANE_BLOCK * plane_out;
            let parallel = out.len() >= PARALLEL_THRESHOLD;
            let run = |(b, (y, arg)): (usize, (&mut [Elem], &mut [usize]))| {
                let chunks = y.chunks_mut(plane_out).zip(arg.chunks_mut(plane_out));
                for (i, (y, arg)) in chunks.enumerate() {
                    pool_plane(b * PLANE_BLOCK + i, y, arg);
                }
            };
            if parallel {
                let tasks = out.par_chunks_mut(block).zip(indices.par_chunks_mut(block));
                tasks.enumerate().for_each(run);
            } else {
                let chunks = out.chunks_mut(block).zip(indices.chunks_mut(block));
                chunks.enumerate().for_each(run);
            }
        }
        let shape = output_shape(self.shape(), &g);
        Ok((Tensor::try_from_vec(out, &shape)?, indices))
    }

    /// Max pooling with indices (see [`Tensor::try_max_pool2d_with_indices`]).
    ///
    /// # Panics
    /// When the input is not 4-D or the options are invalid.
    #[track_caller]
    pub fn max_pool2d_with_indices(&self, options: &Pool2dOptions) -> (Tensor, Vec<usize>) {
        or_panic(self.try_max_pool2d_with_indices(options))
    }

    /// The gradient of max pooling with respect to its input `[N, C, H, W]` (`input_shape`):
    /// each element of `grad_out` `[N, C, Ho, Wo]` is added to the input position `indices`
    /// names (as returned by [`Tensor::try_max_pool2d_with_indices`]); overlapping windows that
    /// share a maximum add up.
    pub fn try_max_pool2d_backward(
        grad_out: &Tensor,
        indices: &[usize],
        input_shape: &[usize],
    ) -> Result<Tensor> {
        let op = "max_pool2d_backward";
        let (gs, is) = (grad_out.shape(), input_shape);
        if gs.len() != 4 || is.len() != 4 || gs[..2] != is[..2] {
            return Err(TensorError::shape_mismatch_because(
                op,
                gs,
                is,
                "grad_out [N, C, Ho, Wo] and the input [N, C, H, W] must agree on N and C",
            ));
        }
        if indices.len() != grad_out.numel() {
            return Err(TensorError::invalid(
                op,
                gs,
                format!(
                    "{} indices given for {} gradients",
                    indices.len(),
                    grad_out.numel()
                ),
            ));
        }
        let Some(input_len) = crate::layout::checked_numel(is) else {
            return Err(TensorError::invalid(
                op,
                is,
                "the input's element count overflows usize",
            ));
        };
        let plane_in = is[2] * is[3];
        if let Some((at, &index)) = indices.iter().enumerate().find(|(_, &i)| i >= plane_in) {
            return Err(TensorError::invalid(
                op,
                is,
                format!("index {index} (position {at}) is outside an input plane of {plane_in} elements"),
            ));
        }
        let dy = grad_out.contiguous();
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let dy = dy.as_slice().unwrap();
        let plane_out = gs[2] * gs[3];
        let mut dx = crate::buffer::zeroed(input_len);
        for_each_plane(&mut dx, plane_in, |plane, dx| {
            let range = plane * plane_out..(plane + 1) * plane_out;
            for (&g, &i) in dy[range.clone()].iter().zip(&indices[range]) {
                dx[i] += g;
            }
        });
        Tensor::try_from_vec(dx, input_shape)
    }

    /// Gradient of max pooling (see [`Tensor::try_max_pool2d_backward`]).
    ///
    /// # Panics
    /// When the shapes disagree or an index is outside the input plane.
    #[track_caller]
    pub fn max_pool2d_backward(
        grad_out: &Tensor,
        indices: &[usize],
        input_shape: &[usize],
    ) -> Tensor {
        or_panic(Self::try_max_pool2d_backward(
            grad_out,
            indices,
            input_shape,
        ))
    }
}

/// Max-pools one plane `x` into `y` and `arg`. Windows of exactly `KH x KW` real elements take a
/// fixed-size loop (`KH = 0` means none do); the others, clipped by padding, a general one.
/// `NAN` enables the NaN rule (needed only when the plane holds a NaN).
///
/// PyTorch's rule: scanning the window in row-major order, a larger value or a NaN replaces the
/// maximum, so the first of equal maxima and the last NaN win; a window of -inf reports its first
/// element.
fn max_plane<const KH: usize, const KW: usize, const NAN: bool>(
    g: &PoolGeometry,
    rows: &[(usize, usize)],
    cols: &[(usize, usize)],
    x: &[Elem],
    y: &mut [Elem],
    arg: &mut [usize],
) {
    let outputs = y.chunks_mut(g.wo).zip(arg.chunks_mut(g.wo));
    for ((y, arg), &(h0, h1)) in outputs.zip(rows) {
        for ((y, arg), &(w0, w1)) in y.iter_mut().zip(arg.iter_mut()).zip(cols) {
            let (mut best, mut at) = (Elem::NEG_INFINITY, h0 * g.w + w0);
            if KH > 0 && h1 - h0 == KH && w1 - w0 == KW {
                for i in 0..KH {
                    let start = (h0 + i) * g.w + w0;
                    for (j, &v) in x[start..start + KW].iter().enumerate() {
                        if v > best || (NAN && v.is_nan()) {
                            (best, at) = (v, start + j);
                        }
                    }
                }
            } else {
                for start in (h0..h1).map(|ih| ih * g.w) {
                    for (iw, &v) in (w0..w1).zip(&x[start + w0..start + w1]) {
                        if v > best || (NAN && v.is_nan()) {
                            (best, at) = (v, start + iw);
                        }
                    }
                }
            }
            (*y, *arg) = (best, at);
        }
    }
}
