//! Multi-head scaled dot-product attention with PyTorch's parameter layout and mask conventions.

use gradwork_autodiff::Var;
use gradwork_tensor::{Rng, Tensor};

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::init;
use crate::layers::recurrent::bind_params;
use crate::layers::Linear;
use crate::module::{join_path, Module};
use crate::param::Param;

/// Added to a masked score: far below any real score, yet finite, so `exp` gives exactly 0 and
/// anomaly detection (which refuses infinities) still works.
const MASKED: f32 = -1e30;

/// Which (query, key) pairs may attend to each other, for a query length `T` and key length `S`.
#[derive(Debug, Clone)]
pub enum AttnMask {
    /// Query `t` sees keys `0..=t` only (PyTorch's `triu(ones, diagonal=1)` as a bool mask).
    Causal,
    /// `[T, S]`, non-zero = **not allowed** (PyTorch's bool `attn_mask`).
    Bool(Tensor),
    /// `[T, S]`, added to the scaled scores before the softmax (PyTorch's float `attn_mask`);
    /// not differentiated. `-inf` entries count as masked.
    Additive(Tensor),
}

/// Multi-head attention (PyTorch's `nn.MultiheadAttention` with `batch_first=True`).
///
/// Parameters: `in_proj_weight [3E, E]` (rows `W_q; W_k; W_v`), `in_proj_bias [3E]`,
/// `out_proj.weight [E, E]`, `out_proj.bias [E]`. Head `h` uses columns `h*d .. (h+1)*d` of the
/// projections, `d = E / num_heads`; scores are `Q_h K_h^T / sqrt(d)`.
///
/// **Fully masked rows.** PyTorch returns NaN for a query whose keys are all masked. Here such a
/// query attends to nothing: its attention weights are all 0, so its context vector is 0 and its
/// output is `out_proj.bias`; gradients stay finite.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::{AttnMask, MultiHeadAttention}, Ctx};
/// use gradwork_tensor::{Rng, Tensor};
///
/// let mha = MultiHeadAttention::new(8, 2, &mut Rng::seed_from(0)).unwrap();
/// let x = Var::constant(Tensor::ones(&[2, 5, 8]));
/// let (y, w) = mha
///     .forward_attn(&mut Ctx::eval(), &x, &x, &x, None, Some(&AttnMask::Causal))
///     .unwrap();
/// assert_eq!(y.shape(), &[2, 5, 8]);
/// assert_eq!(w.shape(), &[2, 5, 5]);
/// assert_eq!(w.value().get(&[0, 0, 1]), 0.0); // the first query cannot see the second key
/// ```
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    /// `[3E, E]`: the query, key and value projections stacked by rows.
    pub in_proj_weight: Param,
    /// `[3E]`.
    pub in_proj_bias: Param,
    /// The output projection `[E, E]`.
    pub out_proj: Linear,
    num_heads: usize,
    dropout: f32,
}

impl MultiHeadAttention {
    /// A layer with PyTorch's initialisation: Xavier-uniform `in_proj_weight`, zero biases, the
    /// default Linear init for `out_proj.weight`. `embed_dim` must divide by `num_heads`.
    pub fn new(embed_dim: usize, num_heads: usize, rng: &mut Rng) -> Result<Self> {
        if embed_dim == 0 || num_heads == 0 || !embed_dim.is_multiple_of(num_heads) {
            return Err(NnError::InvalidConfig {
                layer: "MultiHeadAttention",
                reason: format!(
                    "embed_dim ({embed_dim}) must be a positive multiple of num_heads ({num_heads})"
                ),
            });
        }
        let in_proj_weight = init::xavier_uniform(&[3 * embed_dim, embed_dim], 1.0, rng);
        let mut out_proj = Linear::new(embed_dim, embed_dim, rng);
        out_proj.bias = Some(Param::new(Tensor::zeros(&[embed_dim])));
        Ok(MultiHeadAttention {
            in_proj_weight: Param::new(in_proj_weight),
            in_proj_bias: Param::new(Tensor::zeros(&[3 * embed_dim])),
            out_proj,
            num_heads,
            dropout: 0.0,
        })
    }

    /// Dropout on the attention weights in training (PyTorch's `dropout`); 0 by default.
    pub fn with_dropout(mut self, p: f32) -> Result<Self> {
        check_dropout("MultiHeadAttention", p)?;
        self.dropout = p;
        Ok(self)
    }

    /// The model width `E`.
    pub fn embed_dim(&self) -> usize {
        self.in_proj_weight.value().shape()[1]
    }

    /// The number of heads.
    pub fn num_heads(&self) -> usize {
        self.num_heads
    }

    /// Attention of `query [B, T, E]` over `key [B, S, E]` / `value [B, S, E]`. Returns the
    /// output `[B, T, E]` and the attention weights averaged over heads `[B, T, S]`: the weights
    /// the values were averaged with, so in training they are after dropout (as PyTorch's).
    /// `key_padding_mask` is `[B, S]` with non-zero = **ignore this key**.
    pub fn forward_attn(
        &self,
        cx: &mut Ctx,
        query: &Var,
        key: &Var,
        value: &Var,
        key_padding_mask: Option<&Tensor>,
        attn_mask: Option<&AttnMask>,
    ) -> Result<(Var, Var)> {
        let params = bind_params(self, cx);
        self.forward_attn_with_params(&params, cx, query, key, value, key_padding_mask, attn_mask)
    }

    /// [`Self::forward_attn`] with explicit parameter variables in visitor order
    /// (`in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias`): for gradient checks.
    /// `cx` supplies only the mode and the dropout RNG.
    pub fn forward_attn_with_params(
        &self,
        params: &[Var],
        cx: &mut Ctx,
        query: &Var,
        key: &Var,
        value: &Var,
        key_padding_mask: Option<&Tensor>,
        attn_mask: Option<&AttnMask>,
    ) -> Result<(Var, Var)> {
        let e = self.embed_dim();
        let heads = self.num_heads;
        let d = e / heads;
        let (qs, ks, vs) = (query.shape(), key.shape(), value.shape());
        let ok = params.len() == 4
            && qs.len() == 3
            && qs[2] == e
            && ks.len() == 3
            && ks[0] == qs[0]
            && ks[2] == e
            && vs == ks
            && ks[1] > 0;
        if !ok {
            return Err(NnError::BadInput {
                layer: self.describe(),
                expected: format!(
                    "query [B, T, {e}], key and value [B, S >= 1, {e}], 4 parameter variables \
                     (key shape {ks:?}, value shape {vs:?}, {} parameters)",
                    params.len()
                ),
                got: qs.to_vec(),
            });
        }
        let (b, t, s) = (qs[0], qs[1], ks[1]);
        let project = |x: &Var, which: usize| -> Result<Var> {
            let w = params[0].try_narrow(0, which * e, e)?;
            let bias = params[1].try_narrow(0, which * e, e)?;
            Ok(x.try_linear(&w, Some(&bias))?)
        };
        // [B, L, E] -> [B, H, L, d]: heads are contiguous column chunks.
        let split_heads = |x: Var, len: usize| -> Result<Var> {
            Ok(x.try_reshape(&[b, len, heads, d])?
                .try_permute(&[0, 2, 1, 3])?)
        };
        let q = split_heads(project(query, 0)?, t)?.mul_scalar(1.0 / (d as f32).sqrt());
        let k = split_heads(project(key, 1)?, s)?;
        let v = split_heads(project(value, 2)?, s)?;
        let mut scores = q.try_matmul(&k.try_permute(&[0, 1, 3, 2])?)?; // [B, H, T, S]
        let mut row_keep = None;
        if key_padding_mask.is_some() || attn_mask.is_some() {
            let (additive, keep) =
                build_mask(b, t, s, key_padding_mask, attn_mask, &self.describe())?;
            scores = scores.try_add(&Var::constant(additive))?;
            row_keep = keep;
        }
        let mut probs = scores.try_softmax(-1)?;
        if let Some(keep) = row_keep {
            probs = probs.try_mul(&Var::constant(keep))?;
        }
        // The weights PyTorch returns are the ones applied to the values: after dropout.
        let probs = dropout(&probs, self.dropout, cx)?;
        let weights = probs.try_mean(1, false)?;
        let context = probs
            .try_matmul(&v)?
            .try_permute(&[0, 2, 1, 3])?
            .try_reshape(&[b, t, e])?;
        let out = context.try_linear(&params[2], Some(&params[3]))?;
        Ok((out, weights))
    }
}

/// The additive mask `[B, 1, T, S]` (0 or [`MASKED`], plus any float mask) and, when some query
/// row has every key masked, a `[B, 1, T, 1]` factor that zeroes those rows after the softmax.
fn build_mask(
    b: usize,
    t: usize,
    s: usize,
    key_padding_mask: Option<&Tensor>,
    attn_mask: Option<&AttnMask>,
    layer: &str,
) -> Result<(Tensor, Option<Tensor>)> {
    let bad = |what: &str, got: &[usize]| NnError::BadInput {
        layer: layer.to_string(),
        expected: what.to_string(),
        got: got.to_vec(),
    };
    let padding = match key_padding_mask {
        Some(m) if m.shape() != [b, s] => {
            return Err(bad(&format!("key_padding_mask [{b}, {s}]"), m.shape()))
        }
        Some(m) => Some(m.to_vec()),
        None => None,
    };
    let (allowed, float): (Vec<bool>, Vec<f32>) = match attn_mask {
        None => (vec![true; t * s], vec![0.0; t * s]),
        Some(AttnMask::Causal) => (
            (0..t * s).map(|i| i % s <= i / s).collect(),
            vec![0.0; t * s],
        ),
        Some(AttnMask::Bool(m)) | Some(AttnMask::Additive(m)) if m.shape() != [t, s] => {
            return Err(bad(&format!("attn_mask [{t}, {s}]"), m.shape()))
        }
        Some(AttnMask::Bool(m)) => (
            m.to_vec().iter().map(|&x| x == 0.0).collect(),
            vec![0.0; t * s],
        ),
        Some(AttnMask::Additive(m)) => {
            let values = m.to_vec();
            (
                values.iter().map(|&x| x != f32::NEG_INFINITY).collect(),
                values,
            )
        }
    };
    let mut additive = vec![0.0f32; b * t * s];
    let mut keep = vec![1.0f32; b * t];
    for bi in 0..b {
        for ti in 0..t {
            let row = (bi * t + ti) * s;
            let mut any_open = false;
            for si in 0..s {
                let padded = padding.as_ref().is_some_and(|p| p[bi * s + si] != 0.0);
                let open = allowed[ti * s + si] && !padded;
                additive[row + si] = if open { float[ti * s + si] } else { MASKED };
                any_open |= open;
            }
            if !any_open {
                // Softmax over a constant row is finite; the factor then zeroes the row.
                additive[row..row + s].fill(0.0);
                keep[bi * t + ti] = 0.0;
            }
        }
    }
    let keep = keep
        .contains(&0.0)
        .then(|| Tensor::from_vec(keep, &[b, 1, t, 1]));
    Ok((Tensor::from_vec(additive, &[b, 1, t, s]), keep))
}

/// Checks a dropout probability.
pub(crate) fn check_dropout(layer: &'static str, p: f32) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(NnError::InvalidConfig {
            layer,
            reason: format!("dropout probability {p} must be in [0, 1)"),
        })
    }
}

/// Inverted dropout with probability `p` in training (a mask from the context's RNG, survivors
/// scaled by `1/(1-p)`); the identity in evaluation or when `p` is 0.
pub(crate) fn dropout(x: &Var, p: f32, cx: &mut Ctx) -> Result<Var> {
    if !cx.is_training() || p == 0.0 {
        return Ok(x.clone());
    }
    let scale = 1.0 / (1.0 - p);
    let rng = cx.rng();
    let mask = Tensor::from_fn(x.shape(), |_| if rng.next_f32() < p { 0.0 } else { scale });
    Ok(x.try_mul(&Var::constant(mask))?)
}

impl Module for MultiHeadAttention {
    /// Self-attention without masks; returns the output `[B, T, E]`.
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        Ok(self.forward_attn(cx, input, input, input, None, None)?.0)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "in_proj_weight"), &self.in_proj_weight);
        f(&join_path(prefix, "in_proj_bias"), &self.in_proj_bias);
        self.out_proj
            .visit_params(&join_path(prefix, "out_proj"), f);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(
            &join_path(prefix, "in_proj_weight"),
            &mut self.in_proj_weight,
        );
        f(&join_path(prefix, "in_proj_bias"), &mut self.in_proj_bias);
        self.out_proj
            .visit_params_mut(&join_path(prefix, "out_proj"), f);
    }

    fn describe(&self) -> String {
        format!(
            "MultiHeadAttention(embed_dim {}, {} heads)",
            self.embed_dim(),
            self.num_heads
        )
    }
}
