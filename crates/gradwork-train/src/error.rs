//! The train crate's error type.

use gradwork_autodiff::AutodiffError;
use gradwork_nn::NnError;
use gradwork_optim::OptimError;
use gradwork_tensor::TensorError;
use thiserror::Error;

/// Why training, evaluation or prediction failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A tensor operation failed.
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Autodiff failed.
    #[error(transparent)]
    Autodiff(#[from] AutodiffError),
    /// A layer or state dict failed.
    #[error(transparent)]
    Nn(#[from] NnError),
    /// The optimizer failed.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// The loss (or a gradient) became NaN or infinite. Training stopped before the optimizer
    /// step and before any checkpoint of this epoch, so the last good checkpoint is intact.
    #[error("non-finite loss {loss} at epoch {epoch}, step {step}, batch {batch}{}", first_op.as_ref().map(|op| format!("; first non-finite value produced by {op}")).unwrap_or_default())]
    NonFinite {
        /// The epoch, from 1.
        epoch: usize,
        /// The global step (optimizer updates before this batch).
        step: u64,
        /// The batch within the epoch, from 0.
        batch: usize,
        /// The loss value (NaN or infinite).
        loss: f64,
        /// The first op that produced a non-finite value, found by replaying the batch in
        /// anomaly mode, with its phase and input shapes.
        first_op: Option<String>,
    },
    /// The data or targets do not fit the model or loss.
    #[error("data: {0}")]
    Data(String),
    /// A callback failed.
    #[error("{callback}: {reason}")]
    Callback {
        /// The callback.
        callback: String,
        /// What went wrong.
        reason: String,
    },
    /// Invalid fit options.
    #[error("fit: {0}")]
    Options(String),
    /// A file could not be written.
    #[error("{path}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// `Result` with [`TrainError`].
pub type Result<T, E = TrainError> = std::result::Result<T, E>;
