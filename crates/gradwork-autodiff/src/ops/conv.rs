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
    /// the bias.
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
                        Some(g.try_sum_axes(&[0, 2, 3], false)?)
                    } else {
                        None
                    });
                }
                Ok(grads)
            }
        })
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
    /// backward pass finds each window's maximum again in the input (same rule, same result)
    /// instead of keeping eight bytes of index per output.
    pub fn try_max_pool2d(&self, options: &Pool2dOptions) -> Result<Var> {
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
