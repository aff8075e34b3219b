//! Area under the ROC curve for binary labels.

use crate::error::{MetricsError, Result};
use crate::input::{check_labels, check_not_nan, check_pair, AsF64};
use gradwork_tensor::Tensor;

const METRIC: &str = "roc_auc";

/// Area under the ROC curve of scores `y_score` for binary labels `y_true` (0 or 1), as
/// scikit-learn's `roc_auc_score`.
///
/// It is computed as the Mann-Whitney statistic: the fraction of (positive, negative) pairs in
/// which the positive sample scores higher, a tie counting 1/2 (the same as the trapezoid rule on
/// the ROC curve). Each tie group adds `p * negatives_below + p * q / 2`, all whole or half
/// numbers, so the sum is exact in f64 up to 2^52 pairs.
///
/// With only one class in `y_true` the area is undefined: scikit-learn warns and returns NaN,
/// gradwork returns [`MetricsError::SingleClass`]. A NaN score is an error too.
///
/// ```
/// use gradwork_metrics::roc_auc;
///
/// assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap(), 0.75);
/// assert_eq!(roc_auc(&[0, 1], &[0.5f32, 0.5]).unwrap(), 0.5); // a tie counts 1/2
/// assert!(roc_auc(&[1, 1], &[0.2, 0.9]).is_err());               // one class only
/// ```
pub fn roc_auc<T: AsF64>(y_true: &[usize], y_score: &[T]) -> Result<f64> {
    check_pair(METRIC, y_true.len(), "y_score", y_score.len())?;
    check_labels(METRIC, "y_true", y_true, 2)?;
    check_not_nan(METRIC, "y_score", y_score)?;
    let n_pos = y_true.iter().filter(|&&y| y == 1).count();
    let n_neg = y_true.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(MetricsError::SingleClass {
            metric: METRIC,
            class: y_true[0],
        });
    }
    let mut order: Vec<(f64, usize)> = y_score
        .iter()
        .zip(y_true)
        .map(|(s, &y)| (s.as_f64(), y))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut u = 0.0f64;
    let mut negatives_below = 0.0f64;
    let mut start = 0;
    while start < order.len() {
        // `==` (not total_cmp) groups -0.0 with 0.0, which are adjacent after the sort.
        let mut end = start;
        while end < order.len() && order[end].0 == order[start].0 {
            end += 1;
        }
        let pos = order[start..end].iter().filter(|e| e.1 == 1).count() as f64;
        let neg = (end - start) as f64 - pos;
        u += pos * negatives_below + pos * neg * 0.5;
        negatives_below += neg;
        start = end;
    }
    Ok(u / (n_pos as f64 * n_neg as f64))
}

/// [`roc_auc`] of a score tensor: `[n]` or `[n, 1]` scores of the positive class, or `[n, 2]`
/// class probabilities / logits (column 1 is the positive class).
pub fn roc_auc_from_scores(y_true: &[usize], scores: &Tensor) -> Result<f64> {
    let shape = scores.shape();
    let values = scores.to_vec();
    match shape {
        [_] | [_, 1] => roc_auc(y_true, &values),
        [_, 2] => {
            let positive: Vec<f32> = values.chunks(2).map(|row| row[1]).collect();
            roc_auc(y_true, &positive)
        }
        _ => Err(MetricsError::InvalidShape {
            metric: METRIC,
            input: "scores",
            shape: shape.to_vec(),
            expected: "[n], [n, 1] or [n, 2]",
        }),
    }
}
