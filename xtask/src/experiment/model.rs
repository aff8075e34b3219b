//! Builds a [`Sequential`] from a manifest's layer list, tracking the per-sample shape so each layer
//! gets its input size without the manifest repeating it.

use gradwork::nn::activations::{Gelu, Relu, Sigmoid, Tanh};
use gradwork::nn::layers::{Conv2dConfig, Dropout, Flatten, Linear, MaxPool2d};
use gradwork::nn::Sequential;
use gradwork::tensor::Rng;

use super::manifest::{Activation, LayerSpec, ModelSpec};
use super::ExperimentError;

/// The RNG stream of parameter initialisation, forked from the manifest seed.
pub const INIT_STREAM: u64 = 0x1417;

/// Builds the model for samples of shape `input` (without the batch axis); returns it with the
/// output shape of one sample.
pub fn build(
    spec: &ModelSpec,
    input: &[usize],
    seed: u64,
) -> Result<(Sequential, Vec<usize>), ExperimentError> {
    if let Some(expected) = &spec.input_shape {
        if expected.as_slice() != input {
            return Err(ExperimentError::Train(format!(
                "model.input_shape is {expected:?} but the data's samples have shape {input:?}"
            )));
        }
    }
    let mut rng = Rng::seed_from(seed).fork(INIT_STREAM);
    let mut shape = input.to_vec();
    let mut model = Sequential::new();
    for (i, layer) in spec.layers.iter().enumerate() {
        let bad = |what: String| ExperimentError::Train(format!("layer {}: {what}", i + 1));
        match layer {
            LayerSpec::Dense { units, activation } => {
                let [features] = shape[..] else {
                    return Err(bad(format!(
                        "dense needs flat input but gets {shape:?} (add a flatten layer)"
                    )));
                };
                model = model.push(Linear::new(features, *units, &mut rng));
                model = push_activation(model, *activation);
                shape = vec![*units];
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
                model = push_activation(model.push(conv), *activation);
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
                model = model.push(MaxPool2d::new((*kernel, *kernel)));
                shape = vec![c, h / kernel, w / kernel];
            }
            LayerSpec::Flatten => {
                model = model.push(Flatten::new(1));
                shape = vec![shape.iter().product()];
            }
            LayerSpec::Dropout { p } => {
                model = model.push(Dropout::new(*p).map_err(|e| bad(e.to_string()))?);
            }
        }
    }
    Ok((model, shape))
}

fn push_activation(model: Sequential, activation: Activation) -> Sequential {
    match activation {
        Activation::Linear => model,
        Activation::Relu => model.push(Relu),
        Activation::Sigmoid => model.push(Sigmoid),
        Activation::Tanh => model.push(Tanh),
        Activation::Gelu => model.push(Gelu),
    }
}
