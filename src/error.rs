//! One error type for programs that use several gradwork crates.

use thiserror::Error;

/// Any gradwork error; each crate's error converts into it with `?`.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// From `gradwork-tensor`.
    #[error(transparent)]
    Tensor(#[from] gradwork_tensor::TensorError),
    /// From `gradwork-autodiff`.
    #[error(transparent)]
    Autodiff(#[from] gradwork_autodiff::AutodiffError),
    /// From `gradwork-nn`.
    #[error(transparent)]
    Nn(#[from] gradwork_nn::NnError),
    /// From `gradwork-optim`.
    #[error(transparent)]
    Optim(#[from] gradwork_optim::OptimError),
    /// From `gradwork-data`.
    #[error(transparent)]
    Data(#[from] gradwork_data::DataError),
    /// From `gradwork-metrics`.
    #[error(transparent)]
    Metrics(#[from] gradwork_metrics::MetricsError),
    /// From `gradwork-train`.
    #[error(transparent)]
    Train(#[from] gradwork_train::TrainError),
    /// File and other I/O.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `Result` with [`Error`](enum@Error).
pub type Result<T, E = Error> = std::result::Result<T, E>;
