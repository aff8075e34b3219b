//! The manifest's layer list: one [`LayerSpec`] per `{ type = ..., ... }` entry of `model.layers`
//! (re-exported by [`manifest`](super::manifest)).

use serde::{Deserialize, Serialize};

fn one() -> usize {
    1
}

/// One layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// A fully connected layer followed by an activation.
    Dense {
        /// Output features; when absent, the task's output count (classes, or the vocabulary
        /// of a language model).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        units: Option<usize>,
        /// Activation after the layer.
        #[serde(default)]
        activation: Activation,
    },
    /// A 2-d convolution (NCHW) followed by an activation.
    Conv2d {
        /// Output channels.
        filters: usize,
        /// Square kernel size.
        kernel: usize,
        /// Stride.
        #[serde(default = "one")]
        stride: usize,
        /// Zero padding on each side.
        #[serde(default)]
        padding: usize,
        /// Activation after the layer.
        #[serde(default)]
        activation: Activation,
    },
    /// Max pooling with a square window and stride equal to the window.
    Maxpool {
        /// Window size.
        #[serde(default = "two")]
        kernel: usize,
    },
    /// Flattens everything after the batch axis.
    Flatten,
    /// Dropout with drop probability `p` (training only).
    Dropout {
        /// Drop probability.
        p: f32,
    },
    /// Token ids `[T]` to vectors `[T, dim]` (vocabulary size from the data); ids equal to
    /// `PAD_ID` mark padding for the later `transformer_encoder` and `mean_pool`.
    Embedding {
        /// Vector size.
        dim: usize,
        /// Multiply the vectors by `sqrt(dim)` (the Transformer convention).
        #[serde(default)]
        scale: bool,
    },
    /// Adds the sinusoidal position table to `[T, D]`, then dropout.
    PositionalEncoding {
        /// Longest sequence (default: the data's sequence length).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<usize>,
        /// Dropout after the addition.
        #[serde(default)]
        dropout: f32,
    },
    /// A stack of post-norm Transformer encoder layers on `[T, D]`, masking padding keys.
    TransformerEncoder {
        /// Encoder layers.
        layers: usize,
        /// Attention heads (must divide D).
        heads: usize,
        /// Feed-forward width.
        ff: usize,
        /// Dropout inside each layer.
        #[serde(default)]
        dropout: f32,
        /// Pre-norm instead of post-norm.
        #[serde(default)]
        norm_first: bool,
    },
    /// The mean over the real (non-padding) positions: `[T, D]` to `[D]`.
    MeanPool,
    /// An LSTM stack on `[T, F]`: `[T, units]` (sequences) or the last layer's final state `[units]`.
    Lstm {
        /// Hidden size.
        units: usize,
        /// Stacked layers.
        #[serde(default = "one")]
        layers: usize,
        /// Return every step (true, default) or the final state only.
        #[serde(default = "yes")]
        return_sequences: bool,
    },
}

fn yes() -> bool {
    true
}

fn two() -> usize {
    2
}

/// An activation function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// None (identity): logits or regression outputs.
    #[default]
    Linear,
    /// max(0, x).
    Relu,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// GELU.
    Gelu,
}
