//! Filling missing feature values (`NaN`) with per-column statistics fitted on training rows only,
//! so no information leaks from the test rows into the training features.

use gradwork_tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// Which statistic replaces a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImputeStrategy {
    /// The column's mean over its present values (accumulated in `f64`).
    Mean,
    /// The column's median (the mean of the two middle values for an even count, as NumPy).
    Median,
    /// The column's most frequent value (the smallest one on ties, as scikit-learn).
    MostFrequent,
}

/// An imputer configuration: fit it on the training features to get a [`FittedImputer`].
///
/// ```
/// use gradwork_data::{ImputeStrategy, Imputer};
/// use gradwork_tensor::Tensor;
/// let train = Tensor::from_vec(vec![1.0, f32::NAN, 3.0, 4.0, f32::NAN, 8.0], &[3, 2]);
/// let imputer = Imputer { strategy: ImputeStrategy::Mean }.fit(&train).unwrap();
/// assert_eq!(imputer.statistics, vec![2.0, 6.0]);
/// let test = Tensor::from_vec(vec![f32::NAN, 1.0], &[1, 2]);
/// assert_eq!(imputer.transform(&test).unwrap().to_vec(), vec![2.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Imputer {
    /// The statistic used.
    pub strategy: ImputeStrategy,
}

/// A fitted imputer: one fill value per column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedImputer {
    /// The strategy it was fitted with.
    pub strategy: ImputeStrategy,
    /// The fill value of each column.
    pub statistics: Vec<f32>,
}

fn check_matrix(op: &'static str, x: &Tensor) -> Result<(usize, usize)> {
    match x.shape() {
        [n, d] => Ok((*n, *d)),
        other => Err(DataError::shape(op, "[n, d]", other)),
    }
}

impl Imputer {
    /// Fits the per-column statistics on `train` (`[n, d]`, missing values are `NaN`). A column
    /// with no present value is an error (there is nothing to fill it with).
    pub fn fit(&self, train: &Tensor) -> Result<FittedImputer> {
        let (n, d) = check_matrix("Imputer::fit", train)?;
        let data = train.to_vec();
        let mut statistics = Vec::with_capacity(d);
        for j in 0..d {
            let mut present: Vec<f32> = (0..n)
                .map(|i| data[i * d + j])
                .filter(|x| !x.is_nan())
                .collect();
            if present.is_empty() {
                return Err(DataError::invalid(
                    "Imputer::fit",
                    format!("column {j} (0-based) has no present value in the {n} training rows"),
                ));
            }
            present.sort_by(f32::total_cmp);
            let value = match self.strategy {
                ImputeStrategy::Mean => {
                    (present.iter().map(|&x| x as f64).sum::<f64>() / present.len() as f64) as f32
                }
                ImputeStrategy::Median => {
                    let m = present.len() / 2;
                    if present.len() % 2 == 1 {
                        present[m]
                    } else {
                        ((present[m - 1] as f64 + present[m] as f64) / 2.0) as f32
                    }
                }
                ImputeStrategy::MostFrequent => most_frequent(&present),
            };
            statistics.push(value);
        }
        Ok(FittedImputer {
            strategy: self.strategy,
            statistics,
        })
    }

    /// Fits on the rows `train_rows` of `features` only.
    pub fn fit_rows(&self, features: &Tensor, train_rows: &[usize]) -> Result<FittedImputer> {
        self.fit(&features.try_index_select(0, train_rows)?)
    }
}

/// The most frequent value of a sorted slice; the first (smallest) wins ties.
fn most_frequent(sorted: &[f32]) -> f32 {
    let (mut best, mut best_count) = (sorted[0], 0);
    let mut i = 0;
    while i < sorted.len() {
        let j = sorted[i..]
            .iter()
            .position(|&x| x != sorted[i])
            .map_or(sorted.len(), |k| i + k);
        if j - i > best_count {
            best = sorted[i];
            best_count = j - i;
        }
        i = j;
    }
    best
}

impl FittedImputer {
    /// `x` (`[n, d]`) with every `NaN` replaced by its column's statistic.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let (n, d) = check_matrix("FittedImputer::transform", x)?;
        if d != self.statistics.len() {
            return Err(DataError::shape(
                "FittedImputer::transform",
                format!("[n, {}]", self.statistics.len()),
                x.shape(),
            ));
        }
        let mut data = x.to_vec();
        for (k, value) in data.iter_mut().enumerate() {
            if value.is_nan() {
                *value = self.statistics[k % d];
            }
        }
        Ok(Tensor::try_from_vec(data, &[n, d])?)
    }
}
