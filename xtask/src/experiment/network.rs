//! [`Network`]: a layer stack for token models, where the padding of the input ids must reach
//! the layers that mask it (the Transformer encoder's keys, mean pooling). A plain
//! [`Sequential`](gradwork::nn::Sequential) loses the ids after the embedding.
//!
//! Inputs are ids `[B, T]` (as f32) padded with `PAD_ID`. Each forward pass first drops the
//! trailing columns that are padding in every row, so a batch costs its own longest sentence
//! (as padding each batch separately would) while the dataset stays one tensor.

use gradwork::autodiff::Var;
use gradwork::data::PAD_ID;
use gradwork::nn::layers::{
    Embedding, Lstm, RecurrentState, SinusoidalPositionalEncoding, TransformerEncoder,
};
use gradwork::nn::reorder::runs_first;
use gradwork::nn::{join_path, Ctx, Module, Param, Result as NnResult};
use gradwork::tensor::Tensor;

/// One layer of a [`Network`].
pub enum NetLayer {
    /// Any position-wise module (dense, activation, dropout, flatten).
    Plain(Box<dyn Module>),
    /// Ids to vectors, optionally scaled by `sqrt(dim)`; records the padding mask.
    Embedding {
        /// The table.
        embed: Embedding,
        /// `sqrt(dim)` or 1.
        scale: f32,
    },
    /// Sinusoidal positions.
    Positional(SinusoidalPositionalEncoding),
    /// The encoder, given the padding mask.
    Encoder(TransformerEncoder),
    /// Mean over real tokens.
    MeanPool,
    /// An LSTM stack (its own `return_sequences`).
    Lstm(Lstm),
}

/// A stack of [`NetLayer`]s; parameters are named `<index>.<name>` like a `Sequential`.
#[derive(Default)]
pub struct Network {
    /// The layers, first to last.
    pub layers: Vec<NetLayer>,
}

/// Trailing all-padding columns dropped: ids `[B, t]` and the padding mask (1 = padding), or
/// `None` when nothing is padding.
fn trim_padding(ids: &Tensor) -> (Tensor, Option<Tensor>) {
    let (b, t) = (ids.shape()[0], ids.shape()[1]);
    let values = ids.to_vec();
    let pad = PAD_ID as f32;
    let width = (0..b)
        .map(|r| {
            let row = &values[r * t..(r + 1) * t];
            row.iter().rposition(|&v| v != pad).map_or(1, |p| p + 1)
        })
        .max()
        .unwrap_or(1);
    let mut kept = Vec::with_capacity(b * width);
    for r in 0..b {
        kept.extend_from_slice(&values[r * t..r * t + width]);
    }
    let mask: Vec<f32> = kept.iter().map(|&v| f32::from(v == pad)).collect();
    let any = mask.iter().any(|&m| m > 0.0);
    (
        Tensor::from_vec(kept, &[b, width]),
        any.then(|| Tensor::from_vec(mask, &[b, width])),
    )
}

impl Module for Network {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> NnResult<Var> {
        let mut x = input.clone();
        let mut padding: Option<Tensor> = None;
        let mut i = 0;
        while i < self.layers.len() {
            // A ReLU before a max pooling runs after it, and a dense layer fuses the ReLU after
            // it, as in `Sequential` (same values and gradients, less work; see
            // `gradwork_nn::reorder`).
            if let [NetLayer::Plain(first), NetLayer::Plain(second), ..] = &mut self.layers[i..] {
                if runs_first(&**first, &**second) {
                    x = second.forward(cx, &x)?;
                    x = first.forward(cx, &x)?;
                    i += 2;
                    continue;
                }
                if let Some(y) = first.forward_fused(cx, &x, second.kind())? {
                    x = y;
                    i += 2;
                    continue;
                }
            }
            let layer = &mut self.layers[i];
            i += 1;
            x = match layer {
                NetLayer::Plain(m) => m.forward(cx, &x)?,
                NetLayer::Embedding { embed, scale } => {
                    let (ids, mask) = if x.shape().len() == 2 {
                        trim_padding(x.value())
                    } else {
                        (x.value().clone(), None)
                    };
                    padding = mask;
                    let e = embed.forward(cx, &Var::constant(ids))?;
                    if *scale == 1.0 {
                        e
                    } else {
                        e.mul_scalar(*scale)
                    }
                }
                NetLayer::Positional(p) => p.forward(cx, &x)?,
                NetLayer::Encoder(e) => e.forward_masked(cx, &x, None, padding.as_ref())?,
                NetLayer::MeanPool => mean_pool(&x, padding.as_ref())?,
                NetLayer::Lstm(l) => l.forward(cx, &x)?,
            };
        }
        Ok(x)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (i, layer) in self.layers.iter().enumerate() {
            let p = join_path(prefix, &i.to_string());
            match layer {
                NetLayer::Plain(m) => m.visit_params(&p, f),
                NetLayer::Embedding { embed, .. } => embed.visit_params(&p, f),
                NetLayer::Positional(m) => m.visit_params(&p, f),
                NetLayer::Encoder(m) => m.visit_params(&p, f),
                NetLayer::MeanPool => {}
                NetLayer::Lstm(m) => m.visit_params(&p, f),
            }
        }
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let p = join_path(prefix, &i.to_string());
            match layer {
                NetLayer::Plain(m) => m.visit_params_mut(&p, f),
                NetLayer::Embedding { embed, .. } => embed.visit_params_mut(&p, f),
                NetLayer::Positional(m) => m.visit_params_mut(&p, f),
                NetLayer::Encoder(m) => m.visit_params_mut(&p, f),
                NetLayer::MeanPool => {}
                NetLayer::Lstm(m) => m.visit_params_mut(&p, f),
            }
        }
    }

    fn describe(&self) -> String {
        format!("Network({} layers)", self.layers.len())
    }
}

/// The mean of `x [B, T, D]` over the positions that are not padding (all when `padding` is
/// `None`).
fn mean_pool(x: &Var, padding: Option<&Tensor>) -> NnResult<Var> {
    let (b, t) = (x.shape()[0], x.shape()[1]);
    let keep = match padding {
        Some(p) => p.map(|v| 1.0 - v),
        None => Tensor::ones(&[b, t]),
    };
    let counts = Var::constant(keep.sum(1, true));
    let keep = Var::constant(keep.reshape(&[b, t, 1]));
    Ok(x.try_mul(&keep)?.try_sum(1, false)?.try_div(&counts)?)
}

/// Recurrent state carried between [`Network::step`] calls: one entry per layer.
pub type StepState = Vec<Option<RecurrentState>>;

impl Network {
    /// One generation step (eval mode): the next-token logits `[V]` after token `id`, carrying
    /// each LSTM's state in `state` (empty at the start). Only position-wise layers and LSTMs can
    /// step; a Transformer, positions or pooling is an error.
    pub fn step(&mut self, id: usize, state: &mut StepState) -> Result<Tensor, String> {
        state.resize(self.layers.len(), None);
        let mut cx = Ctx::eval();
        let mut x: Option<Var> = None;
        let fail = |e: gradwork::nn::NnError| e.to_string();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            x = Some(match (layer, x) {
                (NetLayer::Embedding { embed, scale }, None) => {
                    let e = embed
                        .forward_indices(&mut cx, &[id], &[1, 1])
                        .map_err(fail)?;
                    e.mul_scalar(*scale)
                }
                (NetLayer::Lstm(l), Some(v)) => {
                    let out = l
                        .forward_seq(&mut cx, &v, state[i].as_ref())
                        .map_err(fail)?;
                    state[i] = Some(RecurrentState {
                        h: out.h_n,
                        c: out.c_n,
                    });
                    out.output
                }
                (NetLayer::Plain(m), Some(v)) => m.forward(&mut cx, &v).map_err(fail)?,
                _ => {
                    return Err(format!(
                        "layer {}: generation needs an embedding first, then only lstm, dense, \
                         dropout and activations",
                        i + 1
                    ))
                }
            });
        }
        let out = x.ok_or("the network has no layers")?.into_value();
        let v = out.shape().last().copied().unwrap_or(0);
        Ok(out.reshape(&[v]))
    }
}
