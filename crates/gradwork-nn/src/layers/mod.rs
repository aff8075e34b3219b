//! Layers with parameters.

mod attention;
mod conv;
mod dropout;
mod embedding;
mod flatten;
mod linear;
mod norm;
mod pool;
mod positional;
mod recurrent;
mod transformer;

pub use attention::{AttnMask, MultiHeadAttention};
pub use conv::{Conv2d, Conv2dConfig};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use linear::Linear;
pub use norm::{
    BatchNorm1d, BatchNorm2d, BatchNormState, LayerNorm, DEFAULT_EPS, DEFAULT_MOMENTUM,
};
pub use pool::{AvgPool2d, MaxPool2d};
pub use positional::{LearnedPositionalEncoding, SinusoidalPositionalEncoding};
pub use recurrent::{CellKind, Gru, Lstm, RecurrentOutput, RecurrentState, Rnn};
pub use transformer::{FeedForwardActivation, TransformerEncoder, TransformerEncoderLayer};
