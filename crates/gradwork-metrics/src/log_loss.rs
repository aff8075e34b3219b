//! Logistic (cross-entropy) loss of predicted probabilities.

use crate::error::{MetricsError, Result};
use crate::input::{check_labels, check_matrix, check_pair, AsF64};
use gradwork_tensor::Tensor;

const METRIC: &str = "log_loss";

/// How per-sample values are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean over samples (scikit-learn's `normalize=True`).
    #[default]
    Mean,
    /// The sum over samples (`normalize=False`).
    Sum,
}

/// -ln(p) with p clipped to `[eps, 1 - eps]`, eps = f64 machine epsilon (scikit-learn's clip:
/// a probability of exactly 0 on the true class costs -ln(2.2e-16) = 36.04, not infinity).
fn clipped_neg_ln(p: f64) -> f64 {
    -p.clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()
}

fn check_probability(input: &'static str, index: usize, p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(MetricsError::InvalidValue {
            metric: METRIC,
            input,
            index,
            value: p,
            reason: "a probability must lie in [0, 1]",
        })
    }
}

fn reduce(sum: f64, n: usize, reduction: Reduction) -> f64 {
    match reduction {
        Reduction::Mean => sum / n as f64,
        Reduction::Sum => sum,
    }
}

/// Multiclass log loss: `-ln P[i, y_true[i]]` per sample, with `y_prob` a row-major
/// `[n, n_classes]` matrix of probabilities clipped to `[eps, 1 - eps]` (f64 eps). Rows are not
/// renormalised (scikit-learn >= 1.5 does not either). Probabilities outside [0, 1] or NaN are
/// errors.
///
/// ```
/// use gradwork_metrics::{log_loss, Reduction};
///
/// let probs = [0.9, 0.1, /* row 2 */ 0.2, 0.8];
/// let loss = log_loss(&[0, 1], &probs, 2, Reduction::Mean).unwrap();
/// assert!((loss - (-(0.9f64.ln()) - 0.8f64.ln()) / 2.0).abs() < 1e-15);
/// ```
pub fn log_loss<T: AsF64>(
    y_true: &[usize],
    y_prob: &[T],
    n_classes: usize,
    reduction: Reduction,
) -> Result<f64> {
    check_matrix(METRIC, y_true.len(), y_prob.len(), n_classes)?;
    check_labels(METRIC, "y_true", y_true, n_classes)?;
    for (index, p) in y_prob.iter().enumerate() {
        check_probability("y_prob", index, p.as_f64())?;
    }
    let mut sum = 0.0f64;
    for (i, &label) in y_true.iter().enumerate() {
        sum += clipped_neg_ln(y_prob[i * n_classes + label].as_f64());
    }
    Ok(reduce(sum, y_true.len(), reduction))
}

/// Binary log loss from `p_positive`, the probability of class 1: a sample of class 0 costs
/// `-ln(1 - p)` and one of class 1 costs `-ln(p)`, each probability clipped to `[eps, 1 - eps]`
/// after forming `1 - p` (as scikit-learn does).
pub fn binary_log_loss<T: AsF64>(
    y_true: &[usize],
    p_positive: &[T],
    reduction: Reduction,
) -> Result<f64> {
    check_pair(METRIC, y_true.len(), "p_positive", p_positive.len())?;
    check_labels(METRIC, "y_true", y_true, 2)?;
    for (index, p) in p_positive.iter().enumerate() {
        check_probability("p_positive", index, p.as_f64())?;
    }
    let mut sum = 0.0f64;
    for (&label, p) in y_true.iter().zip(p_positive) {
        let p = p.as_f64();
        sum += clipped_neg_ln(if label == 1 { p } else { 1.0 - p });
    }
    Ok(reduce(sum, y_true.len(), reduction))
}

/// Log loss of a probability tensor: `[n]` is read as P(class 1) ([`binary_log_loss`]), `[n, C]`
/// as class probabilities ([`log_loss`]).
pub fn log_loss_from_probs(y_true: &[usize], probs: &Tensor, reduction: Reduction) -> Result<f64> {
    match probs.shape() {
        [_] => binary_log_loss(y_true, &probs.to_vec(), reduction),
        [_, c] if *c > 0 => log_loss(y_true, &probs.to_vec(), *c, reduction),
        shape => Err(MetricsError::InvalidShape {
            metric: METRIC,
            input: "probs",
            shape: shape.to_vec(),
            expected: "[n] (P(class 1)) or [n, C] with C >= 1",
        }),
    }
}
