//! 2-D average pooling (PyTorch's `AvgPool2d` in floor mode, with either divisor) and its
//! backward kernel. Geometry, validation and the per-plane parallel loop are shared with max
//! pooling (`pool.rs`).

use crate::error::{or_panic, Result, TensorError};
use crate::pool::{for_each_plane, output_shape, plan, pool_planes, Pool2dOptions, PoolGeometry};
use crate::tensor::{Elem, Tensor};

impl Tensor {
    /// 2-D average pooling of an input `[N, C, H, W]`: each output is the sum of its window (padding
    /// counts as zero) divided by `kh * kw`, or, with `count_include_pad` false, by the number of
    /// real elements in the window, as PyTorch's `AvgPool2d` in floor mode.
    ///
    /// ```
    /// use gradwork_tensor::{Pool2dOptions, Tensor};
    /// let x = Tensor::ones(&[1, 1, 2, 2]);
    /// let padded = Pool2dOptions::new((2, 2)).with_stride((1, 1)).with_padding((1, 1));
    /// assert_eq!(x.avg_pool2d(&padded).get(&[0, 0, 0, 0]), 0.25);
    /// let exclude = padded.with_count_include_pad(false);
    /// assert_eq!(x.avg_pool2d(&exclude).get(&[0, 0, 0, 0]), 1.0);
    /// ```
    pub fn try_avg_pool2d(&self, options: &Pool2dOptions) -> Result<Tensor> {
        pool_planes("avg_pool2d", self, options, |g, rows, cols, x, y| {
            match g.options.kernel {
                (2, 2) => avg_plane::<2, 2>(g, rows, cols, x, y),
                (3, 3) => avg_plane::<3, 3>(g, rows, cols, x, y),
                _ => avg_plane::<0, 0>(g, rows, cols, x, y),
            }
        })
    }

    /// 2-D average pooling (see [`Tensor::try_avg_pool2d`]).
    ///
    /// # Panics
    /// When the input is not 4-D or the options are invalid.
    #[track_caller]
    pub fn avg_pool2d(&self, options: &Pool2dOptions) -> Tensor {
        or_panic(self.try_avg_pool2d(options))
    }

    /// The gradient of average pooling with respect to its input of shape `input_shape`: each
    /// element of `grad_out` is divided by its window's divisor and added to every real input
    /// position of the window.
    pub fn try_avg_pool2d_backward(
        grad_out: &Tensor,
        input_shape: &[usize],
        options: &Pool2dOptions,
    ) -> Result<Tensor> {
        let op = "avg_pool2d_backward";
        let g = plan(op, input_shape, options)?;
        let expected = output_shape(input_shape, &g);
        if grad_out.shape() != expected {
            return Err(TensorError::shape_mismatch_because(
                op,
                grad_out.shape(),
                &expected,
                format!("grad_out must have the pooled shape of the input {input_shape:?}"),
            ));
        }
        let dy = grad_out.contiguous();
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let dy = dy.as_slice().unwrap();
        let (plane_in, plane_out) = (g.h * g.w, g.ho * g.wo);
        let mut dx = crate::buffer::zeroed(g.planes * plane_in);
        let (rows, cols) = g.windows();
        for_each_plane(&mut dx, plane_in, |plane, dx| {
            let dy = &dy[plane * plane_out..(plane + 1) * plane_out];
            match g.options.kernel {
                (2, 2) => avg_plane_backward::<2, 2>(&g, &rows, &cols, dy, dx),
                (3, 3) => avg_plane_backward::<3, 3>(&g, &rows, &cols, dy, dx),
                _ => avg_plane_backward::<0, 0>(&g, &rows, &cols, dy, dx),
            }
        });
        Tensor::try_from_vec(dx, input_shape)
    }

    /// Gradient of average pooling (see [`Tensor::try_avg_pool2d_backward`]).
    ///
    /// # Panics
    /// When the shapes or options are invalid.
    #[track_caller]
    pub fn avg_pool2d_backward(
        grad_out: &Tensor,
        input_shape: &[usize],
        options: &Pool2dOptions,
    ) -> Tensor {
        or_panic(Self::try_avg_pool2d_backward(
            grad_out,
            input_shape,
            options,
        ))
    }
}

/// Average-pools one plane `x` into `y`; windows of exactly `KH x KW` real elements take a
/// fixed-size loop (`KH = 0` means none do). Each window is summed in row-major order.
fn avg_plane<const KH: usize, const KW: usize>(
    g: &PoolGeometry,
    rows: &[(usize, usize)],
    cols: &[(usize, usize)],
    x: &[Elem],
    y: &mut [Elem],
) {
    for (y, &(h0, h1)) in y.chunks_mut(g.wo).zip(rows) {
        for (y, &(w0, w1)) in y.iter_mut().zip(cols) {
            let mut sum = 0.0;
            if KH > 0 && h1 - h0 == KH && w1 - w0 == KW {
                for i in 0..KH {
                    let start = (h0 + i) * g.w + w0;
                    sum += x[start..start + KW].iter().sum::<Elem>();
                }
            } else {
                for start in (h0..h1).map(|ih| ih * g.w) {
                    sum += x[start + w0..start + w1].iter().sum::<Elem>();
                }
            }
            *y = sum / divisor(g, h0, h1, w0, w1);
        }
    }
}

/// The adjoint of [`avg_plane`]: adds each output gradient's share to its window in `dx`.
fn avg_plane_backward<const KH: usize, const KW: usize>(
    g: &PoolGeometry,
    rows: &[(usize, usize)],
    cols: &[(usize, usize)],
    dy: &[Elem],
    dx: &mut [Elem],
) {
    for (dy, &(h0, h1)) in dy.chunks(g.wo).zip(rows) {
        for (&dy, &(w0, w1)) in dy.iter().zip(cols) {
            let share = dy / divisor(g, h0, h1, w0, w1);
            if KH > 0 && h1 - h0 == KH && w1 - w0 == KW {
                for i in 0..KH {
                    let start = (h0 + i) * g.w + w0;
                    dx[start..start + KW].iter_mut().for_each(|d| *d += share);
                }
            } else {
                for start in (h0..h1).map(|ih| ih * g.w) {
                    dx[start + w0..start + w1]
                        .iter_mut()
                        .for_each(|d| *d += share);
                }
            }
        }
    }
}

/// The divisor of an average-pooling window covering real rows `h0..h1` and columns `w0..w1`.
fn divisor(g: &PoolGeometry, h0: usize, h1: usize, w0: usize, w1: usize) -> Elem {
    let (kh, kw) = g.options.kernel;
    // In floor mode a window never reaches past the padded edge, so the padded window is the
    // whole kernel.
    if g.options.count_include_pad {
        (kh * kw) as Elem
    } else {
        ((h1 - h0) * (w1 - w0)) as Elem
    }
}
