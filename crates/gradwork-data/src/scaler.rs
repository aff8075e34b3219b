//! Feature scalers as configurations that fit into fitted, serialisable types, so a transform
//! before a fit cannot compile. Statistics are accumulated in `f64` and transforms computed in
//! `f64` before rounding to `f32`: with values near 1e4, `f32` would lose the deviations.

use gradwork_tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// The shape `[n, d]` of `x`, or a shape error naming `op` when `x` is not a matrix with
/// `expected_d` columns (any `d` when `None`).
fn matrix_shape(op: &'static str, x: &Tensor, expected_d: Option<usize>) -> Result<(usize, usize)> {
    match (x.shape(), expected_d) {
        ([n, d], None) => Ok((*n, *d)),
        ([n, d], Some(e)) if *d == e => Ok((*n, *d)),
        (found, Some(e)) => Err(DataError::shape(op, format!("[n, {e}]"), found)),
        (found, None) => Err(DataError::shape(op, "[n, d]", found)),
    }
}

/// The columns of `x` as `f64`, refusing an empty matrix or a `NaN` (impute first).
fn columns_f64(op: &'static str, x: &Tensor) -> Result<(usize, Vec<Vec<f64>>)> {
    let (n, d) = matrix_shape(op, x, None)?;
    if n == 0 {
        return Err(DataError::invalid(op, "cannot fit on 0 rows"));
    }
    let data = x.to_vec();
    if let Some(k) = data.iter().position(|v| v.is_nan()) {
        return Err(DataError::invalid(
            op,
            format!(
                "row {}, column {} is NaN: impute missing values before scaling",
                k / d,
                k % d
            ),
        ));
    }
    let columns = (0..d)
        .map(|j| (0..n).map(|i| data[i * d + j] as f64).collect())
        .collect();
    Ok((n, columns))
}

/// Applies `f(value, column)` to every element of `x` in `f64`.
fn map_columns(
    op: &'static str,
    x: &Tensor,
    d: usize,
    f: impl Fn(f64, usize) -> f64,
) -> Result<Tensor> {
    let (n, d) = matrix_shape(op, x, Some(d))?;
    let data = x.to_vec();
    let out = data
        .iter()
        .enumerate()
        .map(|(k, &v)| f(v as f64, k % d) as f32)
        .collect();
    Ok(Tensor::try_from_vec(out, &[n, d])?)
}

/// Standardisation `(x - mean) / scale` per feature (scikit-learn's `StandardScaler`).
///
/// ```
/// use gradwork_data::StandardScaler;
/// use gradwork_tensor::Tensor;
/// let train = Tensor::from_vec(vec![1.0, 5.0, 3.0, 5.0], &[2, 2]);
/// let scaler = StandardScaler::default().fit(&train).unwrap();
/// assert_eq!(scaler.mean, vec![2.0, 5.0]);
/// assert_eq!(scaler.scale, vec![1.0, 1.0]); // the second feature is constant: scale 1
/// assert_eq!(scaler.transform(&train).unwrap().to_vec(), vec![-1.0, 0.0, 1.0, 0.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardScaler {
    /// Subtract the mean.
    pub with_mean: bool,
    /// Divide by the population standard deviation.
    pub with_std: bool,
}

impl Default for StandardScaler {
    fn default() -> Self {
        StandardScaler {
            with_mean: true,
            with_std: true,
        }
    }
}

/// A fitted [`StandardScaler`], with scikit-learn's attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedStandardScaler {
    /// The configuration it was fitted with.
    pub config: StandardScaler,
    /// Per-feature mean (`mean_`; computed even when `with_mean` is false, as scikit-learn).
    pub mean: Vec<f64>,
    /// Per-feature population variance (`var_`, ddof 0).
    pub var: Vec<f64>,
    /// Per-feature divisor (`scale_`): the standard deviation, or 1 for a constant feature or
    /// when `with_std` is false.
    pub scale: Vec<f64>,
    /// The number of rows fitted on (`n_samples_seen_`).
    pub n_samples_seen: usize,
}

/// scikit-learn's `_is_constant_feature`: the variance is within rounding error of zero.
fn is_constant_feature(var: f64, mean: f64, n: usize) -> bool {
    let eps = f64::EPSILON;
    let n = n as f64;
    var <= n * eps * var + (n * mean * eps).powi(2)
}

impl StandardScaler {
    /// Fits the per-feature mean and variance of `train` (`[n, d]`), two-pass in `f64`.
    pub fn fit(&self, train: &Tensor) -> Result<FittedStandardScaler> {
        let (n, columns) = columns_f64("StandardScaler::fit", train)?;
        let mut mean = Vec::with_capacity(columns.len());
        let mut var = Vec::with_capacity(columns.len());
        let mut scale = Vec::with_capacity(columns.len());
        for column in &columns {
            let m = column.iter().sum::<f64>() / n as f64;
            let v = column.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
            let constant = is_constant_feature(v, m, n) || v.sqrt() < 10.0 * f64::EPSILON;
            scale.push(if self.with_std && !constant {
                v.sqrt()
            } else {
                1.0
            });
            mean.push(m);
            var.push(v);
        }
        Ok(FittedStandardScaler {
            config: *self,
            mean,
            var,
            scale,
            n_samples_seen: n,
        })
    }
}

impl FittedStandardScaler {
    /// `(x - mean) / scale` for `x` of shape `[n, d]`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        map_columns("StandardScaler::transform", x, self.mean.len(), |v, j| {
            (v - self.center(j)) / self.scale[j]
        })
    }

    /// `x * scale + mean`, the inverse of [`FittedStandardScaler::transform`].
    pub fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        map_columns(
            "StandardScaler::inverse_transform",
            x,
            self.mean.len(),
            |v, j| v * self.scale[j] + self.center(j),
        )
    }

    /// What is subtracted from feature `j`: its mean, or 0 without centring.
    fn center(&self, j: usize) -> f64 {
        if self.config.with_mean {
            self.mean[j]
        } else {
            0.0
        }
    }
}

/// Rescaling of each feature to `feature_range` (scikit-learn's `MinMaxScaler`, no clipping).
///
/// ```
/// use gradwork_data::MinMaxScaler;
/// use gradwork_tensor::Tensor;
/// let train = Tensor::from_vec(vec![0.0, 10.0, 20.0], &[3, 1]);
/// let scaler = MinMaxScaler { feature_range: (-1.0, 1.0) }.fit(&train).unwrap();
/// assert_eq!(scaler.transform(&train).unwrap().to_vec(), vec![-1.0, 0.0, 1.0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScaler {
    /// The target range `(low, high)`, `low < high`.
    pub feature_range: (f64, f64),
}

impl Default for MinMaxScaler {
    fn default() -> Self {
        MinMaxScaler {
            feature_range: (0.0, 1.0),
        }
    }
}

/// A fitted [`MinMaxScaler`], with scikit-learn's attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMinMaxScaler {
    /// The configuration it was fitted with.
    pub config: MinMaxScaler,
    /// Per-feature minimum (`data_min_`).
    pub data_min: Vec<f64>,
    /// Per-feature maximum (`data_max_`).
    pub data_max: Vec<f64>,
    /// `data_max - data_min` (`data_range_`).
    pub data_range: Vec<f64>,
    /// `(high - low) / data_range`, with a range below `10 * eps` taken as 1 (`scale_`).
    pub scale: Vec<f64>,
    /// `low - data_min * scale` (`min_`).
    pub min: Vec<f64>,
    /// The number of rows fitted on (`n_samples_seen_`).
    pub n_samples_seen: usize,
}

impl MinMaxScaler {
    /// Fits the per-feature minimum and maximum of `train` (`[n, d]`).
    pub fn fit(&self, train: &Tensor) -> Result<FittedMinMaxScaler> {
        let (low, high) = self.feature_range;
        if low.partial_cmp(&high) != Some(std::cmp::Ordering::Less) {
            return Err(DataError::invalid(
                "MinMaxScaler::fit",
                format!("feature_range ({low}, {high}): the minimum must be below the maximum"),
            ));
        }
        let (n, columns) = columns_f64("MinMaxScaler::fit", train)?;
        let mut fitted = FittedMinMaxScaler {
            config: *self,
            data_min: Vec::new(),
            data_max: Vec::new(),
            data_range: Vec::new(),
            scale: Vec::new(),
            min: Vec::new(),
            n_samples_seen: n,
        };
        for column in &columns {
            let lo = column.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = column.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let range = hi - lo;
            let divisor = if range < 10.0 * f64::EPSILON {
                1.0
            } else {
                range
            };
            let scale = (high - low) / divisor;
            fitted.data_min.push(lo);
            fitted.data_max.push(hi);
            fitted.data_range.push(range);
            fitted.scale.push(scale);
            fitted.min.push(low - lo * scale);
        }
        Ok(fitted)
    }
}

impl FittedMinMaxScaler {
    /// `x * scale + min` for `x` of shape `[n, d]`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        map_columns("MinMaxScaler::transform", x, self.scale.len(), |v, j| {
            v * self.scale[j] + self.min[j]
        })
    }

    /// `(x - min) / scale`, the inverse of [`FittedMinMaxScaler::transform`].
    pub fn inverse_transform(&self, x: &Tensor) -> Result<Tensor> {
        map_columns(
            "MinMaxScaler::inverse_transform",
            x,
            self.scale.len(),
            |v, j| (v - self.min[j]) / self.scale[j],
        )
    }
}
