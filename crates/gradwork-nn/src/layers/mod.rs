//! Layers with parameters.

mod attention;
mod flatten;
mod linear;
mod norm;
mod positional;
mod recurrent;
mod transformer;

pub use attention::{AttnMask, MultiHeadAttention};
pub use flatten::Flatten;
pub use linear::Linear;
pub use norm::{
    BatchNorm1d, BatchNorm2d, BatchNormState, LayerNorm, DEFAULT_EPS, DEFAULT_MOMENTUM,
};
pub use positional::{LearnedPositionalEncoding, SinusoidalPositionalEncoding};
pub use recurrent::{CellKind, Gru, Lstm, RecurrentOutput, RecurrentState, Rnn};
pub use transformer::{FeedForwardActivation, TransformerEncoder, TransformerEncoderLayer};
