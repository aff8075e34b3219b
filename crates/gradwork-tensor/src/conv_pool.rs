//! A convolution followed by max pooling, as one op that never holds the convolution's full
//! output, in either direction.
//!
//! In the MNIST CNN the first convolution's output (`[64, 32, 26, 26]`, 5.5 MB) is the largest
//! tensor of the step, and on its own it crossed main memory five times per step: written by
//! the convolution, read by the pooling, then its gradient written by the pooling's backward
//! pass, read for the bias gradient, and read again for the weight gradient. Each crossing cost
//! about 0.5 ms on one Zen 4 core (~11 GB/s), most of the pooling's and the bias gradient's time.
//!
//! Here the work goes by the convolution's image blocks ([`CONV_BATCH_BLOCK`] images; 8 x 86 KB
//! for that layer, which stays in the core's L2):
//! - **forward**: a block's convolution output is pooled while it is still in the cache; only
//!   the pooled values and one-byte window codes ([`PoolCodes`]) are written;
//! - **backward**: a block's output gradient is rebuilt from the pooled gradient and the codes,
//!   then fed to the same weight-gradient, input-gradient and bias-gradient kernels as the plain
//!   convolution's.
//!
//! Every kernel sees the same operands in the same order as the convolution and the pooling run
//! one after the other, so values and gradients have exactly their bits (the tests compare them
//! bit for bit), on any number of threads.

use rayon::prelude::*;

use crate::conv::{check_bias, plan as conv_plan, Conv2dOptions, CONV_BATCH_BLOCK, PARALLEL_FLOPS};
use crate::conv_blocks;
use crate::error::{Result, TensorError};
use crate::im2col::ConvGeometry;
use crate::max_pool_codes::{
    check_coded_window, pool_plane_with_codes, route_plane_by_codes, PoolCodes,
};
use crate::pool::{plan as pool_plan, Pool2dOptions, PoolGeometry};
use crate::tensor::{Elem, Tensor};

/// The gradients of [`Tensor::try_conv2d_max_pool2d`], each present when asked for.
#[derive(Debug, Clone)]
pub struct ConvPoolGrads {
    /// With respect to the input `[N, C, H, W]`.
    pub input: Option<Tensor>,
    /// With respect to the weight `[O, C/groups, kh, kw]`.
    pub weight: Option<Tensor>,
    /// With respect to the bias `[O]`.
    pub bias: Option<Tensor>,
}

/// Both geometries of the fused op, checked.
fn plan(
    op: &'static str,
    input: &[usize],
    weight: &[usize],
    conv: &Conv2dOptions,
    pool: &Pool2dOptions,
) -> Result<(ConvGeometry, PoolGeometry)> {
    let g = conv_plan(op, input, weight, conv)?;
    let conv_out = [g.n, g.o, g.ho, g.wo];
    let pg = pool_plan(op, &conv_out, pool)?;
    check_coded_window(op, &conv_out, pool)?;
    Ok((g, pg))
}

impl Tensor {
    /// `self.conv2d(weight, bias, conv)` max-pooled with `pool`, as one op that does not keep
    /// the convolution's output: the pooled `[N, O, Ho', Wo']` and the pooling's one-byte codes,
    /// which [`Tensor::try_conv2d_max_pool2d_backward`] needs. The same bits as
    /// [`Tensor::try_conv2d`] followed by [`Tensor::try_max_pool2d_with_codes`], faster when
    /// the convolution's output is larger than the caches. Pooling windows of more than
    /// [`crate::MAX_CODED_WINDOW`] elements are refused.
    ///
    /// ```
    /// use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Tensor};
    /// let x = Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]);
    /// let w = Tensor::ones(&[1, 1, 1, 1]);
    /// let (conv, pool) = (Conv2dOptions::default(), Pool2dOptions::new((2, 2)));
    /// let (y, codes) = x.try_conv2d_max_pool2d(&w, None, &conv, &pool).unwrap();
    /// assert_eq!(y.to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// assert_eq!(codes.codes(), &[3, 3, 3, 3]); // each window's bottom-right element
    /// ```
    pub fn try_conv2d_max_pool2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        conv: &Conv2dOptions,
        pool: &Pool2dOptions,
    ) -> Result<(Tensor, PoolCodes)> {
        let op = "conv2d_max_pool2d";
        let (g, pg) = plan(op, self.shape(), weight.shape(), conv, pool)?;
        check_bias(op, &g, bias, weight.shape())?;
        let (x, w) = (self.contiguous(), weight.contiguous());
        let bias = bias.map(Tensor::to_vec);
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let (x, w) = (x.as_slice().unwrap(), w.as_slice().unwrap());
        let pooled_image = g.o * pg.ho * pg.wo;
        let mut y = crate::buffer::scratch(g.n * pooled_image);
        let mut codes = vec![0u8; g.n * pooled_image];
        let windows = pg.windows();
        let (plane_in, plane_out) = (pg.h * pg.w, pg.ho * pg.wo);
        let run_block = |b: usize, y: &mut [Elem], codes: &mut [u8]| {
            let first = b * CONV_BATCH_BLOCK;
            let images = y.len() / pooled_image;
            let mut pool_plane = |i: usize, o: usize, plane: &mut [Elem]| {
                if let Some(bias) = &bias {
                    // The bits the convolution writes: each product plus the bias.
                    plane.iter_mut().for_each(|v| *v += bias[o]);
                }
                let at = (i * g.o + o) * plane_out..(i * g.o + o + 1) * plane_out;
                let (y, codes) = (&mut y[at.clone()], &mut codes[at]);
                pool_plane_with_codes(&pg, (&windows.0, &windows.1), plane, y, codes);
            };
            if g.is_pointwise() {
                let mut block = crate::buffer::scratch(images * g.out_image());
                conv_blocks::forward(&g, x, w, None, first, &mut block);
                for (j, plane) in block.chunks_mut(plane_in).enumerate() {
                    pool_plane(j / g.o, j % g.o, plane);
                }
                crate::buffer::recycle(block);
            } else {
                conv_blocks::forward_planes(&g, x, w, first, images, pool_plane);
            }
        };
        if pooled_image > 0 && g.out_image() > 0 {
            let chunk = CONV_BATCH_BLOCK * pooled_image;
            if g.n > CONV_BATCH_BLOCK && g.flops() >= PARALLEL_FLOPS {
                let blocks = y.par_chunks_mut(chunk).zip(codes.par_chunks_mut(chunk));
                blocks
                    .enumerate()
                    .for_each(|(b, (y, c))| run_block(b, y, c));
            } else {
                let blocks = y.chunks_mut(chunk).zip(codes.chunks_mut(chunk));
                blocks
                    .enumerate()
                    .for_each(|(b, (y, c))| run_block(b, y, c));
            }
        }
        Ok((
            Tensor::try_from_vec(y, &[g.n, g.o, pg.ho, pg.wo])?,
            PoolCodes::new(codes, [g.n, g.o, g.ho, g.wo], *pool),
        ))
    }

    /// The gradients of [`Tensor::try_conv2d_max_pool2d`] from the pooled output's gradient
    /// `grad_out` and the `codes` the forward pass returned, for the `input` and `weight` it was
    /// given: `needs` says which of (input, weight, bias) to compute. The same bits as routing
    /// the gradient with [`Tensor::try_max_pool2d_backward_codes`] and then
    /// [`Tensor::try_conv2d_backward_input`], [`Tensor::try_conv2d_backward_weight`] and
    /// [`Tensor::try_conv2d_backward_bias`]; the convolution's full-size output gradient is
    /// never built.
    ///
    /// Errors name the op and the shapes when `grad_out` is not the pooled shape or the codes
    /// were made for another convolution output.
    ///
    /// ```
    /// use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Tensor};
    /// let x = Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]);
    /// let w = Tensor::ones(&[1, 1, 1, 1]);
    /// let (conv, pool) = (Conv2dOptions::default(), Pool2dOptions::new((2, 2)));
    /// let (_, codes) = x.try_conv2d_max_pool2d(&w, None, &conv, &pool).unwrap();
    /// let dy = Tensor::ones(&[1, 1, 2, 2]);
    /// let grads = Tensor::try_conv2d_max_pool2d_backward(&dy, &codes, &x, &w, &conv, [true, true, true]).unwrap();
    /// // The weight sees the four window maxima: 5 + 7 + 13 + 15.
    /// assert_eq!(grads.weight.unwrap().to_vec(), vec![40.0]);
    /// assert_eq!(grads.bias.unwrap().to_vec(), vec![4.0]);
    /// ```
    pub fn try_conv2d_max_pool2d_backward(
        grad_out: &Tensor,
        codes: &PoolCodes,
        input: &Tensor,
        weight: &Tensor,
        conv: &Conv2dOptions,
        needs: [bool; 3],
    ) -> Result<ConvPoolGrads> {
        let op = "conv2d_max_pool2d_backward";
        let (g, pg) = plan(op, input.shape(), weight.shape(), conv, codes.options())?;
        let conv_out = [g.n, g.o, g.ho, g.wo];
        if codes.input_shape() != conv_out {
            return Err(TensorError::shape_mismatch_because(
                op,
                codes.input_shape(),
                &conv_out,
                "the codes were made for another convolution output",
            ));
        }
        let pooled = [g.n, g.o, pg.ho, pg.wo];
        if grad_out.shape() != pooled || codes.codes().len() != grad_out.numel() {
            return Err(TensorError::shape_mismatch_because(
                op,
                grad_out.shape(),
                &pooled,
                "grad_out must have the pooled output's shape",
            ));
        }
        let (dy, x, w) = (
            grad_out.contiguous(),
            input.contiguous(),
            weight.contiguous(),
        );
        // `contiguous()` always returns a contiguous tensor, so `as_slice` is `Some`.
        let (dy, x, w) = (
            dy.as_slice().unwrap(),
            x.as_slice().unwrap(),
            w.as_slice().unwrap(),
        );
        let route = Routing {
            g: &pg,
            codes: codes.codes(),
            dy,
        };
        let weight_len = g.o * g.col_rows();
        // One block's weight and bias partials, and its input gradient into `dx`.
        let run_block = |b: usize, dx: Option<&mut [Elem]>| -> BlockPartials {
            let first = b * CONV_BATCH_BLOCK;
            let count = CONV_BATCH_BLOCK.min(g.n - first);
            let block_dy = route.planes(first * g.o, count * g.o);
            let weight = needs[1].then(|| {
                let mut partial = crate::buffer::zeroed(weight_len);
                let x = &x[first * g.in_image()..];
                conv_blocks::backward_weight(&g, &block_dy, x, 0..count, &mut partial);
                partial
            });
            let bias = needs[2].then(|| conv_blocks::bias_partial(&block_dy, g.o, g.out_plane()));
            if let Some(dx) = dx {
                conv_blocks::backward_input(&g, &block_dy, w, 0, dx);
            }
            crate::buffer::recycle(block_dy);
            (weight, bias)
        };
        let blocks = g.n.div_ceil(CONV_BATCH_BLOCK);
        let parallel = blocks > 1 && g.flops() >= PARALLEL_FLOPS;
        let mut dx = needs[0].then(|| crate::buffer::zeroed(g.n * g.in_image()));
        let partials: Vec<BlockPartials> = match dx.as_mut().filter(|_| g.in_image() > 0) {
            Some(dx) => {
                let chunks = dx.chunks_mut(CONV_BATCH_BLOCK * g.in_image());
                if parallel {
                    let chunks = dx.par_chunks_mut(CONV_BATCH_BLOCK * g.in_image());
                    chunks
                        .enumerate()
                        .map(|(b, dx)| run_block(b, Some(dx)))
                        .collect()
                } else {
                    chunks
                        .enumerate()
                        .map(|(b, dx)| run_block(b, Some(dx)))
                        .collect()
                }
            }
            None if !needs[1] && !needs[2] => Vec::new(),
            None if parallel => (0..blocks)
                .into_par_iter()
                .map(|b| run_block(b, None))
                .collect(),
            None => (0..blocks).map(|b| run_block(b, None)).collect(),
        };
        let (weight_partials, bias_partials): (Vec<_>, Vec<_>) = partials.into_iter().unzip();
        let weight_grad = needs[1].then(|| {
            let mut dw = crate::buffer::zeroed(weight_len);
            for partial in weight_partials.iter().flatten() {
                for (d, s) in dw.iter_mut().zip(partial) {
                    *d += s;
                }
            }
            dw
        });
        let bias_grad =
            needs[2].then(|| conv_blocks::bias_total(bias_partials.into_iter().flatten(), g.o));
        Ok(ConvPoolGrads {
            input: match dx {
                Some(dx) => Some(Tensor::try_from_vec(dx, input.shape())?),
                None => None,
            },
            weight: match weight_grad {
                Some(dw) => Some(Tensor::try_from_vec(dw, weight.shape())?),
                None => None,
            },
            bias: match bias_grad {
                Some(db) => Some(Tensor::try_from_vec(db, &[g.o])?),
                None => None,
            },
        })
    }
}

/// A block's weight-gradient and bias-gradient partials, when asked for.
type BlockPartials = (Option<Vec<Elem>>, Option<Vec<f64>>);

/// Rebuilds planes of the convolution's output gradient from the pooled gradient and codes.
struct Routing<'a> {
    g: &'a PoolGeometry,
    codes: &'a [u8],
    dy: &'a [Elem],
}

impl Routing<'_> {
    /// Routes plane `plane` (image-major: `image * O + channel`) into `out`.
    fn plane(&self, plane: usize, out: &mut [Elem]) {
        let plane_out = self.g.ho * self.g.wo;
        let at = plane * plane_out..(plane + 1) * plane_out;
        route_plane_by_codes(self.g, &self.codes[at.clone()], &self.dy[at], out);
    }

    /// Planes `first..first + count`, side by side.
    fn planes(&self, first: usize, count: usize) -> Vec<Elem> {
        let plane_in = self.g.h * self.g.w;
        let mut out = crate::buffer::scratch(count * plane_in);
        for (i, plane) in out.chunks_mut(plane_in.max(1)).enumerate() {
            self.plane(first + i, plane);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn bits(t: &Tensor) -> Vec<u32> {
        t.to_vec().iter().map(|v| v.to_bits()).collect()
    }

    fn random(rng: &mut Rng, shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        // Rounded to a coarse grid, so windows often tie.
        let values = (0..n).map(|_| (rng.next_normal() * 4.0).round() as Elem / 4.0);
        Tensor::from_vec(values.collect(), shape)
    }

    /// The fused op against the convolution and the pooling run one after the other, bit for
    /// bit: values, codes and all three gradients, on batches that fill, split and undershoot
    /// the image blocks, with and without bias, over strides, padding, dilation, groups, a
    /// pointwise kernel and overlapping or padded pooling windows.
    #[test]
    fn matches_the_convolution_then_the_pooling_bit_for_bit() {
        let mut rng = Rng::seed_from(23);
        let cases: [(usize, usize, usize, Conv2dOptions, Pool2dOptions); 7] = [
            (
                2,
                4,
                3,
                Conv2dOptions::default(),
                Pool2dOptions::new((2, 2)),
            ),
            (
                3,
                6,
                3,
                Conv2dOptions {
                    padding: (1, 1),
                    ..Default::default()
                },
                Pool2dOptions::new((2, 2)),
            ),
            (
                2,
                4,
                3,
                Conv2dOptions {
                    stride: (2, 1),
                    ..Default::default()
                },
                Pool2dOptions::new((3, 3))
                    .with_stride((2, 2))
                    .with_padding((1, 1)),
            ),
            (
                4,
                4,
                2,
                Conv2dOptions {
                    groups: 2,
                    dilation: (2, 2),
                    ..Default::default()
                },
                Pool2dOptions::new((2, 3)),
            ),
            (
                3,
                5,
                1,
                Conv2dOptions::default(),
                Pool2dOptions::new((2, 2)).with_stride((1, 1)),
            ),
            (
                1,
                32,
                3,
                Conv2dOptions::default(),
                Pool2dOptions::new((2, 2)),
            ),
            (
                8,
                16,
                3,
                Conv2dOptions::default(),
                Pool2dOptions::new((2, 2)),
            ),
        ];
        for (case, &(c, o, k, conv, pool)) in cases.iter().enumerate() {
            for n in [1, 8, 9, 19] {
                let x = random(&mut rng, &[n, c, 13, 12]);
                let w = random(&mut rng, &[o, c / conv.groups, k, k]);
                let with_bias = n % 2 == 1;
                let b = with_bias.then(|| random(&mut rng, &[o]));
                let what = format!("case {case}, batch {n}");
                let (y, codes) = x
                    .try_conv2d_max_pool2d(&w, b.as_ref(), &conv, &pool)
                    .unwrap();
                let z = x.try_conv2d(&w, b.as_ref(), &conv).unwrap();
                let (y_ref, codes_ref) = z.try_max_pool2d_with_codes(&pool).unwrap();
                assert_eq!(bits(&y), bits(&y_ref), "{what}");
                assert_eq!(codes, codes_ref, "{what}");

                // Unrounded, so that the gradients' f32 sums round.
                let normal = (0..y.numel()).map(|_| rng.next_normal() as Elem);
                let dy = Tensor::from_vec(normal.collect(), y.shape());
                let grads = Tensor::try_conv2d_max_pool2d_backward(
                    &dy,
                    &codes,
                    &x,
                    &w,
                    &conv,
                    [true, true, with_bias],
                )
                .unwrap();
                let dz = Tensor::try_max_pool2d_backward_codes(&dy, &codes_ref).unwrap();
                let dx = Tensor::try_conv2d_backward_input(&dz, &w, x.shape(), &conv).unwrap();
                let dw = Tensor::try_conv2d_backward_weight(&dz, &x, w.shape(), &conv).unwrap();
                assert_eq!(bits(grads.input.as_ref().unwrap()), bits(&dx), "{what}");
                assert_eq!(bits(grads.weight.as_ref().unwrap()), bits(&dw), "{what}");
                if with_bias {
                    let db = Tensor::try_conv2d_backward_bias(&dz).unwrap();
                    assert_eq!(bits(grads.bias.as_ref().unwrap()), bits(&db), "{what}");
                }
                // Only what is asked for is computed, with the same bits.
                let some = Tensor::try_conv2d_max_pool2d_backward(
                    &dy,
                    &codes,
                    &x,
                    &w,
                    &conv,
                    [false, true, false],
                )
                .unwrap();
                assert!(some.input.is_none() && some.bias.is_none(), "{what}");
                assert_eq!(bits(some.weight.as_ref().unwrap()), bits(&dw), "{what}");
            }
        }
    }

    #[test]
    fn refuses_mismatched_gradients_codes_and_bias() {
        let x = Tensor::ones(&[2, 1, 6, 6]);
        let w = Tensor::ones(&[3, 1, 3, 3]);
        let (conv, pool) = (Conv2dOptions::default(), Pool2dOptions::new((2, 2)));
        let (y, codes) = x.try_conv2d_max_pool2d(&w, None, &conv, &pool).unwrap();
        assert_eq!(y.shape(), &[2, 3, 2, 2]);
        let err = |r: Result<ConvPoolGrads>| r.unwrap_err().to_string();
        let wrong_grad = Tensor::ones(&[2, 3, 2, 3]);
        let e = err(Tensor::try_conv2d_max_pool2d_backward(
            &wrong_grad,
            &codes,
            &x,
            &w,
            &conv,
            [true; 3],
        ));
        assert!(
            e.contains("conv2d_max_pool2d_backward")
                && e.contains("[2, 3, 2, 3]")
                && e.contains("[2, 3, 2, 2]"),
            "{e}"
        );
        let other_x = Tensor::ones(&[2, 1, 7, 7]);
        let e = err(Tensor::try_conv2d_max_pool2d_backward(
            &y, &codes, &other_x, &w, &conv, [true; 3],
        ));
        assert!(
            e.contains("[2, 3, 4, 4]") && e.contains("[2, 3, 5, 5]"),
            "{e}"
        );
        let e = x
            .try_conv2d_max_pool2d(&w, Some(&Tensor::ones(&[2])), &conv, &pool)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bias"), "{e}");
        let e = x
            .try_conv2d_max_pool2d(&w, None, &conv, &Pool2dOptions::new((5, 5)))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("conv2d_max_pool2d") && e.contains("larger"),
            "{e}"
        );
    }
}
