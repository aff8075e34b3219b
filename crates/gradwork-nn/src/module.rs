//! The `Module` trait: forward, named parameters and buffers, state dicts.

use gradwork_autodiff::Var;
use gradwork_tensor::{Pool2dOptions, Tensor};

use crate::ctx::Ctx;
use crate::error::{NnError, Result, ShapeMismatch};
use crate::param::Param;
use crate::state_dict::StateDict;

/// Joins a parent path and a child name with a dot (`"encoder" + "0"` -> `"encoder.0"`).
pub fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A layer or model: a forward pass plus named parameters (and buffers such as BatchNorm's
/// running statistics).
///
/// Visitors are written by hand: call `f(&join_path(prefix, "weight"), &self.weight)` for each
/// parameter, and `child.visit_params(&join_path(prefix, "child"), f)` for each sub-module, in a
/// fixed order. The dotted paths are the keys of the state dict (`encoder.0.weight`).
///
/// The trait is dyn-compatible: [`Sequential`](crate::Sequential) holds `Box<dyn Module>`.
pub trait Module: Send {
    /// The forward pass. Training-only behaviour (dropout, batch statistics) follows
    /// `cx.is_training()`; parameters enter the computation through `cx.param(..)`.
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var>;

    /// Calls `f` with the dotted path and the parameter, for every parameter, in a fixed order.
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param));

    /// Like [`Module::visit_params`], with mutable access.
    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param));

    /// Calls `f` for every buffer (non-learned state saved in the state dict). Default: none.
    fn visit_buffers(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}

    /// Like [`Module::visit_buffers`], with mutable access. Default: none.
    fn visit_buffers_mut(&mut self, _prefix: &str, _f: &mut dyn FnMut(&str, &mut Tensor)) {}

    /// A short description, e.g. `Linear(784 -> 128)`.
    fn describe(&self) -> String {
        "Module".to_string()
    }

    /// What a container may assume about this layer when it runs an equivalent, cheaper order
    /// of adjacent layers (see [`crate::reorder`]). Default: nothing.
    fn kind(&self) -> LayerKind {
        LayerKind::Opaque
    }

    /// Runs this layer and then a layer of kind `next` that directly follows it, as one step,
    /// when this layer knows how (a [`Linear`](crate::layers::Linear) applies a following ReLU
    /// as its product writes the output: [`gradwork_autodiff::Var::try_linear_relu`]; a
    /// [`Conv2d`](crate::layers::Conv2d) pools its output block by block as it computes it:
    /// [`gradwork_autodiff::Var::try_conv2d_max_pool2d`]). The
    /// result must equal running the two layers in turn, value and gradients. `Ok(None)`: not
    /// fused, and the container runs the two layers one after the other. Default: `Ok(None)`.
    fn forward_fused(
        &mut self,
        _cx: &mut Ctx,
        _input: &Var,
        _next: LayerKind,
    ) -> Result<Option<Var>> {
        Ok(None)
    }

    /// The number of learnable scalars.
    fn num_params(&self) -> usize {
        let mut total = 0;
        self.visit_params("", &mut |_, p| total += p.numel());
        total
    }

    /// Every parameter and buffer by dotted path.
    fn state_dict(&self) -> StateDict {
        let mut sd = StateDict::new();
        self.visit_params("", &mut |path, p| sd.insert(path, p.value().clone()));
        self.visit_buffers("", &mut |path, b| sd.insert(path, b.clone()));
        sd
    }

    /// Loads parameters and buffers by path. With `strict`, every missing, unexpected and
    /// shape-mismatched key is reported in one error and nothing is changed; without it, the
    /// keys that match are loaded and the rest ignored (shape mismatches are still an error).
    fn load_state_dict(&mut self, state: &StateDict, strict: bool) -> Result<()> {
        let mut model_keys = Vec::new();
        let mut mismatched = Vec::new();
        let mut check = |path: &str, shape: &[usize]| {
            model_keys.push(path.to_string());
            if let Some(found) = state.get(path) {
                if found.shape() != shape {
                    mismatched.push(ShapeMismatch {
                        key: path.to_string(),
                        expected: shape.to_vec(),
                        found: found.shape().to_vec(),
                    });
                }
            }
        };
        self.visit_params("", &mut |path, p| check(path, p.value().shape()));
        self.visit_buffers("", &mut |path, b| check(path, b.shape()));
        let missing: Vec<String> = model_keys
            .iter()
            .filter(|k| state.get(k).is_none())
            .cloned()
            .collect();
        let unexpected: Vec<String> = state
            .keys()
            .filter(|k| !model_keys.iter().any(|m| m == *k))
            .cloned()
            .collect();
        if !mismatched.is_empty() || (strict && (!missing.is_empty() || !unexpected.is_empty())) {
            return Err(NnError::StateDictMismatch {
                missing,
                unexpected,
                mismatched,
            });
        }
        self.visit_params_mut("", &mut |path, p| {
            if let Some(t) = state.get(path) {
                p.set_value(t.contiguous());
            }
        });
        self.visit_buffers_mut("", &mut |path, b| {
            if let Some(t) = state.get(path) {
                *b = t.contiguous();
            }
        });
        Ok(())
    }
}

/// What a layer computes, as far as reordering adjacent layers is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayerKind {
    /// Nothing is assumed: the layer runs where it was put.
    Opaque,
    /// `max(x, 0)` on each element, with the gradient `x > 0` ([`crate::activations::Relu`]).
    Relu,
    /// Max pooling with these options ([`crate::layers::MaxPool2d`]).
    MaxPool(Pool2dOptions),
}

/// Runs a module on a constant input in evaluation mode and returns the output tensor.
pub fn predict(module: &mut dyn Module, input: &Tensor) -> Result<Tensor> {
    // A large batch runs on rayon's pool (see `gradwork_tensor::par::install`); a small input
    // stays on the calling thread, where the hand-off would cost more than its parallel work.
    if input.numel() >= PREDICT_ON_POOL_ELEMENTS {
        gradwork_tensor::par::install(|| forward_eval(module, input))
    } else {
        forward_eval(module, input)
    }
}

fn forward_eval(module: &mut dyn Module, input: &Tensor) -> Result<Tensor> {
    let mut cx = Ctx::eval();
    Ok(module
        .forward(&mut cx, &Var::constant(input.clone()))?
        .into_value())
}

/// Inputs with at least this many elements are predicted on rayon's pool.
const PREDICT_ON_POOL_ELEMENTS: usize = 1 << 15;
