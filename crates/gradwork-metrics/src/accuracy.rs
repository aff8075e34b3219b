//! Accuracy and top-k accuracy.

use crate::error::{MetricsError, Result};
use crate::input::{check_labels, check_matrix, check_not_nan, check_pair, matrix_from_tensor};
use crate::input::{predicted_labels, AsF64};
use gradwork_tensor::Tensor;

/// The number of samples whose predicted label equals the true label.
pub fn accuracy_count(y_true: &[usize], y_pred: &[usize]) -> Result<usize> {
    check_pair("accuracy", y_true.len(), "y_pred", y_pred.len())?;
    Ok(y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count())
}

/// The fraction of samples whose predicted label equals the true label.
///
/// ```
/// use gradwork_metrics::accuracy;
///
/// assert_eq!(accuracy(&[0, 1, 2, 2], &[0, 2, 2, 2]).unwrap(), 0.75);
/// assert!(accuracy(&[0, 1], &[0]).is_err()); // lengths differ: an error, never a panic
/// ```
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> Result<f64> {
    let hits = accuracy_count(y_true, y_pred)?;
    Ok(hits as f64 / y_true.len() as f64)
}

/// Accuracy of a `[n, C]` score tensor (logits or probabilities): the predicted class of a row is
/// its argmax (ties to the lowest index).
pub fn accuracy_from_scores(y_true: &[usize], scores: &Tensor) -> Result<f64> {
    let y_pred = predicted_labels(scores)?;
    check_pair("accuracy", y_true.len(), "scores rows", y_pred.len())?;
    accuracy(y_true, &y_pred)
}

/// Whether `label` is among the `k` best-ranked classes of `row`.
///
/// Ranking follows scikit-learn: a higher score ranks first and, among equal scores, the higher
/// class index ranks first (a stable ascending sort, reversed). So `label` is in the top k exactly
/// when fewer than `k` classes rank ahead of it.
fn in_top_k(row: &[f64], label: usize, k: usize) -> bool {
    let own = row[label];
    let ahead = row
        .iter()
        .enumerate()
        .filter(|&(j, &s)| s > own || (s == own && j > label))
        .count();
    ahead < k
}

/// The number of samples whose true label is among the `k` highest scores of its row.
///
/// `y_score` is a row-major `[n, n_classes]` matrix; see [`top_k_accuracy`].
pub fn top_k_accuracy_count<T: AsF64>(
    y_true: &[usize],
    y_score: &[T],
    n_classes: usize,
    k: usize,
) -> Result<usize> {
    const METRIC: &str = "top_k_accuracy";
    check_matrix(METRIC, y_true.len(), y_score.len(), n_classes)?;
    if k == 0 {
        return Err(MetricsError::InvalidArgument {
            metric: METRIC,
            reason: "k must be at least 1".to_string(),
        });
    }
    check_labels(METRIC, "y_true", y_true, n_classes)?;
    check_not_nan(METRIC, "y_score", y_score)?;
    let mut row = vec![0.0f64; n_classes];
    let mut hits = 0;
    for (i, &label) in y_true.iter().enumerate() {
        for (dst, src) in row
            .iter_mut()
            .zip(&y_score[i * n_classes..(i + 1) * n_classes])
        {
            *dst = src.as_f64();
        }
        if in_top_k(&row, label, k) {
            hits += 1;
        }
    }
    Ok(hits)
}

/// The fraction of samples whose true label is among the `k` highest scores of its row
/// (scikit-learn's `top_k_accuracy_score` with `labels = 0..n_classes`).
///
/// `y_score` is a row-major `[n, n_classes]` matrix of scores. Among equal scores the higher class
/// index ranks first, as in scikit-learn. `k >= n_classes` counts every sample as a hit.
///
/// ```
/// use gradwork_metrics::top_k_accuracy;
///
/// let scores = [0.1, 0.5, 0.4, /* row 2 */ 0.7, 0.2, 0.1];
/// assert_eq!(top_k_accuracy(&[2, 1], &scores, 3, 1).unwrap(), 0.0);
/// assert_eq!(top_k_accuracy(&[2, 1], &scores, 3, 2).unwrap(), 1.0);
/// ```
pub fn top_k_accuracy<T: AsF64>(
    y_true: &[usize],
    y_score: &[T],
    n_classes: usize,
    k: usize,
) -> Result<f64> {
    let hits = top_k_accuracy_count(y_true, y_score, n_classes, k)?;
    Ok(hits as f64 / y_true.len() as f64)
}

/// [`top_k_accuracy`] of a `[n, C]` score tensor.
pub fn top_k_accuracy_from_scores(y_true: &[usize], scores: &Tensor, k: usize) -> Result<f64> {
    let (values, n_classes) = matrix_from_tensor("top_k_accuracy", "scores", scores)?;
    top_k_accuracy(y_true, &values, n_classes, k)
}
