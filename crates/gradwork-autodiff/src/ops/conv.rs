//! Convolution and pooling over NCHW images, on gradwork-tensor's kernels. The backward kernels
//! (transposed convolution, weight gradient, pooling scatter) use fixed blocks, so gradients are
//! bitwise identical on any thread count.

use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Tensor};

use crate::error::{or_panic, Result};
use crate::var::Var;

impl Var {
    /// 2-D cross-correlation (PyTorch's `conv2d`): input `[N, C, H, W]`, weight
    /// `[O, C/groups, kh, kw]`, optional bias `[O]`; stride, zero padding, dilation and groups
    /// come from `options`. Output `[N, O, Ho, Wo]` with
    /// `Ho = floor((H + 2p - d (kh - 1) - 1) / s) + 1`. Backward: the transposed convolution for
    /// the input, `grad_out ⋆ input` for the weight, and `grad_out` summed over `N, Ho, Wo` for
    /// the bias ([`Tensor::try_conv2d_backward_bias`]).
    ///
    /// ```
    /// use gradwork_autodiff::Graph;
    /// use gradwork_tensor::{Conv2dOptions, Tensor};
    ///
    /// let graph = Graph::new();
    /// let x = graph.leaf(Tensor::ones(&[1, 1, 3, 3]));
    /// let w = graph.leaf(Tensor::ones(&[2, 1, 2, 2]));
    /// let y = x.conv2d(&w, None, &Conv2dOptions::default());
    /// assert_eq!(y.shape(), &[1, 2, 2, 2]);
    /// let grads = graph.backward(&y.sum_all()).unwrap();
    /// // Each weight tap sees four input pixels.
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![4.0; 8]);
    /// ```
    pub fn try_conv2d(
        &self,
        weight: &Var,
        bias: Option<&Var>,
        options: &Conv2dOptions,
    ) -> Result<Var> {
        let value = self
            .value()
            .try_conv2d(weight.value(), bias.map(Var::value), options)?;
        let (x, w) = (self.value().clone(), weight.value().clone());
        let options = *options;
        let mut inputs: Vec<&Var> = vec![self, weight];
        inputs.extend(bias);
        Var::from_op("conv2d", &inputs, value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let gx = if needs[0] {
                    Some(Tensor::try_conv2d_backward_input(
                        g,
                        &w,
                        x.shape(),
                        &options,
                    )?)
                } else {
                    None
                };
                let gw = if needs[1] {
                    Some(Tensor::try_conv2d_backward_weight(
                        g,
                        &x,
                        w.shape(),
                        &options,
                    )?)
                } else {
                    None
                };
                let mut grads = vec![gx, gw];
                if needs.len() > 2 {
                    grads.push(if needs[2] {
                        Some(Tensor::try_conv2d_backward_bias(g)?)
                    } else {
                        None
                    });
                }
                Ok(grads)
            }
        })
    }

    /// [`Var::try_conv2d`] followed by [`Var::try_max_pool2d`], as one op
    /// ([`Tensor::try_conv2d_max_pool2d`]): the convolution's output is pooled block by block
    /// while it is in the cache and never kept, and the backward pass rebuilds its gradient
    /// block by block from the pooled gradient and one byte per window. Values and gradients
    /// have the bits of the two ops in turn.
    ///
    /// ```
    /// use gradwork_autodiff::Graph;
    /// use gradwork_tensor::{Conv2dOptions, Pool2dOptions, Tensor};
    ///
    /// let graph = Graph::new();
    /// let x = graph.leaf(Tensor::arange(0.0, 16.0, 1.0).reshape(&[1, 1, 4, 4]));
    /// let w = graph.leaf(Tensor::ones(&[1, 1, 1, 1]));
    /// let (conv, pool) = (Conv2dOptions::default(), Pool2dOptions::new((2, 2)));
    /// let y = x.conv2d_max_pool2d(&w, None, &conv, &pool);
    /// assert_eq!(y.value().to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// let grads = graph.backward(&y.sum_all()).unwrap();
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![40.0]);
    /// ```
    pub fn try_conv2d_max_pool2d(
        &self,
        weight: &Var,
        bias: Option<&Var>,
        conv: &Conv2dOptions,
        pool: &Pool2dOptions,
    ) -> Result<Var> {
        let (value, codes) =
            self.value()
                .try_conv2d_max_pool2d(weight.value(), bias.map(Var::value), conv, pool)?;
        let (x, w) = (self.value().clone(), weight.value().clone());
        let conv = *conv;
        let mut inputs: Vec<&Var> = vec![self, weight];
        inputs.extend(bias);
        Var::from_op("conv2d_max_pool2d", &inputs, value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let wants = [needs[0], needs[1], needs.get(2) == Some(&true)];
                let grads =
                    Tensor::try_conv2d_max_pool2d_backward(g, &codes, &x, &w, &conv, wants)?;
                let mut out = vec![grads.input, grads.weight];
                if needs.len() > 2 {
                    out.push(grads.bias);
                }
                Ok(out)
            }
        })
    }

    /// Convolution and max pooling as one op (see [`Var::try_conv2d_max_pool2d`]).
    #[track_caller]
    pub fn conv2d_max_pool2d(
        &self,
        weight: &Var,
        bias: Option<&Var>,
        conv: &Conv2dOptions,
        pool: &Pool2dOptions,
    ) -> Var {
        or_panic(self.try_conv2d_max_pool2d(weight, bias, conv, pool))
    }

    /// 2-D convolution (see [`Var::try_conv2d`]).
    #[track_caller]
    pub fn conv2d(&self, weight: &Var, bias: Option<&Var>, options: &Conv2dOptions) -> Var {
        or_panic(self.try_conv2d(weight, bias, options))
    }

    /// 2-D max pooling of `[N, C, H, W]` (padding counts as -inf, floor mode), also returning,
    /// for each output element, the flat index `h * W + w` of its maximum in the input plane.
    /// Backward: each output's gradient goes to its maximum (the first in row-major order on
    /// ties); overlapping windows add up.
    pub fn try_max_pool2d_with_indices(
        &self,
        options: &Pool2dOptions,
    ) -> Result<(Var, Vec<usize>)> {
        let (value, indices) = self.value().try_max_pool2d_with_indices(options)?;
        let shape = self.shape().to_vec();
        let saved = indices.clone();
        let out = Var::from_op("max_pool2d", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                Ok(vec![Some(Tensor::try_max_pool2d_backward(
                    g, &saved, &shape,
                )?)])
            }
        })?;
        Ok((out, indices))
    }

    /// 2-D max pooling with the argmax indices (see [`Var::try_max_pool2d_with_indices`]).
    #[track_caller]
    pub fn max_pool2d_with_indices(&self, options: &Pool2dOptions) -> (Var, Vec<usize>) {
        or_panic(self.try_max_pool2d_with_indices(options))
    }

    /// 2-D max pooling (see [`Var::try_max_pool2d_with_indices`]), without the indices: the
    /// op keeps one byte per output naming the element of its window that won
    /// ([`Tensor::try_max_pool2d_with_codes`]), and the backward pass routes the gradient by
    /// those bytes alone (same result as with the indices). Windows of more than
    /// [`gradwork_tensor::MAX_CODED_WINDOW`] elements keep the input and the output instead and
    /// find each maximum again.
    pub fn try_max_pool2d(&self, options: &Pool2dOptions) -> Result<Var> {
        if self.is_tracked() && options.fits_codes() {
            let (value, codes) = self.value().try_max_pool2d_with_codes(options)?;
            return Var::from_op("max_pool2d", &[self], value, move || {
                move |g: &Tensor, _: &[bool]| {
                    Ok(vec![Some(Tensor::try_max_pool2d_backward_codes(
                        g, &codes,
                    )?)])
                }
            });
        }
        let value = self.value().try_max_pool2d(options)?;
        let (input, output, options) = (self.value().clone(), value.clone(), *options);
        Var::from_op("max_pool2d", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                Ok(vec![Some(Tensor::try_max_pool2d_backward_from_output(
                    g, &input, &output, &options,
                )?)])
            }
        })
    }

    /// 2-D max pooling (see [`Var::try_max_pool2d_with_indices`]).
    #[track_caller]
    pub fn max_pool2d(&self, options: &Pool2dOptions) -> Var {
        or_panic(self.try_max_pool2d(options))
    }

    /// 2-D average pooling of `[N, C, H, W]` (zero padding; the divisor is the full window, or
    /// only its real elements when `count_include_pad` is false). Backward: each output's
    /// gradient, divided by its divisor, is spread over its window's real elements.
    pub fn try_avg_pool2d(&self, options: &Pool2dOptions) -> Result<Var> {
        let value = self.value().try_avg_pool2d(options)?;
        let shape = self.shape().to_vec();
        let options = *options;
        Var::from_op("avg_pool2d", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                Ok(vec![Some(Tensor::try_avg_pool2d_backward(
                    g, &shape, &options,
                )?)])
            }
        })
    }

    /// 2-D average pooling (see [`Var::try_avg_pool2d`]).
    #[track_caller]
    pub fn avg_pool2d(&self, options: &Pool2dOptions) -> Var {
        or_panic(self.try_avg_pool2d(options))
    }
}
