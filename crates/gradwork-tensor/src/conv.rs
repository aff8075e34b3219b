//! 2-D convolution (NCHW, PyTorch's `Conv2d` semantics) and the two kernels its backward pass needs.
//!
//! Each image is lowered with im2col and multiplied by the weight with one sgemm per group; a 1x1
//! kernel with unit stride and no padding skips im2col, since the image already is the column
//! matrix. Images are processed in fixed blocks of [`CONV_BATCH_BLOCK`] (a constant, never the
//! thread count), in parallel with rayon. Every output element is computed by one sgemm call,
//! and the weight gradient sums one partial per block in block order, so the results are bitwise
//! identical on any number of threads.

use rayon::prelude::*;

use crate::conv_blocks;
use crate::error::{or_panic, Result, TensorError};
use crate::im2col::ConvGeometry;
use crate::layout::checked_numel;
use crate::tensor::{Elem, Tensor};

/// Images per parallel task in the convolution kernels. The weight gradient accumulates one
/// partial sum per block of this many images and adds the partials in block order.
pub const CONV_BATCH_BLOCK: usize = 8;

/// Below this many multiply-adds a convolution kernel stays on the calling thread.
pub(crate) const PARALLEL_FLOPS: usize = 1 << 16;

/// Options of [`Tensor::conv2d`], as `(height, width)` pairs like PyTorch's `Conv2d`.
///
/// `Default` gives stride `(1, 1)`, padding `(0, 0)`, dilation `(1, 1)` and one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Step between neighbouring output positions, per axis (at least 1).
    pub stride: (usize, usize),
    /// Zeros added on both sides of the input, per axis.
    pub padding: (usize, usize),
    /// Spacing between kernel taps, per axis (at least 1; 1 is a plain convolution).
    pub dilation: (usize, usize),
    /// Channel groups: input channels `[j*C/g, (j+1)*C/g)` feed output channels `[j*O/g, (j+1)*O/g)`.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

/// Validates a convolution of an input of shape `input` by a weight of shape `weight` and
/// works out its sizes. `op` names the operation in errors.
pub(crate) fn plan(
    op: &'static str,
    input: &[usize],
    weight: &[usize],
    options: &Conv2dOptions,
) -> Result<ConvGeometry> {
    let mismatch = |detail: String| TensorError::shape_mismatch_because(op, input, weight, detail);
    if input.len() != 4 || weight.len() != 4 {
        return Err(mismatch(
            "input must be [N, C, H, W] and weight [O, C/groups, kh, kw]".into(),
        ));
    }
    let Conv2dOptions {
        stride,
        padding,
        dilation,
        groups,
    } = *options;
    if groups == 0 || stride.0 == 0 || stride.1 == 0 || dilation.0 == 0 || dilation.1 == 0 {
        return Err(TensorError::invalid(
            op,
            input,
            format!(
                "stride {stride:?} and dilation {dilation:?} must be positive and groups ({groups}) at least 1"
            ),
        ));
    }
    let [n, c, h, w] = [input[0], input[1], input[2], input[3]];
    let [o, c_group, kh, kw] = [weight[0], weight[1], weight[2], weight[3]];
    if c % groups != 0 || o % groups != 0 {
        return Err(mismatch(format!(
            "groups ({groups}) must divide both the input channels ({c}) and the output channels ({o})"
        )));
    }
    if c_group != c / groups {
        return Err(mismatch(format!(
            "the weight takes {c_group} channels per group but the input has {c} channels in {groups} group(s)"
        )));
    }
    if kh == 0 || kw == 0 {
        return Err(mismatch("the kernel must be at least 1x1".into()));
    }
    let overflow = || TensorError::invalid(op, input, "the convolution's sizes overflow usize");
    let extent = |len: usize, pad: usize, dil: usize, k: usize| -> Result<(usize, usize)> {
        let padded = pad
            .checked_mul(2)
            .and_then(|p| p.checked_add(len))
            .ok_or_else(overflow)?;
        let span = dil
            .checked_mul(k - 1)
            .and_then(|s| s.checked_add(1))
            .ok_or_else(overflow)?;
        Ok((padded, span))
    };
    let (padded_h, span_h) = extent(h, padding.0, dilation.0, kh)?;
    let (padded_w, span_w) = extent(w, padding.1, dilation.1, kw)?;
    if span_h > padded_h || span_w > padded_w {
        return Err(mismatch(format!(
            "the kernel spans {span_h}x{span_w} (dilation {dilation:?}), larger than the padded input {padded_h}x{padded_w}"
        )));
    }
    let geometry = ConvGeometry {
        n,
        c,
        h,
        w,
        o,
        groups,
        kh,
        kw,
        ho: (padded_h - span_h) / stride.0 + 1,
        wo: (padded_w - span_w) / stride.1 + 1,
        stride,
        padding,
        dilation,
    };
    // Every buffer the kernels allocate must have a representable size.
    let sizes: [&[usize]; 3] = [
        &[n, o, geometry.ho, geometry.wo],
        &[c_group, kh, kw, geometry.ho, geometry.wo],
        &[n, c, h, w],
    ];
    if sizes.iter().any(|s| checked_numel(s).is_none()) {
        return Err(overflow());
    }
    Ok(geometry)
}

/// Checks that `grad_out` has the convolution's output shape.
fn check_grad_out(
    op: &'static str,
    g: &ConvGeometry,
    grad_out: &Tensor,
    input: &[usize],
    weight: &[usize],
) -> Result<()> {
    let expected = [g.n, g.o, g.ho, g.wo];
    if grad_out.shape() != expected {
        return Err(TensorError::shape_mismatch_because(
            op,
            grad_out.shape(),
            &expected,
            format!("grad_out must have the output shape of input {input:?} convolved with weight {weight:?}"),
        ));
    }
    Ok(())
}

/// Refuses a bias that is not `[O]`, naming the op and the bias and weight shapes.
pub(crate) fn check_bias(
    op: &'static str,
    g: &ConvGeometry,
    bias: Option<&Tensor>,
    weight: &[usize],
) -> Result<()> {
    match bias {
        Some(b) if b.shape() != [g.o] => Err(TensorError::shape_mismatch_because(
            op,
            b.shape(),
            weight,
            format!("the bias must be [O] = [{}]", g.o),
        )),
        _ => Ok(()),
    }
}

/// Runs `f(first_image, block)` over fixed blocks of [`CONV_BATCH_BLOCK`] images of `out`
/// (`item_len` elements per image), in parallel when there is enough work.
fn for_each_image_block(
    out: &mut [Elem],
    item_len: usize,
    flops: usize,
    f: impl Fn(usize, &mut [Elem]) + Sync + Send,
) {
    if item_len == 0 {
        return;
    }
    let block = CONV_BATCH_BLOCK * item_len;
    if out.len() > block && flops >= PARALLEL_FLOPS {
        out.par_chunks_mut(block)
            .enumerate()
            .for_each(|(b, chunk)| f(b * CONV_BATCH_BLOCK, chunk));
    } else {
        for (b, chunk) in out.chunks_mut(block).enumerate() {
            f(b * CONV_BATCH_BLOCK, chunk);
        }
    }
}

impl Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch's `Conv2d`) of an input `[N, C, H, W]` by a
    /// weight `[O, C/groups, kh, kw]`, plus an optional bias `[O]`, with zero padding. The output is
    /// `[N, O, H_out, W_out]` with `H_out = floor((H + 2p - d(kh - 1) - 1) / s) + 1` (same for W).
    ///
    /// ```
    /// use gradwork_tensor::{Conv2dOptions, Tensor};
    /// let x = Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]);
    /// let w = Tensor::ones(&[1, 1, 2, 2]);
    /// let options = Conv2dOptions { stride: (2, 2), ..Conv2dOptions::default() };
    /// let y = x.conv2d(&w, Some(&Tensor::from_vec(vec![0.5], &[1])), &options);
    /// assert_eq!(y.shape(), &[1, 1, 2, 2]);
    /// assert_eq!(y.to_vec(), vec![10.5, 18.5, 42.5, 50.5]);
    /// ```
    ///
    /// Errors name the op and both shapes: a non-4-D operand, channels that do not match the
    /// weight, groups that do not divide the channels, a zero stride or dilation, a kernel larger
    /// than the padded input, or a bias that is not `[O]`.
    pub fn try_conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        options: &Conv2dOptions,
    ) -> Result<Tensor> {
        let op = "conv2d";
        let g = plan(op, self.shape(), weight.shape(), options)?;
        check_bias(op, &g, bias, weight.shape())?;
        let (x, w) = (self.contiguous(), weight.contiguous());
        let bias = bias.map(Tensor::to_vec);
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let (x, w) = (x.as_slice().unwrap(), w.as_slice().unwrap());
        let mut out = crate::buffer::scratch(g.n * g.out_image());
        for_each_image_block(&mut out, g.out_image(), g.flops(), |first, block| {
            conv_blocks::forward(&g, x, w, bias.as_deref(), first, block)
        });
        Tensor::try_from_vec(out, &[g.n, g.o, g.ho, g.wo])
    }

    /// 2-D convolution (see [`Tensor::try_conv2d`]).
    ///
    /// # Panics
    /// When the shapes or options are invalid; the message names the op and both shapes.
    #[track_caller]
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        options: &Conv2dOptions,
    ) -> Tensor {
        or_panic(self.try_conv2d(weight, bias, options))
    }

    /// The gradient of a convolution with respect to its input: given `grad_out` `[N, O, Ho, Wo]`
    /// (the gradient of the output of `input.conv2d(weight, _, options)` for an input of shape
    /// `input_shape`), returns `[N, C, H, W]`. This is the transposed convolution: one sgemm
    /// `weight^T @ grad_out` per image and group, then col2im adds each column back onto the
    /// input positions it was read from. Padding positions receive nothing.
    ///
    /// The bias gradient needs no kernel: it is `grad_out.sum_axes(&[0, 2, 3], false)`.
    pub fn try_conv2d_backward_input(
        grad_out: &Tensor,
        weight: &Tensor,
        input_shape: &[usize],
        options: &Conv2dOptions,
    ) -> Result<Tensor> {
        let op = "conv2d_backward_input";
        let g = plan(op, input_shape, weight.shape(), options)?;
        check_grad_out(op, &g, grad_out, input_shape, weight.shape())?;
        let (dy, w) = (grad_out.contiguous(), weight.contiguous());
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let (dy, w) = (dy.as_slice().unwrap(), w.as_slice().unwrap());
        let mut dx = crate::buffer::zeroed(g.n * g.in_image());
        for_each_image_block(&mut dx, g.in_image(), g.flops(), |first, block| {
            conv_blocks::backward_input(&g, dy, w, first, block)
        });
        Tensor::try_from_vec(dx, input_shape)
    }

    /// Gradient of a convolution with respect to its input (see
    /// [`Tensor::try_conv2d_backward_input`]).
    ///
    /// # Panics
    /// When the shapes or options are invalid; the message names the op and the shapes.
    #[track_caller]
    pub fn conv2d_backward_input(
        grad_out: &Tensor,
        weight: &Tensor,
        input_shape: &[usize],
        options: &Conv2dOptions,
    ) -> Tensor {
        or_panic(Self::try_conv2d_backward_input(
            grad_out,
            weight,
            input_shape,
            options,
        ))
    }

    /// The gradient of a convolution with respect to its weight: given `grad_out`
    /// `[N, O, Ho, Wo]` and the forward `input` `[N, C, H, W]`, returns a tensor of
    /// `weight_shape` `[O, C/groups, kh, kw]`, the sum over images of `grad_out @ im2col(input)^T`.
    ///
    /// The sum runs in a fixed order (images in order within each block of
    /// [`CONV_BATCH_BLOCK`], then the block partials in block order), whatever the thread count.
    /// The bias gradient is `grad_out.sum_axes(&[0, 2, 3], false)`.
    pub fn try_conv2d_backward_weight(
        grad_out: &Tensor,
        input: &Tensor,
        weight_shape: &[usize],
        options: &Conv2dOptions,
    ) -> Result<Tensor> {
        let op = "conv2d_backward_weight";
        let g = plan(op, input.shape(), weight_shape, options)?;
        check_grad_out(op, &g, grad_out, input.shape(), weight_shape)?;
        let (dy, x) = (grad_out.contiguous(), input.contiguous());
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let (dy, x) = (dy.as_slice().unwrap(), x.as_slice().unwrap());
        let weight_len = g.o * g.col_rows();
        let block_partial = |block: usize| -> Vec<Elem> {
            let mut partial = crate::buffer::zeroed(weight_len);
            let images = block * CONV_BATCH_BLOCK..((block + 1) * CONV_BATCH_BLOCK).min(g.n);
            conv_blocks::backward_weight(&g, dy, x, images, &mut partial);
            partial
        };
        let blocks = g.n.div_ceil(CONV_BATCH_BLOCK);
        let partials: Vec<Vec<Elem>> = if blocks > 1 && g.flops() >= PARALLEL_FLOPS {
            (0..blocks).into_par_iter().map(block_partial).collect()
        } else {
            (0..blocks).map(block_partial).collect()
        };
        let mut dw = crate::buffer::zeroed(weight_len);
        for partial in &partials {
            for (d, s) in dw.iter_mut().zip(partial) {
                *d += s;
            }
        }
        Tensor::try_from_vec(dw, weight_shape)
    }

    /// The gradient of a convolution's bias: `grad_out` `[N, O, Ho, Wo]` summed over `N`, `Ho`
    /// and `Wo`, by the fixed image blocks of the other kernels ([`CONV_BATCH_BLOCK`]): within a
    /// block each channel is one f64 sum, the blocks' sums are added in block order, and the
    /// total is rounded once to f32. Any number of threads gives the same bits, and so does
    /// the fused [`Tensor::try_conv2d_max_pool2d_backward`], which sums each block while it is
    /// in the cache.
    ///
    /// ```
    /// use gradwork_tensor::Tensor;
    /// let g = Tensor::arange(0.0, 12.0, 1.0).reshape(&[2, 2, 1, 3]);
    /// let db = Tensor::try_conv2d_backward_bias(&g).unwrap();
    /// assert_eq!(db.to_vec(), vec![0.0 + 1.0 + 2.0 + 6.0 + 7.0 + 8.0, 3.0 + 4.0 + 5.0 + 9.0 + 10.0 + 11.0]);
    /// ```
    pub fn try_conv2d_backward_bias(grad_out: &Tensor) -> Result<Tensor> {
        let op = "conv2d_backward_bias";
        let shape = grad_out.shape();
        if shape.len() != 4 {
            return Err(TensorError::invalid(
                op,
                shape,
                "grad_out must be a convolution's output gradient [N, O, Ho, Wo]",
            ));
        }
        let (n, o, p) = (shape[0], shape[1], shape[2] * shape[3]);
        let dy = grad_out.contiguous();
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let dy = dy.as_slice().unwrap();
        let block = (CONV_BATCH_BLOCK * o * p).max(1);
        let partial = |dy: &[Elem]| conv_blocks::bias_partial(dy, o, p);
        let partials: Vec<Vec<f64>> =
            if n > CONV_BATCH_BLOCK && dy.len() >= crate::par::PARALLEL_THRESHOLD {
                dy.par_chunks(block).map(partial).collect()
            } else {
                dy.chunks(block).map(partial).collect()
            };
        Tensor::try_from_vec(conv_blocks::bias_total(partials.into_iter(), o), &[o])
    }

    /// Gradient of a convolution with respect to its weight (see
    /// [`Tensor::try_conv2d_backward_weight`]).
    ///
    /// # Panics
    /// When the shapes or options are invalid; the message names the op and the shapes.
    #[track_caller]
    pub fn conv2d_backward_weight(
        grad_out: &Tensor,
        input: &Tensor,
        weight_shape: &[usize],
        options: &Conv2dOptions,
    ) -> Tensor {
        or_panic(Self::try_conv2d_backward_weight(
            grad_out,
            input,
            weight_shape,
            options,
        ))
    }
}
