//! The differentiable ops, one concern per file; each op's forward and backward sit together.

mod binary;
mod matmul;
mod reduce;
mod shape;
mod unary;

use gradwork_tensor::Tensor;

use crate::error::Result;

/// `grad` summed back to `shape` when `needed` (the backward of broadcasting), else `None`.
pub(crate) fn reduce_grad(grad: &Tensor, shape: &[usize], needed: bool) -> Result<Option<Tensor>> {
    if !needed {
        return Ok(None);
    }
    Ok(Some(grad.try_sum_to_shape(shape)?))
}
