//! Reductions and normalisations: sum, mean, var, max/min, logsumexp, softmax, log_softmax.

use gradwork_tensor::{Axis, Tensor};

use crate::error::{or_panic, Result};
use crate::var::Var;

/// Spreads a reduced gradient back over the input's shape: re-inserts the reduced axis (when
/// `keepdim` removed it) and broadcasts.
fn expand_reduced(g: &Tensor, shape: &[usize], axis: usize, keepdim: bool) -> Result<Tensor> {
    let g = if keepdim {
        g.clone()
    } else {
        g.try_unsqueeze(axis)?
    };
    Ok(g.try_broadcast_to(shape)?.contiguous())
}

impl Var {
    /// Sum of every element (a 0-d result).
    pub fn try_sum_all(&self) -> Result<Var> {
        let shape = self.shape().to_vec();
        Var::from_op("sum_all", &[self], self.value().sum_all(), move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(Tensor::full(&shape, g.item()))])
        })
    }

    /// Sum of every element (see [`Var::try_sum_all`]; panics only in anomaly mode).
    #[track_caller]
    pub fn sum_all(&self) -> Var {
        or_panic(self.try_sum_all())
    }

    /// Mean of every element (a 0-d result).
    pub fn try_mean_all(&self) -> Result<Var> {
        let shape = self.shape().to_vec();
        let n = self.value().numel() as f32;
        Var::from_op("mean_all", &[self], self.value().mean_all(), move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(Tensor::full(&shape, g.item() / n))])
        })
    }

    /// Mean of every element (see [`Var::try_mean_all`]; panics only in anomaly mode).
    #[track_caller]
    pub fn mean_all(&self) -> Var {
        or_panic(self.try_mean_all())
    }

    /// The largest element (a 0-d result); the gradient goes to the first position holding it.
    /// An empty tensor is an error.
    pub fn try_max_all(&self) -> Result<Var> {
        let n = self.value().numel();
        self.try_reshape(&[n])?.try_max(0, false)
    }

    /// The largest element (see [`Var::try_max_all`]).
    #[track_caller]
    pub fn max_all(&self) -> Var {
        or_panic(self.try_max_all())
    }

    /// The smallest element (a 0-d result); the gradient goes to the first position holding it.
    /// An empty tensor is an error.
    pub fn try_min_all(&self) -> Result<Var> {
        let n = self.value().numel();
        self.try_reshape(&[n])?.try_min(0, false)
    }

    /// The smallest element (see [`Var::try_min_all`]).
    #[track_caller]
    pub fn min_all(&self) -> Var {
        or_panic(self.try_min_all())
    }

    /// Sum along `axis`.
    pub fn try_sum(&self, axis: impl Axis, keepdim: bool) -> Result<Var> {
        let axis = axis.resolve("sum", self.shape())?;
        let value = self.value().try_sum(axis, keepdim)?;
        let shape = self.shape().to_vec();
        Var::from_op("sum", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| Ok(vec![Some(expand_reduced(g, &shape, axis, keepdim)?)])
        })
    }

    /// Sum along `axis`.
    #[track_caller]
    pub fn sum(&self, axis: impl Axis, keepdim: bool) -> Var {
        or_panic(self.try_sum(axis, keepdim))
    }

    /// Sum over several axes.
    pub fn try_sum_axes<A: Axis>(&self, axes: &[A], keepdim: bool) -> Result<Var> {
        let shape = self.shape().to_vec();
        // The keepdim result's shape is also the shape the gradient is broadcast from.
        let kept = self.value().try_sum_axes(axes, true)?;
        let kept_shape = kept.shape().to_vec();
        let value = if keepdim {
            kept
        } else {
            let mut reduced = axes
                .iter()
                .map(|a| a.resolve("sum_axes", &shape))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            reduced.sort_unstable();
            reduced.dedup();
            let out: Vec<usize> = (0..shape.len())
                .filter(|a| !reduced.contains(a))
                .map(|a| shape[a])
                .collect();
            kept.try_reshape(&out)?
        };
        Var::from_op("sum_axes", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                let g = g.try_reshape(&kept_shape)?;
                Ok(vec![Some(g.try_broadcast_to(&shape)?.contiguous())])
            }
        })
    }

    /// Sum over several axes.
    #[track_caller]
    pub fn sum_axes<A: Axis>(&self, axes: &[A], keepdim: bool) -> Var {
        or_panic(self.try_sum_axes(axes, keepdim))
    }

    /// Mean along `axis`.
    pub fn try_mean(&self, axis: impl Axis, keepdim: bool) -> Result<Var> {
        let axis = axis.resolve("mean", self.shape())?;
        let len = self.shape()[axis] as f32;
        self.try_sum(axis, keepdim)?.try_mul_scalar(1.0 / len)
    }

    /// Mean along `axis`.
    #[track_caller]
    pub fn mean(&self, axis: impl Axis, keepdim: bool) -> Var {
        or_panic(self.try_mean(axis, keepdim))
    }

    /// Mean over several axes.
    #[track_caller]
    pub fn mean_axes<A: Axis>(&self, axes: &[A], keepdim: bool) -> Var {
        or_panic(self.try_mean_axes(axes, keepdim))
    }

    /// Mean over several axes.
    pub fn try_mean_axes<A: Axis>(&self, axes: &[A], keepdim: bool) -> Result<Var> {
        let summed = self.try_sum_axes(axes, keepdim)?;
        let count = self.value().numel() / summed.value().numel().max(1);
        summed.try_mul_scalar(1.0 / count as f32)
    }

    /// Variance along `axis` with `correction` (0: biased, 1: unbiased).
    pub fn try_var(&self, axis: impl Axis, correction: usize, keepdim: bool) -> Result<Var> {
        let axis = axis.resolve("var", self.shape())?;
        let value = self.value().try_var(axis, correction, keepdim)?;
        let x = self.value().clone();
        Var::from_op("var", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                // d var / dx_i = 2 (x_i - mean) / (n - correction)
                let n = x.shape()[axis] as f32;
                let centered = x.try_sub(&x.try_mean(axis, true)?)?;
                let g = expand_reduced(g, x.shape(), axis, keepdim)?;
                Ok(vec![Some(
                    centered
                        .mul_scalar(2.0 / (n - correction as f32))
                        .try_mul(&g)?,
                )])
            }
        })
    }

    /// Variance along `axis`.
    #[track_caller]
    pub fn var(&self, axis: impl Axis, correction: usize, keepdim: bool) -> Var {
        or_panic(self.try_var(axis, correction, keepdim))
    }

    /// Maximum along `axis`. The gradient goes to the first index that attains the maximum
    /// (ties are routed to one index, not split).
    pub fn try_max(&self, axis: impl Axis, keepdim: bool) -> Result<Var> {
        self.extremum("max", axis, keepdim)
    }

    /// Maximum along `axis`.
    #[track_caller]
    pub fn max(&self, axis: impl Axis, keepdim: bool) -> Var {
        or_panic(self.try_max(axis, keepdim))
    }

    /// Minimum along `axis` (gradient to the first index attaining it).
    pub fn try_min(&self, axis: impl Axis, keepdim: bool) -> Result<Var> {
        self.extremum("min", axis, keepdim)
    }

    /// Minimum along `axis`.
    #[track_caller]
    pub fn min(&self, axis: impl Axis, keepdim: bool) -> Var {
        or_panic(self.try_min(axis, keepdim))
    }

    /// `name` is `"max"` or `"min"`.
    fn extremum(&self, name: &'static str, axis: impl Axis, keepdim: bool) -> Result<Var> {
        let is_max = name == "max";
        let axis = axis.resolve(name, self.shape())?;
        let (value, index) = if is_max {
            (
                self.value().try_max(axis, keepdim)?,
                self.value().try_argmax(axis)?,
            )
        } else {
            (
                self.value().try_min(axis, keepdim)?,
                self.value().try_argmin(axis)?,
            )
        };
        let shape = self.shape().to_vec();
        Var::from_op(name, &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                let mut index_shape = shape.clone();
                index_shape[axis] = 1;
                let g = g.try_reshape(&index_shape)?;
                Ok(vec![Some(g.try_scatter_add(axis, &index, &shape)?)])
            }
        })
    }

    /// `log(sum(exp(x)))` along `axis`, overflow-free; gradient `softmax(x)`.
    pub fn try_logsumexp(&self, axis: impl Axis, keepdim: bool) -> Result<Var> {
        let axis = axis.resolve("logsumexp", self.shape())?;
        let value = self.value().try_logsumexp(axis, keepdim)?;
        let x = self.value().clone();
        Var::from_op("logsumexp", &[self], value, move || {
            move |g: &Tensor, _: &[bool]| {
                let g = expand_reduced(g, x.shape(), axis, keepdim)?;
                Ok(vec![Some(x.try_softmax(axis)?.try_mul(&g)?)])
            }
        })
    }

    /// `log(sum(exp(x)))` along `axis`.
    #[track_caller]
    pub fn logsumexp(&self, axis: impl Axis, keepdim: bool) -> Var {
        or_panic(self.try_logsumexp(axis, keepdim))
    }

    /// Softmax along `axis`; backward `y * (g - sum(g * y))`.
    pub fn try_softmax(&self, axis: impl Axis) -> Result<Var> {
        let axis = axis.resolve("softmax", self.shape())?;
        let y = self.value().try_softmax(axis)?;
        let saved = y.clone();
        Var::from_op("softmax", &[self], y, move || {
            move |g: &Tensor, _: &[bool]| {
                let dot = g.try_mul(&saved)?.try_sum(axis, true)?;
                Ok(vec![Some(saved.try_mul(&g.try_sub(&dot)?)?)])
            }
        })
    }

    /// Softmax along `axis`.
    #[track_caller]
    pub fn softmax(&self, axis: impl Axis) -> Var {
        or_panic(self.try_softmax(axis))
    }

    /// Log-softmax along `axis`; backward `g - softmax(x) * sum(g)`.
    pub fn try_log_softmax(&self, axis: impl Axis) -> Result<Var> {
        let axis = axis.resolve("log_softmax", self.shape())?;
        let y = self.value().try_log_softmax(axis)?;
        let saved = y.clone();
        Var::from_op("log_softmax", &[self], y, move || {
            move |g: &Tensor, _: &[bool]| {
                let total = g.try_sum(axis, true)?;
                Ok(vec![Some(g.try_sub(&saved.exp().try_mul(&total)?)?)])
            }
        })
    }

    /// Log-softmax along `axis`.
    #[track_caller]
    pub fn log_softmax(&self, axis: impl Axis) -> Var {
        or_panic(self.try_log_softmax(axis))
    }
}
