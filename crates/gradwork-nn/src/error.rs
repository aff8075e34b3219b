//! The nn crate's error type.

use gradwork_autodiff::AutodiffError;
use gradwork_tensor::TensorError;
use thiserror::Error;

/// A key whose stored shape differs from the model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The dotted parameter path.
    pub key: String,
    /// The model's shape.
    pub expected: Vec<usize>,
    /// The state dict's shape.
    pub found: Vec<usize>,
}

/// Why a layer, a state dict or a state file operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NnError {
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// An autodiff operation failed.
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
    /// A layer received input of the wrong shape.
    #[error("{layer}: expected input {expected}, got shape {got:?}")]
    BadInput {
        /// The layer (e.g. "Linear(784 -> 128)").
        layer: String,
        /// What it expected, in words.
        expected: String,
        /// The shape it got.
        got: Vec<usize>,
    },
    /// A layer was configured with invalid hyper-parameters.
    #[error("{layer}: {reason}")]
    InvalidConfig {
        /// The layer.
        layer: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Loading a state dict found keys that do not match the model; every problem is listed.
    #[error("load_state_dict: {} missing key(s) {missing:?}, {} unexpected key(s) {unexpected:?}, {} shape mismatch(es) {}", missing.len(), unexpected.len(), mismatched.len(), format_mismatches(mismatched))]
    StateDictMismatch {
        /// Keys the model has and the state dict lacks.
        missing: Vec<String>,
        /// Keys the state dict has and the model lacks.
        unexpected: Vec<String>,
        /// Keys present in both with different shapes.
        mismatched: Vec<ShapeMismatch>,
    },
    /// A state file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

fn format_mismatches(items: &[ShapeMismatch]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|m| format!("{} (model {:?}, file {:?})", m.key, m.expected, m.found))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `Result` with [`NnError`].
pub type Result<T, E = NnError> = std::result::Result<T, E>;
