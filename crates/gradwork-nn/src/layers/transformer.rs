//! The Transformer encoder: [`TransformerEncoderLayer`] (post-norm or pre-norm) and a
//! [`TransformerEncoder`] stack, with PyTorch's parameter names.

use gradwork_autodiff::Var;
use gradwork_tensor::{Rng, Tensor};

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::layers::attention::{check_dropout, dropout, AttnMask, MultiHeadAttention};
use crate::layers::recurrent::bind_params;
use crate::layers::{LayerNorm, Linear};
use crate::module::{join_path, Module};
use crate::param::Param;

/// The feed-forward block's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedForwardActivation {
    /// `max(x, 0)` (PyTorch's default).
    Relu,
    /// GELU with the exact Gaussian CDF.
    Gelu,
}

/// `LayerNorm` with explicit parameter variables (for the `*_with_params` paths): biased
/// variance over the last axis, then `* weight + bias`.
fn layer_norm(norm: &LayerNorm, x: &Var, weight: &Var, bias: &Var) -> Result<Var> {
    if x.shape().last() != Some(&norm.dim()) {
        return Err(NnError::BadInput {
            layer: "TransformerEncoder LayerNorm".into(),
            expected: format!("[..., {}]", norm.dim()),
            got: x.shape().to_vec(),
        });
    }
    let centred = x.try_sub(&x.try_mean(-1, true)?)?;
    let std = centred
        .square()
        .try_mean(-1, true)?
        .add_scalar(norm.eps)
        .sqrt();
    Ok(centred.try_div(&std)?.try_mul(weight)?.try_add(bias)?)
}

fn layer_norm_with_eps(dim: usize, eps: f32) -> LayerNorm {
    let mut norm = LayerNorm::new(dim);
    norm.eps = eps;
    norm
}

/// One encoder layer (PyTorch's `nn.TransformerEncoderLayer` with `batch_first=True`).
///
/// With `sa(x)` self-attention and `ff(x) = linear2(dropout(act(linear1(x))))`:
/// post-norm (default) `x = norm1(x + sa(x)); y = norm2(x + ff(x))`; pre-norm
/// (`norm_first`) `x = x + sa(norm1(x)); y = x + ff(norm2(x))`. Dropout (training only) follows
/// the attention weights, the activation, and each sub-block's output, as in PyTorch. Parameter
/// names: `self_attn.*`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::TransformerEncoderLayer, Ctx, Module};
/// use gradwork_tensor::{Rng, Tensor};
///
/// let mut layer = TransformerEncoderLayer::new(8, 2, 16, 0.1, &mut Rng::seed_from(0)).unwrap();
/// assert!(layer.state_dict().get("self_attn.out_proj.weight").is_some());
/// let y = layer.forward(&mut Ctx::eval(), &Var::constant(Tensor::ones(&[2, 5, 8]))).unwrap();
/// assert_eq!(y.shape(), &[2, 5, 8]);
/// ```
#[derive(Debug, Clone)]
pub struct TransformerEncoderLayer {
    /// The self-attention block.
    pub self_attn: MultiHeadAttention,
    /// `d_model -> dim_feedforward`.
    pub linear1: Linear,
    /// `dim_feedforward -> d_model`.
    pub linear2: Linear,
    /// The norm before (pre-norm) or after (post-norm) the attention block.
    pub norm1: LayerNorm,
    /// The norm before (pre-norm) or after (post-norm) the feed-forward block.
    pub norm2: LayerNorm,
    dropout: f32,
    activation: FeedForwardActivation,
    norm_first: bool,
}

impl TransformerEncoderLayer {
    /// A post-norm ReLU layer with LayerNorm eps 1e-5 and PyTorch's initialisation.
    pub fn new(
        d_model: usize,
        nhead: usize,
        dim_feedforward: usize,
        dropout: f32,
        rng: &mut Rng,
    ) -> Result<Self> {
        check_dropout("TransformerEncoderLayer", dropout)?;
        if dim_feedforward == 0 {
            return Err(NnError::InvalidConfig {
                layer: "TransformerEncoderLayer",
                reason: "dim_feedforward must be positive".into(),
            });
        }
        Ok(TransformerEncoderLayer {
            self_attn: MultiHeadAttention::new(d_model, nhead, rng)?.with_dropout(dropout)?,
            linear1: Linear::new(d_model, dim_feedforward, rng),
            linear2: Linear::new(dim_feedforward, d_model, rng),
            norm1: layer_norm_with_eps(d_model, 1e-5),
            norm2: layer_norm_with_eps(d_model, 1e-5),
            dropout,
            activation: FeedForwardActivation::Relu,
            norm_first: false,
        })
    }

    /// Pre-norm (`true`) or post-norm (`false`, the default).
    pub fn with_norm_first(mut self, norm_first: bool) -> Self {
        self.norm_first = norm_first;
        self
    }

    /// The feed-forward activation (ReLU by default).
    pub fn with_activation(mut self, activation: FeedForwardActivation) -> Self {
        self.activation = activation;
        self
    }

    /// The LayerNorm epsilon of both norms (1e-5 by default).
    pub fn with_layer_norm_eps(mut self, eps: f32) -> Self {
        self.norm1.eps = eps;
        self.norm2.eps = eps;
        self
    }

    /// The model width.
    pub fn d_model(&self) -> usize {
        self.self_attn.embed_dim()
    }

    /// Runs the layer on `src [B, T, d_model]` with an optional attention mask (`[T, T]`) and
    /// key padding mask (`[B, T]`, non-zero = padding).
    pub fn forward_masked(
        &self,
        cx: &mut Ctx,
        src: &Var,
        src_mask: Option<&AttnMask>,
        src_key_padding_mask: Option<&Tensor>,
    ) -> Result<Var> {
        let params = bind_params(self, cx);
        self.forward_masked_with_params(&params, cx, src, src_mask, src_key_padding_mask)
    }

    /// [`Self::forward_masked`] with explicit parameter variables in visitor order (the 12
    /// PyTorch state-dict entries, `self_attn.in_proj_weight` first, `norm2.bias` last).
    pub fn forward_masked_with_params(
        &self,
        params: &[Var],
        cx: &mut Ctx,
        src: &Var,
        src_mask: Option<&AttnMask>,
        src_key_padding_mask: Option<&Tensor>,
    ) -> Result<Var> {
        if params.len() != 12 {
            return Err(NnError::BadInput {
                layer: self.describe(),
                expected: "12 parameter variables".into(),
                got: vec![params.len()],
            });
        }
        let attn = |cx: &mut Ctx, x: &Var| -> Result<Var> {
            let (out, _) = self.self_attn.forward_attn_with_params(
                &params[0..4],
                cx,
                x,
                x,
                x,
                src_key_padding_mask,
                src_mask,
            )?;
            dropout(&out, self.dropout, cx)
        };
        let feed_forward = |cx: &mut Ctx, x: &Var| -> Result<Var> {
            let hidden = x.try_linear(&params[4], Some(&params[5]))?;
            let hidden = match self.activation {
                FeedForwardActivation::Relu => hidden.relu(),
                FeedForwardActivation::Gelu => hidden.gelu(),
            };
            let hidden = dropout(&hidden, self.dropout, cx)?;
            let out = hidden.try_linear(&params[6], Some(&params[7]))?;
            dropout(&out, self.dropout, cx)
        };
        let norm1 = |x: &Var| layer_norm(&self.norm1, x, &params[8], &params[9]);
        let norm2 = |x: &Var| layer_norm(&self.norm2, x, &params[10], &params[11]);
        if self.norm_first {
            let x = src.try_add(&attn(cx, &norm1(src)?)?)?;
            Ok(x.try_add(&feed_forward(cx, &norm2(&x)?)?)?)
        } else {
            let x = norm1(&src.try_add(&attn(cx, src)?)?)?;
            norm2(&x.try_add(&feed_forward(cx, &x)?)?)
        }
    }
}

impl Module for TransformerEncoderLayer {
    /// The layer without masks.
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        self.forward_masked(cx, input, None, None)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        self.self_attn
            .visit_params(&join_path(prefix, "self_attn"), f);
        self.linear1.visit_params(&join_path(prefix, "linear1"), f);
        self.linear2.visit_params(&join_path(prefix, "linear2"), f);
        self.norm1.visit_params(&join_path(prefix, "norm1"), f);
        self.norm2.visit_params(&join_path(prefix, "norm2"), f);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        self.self_attn
            .visit_params_mut(&join_path(prefix, "self_attn"), f);
        self.linear1
            .visit_params_mut(&join_path(prefix, "linear1"), f);
        self.linear2
            .visit_params_mut(&join_path(prefix, "linear2"), f);
        self.norm1.visit_params_mut(&join_path(prefix, "norm1"), f);
        self.norm2.visit_params_mut(&join_path(prefix, "norm2"), f);
    }

    fn describe(&self) -> String {
        format!(
            "TransformerEncoderLayer(d_model {}, {} heads, ff {}, {})",
            self.d_model(),
            self.self_attn.num_heads(),
            self.linear1.out_features(),
            if self.norm_first {
                "pre-norm"
            } else {
                "post-norm"
            }
        )
    }
}

/// A stack of encoder layers named `layers.{i}.*`, with an optional final LayerNorm `norm.*`
/// (PyTorch's `nn.TransformerEncoder`; pre-norm stacks usually want the final norm).
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::layers::{AttnMask, TransformerEncoder, TransformerEncoderLayer};
/// use gradwork_nn::{Ctx, Module};
/// use gradwork_tensor::{Rng, Tensor};
///
/// let mut rng = Rng::seed_from(0);
/// let layers = (0..2)
///     .map(|_| TransformerEncoderLayer::new(8, 2, 16, 0.0, &mut rng))
///     .collect::<Result<Vec<_>, _>>()
///     .unwrap();
/// let encoder = TransformerEncoder::new(layers);
/// assert!(encoder.state_dict().get("layers.1.norm2.bias").is_some());
/// let padding = Tensor::from_vec(vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0], &[2, 3]);
/// let y = encoder
///     .forward_masked(&mut Ctx::eval(), &Var::constant(Tensor::ones(&[2, 3, 8])),
///                     Some(&AttnMask::Causal), Some(&padding))
///     .unwrap();
/// assert_eq!(y.shape(), &[2, 3, 8]);
/// ```
#[derive(Debug, Clone)]
pub struct TransformerEncoder {
    /// The layers, applied in order.
    pub layers: Vec<TransformerEncoderLayer>,
    /// The optional final norm.
    pub norm: Option<LayerNorm>,
}

impl TransformerEncoder {
    /// A stack of `layers` without a final norm.
    pub fn new(layers: Vec<TransformerEncoderLayer>) -> Self {
        TransformerEncoder { layers, norm: None }
    }

    /// Adds a final LayerNorm (`norm.weight`, `norm.bias`) over `d_model` with epsilon `eps`.
    pub fn with_final_norm(mut self, d_model: usize, eps: f32) -> Self {
        self.norm = Some(layer_norm_with_eps(d_model, eps));
        self
    }

    /// Runs every layer with the same masks (see [`TransformerEncoderLayer::forward_masked`]).
    pub fn forward_masked(
        &self,
        cx: &mut Ctx,
        src: &Var,
        src_mask: Option<&AttnMask>,
        src_key_padding_mask: Option<&Tensor>,
    ) -> Result<Var> {
        let mut x = src.clone();
        for layer in &self.layers {
            x = layer.forward_masked(cx, &x, src_mask, src_key_padding_mask)?;
        }
        if let Some(norm) = &self.norm {
            let (w, b) = (cx.param(&norm.weight), cx.param(&norm.bias));
            x = layer_norm(norm, &x, &w, &b)?;
        }
        Ok(x)
    }
}

impl Module for TransformerEncoder {
    /// The stack without masks.
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        self.forward_masked(cx, input, None, None)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&join_path(prefix, &format!("layers.{i}")), f);
        }
        if let Some(norm) = &self.norm {
            norm.visit_params(&join_path(prefix, "norm"), f);
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_params_mut(&join_path(prefix, &format!("layers.{i}")), f);
        }
        if let Some(norm) = &mut self.norm {
            norm.visit_params_mut(&join_path(prefix, "norm"), f);
        }
    }

    fn describe(&self) -> String {
        format!("TransformerEncoder({} layers)", self.layers.len())
    }
}
