//! `Flatten`: collapses every axis from `start_axis` on into one (`[N, C, H, W]` -> `[N, C*H*W]`).

use gradwork_autodiff::Var;

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::module::Module;
use crate::param::Param;

/// Collapses the axes from `start_axis` (default 1, keeping the batch axis) to the last into one,
/// like PyTorch's `nn.Flatten()` and Keras' `Flatten`. No parameters.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::Flatten, Ctx, Module};
/// use gradwork_tensor::Tensor;
///
/// let y = Flatten::default()
///     .forward(&mut Ctx::eval(), &Var::constant(Tensor::zeros(&[2, 3, 4, 5])))
///     .unwrap();
/// assert_eq!(y.shape(), &[2, 60]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flatten {
    /// The first axis folded into the result.
    pub start_axis: usize,
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten { start_axis: 1 }
    }
}

impl Flatten {
    /// Flattens the axes from `start_axis` on.
    pub fn new(start_axis: usize) -> Self {
        Flatten { start_axis }
    }
}

impl Module for Flatten {
    fn forward(&mut self, _cx: &mut Ctx, input: &Var) -> Result<Var> {
        if input.shape().len() <= self.start_axis {
            return Err(NnError::BadInput {
                layer: self.describe(),
                expected: format!("at least {} axes", self.start_axis + 1),
                got: input.shape().to_vec(),
            });
        }
        let kept = &input.shape()[..self.start_axis];
        let folded: usize = input.shape()[self.start_axis..].iter().product();
        let mut shape = kept.to_vec();
        shape.push(folded);
        Ok(input.try_reshape(&shape)?)
    }

    fn visit_params(&self, _: &str, _: &mut dyn FnMut(&str, &Param)) {}

    fn visit_params_mut(&mut self, _: &str, _: &mut dyn FnMut(&str, &mut Param)) {}

    fn describe(&self) -> String {
        format!("Flatten(from axis {})", self.start_axis)
    }
}
