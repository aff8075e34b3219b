//! The tensor crate's error type: every variant names the op and carries the values needed to fix the call.

use thiserror::Error;

/// Why a tensor operation was refused.
///
/// Each variant names the operation (`op`) and the shapes, axes or indices involved, so the message
/// alone says what to change. The panicking forms of the operations (`add`, `matmul`, ...) panic
/// with exactly this message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TensorError {
    /// Two shapes that the operation needs to agree (or broadcast) do not.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible{detail}")]
    ShapeMismatch {
        /// The operation.
        op: &'static str,
        /// The first (left) operand's shape.
        lhs: Vec<usize>,
        /// The second (right) operand's shape.
        rhs: Vec<usize>,
        /// Extra explanation, starting with ": " when present.
        detail: String,
    },
    /// A buffer's length does not match the number of elements of the requested shape.
    #[error("{op}: {len} values cannot fill shape {shape:?} ({expected} elements)")]
    DataLength {
        /// The operation.
        op: &'static str,
        /// The number of values given.
        len: usize,
        /// The requested shape.
        shape: Vec<usize>,
        /// The number of elements the shape holds.
        expected: usize,
    },
    /// An axis is outside `-ndim..ndim`.
    #[error("{op}: axis {axis} is out of range for a tensor of shape {shape:?}")]
    AxisOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis as given (negative axes count from the end).
        axis: i64,
        /// The shape of the tensor.
        shape: Vec<usize>,
    },
    /// An index is outside the size of the axis it indexes.
    #[error(
        "{op}: index {index} is out of range for axis {axis} of size {size} (shape {shape:?})"
    )]
    IndexOutOfRange {
        /// The operation.
        op: &'static str,
        /// The offending index.
        index: usize,
        /// The axis being indexed.
        axis: usize,
        /// The size of that axis.
        size: usize,
        /// The shape of the indexed tensor.
        shape: Vec<usize>,
    },
    /// Any other invalid argument, with the reason.
    #[error("{op}: {reason} (shape {shape:?})")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What is wrong with the argument.
        reason: String,
        /// The shape of the tensor the operation was applied to.
        shape: Vec<usize>,
    },
}

impl TensorError {
    /// A shape mismatch between two operands, with no extra explanation.
    pub fn shape_mismatch(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Self {
        TensorError::ShapeMismatch {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            detail: String::new(),
        }
    }

    /// A shape mismatch with an explanation (e.g. "inner dimensions 3 and 4 differ").
    pub fn shape_mismatch_because(
        op: &'static str,
        lhs: &[usize],
        rhs: &[usize],
        detail: impl Into<String>,
    ) -> Self {
        TensorError::ShapeMismatch {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            detail: format!(": {}", detail.into()),
        }
    }

    /// An invalid argument for the tensor of shape `shape`.
    pub fn invalid(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        TensorError::InvalidArgument {
            op,
            reason: reason.into(),
            shape: shape.to_vec(),
        }
    }
}

/// `Result` with [`TensorError`].
pub type Result<T, E = TensorError> = std::result::Result<T, E>;

/// Unwraps a `try_` result for the panicking form of an op, reporting the caller's location.
#[track_caller]
pub(crate) fn or_panic<T>(result: Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{error}"),
    }
}
