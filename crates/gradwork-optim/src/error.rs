//! The optim crate's error type.

use gradwork_nn::NnError;
use gradwork_tensor::TensorError;
use thiserror::Error;

/// Why an optimizer step, a state load, a schedule or a checkpoint operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OptimError {
    /// A model or state-dict operation failed.
    #[error(transparent)]
    Nn(#[from] NnError),
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// A hyper-parameter is out of range.
    #[error("{what}: invalid configuration: {reason}")]
    InvalidConfig {
        /// The optimizer or schedule (e.g. "Adam").
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The gradients' norm is NaN or infinite, so clipping cannot scale them meaningfully.
    #[error(
        "clip_grad_norm: the total gradient norm is {norm} (non-finite); gradients left unchanged"
    )]
    NonFiniteNorm {
        /// The norm found.
        norm: f32,
    },
    /// A gradient's shape differs from its parameter's.
    #[error("gradient of `{path}` has shape {grad:?}, the parameter has {param:?}")]
    GradShape {
        /// The dotted parameter path.
        path: String,
        /// The parameter's shape.
        param: Vec<usize>,
        /// The gradient's shape.
        grad: Vec<usize>,
    },
    /// Saved state belongs to another kind of optimizer or schedule.
    #[error("cannot load {found} state into {expected}")]
    StateKind {
        /// The kind of the object being loaded into.
        expected: String,
        /// The kind recorded in the state.
        found: String,
    },
    /// A saved per-parameter buffer does not fit its parameter (or is malformed).
    #[error("optimizer state `{path}.{buffer}`: shape {found:?}, expected {expected:?}")]
    StateShape {
        /// The dotted parameter path.
        path: String,
        /// The buffer name (e.g. "exp_avg").
        buffer: String,
        /// The parameter's shape.
        expected: Vec<usize>,
        /// The stored shape.
        found: Vec<usize>,
    },
    /// Saved state lacks a buffer this optimizer needs, or has one it does not know.
    #[error("optimizer state `{path}`: {reason}")]
    StateContent {
        /// The dotted parameter path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file does not start with the checkpoint magic `GWCK`.
    #[error("{path}: not a gradwork checkpoint (first bytes {found:?}, expected \"GWCK\")")]
    BadMagic {
        /// The file.
        path: String,
        /// The first (up to four) bytes found.
        found: Vec<u8>,
    },
    /// The file was written by a newer checkpoint format than this build reads.
    #[error("{path}: checkpoint format version {found} is newer than the newest this build reads ({supported}); upgrade gradwork")]
    NewerVersion {
        /// The file.
        path: String,
        /// The file's version.
        found: u16,
        /// The newest version this build reads.
        supported: u16,
    },
    /// The file is shorter than its header says (an interrupted copy or write).
    #[error("{path}: truncated checkpoint: {actual} bytes, expected {expected}")]
    Truncated {
        /// The file.
        path: String,
        /// Bytes expected.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The file is longer than its header says.
    #[error("{path}: checkpoint has trailing bytes: {actual} bytes, expected {expected}")]
    TrailingBytes {
        /// The file.
        path: String,
        /// Bytes expected.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The SHA-256 checksum does not match: the file is corrupt.
    #[error("{path}: checkpoint checksum mismatch: the file is corrupt")]
    Checksum {
        /// The file.
        path: String,
    },
    /// The file is larger than the read limit.
    #[error("{path}: checkpoint is {size} bytes, above the read limit of {limit} bytes")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The payload passed the checksum but does not decode (a format bug or a crafted file).
    #[error("{path}: checkpoint payload: {reason}")]
    Payload {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
    /// Reading or writing the file failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
}

/// `Result` with [`OptimError`].
pub type Result<T, E = OptimError> = std::result::Result<T, E>;
