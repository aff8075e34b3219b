//! `Linear`: `y = x W^T + b` on the last axis (PyTorch's layout, Keras' `Dense`).

use gradwork_autodiff::Var;
use gradwork_tensor::Rng;

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::init;
use crate::module::{join_path, LayerKind, Module};
use crate::param::Param;

/// A dense layer: `weight [out, in]`, optional `bias [out]`, applied to the last axis of the input.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `[out_features, in_features]`.
    pub weight: Param,
    /// `[out_features]`, if the layer has a bias.
    pub bias: Option<Param>,
}

impl Linear {
    /// A layer with PyTorch's default initialisation (`U(-1/sqrt(in), 1/sqrt(in))` for both
    /// weight and bias).
    pub fn new(in_features: usize, out_features: usize, rng: &mut Rng) -> Self {
        let weight = init::pytorch_default(&[out_features, in_features], in_features, rng);
        let bias = init::pytorch_default(&[out_features], in_features, rng);
        Linear {
            weight: Param::new(weight),
            bias: Some(Param::new(bias)),
        }
    }

    /// A layer without a bias.
    pub fn without_bias(in_features: usize, out_features: usize, rng: &mut Rng) -> Self {
        let weight = init::pytorch_default(&[out_features, in_features], in_features, rng);
        Linear {
            weight: Param::new(weight),
            bias: None,
        }
    }

    /// The input size.
    pub fn in_features(&self) -> usize {
        self.weight.value().shape()[1]
    }

    /// The output size.
    pub fn out_features(&self) -> usize {
        self.weight.value().shape()[0]
    }

    /// The layer's affine map, followed by a ReLU when `relu`.
    fn affine(&self, cx: &mut Ctx, input: &Var, relu: bool) -> Result<Var> {
        if input.shape().last() != Some(&self.in_features()) {
            return Err(NnError::BadInput {
                layer: self.describe(),
                expected: format!("[..., {}]", self.in_features()),
                got: input.shape().to_vec(),
            });
        }
        let weight = cx.param(&self.weight);
        let bias = self.bias.as_ref().map(|b| cx.param(b));
        Ok(if relu {
            input.try_linear_relu(&weight, bias.as_ref())?
        } else {
            input.try_linear(&weight, bias.as_ref())?
        })
    }
}

impl Module for Linear {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        self.affine(cx, input, false)
    }

    /// A following ReLU is applied as the product writes its output (same values and
    /// gradients as the two layers in turn, without a pass of its own in either direction).
    fn forward_fused(&mut self, cx: &mut Ctx, input: &Var, next: LayerKind) -> Result<Option<Var>> {
        match next {
            LayerKind::Relu => self.affine(cx, input, true).map(Some),
            _ => Ok(None),
        }
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join_path(prefix, "bias"), b);
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(&join_path(prefix, "weight"), &mut self.weight);
        if let Some(b) = &mut self.bias {
            f(&join_path(prefix, "bias"), b);
        }
    }

    fn describe(&self) -> String {
        format!("Linear({} -> {})", self.in_features(), self.out_features())
    }
}
