//! L1 and L2 penalties on a module's parameters, as differentiable scalars to add to the loss
//! (Keras' `kernel_regularizer=l1(..)`/`l2(..)`).
//!
//! PyTorch-style weight decay (a term applied by the optimizer instead of the loss) lives in
//! gradwork-optim. Note the factor: the gradient of `l2 * Σ w²` is `2 * l2 * w`, so an L2
//! penalty with coefficient `λ` equals SGD weight decay `2λ`.
//!
//! ```
//! use gradwork_autodiff::Graph;
//! use gradwork_nn::{layers::Linear, regularization::l2_penalty, Ctx, Module};
//! use gradwork_tensor::Rng;
//!
//! let mut rng = Rng::seed_from(0);
//! let layer = Linear::new(3, 2, &mut rng);
//! let graph = Graph::new();
//! let mut cx = Ctx::train(&graph, rng.fork(1));
//! let penalty = l2_penalty(&mut cx, &layer, 1e-3).unwrap();
//! let grads = cx.param_grads(&graph.backward(&penalty).unwrap());
//! // d/dw (1e-3 * w^2) = 2e-3 * w
//! let w = layer.weight.value().to_vec();
//! let g = grads.get(&layer.weight).unwrap().to_vec();
//! assert!(w.iter().zip(&g).all(|(w, g)| (2e-3 * w - g).abs() < 1e-7));
//! ```

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;

use crate::ctx::Ctx;
use crate::error::Result;
use crate::module::Module;
use crate::param::Param;

/// Which norm a penalty uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    /// `Σ |w|` (encourages exact zeros).
    L1,
    /// `Σ w²` (shrinks large weights).
    L2,
}

/// Selects every trainable parameter (weights, biases, normalisation scales).
pub fn all_parameters(_path: &str, param: &Param) -> bool {
    param.is_trainable()
}

/// Selects trainable parameters with at least two axes: the weight matrices and kernels of
/// Linear, Conv2d, Embedding and recurrent layers, not biases or normalisation scales.
pub fn weight_matrices(_path: &str, param: &Param) -> bool {
    param.is_trainable() && param.value().shape().len() >= 2
}

/// `coefficient * Σ_p norm(p)` over the parameters of `module` that `select` accepts (given the
/// dotted path and the parameter). Parameters enter through [`Ctx::param`], so gradients reach
/// the same leaves as the forward pass's. With nothing selected the penalty is a constant 0.
pub fn penalty(
    cx: &mut Ctx,
    module: &dyn Module,
    norm: Norm,
    coefficient: f32,
    select: &dyn Fn(&str, &Param) -> bool,
) -> Result<Var> {
    let mut terms = Vec::new();
    module.visit_params("", &mut |path, param| {
        if select(path, param) {
            let p = cx.param(param);
            terms.push(match norm {
                Norm::L1 => p.abs().sum_all(),
                Norm::L2 => p.square().sum_all(),
            });
        }
    });
    let mut total = Var::constant(Tensor::scalar(0.0));
    for term in &terms {
        total = total.try_add(term)?;
    }
    Ok(total.mul_scalar(coefficient))
}

/// `coefficient * Σ |w|` over every trainable parameter of `module`.
pub fn l1_penalty(cx: &mut Ctx, module: &dyn Module, coefficient: f32) -> Result<Var> {
    penalty(cx, module, Norm::L1, coefficient, &all_parameters)
}

/// `coefficient * Σ w²` over every trainable parameter of `module`.
pub fn l2_penalty(cx: &mut Ctx, module: &dyn Module, coefficient: f32) -> Result<Var> {
    penalty(cx, module, Norm::L2, coefficient, &all_parameters)
}
