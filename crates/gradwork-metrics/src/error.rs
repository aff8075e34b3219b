//! The metrics crate's error type: every variant names the metric and the values that were wrong.

use thiserror::Error;

/// Why a metric could not be computed.
///
/// Every variant names the metric (`metric`), so a message read in a training log says which call
/// to fix. Metrics never panic on bad input; they return one of these.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// Two inputs that must describe the same samples have different lengths.
    #[error("{metric}: {left} has {left_len} elements but {right} has {right_len}")]
    LengthMismatch {
        /// The metric.
        metric: &'static str,
        /// Name of the first input (`"y_true"`).
        left: &'static str,
        /// Length of the first input.
        left_len: usize,
        /// Name of the second input (`"y_pred"`, `"y_score"`, ...).
        right: &'static str,
        /// Length of the second input.
        right_len: usize,
    },
    /// The metric is undefined on zero samples (or nothing was streamed in yet).
    #[error("{metric}: no samples (the metric is undefined on empty input)")]
    Empty {
        /// The metric.
        metric: &'static str,
    },
    /// A class label is outside the classes the metric was told about.
    #[error("{metric}: {input}[{index}] = {label} is not a valid class ({n_classes} classes)")]
    LabelOutOfRange {
        /// The metric.
        metric: &'static str,
        /// Which input holds the label.
        input: &'static str,
        /// Position of the offending sample.
        index: usize,
        /// The offending label.
        label: usize,
        /// The number of classes (labels must be `< n_classes`).
        n_classes: usize,
    },
    /// A numeric value is outside the metric's domain (NaN score, probability above 1, ...).
    #[error("{metric}: {input}[{index}] = {value} is invalid: {reason}")]
    InvalidValue {
        /// The metric.
        metric: &'static str,
        /// Which input holds the value.
        input: &'static str,
        /// Flat position of the offending value.
        index: usize,
        /// The offending value.
        value: f64,
        /// What the metric requires.
        reason: &'static str,
    },
    /// A tensor has a shape the metric cannot use.
    #[error("{metric}: {input} has shape {shape:?}, expected {expected}")]
    InvalidShape {
        /// The metric.
        metric: &'static str,
        /// Which input.
        input: &'static str,
        /// The shape that was given.
        shape: Vec<usize>,
        /// A description of the accepted shapes.
        expected: &'static str,
    },
    /// `y_true` holds a single class, so a ranking metric (ROC-AUC) is undefined.
    /// scikit-learn warns and returns NaN here; gradwork returns this error instead.
    #[error("{metric}: only class {class} is present in y_true; the score is undefined")]
    SingleClass {
        /// The metric.
        metric: &'static str,
        /// The one class that is present.
        class: usize,
    },
    /// An option or argument is invalid (k = 0, a binary average on three classes, ...).
    #[error("{metric}: {reason}")]
    InvalidArgument {
        /// The metric.
        metric: &'static str,
        /// What is wrong, with the values involved.
        reason: String,
    },
    /// A streaming metric was given a kind of batch it does not understand.
    #[error("{metric}: cannot update from a {batch} batch (expected {expected})")]
    UnsupportedBatch {
        /// The streaming metric's name.
        metric: String,
        /// The kind of batch that was given.
        batch: &'static str,
        /// The batch kinds the metric accepts.
        expected: &'static str,
    },
}

/// Shorthand for `Result<T, MetricsError>`.
pub type Result<T> = std::result::Result<T, MetricsError>;
