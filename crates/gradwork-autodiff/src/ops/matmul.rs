//! Matrix products: `matmul` (torch.matmul semantics, batched and broadcast) and the fused
//! `linear` layer op `x @ w^T + b`.

use gradwork_tensor::Tensor;

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
        // Shapes are borrowed and copied only into the backward closure: a single-sample
        // forward pass is short enough that each allocation shows in its latency.
        let (x_shape, w_shape) = (self.shape(), weight.shape());
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
            self.value().clone()
        } else {
            self.value().try_reshape(&[rows, fan_in])?
        };
        let mut out = x2.try_matmul(&weight.value().t())?;
        if let Some(bias) = bias {
            if bias.shape() != [fan_out] {
                return Err(AutodiffError::Tensor(
                    gradwork_tensor::TensorError::shape_mismatch_because(
                        "linear",
                        w_shape,
                        bias.shape(),
                        format!("bias must have shape [{fan_out}]"),
                    ),
                ));
            }
            add_bias_rows(&mut out, bias.value());
        }
        let value = if x_shape.len() == 2 {
            out
        } else {
            let mut out_shape = x_shape.to_vec();
            *out_shape.last_mut().expect("non-empty") = fan_out;
            out.try_reshape(&out_shape)?
        };
        let make_backward = || {
            let (x_shape, w) = (x_shape.to_vec(), weight.value().clone());
            move |g: &Tensor, needs: &[bool]| {
                let g2 = g.try_reshape(&[rows, fan_out])?;
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
        match bias {
            Some(bias) => Var::from_op("linear", &[self, weight, bias], value, make_backward),
            None => Var::from_op("linear", &[self, weight], value, make_backward),
        }
    }

    /// The fused dense-layer op (see [`Var::try_linear`]).
    #[track_caller]
    pub fn linear(&self, weight: &Var, bias: Option<&Var>) -> Var {
        or_panic(self.try_linear(weight, bias))
    }
}

/// Adds `bias [n]` to every row of the contiguous `[rows, n]` matrix `out` in place.
fn add_bias_rows(out: &mut Tensor, bias: &Tensor) {
    let copied;
    let bias = match bias.as_slice() {
        Some(slice) => slice,
        None => {
            copied = bias.to_vec();
            &copied
        }
    };
    let n = bias.len();
    if n > 0 {
        for row in out.data_mut().chunks_mut(n) {
            for (o, b) in row.iter_mut().zip(bias) {
                *o += b;
            }
        }
    }
}
