//! Normalisation layers: `LayerNorm` (per sample, over the last axis) and `BatchNorm1d` /
//! `BatchNorm2d` (per channel, over the batch, with running statistics kept as buffers).

use gradwork_autodiff::Var;
use gradwork_tensor::Tensor;

use crate::ctx::Ctx;
use crate::error::{NnError, Result};
use crate::module::{join_path, Module};
use crate::param::Param;

/// PyTorch's default `eps` for both normalisations.
pub const DEFAULT_EPS: f32 = 1e-5;

/// PyTorch's default BatchNorm momentum (weight of the new batch in the running averages).
pub const DEFAULT_MOMENTUM: f32 = 0.1;

/// `(x - mean) / sqrt(var + eps) * weight + bias` over the last axis, with the **biased**
/// variance (divide by D), as PyTorch's `nn.LayerNorm([D])`. Params `weight [D]` (init 1) and
/// `bias [D]` (init 0). The same in training and evaluation.
///
/// ```
/// use gradwork_autodiff::Var;
/// use gradwork_nn::{layers::LayerNorm, Ctx, Module};
/// use gradwork_tensor::Tensor;
///
/// let mut norm = LayerNorm::new(4);
/// let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4]));
/// let y = norm.forward(&mut Ctx::eval(), &x).unwrap().into_value().to_vec();
/// assert!(y.iter().sum::<f32>().abs() < 1e-5); // zero mean per row
/// ```
#[derive(Debug, Clone)]
pub struct LayerNorm {
    /// Scale, `[D]`.
    pub weight: Param,
    /// Shift, `[D]`.
    pub bias: Param,
    /// Added to the variance before the square root.
    pub eps: f32,
}

impl LayerNorm {
    /// A LayerNorm over a last axis of size `dim`, with weight 1, bias 0 and eps 1e-5.
    pub fn new(dim: usize) -> Self {
        LayerNorm {
            weight: Param::new(Tensor::ones(&[dim])),
            bias: Param::new(Tensor::zeros(&[dim])),
            eps: DEFAULT_EPS,
        }
    }

    /// The normalised size `D`.
    pub fn dim(&self) -> usize {
        self.weight.value().shape()[0]
    }
}

impl Module for LayerNorm {
    fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
        if input.shape().last() != Some(&self.dim()) {
            return Err(NnError::BadInput {
                layer: self.describe(),
                expected: format!("[..., {}]", self.dim()),
                got: input.shape().to_vec(),
            });
        }
        let mean = input.try_mean(-1, true)?;
        let centered = input.try_sub(&mean)?;
        let var = centered.square().try_mean(-1, true)?;
        let normalised = centered.try_div(&var.add_scalar(self.eps).sqrt())?;
        let (weight, bias) = (cx.param(&self.weight), cx.param(&self.bias));
        Ok(normalised.try_mul(&weight)?.try_add(&bias)?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "weight"), &self.weight);
        f(&join_path(prefix, "bias"), &self.bias);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(&join_path(prefix, "weight"), &mut self.weight);
        f(&join_path(prefix, "bias"), &mut self.bias);
    }

    fn describe(&self) -> String {
        format!("LayerNorm({})", self.dim())
    }
}

/// What BatchNorm1d and BatchNorm2d share: parameters, buffers and the normalisation itself.
/// Statistics are taken per channel (axis 1) over every other axis.
#[derive(Debug, Clone)]
pub struct BatchNormState {
    /// Per-channel scale, `[C]` (init 1).
    pub weight: Param,
    /// Per-channel shift, `[C]` (init 0).
    pub bias: Param,
    /// Running mean, `[C]` (init 0); a buffer.
    pub running_mean: Tensor,
    /// Running (unbiased) variance, `[C]` (init 1); a buffer.
    pub running_var: Tensor,
    /// Training batches seen, a 0-d tensor holding an integer count; a buffer. (PyTorch stores
    /// it as i64; it is exact in f32 up to 2^24 batches.)
    pub num_batches_tracked: Tensor,
    /// Added to the variance before the square root.
    pub eps: f32,
    /// Weight of the current batch in the running averages.
    pub momentum: f32,
}

impl BatchNormState {
    fn new(channels: usize) -> Self {
        BatchNormState {
            weight: Param::new(Tensor::ones(&[channels])),
            bias: Param::new(Tensor::zeros(&[channels])),
            running_mean: Tensor::zeros(&[channels]),
            running_var: Tensor::ones(&[channels]),
            num_batches_tracked: Tensor::scalar(0.0),
            eps: DEFAULT_EPS,
            momentum: DEFAULT_MOMENTUM,
        }
    }

    fn channels(&self) -> usize {
        self.weight.value().shape()[0]
    }

    /// Normalises `input` (`[N, C, ...]`, already validated) per channel.
    fn normalise(&mut self, cx: &mut Ctx, input: &Var, layer: String) -> Result<Var> {
        let channels = self.channels();
        // Per-channel tensors are shaped [1, C, 1, ...] so they broadcast over the input.
        let mut stat_shape = vec![1; input.shape().len()];
        stat_shape[1] = channels;
        let axes: Vec<usize> = (0..input.shape().len()).filter(|&a| a != 1).collect();
        let count = input.value().numel() / channels.max(1);
        let (centered, denominator) = if cx.is_training() {
            if count < 2 {
                return Err(NnError::BadInput {
                    layer,
                    expected: "more than one value per channel in training mode".into(),
                    got: input.shape().to_vec(),
                });
            }
            let mean = input
                .try_sum_axes(&axes, true)?
                .mul_scalar(1.0 / count as f32);
            let centered = input.try_sub(&mean)?;
            // Normalise with the biased variance; the gradient flows through both statistics.
            let var = centered
                .square()
                .try_sum_axes(&axes, true)?
                .mul_scalar(1.0 / count as f32);
            self.update_running_stats(mean.value(), var.value(), count)?;
            (centered, var.add_scalar(self.eps).sqrt())
        } else {
            let mean = Var::constant(self.running_mean.try_reshape(&stat_shape)?);
            let std = self.running_var.add_scalar(self.eps).sqrt();
            let std = Var::constant(std.try_reshape(&stat_shape)?);
            (input.try_sub(&mean)?, std)
        };
        let weight = cx.param(&self.weight).try_reshape(&stat_shape)?;
        let bias = cx.param(&self.bias).try_reshape(&stat_shape)?;
        Ok(centered
            .try_div(&denominator)?
            .try_mul(&weight)?
            .try_add(&bias)?)
    }

    /// `running = (1 - momentum) * running + momentum * batch`, with the batch variance made
    /// unbiased (times n / (n - 1)) as PyTorch does, although normalisation used the biased one.
    fn update_running_stats(&mut self, mean: &Tensor, var: &Tensor, count: usize) -> Result<()> {
        let channels = [self.channels()];
        let keep = 1.0 - self.momentum;
        let unbiased = var
            .try_reshape(&channels)?
            .mul_scalar(count as f32 / (count - 1) as f32);
        self.running_mean = self
            .running_mean
            .mul_scalar(keep)
            .try_add(&mean.try_reshape(&channels)?.mul_scalar(self.momentum))?;
        self.running_var = self
            .running_var
            .mul_scalar(keep)
            .try_add(&unbiased.mul_scalar(self.momentum))?;
        self.num_batches_tracked = self.num_batches_tracked.add_scalar(1.0);
        Ok(())
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(&join_path(prefix, "weight"), &self.weight);
        f(&join_path(prefix, "bias"), &self.bias);
    }

    fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(&join_path(prefix, "weight"), &mut self.weight);
        f(&join_path(prefix, "bias"), &mut self.bias);
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        f(&join_path(prefix, "running_mean"), &self.running_mean);
        f(&join_path(prefix, "running_var"), &self.running_var);
        f(
            &join_path(prefix, "num_batches_tracked"),
            &self.num_batches_tracked,
        );
    }

    fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor)) {
        f(&join_path(prefix, "running_mean"), &mut self.running_mean);
        f(&join_path(prefix, "running_var"), &mut self.running_var);
        f(
            &join_path(prefix, "num_batches_tracked"),
            &mut self.num_batches_tracked,
        );
    }
}

macro_rules! batch_norm {
    ($(#[$doc:meta])* $name:ident, $label:literal, $ranks:expr, $expected:literal) => {
        $(#[$doc])*
        ///
        /// Training mode normalises with the batch mean and biased variance and updates the
        /// running statistics (`running_var` with the unbiased variance) and
        /// `num_batches_tracked`; evaluation mode normalises with the running statistics and
        /// leaves them alone. The buffers are saved in the state dict under PyTorch's names.
        #[derive(Debug, Clone)]
        pub struct $name {
            /// Parameters, buffers and hyper-parameters.
            pub state: BatchNormState,
        }

        impl $name {
            /// A layer for `channels` channels: weight 1, bias 0, running mean 0, running
            /// variance 1, eps 1e-5, momentum 0.1.
            pub fn new(channels: usize) -> Self {
                $name {
                    state: BatchNormState::new(channels),
                }
            }

            /// The number of channels `C`.
            pub fn channels(&self) -> usize {
                self.state.channels()
            }
        }

        impl Module for $name {
            fn forward(&mut self, cx: &mut Ctx, input: &Var) -> Result<Var> {
                let shape = input.shape();
                if !$ranks.contains(&shape.len()) || shape[1] != self.channels() {
                    return Err(NnError::BadInput {
                        layer: self.describe(),
                        expected: format!($expected, c = self.channels()),
                        got: shape.to_vec(),
                    });
                }
                let layer = self.describe();
                self.state.normalise(cx, input, layer)
            }

            fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
                self.state.visit_params(prefix, f);
            }

            fn visit_params_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
                self.state.visit_params_mut(prefix, f);
            }

            fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
                self.state.visit_buffers(prefix, f);
            }

            fn visit_buffers_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Tensor)) {
                self.state.visit_buffers_mut(prefix, f);
            }

            fn describe(&self) -> String {
                format!("{}({})", $label, self.channels())
            }
        }
    };
}

batch_norm!(
    /// Batch normalisation of `[N, C]` or `[N, C, L]` inputs (PyTorch's `nn.BatchNorm1d`):
    /// statistics per channel over N (or N·L) values.
    BatchNorm1d,
    "BatchNorm1d",
    [2usize, 3],
    "[N, {c}] or [N, {c}, L]"
);

batch_norm!(
    /// Batch normalisation of `[N, C, H, W]` inputs (PyTorch's `nn.BatchNorm2d`): statistics
    /// per channel over N·H·W values.
    BatchNorm2d,
    "BatchNorm2d",
    [4usize],
    "[N, {c}, H, W]"
);
