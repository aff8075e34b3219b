//! Streaming regression errors: MSE and MAE over every element seen.

use super::{check_batch_lengths, unsupported, Batch, Metric};
use crate::error::{MetricsError, Result};
use gradwork_tensor::Tensor;
use std::borrow::Cow;

/// The running sum of a per-element regression error.
#[derive(Debug, Clone, Default, PartialEq)]
struct ErrorSum {
    sum: f64,
    count: u64,
}

impl ErrorSum {
    fn update(
        &mut self,
        metric: &'static str,
        batch: &Batch<'_>,
        error: fn(f64, f64) -> f64,
    ) -> Result<()> {
        let (y_true, y_pred): (Cow<'_, [f64]>, Cow<'_, [f64]>) = match *batch {
            Batch::Values { y_true, y_pred } => (Cow::Borrowed(y_true), Cow::Borrowed(y_pred)),
            Batch::Tensors { y_true, y_pred } => {
                if y_true.shape() != y_pred.shape() {
                    return Err(MetricsError::InvalidShape {
                        metric,
                        input: "y_pred",
                        shape: y_pred.shape().to_vec(),
                        expected: "the same shape as y_true",
                    });
                }
                let widen = |t: &Tensor| t.to_vec().into_iter().map(f64::from).collect();
                (Cow::Owned(widen(y_true)), Cow::Owned(widen(y_pred)))
            }
            _ => return Err(unsupported(metric, batch, "Values or Tensors")),
        };
        check_batch_lengths(metric, y_true.len(), y_pred.len())?;
        // Reject non-finite values before adding anything, as the one-shot functions do.
        for (input, values) in [("y_true", &y_true), ("y_pred", &y_pred)] {
            if let Some(index) = values.iter().position(|v| !v.is_finite()) {
                return Err(MetricsError::InvalidValue {
                    metric,
                    input,
                    index,
                    value: values[index],
                    reason: "regression targets and predictions must be finite",
                });
            }
        }
        for (&t, &p) in y_true.iter().zip(y_pred.iter()) {
            self.sum += error(t, p);
        }
        self.count += y_true.len() as u64;
        Ok(())
    }

    fn mean(&self, metric: &'static str) -> Result<f64> {
        match self.count {
            0 => Err(MetricsError::Empty { metric }),
            count => Ok(self.sum / count as f64),
        }
    }
}

/// Streaming mean squared error over every element (equal to
/// [`mean_squared_error`](crate::mean_squared_error) of the concatenated batches).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeanSquaredError(ErrorSum);

impl MeanSquaredError {
    /// A metric with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Metric for MeanSquaredError {
    fn name(&self) -> &str {
        "mse"
    }

    fn update(&mut self, batch: &Batch<'_>) -> Result<()> {
        self.0.update("mse", batch, |t, p| (t - p) * (t - p))
    }

    fn compute(&self) -> Result<f64> {
        self.0.mean("mse")
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

/// Streaming mean absolute error over every element.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeanAbsoluteError(ErrorSum);

impl MeanAbsoluteError {
    /// A metric with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Metric for MeanAbsoluteError {
    fn name(&self) -> &str {
        "mae"
    }

    fn update(&mut self, batch: &Batch<'_>) -> Result<()> {
        self.0.update("mae", batch, |t, p| (t - p).abs())
    }

    fn compute(&self) -> Result<f64> {
        self.0.mean("mae")
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}
