//! The autodiff crate's error type.

use gradwork_tensor::TensorError;
use thiserror::Error;

/// Whether an anomaly was found computing an op's output or its gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The op's output.
    Forward,
    /// The gradients the op sent to its inputs.
    Backward,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Forward => "forward",
            Phase::Backward => "backward",
        })
    }
}

/// Why a differentiable computation or its backward pass failed.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum AutodiffError {
    /// A tensor operation refused its inputs (shape mismatch, bad axis, ...).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Variables recorded on two different graphs were combined.
    #[error("{op}: its inputs belong to different graphs; create all tracked variables from one Graph per step")]
    GraphMismatch {
        /// The op that combined them.
        op: &'static str,
    },
    /// `backward` was called on an output with more than one element and no output gradient.
    #[error("backward: the output has shape {shape:?}; backward from a non-scalar needs an explicit output gradient (backward_with)")]
    NotScalar {
        /// The output's shape.
        shape: Vec<usize>,
    },
    /// `backward` was called on a variable that records nothing.
    #[error("backward: the output is not tracked (no input was a graph leaf, or it was detached)")]
    Untracked,
    /// An op's backward returned a gradient whose shape is not its input's shape (a bug in that op).
    #[error(
        "{op}: backward produced a gradient of shape {got:?} for an input of shape {expected:?}"
    )]
    GradShape {
        /// The op.
        op: &'static str,
        /// The input's shape.
        expected: Vec<usize>,
        /// The gradient's shape.
        got: Vec<usize>,
    },
    /// The graph's backward pass already ran (it frees saved tensors as it goes).
    #[error("backward: this graph was already differentiated; build a new Graph for each step")]
    AlreadyDifferentiated,
    /// Anomaly mode found a NaN or infinity.
    #[error("anomaly: {op} produced a non-finite value in its {phase} pass (input shapes {input_shapes:?})")]
    Anomaly {
        /// The first op whose output (forward) or input gradient (backward) was not finite.
        op: &'static str,
        /// Forward or backward.
        phase: Phase,
        /// The shapes of the op's inputs.
        input_shapes: Vec<Vec<usize>>,
    },
    /// A class-index target of a loss is not a valid class.
    #[error("{loss}: target {index} (sample {position}) is out of range for {classes} classes")]
    TargetOutOfRange {
        /// The loss function.
        loss: &'static str,
        /// The sample (row) whose target is bad.
        position: usize,
        /// The bad class index.
        index: usize,
        /// The number of classes (the logits' last dimension).
        classes: usize,
    },
    /// Any other invalid argument.
    #[error("{op}: {reason}")]
    Invalid {
        /// The op.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// `Result` with [`AutodiffError`].
pub type Result<T, E = AutodiffError> = std::result::Result<T, E>;

/// Unwraps a `try_` result for a panicking op, reporting the caller's location.
#[track_caller]
pub(crate) fn or_panic<T>(result: Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error}"),
    }
}
