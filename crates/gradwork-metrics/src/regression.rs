//! Regression metrics: MSE, MAE, RMSE and R², single- and multi-output.
//!
//! Sums run in f64 in sample order, so the streaming metrics (which add one value at a time in the
//! same order) give bit-identical results.

use crate::error::{MetricsError, Result};
use crate::input::AsF64;
use gradwork_tensor::Tensor;

/// Checks lengths, shape, emptiness and finiteness of a row-major `[n, n_outputs]` pair.
fn check_regression<T: AsF64>(
    metric: &'static str,
    y_true: &[T],
    y_pred: &[T],
    n_outputs: usize,
) -> Result<usize> {
    crate::input::check_pair(metric, y_true.len(), "y_pred", y_pred.len())?;
    if n_outputs == 0 || !y_true.len().is_multiple_of(n_outputs) {
        return Err(MetricsError::InvalidArgument {
            metric,
            reason: format!(
                "{} values do not form rows of n_outputs = {n_outputs}",
                y_true.len()
            ),
        });
    }
    for (input, values) in [("y_true", y_true), ("y_pred", y_pred)] {
        if let Some(index) = values.iter().position(|v| !v.as_f64().is_finite()) {
            return Err(MetricsError::InvalidValue {
                metric,
                input,
                index,
                value: values[index].as_f64(),
                reason: "regression targets and predictions must be finite",
            });
        }
    }
    Ok(y_true.len() / n_outputs)
}

/// The sequential f64 sum over the samples of output `column` of `f(true, pred)`.
fn column_sum<T: AsF64>(
    y_true: &[T],
    y_pred: &[T],
    n_outputs: usize,
    column: usize,
    f: impl Fn(f64, f64) -> f64,
) -> f64 {
    let mut sum = 0.0f64;
    for i in (column..y_true.len()).step_by(n_outputs) {
        sum += f(y_true[i].as_f64(), y_pred[i].as_f64());
    }
    sum
}

/// R² of one output, with scikit-learn's `force_finite`: a constant target gives 1.0 for a perfect
/// prediction and 0.0 otherwise (instead of NaN / -inf).
fn r2_column<T: AsF64>(y_true: &[T], y_pred: &[T], n_outputs: usize, column: usize) -> f64 {
    let n = (y_true.len() / n_outputs) as f64;
    let mean = column_sum(y_true, y_pred, n_outputs, column, |t, _| t) / n;
    let ss_tot = column_sum(y_true, y_pred, n_outputs, column, |t, _| {
        (t - mean) * (t - mean)
    });
    let ss_res = column_sum(y_true, y_pred, n_outputs, column, |t, p| (t - p) * (t - p));
    if ss_tot != 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res == 0.0 {
        1.0
    } else {
        0.0
    }
}

fn squared(t: f64, p: f64) -> f64 {
    (t - p) * (t - p)
}

fn absolute(t: f64, p: f64) -> f64 {
    (t - p).abs()
}

/// Mean squared error of a single output.
///
/// ```
/// use gradwork_metrics::mean_squared_error;
///
/// assert_eq!(mean_squared_error(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0]).unwrap(), 4.0 / 3.0);
/// ```
pub fn mean_squared_error<T: AsF64>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    let n = check_regression("mean_squared_error", y_true, y_pred, 1)?;
    Ok(column_sum(y_true, y_pred, 1, 0, squared) / n as f64)
}

/// Mean absolute error of a single output.
pub fn mean_absolute_error<T: AsF64>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    let n = check_regression("mean_absolute_error", y_true, y_pred, 1)?;
    Ok(column_sum(y_true, y_pred, 1, 0, absolute) / n as f64)
}

/// Root mean squared error of a single output.
pub fn root_mean_squared_error<T: AsF64>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    let n = check_regression("root_mean_squared_error", y_true, y_pred, 1)?;
    Ok((column_sum(y_true, y_pred, 1, 0, squared) / n as f64).sqrt())
}

/// Coefficient of determination R² of a single output (1 is perfect, 0 is as good as predicting
/// the mean, and it can be negative). A constant `y_true` gives 1.0 for a perfect prediction and
/// 0.0 otherwise, like scikit-learn's `force_finite=True`. Needs at least two samples (scikit-learn
/// returns NaN for one; gradwork returns an error).
///
/// ```
/// use gradwork_metrics::r2_score;
///
/// assert_eq!(r2_score(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap(), 1.0);
/// assert_eq!(r2_score(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]).unwrap(), 0.0);
/// ```
pub fn r2_score<T: AsF64>(y_true: &[T], y_pred: &[T]) -> Result<f64> {
    let n = check_regression("r2_score", y_true, y_pred, 1)?;
    if n < 2 {
        return Err(MetricsError::InvalidArgument {
            metric: "r2_score",
            reason: "R² needs at least two samples, got 1".to_string(),
        });
    }
    Ok(r2_column(y_true, y_pred, 1, 0))
}

/// Every regression metric of one prediction, per output and averaged uniformly over outputs
/// (scikit-learn's `multioutput="uniform_average"` and `"raw_values"`).
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionScores {
    /// Mean over outputs of the per-output MSE.
    pub mse: f64,
    /// Mean over outputs of the per-output MAE.
    pub mae: f64,
    /// Mean over outputs of the per-output RMSE (not the square root of `mse`).
    pub rmse: f64,
    /// Mean over outputs of the per-output R² (NaN with fewer than two samples).
    pub r2: f64,
    /// MSE of each output.
    pub mse_per_output: Vec<f64>,
    /// MAE of each output.
    pub mae_per_output: Vec<f64>,
    /// RMSE of each output.
    pub rmse_per_output: Vec<f64>,
    /// R² of each output (NaN with fewer than two samples).
    pub r2_per_output: Vec<f64>,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

impl RegressionScores {
    /// Scores of row-major `[n, n_outputs]` targets and predictions (`n_outputs = 1` for a
    /// single output).
    ///
    /// ```
    /// use gradwork_metrics::RegressionScores;
    ///
    /// // Two outputs; the second is predicted perfectly.
    /// let s = RegressionScores::compute(&[1.0, 5.0, 3.0, 7.0], &[2.0, 5.0, 3.0, 7.0], 2).unwrap();
    /// assert_eq!(s.mse_per_output, vec![0.5, 0.0]);
    /// assert_eq!(s.rmse, 0.5f64.sqrt() / 2.0);
    /// assert_eq!(s.r2_per_output, vec![0.5, 1.0]);
    /// ```
    pub fn compute<T: AsF64>(y_true: &[T], y_pred: &[T], n_outputs: usize) -> Result<Self> {
        let n = check_regression("regression_scores", y_true, y_pred, n_outputs)?;
        let per = |f: fn(f64, f64) -> f64| -> Vec<f64> {
            (0..n_outputs)
                .map(|c| column_sum(y_true, y_pred, n_outputs, c, f) / n as f64)
                .collect()
        };
        let mse_per_output = per(squared);
        let mae_per_output = per(absolute);
        let rmse_per_output: Vec<f64> = mse_per_output.iter().map(|m| m.sqrt()).collect();
        let r2_per_output: Vec<f64> = (0..n_outputs)
            .map(|c| {
                if n < 2 {
                    f64::NAN
                } else {
                    r2_column(y_true, y_pred, n_outputs, c)
                }
            })
            .collect();
        Ok(RegressionScores {
            mse: mean(&mse_per_output),
            mae: mean(&mae_per_output),
            rmse: mean(&rmse_per_output),
            r2: mean(&r2_per_output),
            mse_per_output,
            mae_per_output,
            rmse_per_output,
            r2_per_output,
        })
    }

    /// Scores of two tensors of the same shape, `[n]` (one output) or `[n, outputs]`.
    pub fn from_tensors(y_true: &Tensor, y_pred: &Tensor) -> Result<Self> {
        const METRIC: &str = "regression_scores";
        if y_true.shape() != y_pred.shape() {
            return Err(MetricsError::InvalidShape {
                metric: METRIC,
                input: "y_pred",
                shape: y_pred.shape().to_vec(),
                expected: "the same shape as y_true",
            });
        }
        let n_outputs = match y_true.shape() {
            [_] => 1,
            [_, outputs] => *outputs,
            shape => {
                return Err(MetricsError::InvalidShape {
                    metric: METRIC,
                    input: "y_true",
                    shape: shape.to_vec(),
                    expected: "[n] or [n, outputs]",
                })
            }
        };
        RegressionScores::compute(&y_true.to_vec(), &y_pred.to_vec(), n_outputs)
    }
}
