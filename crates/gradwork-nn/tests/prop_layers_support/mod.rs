//! Shared by the `prop_layers_*` tests: runs a layer under `grad_check` with respect to its
//! input and every parameter.
//!
//! The layer binds its parameters through `Ctx::param`, which makes its own leaves, so the
//! closure given to `grad_check` wraps the whole layer as one op: the forward pass records on an
//! inner graph, and the op's backward runs that inner graph's backward to produce the gradients
//! of the input and of every parameter. `grad_check` then compares those with finite
//! differences of the same forward pass.

#![allow(dead_code)]

use gradwork_autodiff::{grad_check, AutodiffError, GradCheckConfig, GradCheckReport, Graph, Var};
use gradwork_nn::{Ctx, Module};
use gradwork_tensor::{Rng, Tensor};

/// The parameter tensors of `layer`, in visiting order (the order `check_layer` expects).
pub fn param_values(layer: &dyn Module) -> Vec<Tensor> {
    let mut values = Vec::new();
    layer.visit_params("", &mut |_, p| values.push(p.value().clone()));
    values
}

/// grad_check of `forward` with respect to `input` (when given) and every parameter of the
/// layer made by `make`, starting from `params` (in visiting order).
pub fn check_layer<M: Module + 'static>(
    make: impl Fn() -> M + 'static,
    forward: impl Fn(&mut M, &mut Ctx, Option<&Var>) -> gradwork_nn::Result<Var> + 'static,
    input: Option<Tensor>,
    params: Vec<Tensor>,
    training: bool,
    config: GradCheckConfig,
) -> GradCheckReport {
    let has_input = input.is_some();
    let mut inputs: Vec<Tensor> = input.into_iter().collect();
    inputs.extend(params);
    let f = move |vars: &[Var]| -> gradwork_autodiff::Result<Var> {
        let values: Vec<Tensor> = vars.iter().map(|v| v.value().clone()).collect();
        let (x, param_values) = if has_input {
            (Some(values[0].clone()), &values[1..])
        } else {
            (None, &values[..])
        };
        let mut layer = make();
        let mut next = 0;
        layer.visit_params_mut("", &mut |_, p| {
            p.set_value(param_values[next].clone());
            next += 1;
        });
        assert_eq!(next, param_values.len(), "one tensor per parameter");
        let inner = Graph::new();
        let x = x.map(|x| inner.leaf(x));
        // The same seed on every evaluation: dropout draws the same mask each time.
        let mut cx = Ctx::new(Some(&inner), training, Rng::seed_from(7));
        let out = forward(&mut layer, &mut cx, x.as_ref()).map_err(|e| AutodiffError::Invalid {
            op: "layer",
            reason: e.to_string(),
        })?;
        let mut params = Vec::new();
        layer.visit_params("", &mut |_, p| {
            params.push((p.id(), p.value().shape().to_vec()))
        });
        let refs: Vec<&Var> = vars.iter().collect();
        let value = out.value().clone();
        Var::from_op("layer", &refs, value, move || {
            move |g: &Tensor, _: &[bool]| {
                let grads = inner.backward_with(&out, g.clone())?;
                let param_grads = cx.param_grads(&grads);
                let mut result = Vec::new();
                if let Some(x) = &x {
                    result.push(Some(grads.get_or_zeros(x)));
                }
                for (id, shape) in &params {
                    let grad = param_grads.get_by_id(*id).cloned();
                    result.push(Some(grad.unwrap_or_else(|| Tensor::zeros(shape))));
                }
                Ok(result)
            }
        })
    };
    grad_check(f, &inputs, config).expect("grad_check runs")
}

/// A tensor of `shape` with values from `N(0, 1)`.
pub fn normal(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_normal(shape, 0.0, 1.0, &mut Rng::seed_from(seed))
}

/// A tensor of `shape` whose values are distinct and at least 0.05 apart (a shuffled ramp), so
/// a finite-difference step of 1e-2 never changes which element is a maximum.
pub fn distinct(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let order = Rng::seed_from(seed).permutation(n);
    Tensor::from_fn(shape, |i| (order[i] as f32 - n as f32 / 2.0) * 0.05)
}
