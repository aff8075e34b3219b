//! Ops driven by a constant mask: `where_cond` (select between two variables) and dropout with
//! a given keep mask. Masks are plain tensors: they are never differentiated.

use gradwork_tensor::{broadcast_shapes, Elem, Tensor, TensorError};

use super::reduce_grad;
use crate::error::{or_panic, AutodiffError, Result};
use crate::var::Var;

impl Var {
    /// `condition ? on_true : on_false` elementwise, the three broadcast together; a non-zero
    /// `condition` element counts as true. Backward: the gradient goes to the branch that was
    /// taken (summed back to that branch's shape), zero to the other.
    pub fn try_where_cond(condition: &Tensor, on_true: &Var, on_false: &Var) -> Result<Var> {
        let value = Tensor::try_where_cond(condition, on_true.value(), on_false.value())?;
        // 1 where the condition holds, 0 elsewhere, in the condition's own (broadcastable) shape.
        let taken = condition.map(|c| if c != 0.0 { 1.0 } else { 0.0 });
        let (a, b) = (on_true.shape().to_vec(), on_false.shape().to_vec());
        Var::from_op("where_cond", &[on_true, on_false], value, move || {
            move |g: &Tensor, needs: &[bool]| {
                let ga = if needs[0] {
                    reduce_grad(&g.try_mul(&taken)?, &a, true)?
                } else {
                    None
                };
                let gb = if needs[1] {
                    let not_taken = taken.map(|t| 1.0 - t);
                    reduce_grad(&g.try_mul(&not_taken)?, &b, true)?
                } else {
                    None
                };
                Ok(vec![ga, gb])
            }
        })
    }

    /// `condition ? on_true : on_false` elementwise (see [`Var::try_where_cond`]).
    #[track_caller]
    pub fn where_cond(condition: &Tensor, on_true: &Var, on_false: &Var) -> Var {
        or_panic(Self::try_where_cond(condition, on_true, on_false))
    }

    /// Inverted dropout with a given mask: `x * mask / keep_prob`, where `mask` holds 1 for the
    /// kept elements and 0 for the dropped ones (it must broadcast to `x`'s shape) and
    /// `keep_prob` is in `(0, 1]`. Drawing the mask is the caller's business (gradwork-nn draws
    /// it from a forked RNG), so the op itself is deterministic. Backward: `g * mask / keep_prob`.
    pub fn try_dropout_with_mask(&self, mask: &Tensor, keep_prob: Elem) -> Result<Var> {
        if !(keep_prob > 0.0 && keep_prob <= 1.0) {
            return Err(AutodiffError::Invalid {
                op: "dropout",
                reason: format!("keep_prob must be in (0, 1], got {keep_prob}"),
            });
        }
        let shape = broadcast_shapes("dropout", self.shape(), mask.shape())?;
        if shape != self.shape() {
            return Err(TensorError::shape_mismatch_because(
                "dropout",
                self.shape(),
                mask.shape(),
                "the mask must broadcast to the input's shape",
            )
            .into());
        }
        let scale = 1.0 / keep_prob;
        let scaled_mask = mask.mul_scalar(scale);
        let value = self.value().try_mul(&scaled_mask)?;
        Var::from_op("dropout", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(g.try_mul(&scaled_mask)?)])
        })
    }

    /// Inverted dropout with a given mask (see [`Var::try_dropout_with_mask`]).
    #[track_caller]
    pub fn dropout_with_mask(&self, mask: &Tensor, keep_prob: Elem) -> Var {
        or_panic(self.try_dropout_with_mask(mask, keep_prob))
    }
}
