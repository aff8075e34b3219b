//! Layers with parameters.

mod attention;
mod linear;
mod positional;
mod recurrent;
mod transformer;

pub use attention::{AttnMask, MultiHeadAttention};
pub use linear::Linear;
pub use positional::{LearnedPositionalEncoding, SinusoidalPositionalEncoding};
pub use recurrent::{CellKind, Gru, Lstm, RecurrentOutput, RecurrentState, Rnn};
pub use transformer::{FeedForwardActivation, TransformerEncoder, TransformerEncoderLayer};
