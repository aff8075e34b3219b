//! Matrix products: `matmul` (torch.matmul semantics, batched and broadcast) and the fused
//! `linear` layer op `x @ w^T + b`.

use gradwork_tensor::{Activation, Tensor};

use crate::error::{or_panic, AutodiffError, Result};
use crate::var::Var;

impl Var {
    /// Matrix product with `torch.matmul` semantics. Backward: `dA = g @ B^T`, `dB = A^T @ g`,
    /// each summed back over broadcast batch axes; transposes are free views.
    pub fn try_matmul(&self, other: &Var) -> Result<Var> {
        // 1-D operands are promoted to matrices and the extra axis removed after, so the
        // gradient rule below only sees the >= 2-D case.
        if self.shape().len() == 1 {
            let out = self.try_reshape(&[1, self.shape()[0]])?.try_matmul(other)?;
            let axis = out.shape().len() - if other.shape().len() == 1 { 1 } else { 2 };
            let mut shape = out.shape().to_vec();
            shape.remove(axis);
            return out.try_reshape(&shape);
        }
        if other.shape().len() == 1 {
            let out = self.try_matmul(&other.try_reshape(&[other.shape()[0], 1])?)?;
            let mut shape = out.shape().to_vec();
            shape.pop();
            return out.try_reshape(&shape);
        }
        let value = self.value().try_matmul(other.value())?;
        let (a, b) = (self.value().clone(), other.value().clone());
        Var::from_op("matmul", &[self, other], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let ga = if needs[0] {
                    Some(g.try_matmul(&b.t())?.try_sum_to_shape(a.shape())?)
                } else {
                    None
                };
                let gb = if needs[1] {
                    Some(a.t().try_matmul(g)?.try_sum_to_shape(b.shape())?)
                } else {
                    None
                };
                Ok(vec![ga, gb])
            }
        })
    }

    /// Matrix product (see [`Var::try_matmul`]).
    #[track_caller]
    pub fn matmul(&self, other: &Var) -> Var {
        or_panic(self.try_matmul(other))
    }

    /// The affine map of a dense layer, `x @ weight^T + bias`, as one fused op: `x` is
    /// `[..., in]`, `weight` is `[out, in]` (PyTorch's layout), `bias` is `[out]`. Leading axes
    /// of `x` are batch axes.
    pub fn try_linear(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        linear(self, weight, bias, Activation::Identity)
    }

    /// The fused dense-layer op (see [`Var::try_linear`]).
    #[track_caller]
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Var {
        or_panic(self.try_linear(weight, bias))
    }

    /// `relu(x @ weight^T + bias)` as one op ([`Var::try_linear`] then [`Var::relu`]): the ReLU
    /// is applied as the product writes its output (see [`Tensor::try_linear`]) and its
    /// gradient mask is read from the output, so neither direction makes a pass of its own.
    /// Values and gradients have the bits of the two separate ops.
    ///
    /// ```
    /// use gradwork_autodiff::Graph;
    /// use gradwork_tensor::Tensor;
    /// let graph = Graph::new();
    /// let x = graph.leaf(Tensor::from_vec(vec![1.0, 2.0], &[1, 2]));
    /// let w = graph.leaf(Tensor::from_vec(vec![1.0, 1.0, -1.0, -1.0], &[2, 2]));
    /// let y = x.linear_relu(&w, None);
    /// assert_eq!(y.value().to_vec(), vec![3.0, 0.0]);
    /// let grads = graph.backward(&y.sum_all()).unwrap();
    /// // Only the first output is positive, so only the first row of w gets a gradient.
    /// assert_eq!(grads.get(&w).unwrap().to_vec(), vec![1.0, 2.0, 0.0, 0.0]);
    /// ```
    pub fn try_linear_relu(&self, weight: &Var, bias: Option<&Var>) -> Result<Var> {
        linear(self, weight, bias, Activation::Relu)
    }

    /// The fused dense layer with its ReLU (see [`Var::try_linear_relu`]).
    #[track_caller]
    pub fn linear_relu(&self, weight: &Var, bias: Option<&Var>) -> Var {
        or_panic(self.try_linear_relu(weight, bias))
    }
}

/// `activation(x @ weight^T + bias)` with its backward pass: the ReLU's mask (`y > 0`, which
/// holds exactly where `x @ weight^T + bias > 0`) is applied to the upstream gradient first,
/// then the affine map's rule.
fn linear(x: &Var, weight: &Var, bias: Option<&Var>, activation: Activation) -> Result<Var> {
    // Shapes are borrowed and copied only into the backward closure: a single-sample forward
    // pass is short enough that each allocation shows in its latency.
    let (x_shape, w_shape) = (x.shape(), weight.shape());
    if x_shape.is_empty() || w_shape.len() != 2 || x_shape[x_shape.len() - 1] != w_shape[1] {
        return Err(AutodiffError::Tensor(
            gradwork_tensor::TensorError::shape_mismatch_because(
                "linear",
                x_shape,
                w_shape,
                "expected x [..., in] and weight [out, in]",
            ),
        ));
    }
    let (fan_in, fan_out) = (w_shape[1], w_shape[0]);
    let rows = x_shape[..x_shape.len() - 1].iter().product::<usize>();
    let x2 = if x_shape.len() == 2 {
        x.value().clone()
    } else {
        x.value().try_reshape(&[rows, fan_in])?
    };
    let out = x2.try_linear(weight.value(), bias.map(Var::value), activation)?;
    let value = if x_shape.len() == 2 {
        out.clone()
    } else {
        let mut out_shape = x_shape.to_vec();
        *out_shape.last_mut().expect("non-empty") = fan_out;
        out.try_reshape(&out_shape)?
    };
    let relu = activation == Activation::Relu;
    let make_backward = || {
        let (x_shape, w) = (x_shape.to_vec(), weight.value().clone());
        // The output is kept only when the mask needs it.
        let y = relu.then_some(out);
        move |g: &Tensor, needs: &[bool]| {
            let mut g2 = g.try_reshape(&[rows, fan_out])?;
            if let Some(y) = &y {
                // `relu`'s own rule, `g * (x > 0 ? 1 : 0)`, with the same products.
                g2 =
                    g2.try_zip_map(y, "linear_relu", |g, y| g * if y > 0.0 { 1.0 } else { 0.0 })?;
            }
            let gx = if needs[0] {
                Some(g2.try_matmul(&w)?.try_reshape(&x_shape)?)
            } else {
                None
            };
            let gw = if needs[1] {
                Some(g2.t().try_matmul(&x2)?)
            } else {
                None
            };
            let mut grads = vec![gx, gw];
            if needs.len() > 2 {
                grads.push(if needs[2] {
                    Some(g2.try_sum(0, false)?)
                } else {
                    None
                });
            }
            Ok(grads)
        }
    };
    let with_bias;
    let inputs: &[&Var] = match bias {
        Some(bias) => {
            with_bias = [x, weight, bias];
            &with_bias
        }
        None => &[x, weight],
    };
    if relu {
        Var::from_op("linear_relu", inputs, value, make_backward)
    } else {
        Var::from_op("linear", inputs, value, make_backward)
    }
}
