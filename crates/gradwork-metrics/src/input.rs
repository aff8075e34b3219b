//! Input validation shared by every metric, and conversions from gradwork tensors.

use crate::error::{MetricsError, Result};
use gradwork_tensor::Tensor;

/// A floating-point element type a metric accepts: `f32` or `f64`.
///
/// Every value is widened to `f64` before it is accumulated, so `f32` inputs lose nothing.
pub trait AsF64: Copy {
    /// The value as an `f64` (exact for both `f32` and `f64`).
    fn as_f64(self) -> f64;
}

impl AsF64 for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

impl AsF64 for f32 {
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

/// Errors unless `y_true` and `other` have the same length and are not empty.
pub(crate) fn check_pair(
    metric: &'static str,
    left_len: usize,
    right: &'static str,
    right_len: usize,
) -> Result<()> {
    if left_len != right_len {
        return Err(MetricsError::LengthMismatch {
            metric,
            left: "y_true",
            left_len,
            right,
            right_len,
        });
    }
    if left_len == 0 {
        return Err(MetricsError::Empty { metric });
    }
    Ok(())
}

/// Errors unless every label is `< n_classes`.
pub(crate) fn check_labels(
    metric: &'static str,
    input: &'static str,
    labels: &[usize],
    n_classes: usize,
) -> Result<()> {
    match labels.iter().position(|&l| l >= n_classes) {
        Some(index) => Err(MetricsError::LabelOutOfRange {
            metric,
            input,
            index,
            label: labels[index],
            n_classes,
        }),
        None => Ok(()),
    }
}

/// Errors on the first NaN.
pub(crate) fn check_not_nan<T: AsF64>(
    metric: &'static str,
    input: &'static str,
    values: &[T],
) -> Result<()> {
    match values.iter().position(|v| v.as_f64().is_nan()) {
        Some(index) => Err(MetricsError::InvalidValue {
            metric,
            input,
            index,
            value: f64::NAN,
            reason: "NaN has no order",
        }),
        None => Ok(()),
    }
}

/// The `[n, C]` score matrix stored row-major in `scores`: checks that it has `n_samples` rows
/// of `n_classes` columns.
pub(crate) fn check_matrix(
    metric: &'static str,
    n_samples: usize,
    scores_len: usize,
    n_classes: usize,
) -> Result<()> {
    if n_classes == 0 {
        return Err(MetricsError::InvalidArgument {
            metric,
            reason: "n_classes must be at least 1".to_string(),
        });
    }
    if !scores_len.is_multiple_of(n_classes) {
        return Err(MetricsError::InvalidArgument {
            metric,
            reason: format!(
                "{scores_len} scores do not form rows of n_classes = {n_classes} columns"
            ),
        });
    }
    check_pair(metric, n_samples, "y_score rows", scores_len / n_classes)
}

/// Class labels stored in a tensor as floats (`[n]` or `[n, 1]`), as a `Vec<usize>`.
///
/// Every value must be a non-negative whole number; anything else is an
/// [`MetricsError::InvalidValue`] naming its position.
///
/// ```
/// use gradwork_metrics::labels_from_tensor;
/// use gradwork_tensor::Tensor;
///
/// let y = Tensor::from_vec(vec![2.0, 0.0, 1.0], &[3]);
/// assert_eq!(labels_from_tensor(&y).unwrap(), vec![2, 0, 1]);
/// assert!(labels_from_tensor(&Tensor::from_vec(vec![0.5], &[1])).is_err());
/// ```
pub fn labels_from_tensor(labels: &Tensor) -> Result<Vec<usize>> {
    let shape = labels.shape();
    let column = shape.len() == 1 || (shape.len() == 2 && shape[1] == 1);
    if !column {
        return Err(MetricsError::InvalidShape {
            metric: "labels_from_tensor",
            input: "labels",
            shape: shape.to_vec(),
            expected: "[n] or [n, 1] class indices",
        });
    }
    labels
        .to_vec()
        .into_iter()
        .enumerate()
        .map(|(index, v)| {
            // f32 holds every integer up to 2^24 exactly; larger "labels" are not class indices.
            if v >= 0.0 && v.fract() == 0.0 && v < 16_777_216.0 {
                Ok(v as usize)
            } else {
                Err(MetricsError::InvalidValue {
                    metric: "labels_from_tensor",
                    input: "labels",
                    index,
                    value: f64::from(v),
                    reason: "a class label must be a non-negative whole number below 2^24",
                })
            }
        })
        .collect()
}

/// The predicted class of each row of a `[n, C]` score (logit or probability) tensor, `C >= 2`:
/// the argmax of the row, ties going to the lowest class index (as PyTorch's `argmax`). A NaN
/// score is an error.
///
/// ```
/// use gradwork_metrics::predicted_labels;
/// use gradwork_tensor::Tensor;
///
/// let logits = Tensor::from_vec(vec![0.1, 2.0, -1.0, 3.0, 0.0, 0.5], &[2, 3]);
/// assert_eq!(predicted_labels(&logits).unwrap(), vec![1, 0]);
/// ```
pub fn predicted_labels(scores: &Tensor) -> Result<Vec<usize>> {
    let shape = scores.shape();
    // One column is refused rather than read as "always class 0": it is almost always a sigmoid
    // output that needs a threshold, and a silent argmax would report nonsense.
    if shape.len() != 2 || shape[1] < 2 {
        return Err(MetricsError::InvalidShape {
            metric: "predicted_labels",
            input: "scores",
            shape: shape.to_vec(),
            expected: "[n, C] with C >= 2 (threshold a single probability column yourself)",
        });
    }
    let values = scores.to_vec();
    check_not_nan("predicted_labels", "scores", &values)?;
    if shape[0] == 0 {
        return Ok(Vec::new());
    }
    scores
        .try_argmax(1)
        .map_err(|e| MetricsError::InvalidArgument {
            metric: "predicted_labels",
            reason: e.to_string(),
        })
}

/// A `[n, C]` tensor as its row-major values and `C`.
pub(crate) fn matrix_from_tensor(
    metric: &'static str,
    input: &'static str,
    tensor: &Tensor,
) -> Result<(Vec<f32>, usize)> {
    let shape = tensor.shape();
    if shape.len() != 2 || shape[1] == 0 {
        return Err(MetricsError::InvalidShape {
            metric,
            input,
            shape: shape.to_vec(),
            expected: "[n, C] with C >= 1",
        });
    }
    Ok((tensor.to_vec(), shape[1]))
}
