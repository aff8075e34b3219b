//! Streaming metrics for training loops: feed batches with `update`, read with `compute`.
//!
//! Every metric accumulates exact counts or sequential f64 sums, one sample at a time in order,
//! so any split of the data into batches gives bit-for-bit the result of the one-shot function.

use crate::error::{MetricsError, Result};
use crate::input::{labels_from_tensor, predicted_labels};
use gradwork_tensor::Tensor;
use std::borrow::Cow;

mod confusion;
mod regression;

pub use confusion::{ConfusionMetric, ScoreKind};
pub use regression::{MeanAbsoluteError, MeanSquaredError};

/// One batch of model output, in whichever form the caller has it.
#[derive(Debug, Clone, Copy)]
pub enum Batch<'a> {
    /// True and predicted class labels.
    Labels {
        /// True labels.
        y_true: &'a [usize],
        /// Predicted labels.
        y_pred: &'a [usize],
    },
    /// True labels and a `[n, C]` score tensor (the prediction is each row's argmax).
    Scores {
        /// True labels.
        y_true: &'a [usize],
        /// Logits or probabilities, `[n, C]`.
        scores: &'a Tensor,
    },
    /// Regression targets and predictions.
    Values {
        /// Targets.
        y_true: &'a [f64],
        /// Predictions.
        y_pred: &'a [f64],
    },
    /// Two tensors. Classification metrics read `y_true` as labels (`[n]` or `[n, 1]`) and
    /// `y_pred` as scores `[n, C]` (argmax) or labels `[n]`; regression metrics need equal shapes.
    Tensors {
        /// Targets (or labels).
        y_true: &'a Tensor,
        /// Predictions (or scores).
        y_pred: &'a Tensor,
    },
    /// Per-sample loss values.
    Losses(&'a [f64]),
    /// A batch's mean loss and its number of samples (weighted by `count` in the running mean).
    MeanLoss {
        /// The batch's mean loss.
        mean: f64,
        /// The number of samples in the batch.
        count: usize,
    },
}

impl Batch<'_> {
    /// The variant's name, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Batch::Labels { .. } => "Labels",
            Batch::Scores { .. } => "Scores",
            Batch::Values { .. } => "Values",
            Batch::Tensors { .. } => "Tensors",
            Batch::Losses(_) => "Losses",
            Batch::MeanLoss { .. } => "MeanLoss",
        }
    }
}

/// A metric accumulated over batches (Keras's `update_state` / `result` / `reset_state`).
///
/// The trait is object safe, so a training loop can hold a `Vec<Box<dyn Metric>>`.
///
/// ```
/// use gradwork_metrics::{accuracy, Accuracy, Batch, Metric};
///
/// let (y_true, y_pred) = ([0, 1, 2, 1, 0], [0, 2, 2, 1, 1]);
/// let mut metric = Accuracy::new();
/// for (t, p) in y_true.chunks(2).zip(y_pred.chunks(2)) {
///     metric.update(&Batch::Labels { y_true: t, y_pred: p }).unwrap();
/// }
/// assert_eq!(metric.compute().unwrap(), accuracy(&y_true, &y_pred).unwrap());
/// metric.reset();
/// assert!(metric.compute().is_err()); // nothing seen since the reset
/// ```
pub trait Metric: Send {
    /// A short name for logs (`"accuracy"`, `"f1_macro"`).
    fn name(&self) -> &str;
    /// Adds a batch. On error the state is unchanged.
    fn update(&mut self, batch: &Batch<'_>) -> Result<()>;
    /// The value over every batch since the last reset; [`MetricsError::Empty`] before any sample.
    fn compute(&self) -> Result<f64>;
    /// Forgets every batch.
    fn reset(&mut self);
}

pub(crate) fn unsupported(name: &str, batch: &Batch<'_>, expected: &'static str) -> MetricsError {
    MetricsError::UnsupportedBatch {
        metric: name.to_string(),
        batch: batch.kind(),
        expected,
    }
}

const CLASS_BATCHES: &str = "Labels, Scores or Tensors";

/// True and predicted labels, borrowed from the batch or computed from its tensors.
type LabelPair<'a> = (Cow<'a, [usize]>, Cow<'a, [usize]>);

/// The (true, predicted) labels of a classification batch.
pub(crate) fn class_labels<'a>(name: &str, batch: &Batch<'a>) -> Result<LabelPair<'a>> {
    match *batch {
        Batch::Labels { y_true, y_pred } => Ok((Cow::Borrowed(y_true), Cow::Borrowed(y_pred))),
        Batch::Scores { y_true, scores } => {
            Ok((Cow::Borrowed(y_true), Cow::Owned(predicted_labels(scores)?)))
        }
        Batch::Tensors { y_true, y_pred } => {
            let pred = if y_pred.ndim() == 1 {
                labels_from_tensor(y_pred)?
            } else {
                predicted_labels(y_pred)?
            };
            Ok((Cow::Owned(labels_from_tensor(y_true)?), Cow::Owned(pred)))
        }
        _ => Err(unsupported(name, batch, CLASS_BATCHES)),
    }
}

pub(crate) fn check_batch_lengths(
    metric: &'static str,
    left_len: usize,
    right_len: usize,
) -> Result<()> {
    if left_len == right_len {
        Ok(())
    } else {
        Err(MetricsError::LengthMismatch {
            metric,
            left: "y_true",
            left_len,
            right: "y_pred",
            right_len,
        })
    }
}

/// Streaming accuracy: correct predictions / samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accuracy {
    correct: u64,
    total: u64,
}

impl Accuracy {
    /// A metric with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Metric for Accuracy {
    fn name(&self) -> &str {
        "accuracy"
    }

    fn update(&mut self, batch: &Batch<'_>) -> Result<()> {
        let (y_true, y_pred) = class_labels("accuracy", batch)?;
        check_batch_lengths("accuracy", y_true.len(), y_pred.len())?;
        self.correct += y_true
            .iter()
            .zip(y_pred.iter())
            .filter(|(t, p)| t == p)
            .count() as u64;
        self.total += y_true.len() as u64;
        Ok(())
    }

    fn compute(&self) -> Result<f64> {
        match self.total {
            0 => Err(MetricsError::Empty { metric: "accuracy" }),
            total => Ok(self.correct as f64 / total as f64),
        }
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// The running mean of a loss, per sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeanLoss {
    sum: f64,
    count: u64,
}

impl MeanLoss {
    /// A metric with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Metric for MeanLoss {
    fn name(&self) -> &str {
        "loss"
    }

    fn update(&mut self, batch: &Batch<'_>) -> Result<()> {
        match *batch {
            Batch::Losses(values) => {
                for &v in values {
                    self.sum += v;
                }
                self.count += values.len() as u64;
            }
            Batch::MeanLoss { mean, count } => {
                self.sum += mean * count as f64;
                self.count += count as u64;
            }
            _ => return Err(unsupported("loss", batch, "Losses or MeanLoss")),
        }
        Ok(())
    }

    fn compute(&self) -> Result<f64> {
        match self.count {
            0 => Err(MetricsError::Empty { metric: "loss" }),
            count => Ok(self.sum / count as f64),
        }
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}
