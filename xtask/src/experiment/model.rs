//! Builds a [`Sequential`] from a manifest's layer list, tracking the per-sample shape so each layer
//! gets its input size without the manifest repeating it. Stacks with token layers (embedding,
//! positions, Transformer encoder, mean pooling, LSTM) are built as a [`Network`], which passes
//! the padding mask along, wrapped as the single layer of the `Sequential`.

use gradwork::nn::activations::{Gelu, Relu, Sigmoid, Tanh};
use gradwork::nn::layers::{
    Conv2dConfig, Dropout, Embedding, Flatten, Linear, Lstm, MaxPool2d,
    SinusoidalPositionalEncoding, TransformerEncoder, TransformerEncoderLayer,
};
use gradwork::nn::{Module, Sequential};
use gradwork::tensor::Rng;

use super::manifest::{Activation, LayerSpec, ModelSpec};
use super::network::{NetLayer, Network};
use super::ExperimentError;

/// What the data tells the model builder besides the sample shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct DataFacts {
    /// Token ids run from 0 to `vocab - 1` (token data only).
    pub vocab: Option<usize>,
    /// The outputs a `dense` layer without `units` produces (classes, vocabulary, or 1).
    pub outputs: Option<usize>,
}

/// True when a layer needs the [`Network`] stack.
fn is_token_layer(layer: &LayerSpec) -> bool {
    matches!(
        layer,
        LayerSpec::Embedding { .. }
            | LayerSpec::PositionalEncoding { .. }
            | LayerSpec::TransformerEncoder { .. }
            | LayerSpec::MeanPool
            | LayerSpec::Lstm { .. }
    )
}

/// Builds the model; returns the output shape of one sample too. See [`build_layers`].
pub fn build(
    spec: &ModelSpec,
    input: &[usize],
    seed: u64,
    facts: DataFacts,
) -> Result<(Sequential, Vec<usize>), ExperimentError> {
    let (layers, shape) = build_layers(spec, input, seed, facts)?;
    if spec.layers.iter().any(is_token_layer) {
        return Ok((Sequential::new().push(Network { layers }), shape));
    }
    let mut model = Sequential::new();
    for layer in layers {
        match layer {
            NetLayer::Plain(m) => model.push_boxed(m),
            _ => unreachable!("token layers make a Network"),
        }
    }
    Ok((model, shape))
}

/// Builds the model as a bare [`Network`] (for language models, which step it one token at a
/// time).
pub fn build_network(
    spec: &ModelSpec,
    input: &[usize],
    seed: u64,
    facts: DataFacts,
) -> Result<(Network, Vec<usize>), ExperimentError> {
    let (layers, shape) = build_layers(spec, input, seed, facts)?;
    Ok((Network { layers }, shape))
}

/// The RNG stream of parameter initialisation, forked from the manifest seed.
pub const INIT_STREAM: u64 = 0x1417;

/// Builds the layers for samples of shape `input` (without the batch axis), initialised from
/// `seed`'s stream [`INIT_STREAM`] in layer order; returns them with the output shape of one
/// sample.
pub fn build_layers(
    spec: &ModelSpec,
    input: &[usize],
    seed: u64,
    facts: DataFacts,
) -> Result<(Vec<NetLayer>, Vec<usize>), ExperimentError> {
    if let Some(expected) = &spec.input_shape {
        if expected.as_slice() != input {
            return Err(ExperimentError::Train(format!(
                "model.input_shape is {expected:?} but the data's samples have shape {input:?}"
            )));
        }
    }
    let mut rng = Rng::seed_from(seed).fork(INIT_STREAM);
    let mut shape = input.to_vec();
    let mut model: Vec<NetLayer> = Vec::new();
    // After an embedding, samples are sequences [T, F] and dense layers act per position.
    let mut sequence = false;
    for (i, layer) in spec.layers.iter().enumerate() {
        let bad = |what: String| ExperimentError::Train(format!("layer {}: {what}", i + 1));
        let plain = |m: Box<dyn Module>| NetLayer::Plain(m);
        match layer {
            LayerSpec::Dense { units, activation } => {
                let features = match shape[..] {
                    [f] => f,
                    [_, f] if sequence => f,
                    _ => {
                        return Err(bad(format!(
                            "dense needs flat input but gets {shape:?} (add a flatten layer)"
                        )))
                    }
                };
                let units = units.or(facts.outputs).ok_or_else(|| {
                    bad("dense without `units` needs data with a known output count".into())
                })?;
                model.push(plain(Box::new(Linear::new(features, units, &mut rng))));
                push_activation(&mut model, *activation);
                *shape.last_mut().expect("non-empty") = units;
            }
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                activation,
            } => {
                let [c, h, w] = shape[..] else {
                    return Err(bad(format!(
                        "conv2d needs [C, H, W] input but gets {shape:?}"
                    )));
                };
                let out = |x: usize| {
                    (x + 2 * padding)
                        .checked_sub(*kernel)
                        .map(|v| v / stride + 1)
                };
                let (Some(oh), Some(ow)) = (out(h), out(w)) else {
                    return Err(bad(format!(
                        "kernel {kernel} is larger than the input {h}x{w}"
                    )));
                };
                let conv = Conv2dConfig::new(c, *filters, (*kernel, *kernel))
                    .with_stride((*stride, *stride))
                    .with_padding((*padding, *padding))
                    .init(&mut rng)
                    .map_err(|e| bad(e.to_string()))?;
                model.push(plain(Box::new(conv)));
                push_activation(&mut model, *activation);
                shape = vec![*filters, oh, ow];
            }
            LayerSpec::Maxpool { kernel } => {
                let [c, h, w] = shape[..] else {
                    return Err(bad(format!(
                        "maxpool needs [C, H, W] input but gets {shape:?}"
                    )));
                };
                if *kernel == 0 || *kernel > h || *kernel > w {
                    return Err(bad(format!("pool window {kernel} does not fit {h}x{w}")));
                }
                model.push(plain(Box::new(MaxPool2d::new((*kernel, *kernel)))));
                shape = vec![c, h / kernel, w / kernel];
            }
            LayerSpec::Flatten => {
                model.push(plain(Box::new(Flatten::new(1))));
                shape = vec![shape.iter().product()];
                sequence = false;
            }
            LayerSpec::Dropout { p } => {
                let d = Dropout::new(*p).map_err(|e| bad(e.to_string()))?;
                model.push(plain(Box::new(d)));
            }
            token => {
                let (layer, out) = token_layer(token, &shape, facts, &mut rng).map_err(bad)?;
                model.push(layer);
                shape = out;
                sequence = shape.len() == 2;
            }
        }
    }
    Ok((model, shape))
}

/// The token layers: input shape `shape`, output layer and shape.
fn token_layer(
    layer: &LayerSpec,
    shape: &[usize],
    facts: DataFacts,
    rng: &mut Rng,
) -> Result<(NetLayer, Vec<usize>), String> {
    let seq = |name: &str| match shape {
        [t, d] => Ok((*t, *d)),
        _ => Err(format!("{name} needs a sequence [T, D] but gets {shape:?}")),
    };
    Ok(match layer {
        LayerSpec::Embedding { dim, scale } => {
            let [t] = shape[..] else {
                return Err(format!("embedding needs token ids [T] but gets {shape:?}"));
            };
            let vocab = facts
                .vocab
                .ok_or("embedding needs token data (sst2 or char_corpus)")?;
            let embed = Embedding::new(vocab, *dim, rng);
            let scale = if *scale { (*dim as f32).sqrt() } else { 1.0 };
            (NetLayer::Embedding { embed, scale }, vec![t, *dim])
        }
        LayerSpec::PositionalEncoding { max_len, dropout } => {
            let (t, d) = seq("positional_encoding")?;
            let max_len = max_len.unwrap_or(t);
            if max_len < t {
                return Err(format!(
                    "positional_encoding max_len {max_len} < sequence length {t}"
                ));
            }
            let p = SinusoidalPositionalEncoding::new(d, max_len, *dropout)
                .map_err(|e| e.to_string())?;
            (NetLayer::Positional(p), vec![t, d])
        }
        LayerSpec::TransformerEncoder {
            layers,
            heads,
            ff,
            dropout,
            norm_first,
        } => {
            let (t, d) = seq("transformer_encoder")?;
            let stack = (0..*layers)
                .map(|_| {
                    TransformerEncoderLayer::new(d, *heads, *ff, *dropout, rng)
                        .map(|l| l.with_norm_first(*norm_first))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            (
                NetLayer::Encoder(TransformerEncoder::new(stack)),
                vec![t, d],
            )
        }
        LayerSpec::MeanPool => {
            let (_, d) = seq("mean_pool")?;
            (NetLayer::MeanPool, vec![d])
        }
        LayerSpec::Lstm {
            units,
            layers,
            return_sequences,
        } => {
            let (t, f) = seq("lstm")?;
            let lstm = Lstm::new(f, *units, *layers, rng)
                .map_err(|e| e.to_string())?
                .with_return_sequences(*return_sequences);
            let out = if *return_sequences {
                vec![t, *units]
            } else {
                vec![*units]
            };
            (NetLayer::Lstm(lstm), out)
        }
        other => return Err(format!("{other:?} is not a token layer")),
    })
}

fn push_activation(model: &mut Vec<NetLayer>, activation: Activation) {
    let m: Box<dyn Module> = match activation {
        Activation::Linear => return,
        Activation::Relu => Box::new(Relu),
        Activation::Sigmoid => Box::new(Sigmoid),
        Activation::Tanh => Box::new(Tanh),
        Activation::Gelu => Box::new(Gelu),
    };
    model.push(NetLayer::Plain(m));
}
