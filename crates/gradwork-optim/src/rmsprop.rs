//! RMSprop (plain or centered, optional momentum and weight decay), as PyTorch's single-tensor
//! implementation computes it in f32.
//!
//! Rounding: PyTorch's CPU kernels for `add(x, alpha)`, `addcmul` and `lerp` compute
//! `a + s*b` in a scalar loop that the compiler fuses into one multiply-add, so the code below
//! uses a fused multiply-add (`crate::fma`, exactly rounded and fast) at exactly those places;
//! with it SGD reproduces torch's f32 run bit for bit.

use gradwork_nn::{Module, ParamGrads};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use gradwork_tensor::simd::FusedKernel;

use crate::fma::{lerp, run_update, split_opt, MulAdd, SplitKernel};
use crate::optimizer::{
    check_range, kind_error, Optimizer, OptimizerConfig, OptimizerState, Slots,
};

/// RMSprop hyper-parameters; `Default` is PyTorch's (lr 0.01, alpha 0.99, eps 1e-8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmsPropConfig {
    /// Learning rate.
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average.
    pub alpha: f64,
    /// Added to the root (outside the square root).
    pub eps: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Momentum factor (0 = none).
    pub momentum: f64,
    /// Normalise by the estimated variance (`v - ḡ²`) instead of the raw second moment.
    pub centered: bool,
    /// Maximise the objective instead of minimising it.
    pub maximize: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
            maximize: false,
        }
    }
}

/// RMSprop. Per element, in f32: `g += wd*p`; `v = α v + (1-α) g²`; centered:
/// `ḡ = lerp(ḡ, g, 1-α)`, `avg = sqrt(v - ḡ²) + eps`, else `avg = sqrt(v) + eps`; with momentum
/// `buf = momentum*buf + g/avg; p -= lr*buf`, else `p -= lr*g/avg`. All state starts at zero.
#[derive(Debug, Clone)]
pub struct RmsProp {
    config: RmsPropConfig,
    slots: Slots,
}

const KNOWN: &[&str] = &["square_avg", "grad_avg", "momentum_buffer"];

/// One parameter's RMSprop update over whole buffers (see [`run_fused`]).
struct RmsPropKernel<'a> {
    p: &'a mut [f32],
    grad: &'a [f32],
    square_avg: &'a mut [f32],
    /// Centred variant's running mean of the gradient.
    grad_avg: Option<&'a mut [f32]>,
    momentum_buffer: Option<&'a mut [f32]>,
    /// -1 to maximise, else 1 (an exact negation).
    grad_sign: f32,
    weight_decay: Option<f32>,
    alpha: f32,
    one_minus_alpha: f32,
    eps: f32,
    momentum: f32,
    neg_lr: f32,
}

impl SplitKernel for RmsPropKernel<'_> {
    fn len(&self) -> usize {
        self.p.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (p1, p2) = self.p.split_at_mut(mid);
        let (g1, g2) = self.grad.split_at(mid);
        let (v1, v2) = self.square_avg.split_at_mut(mid);
        let (a1, a2) = split_opt(self.grad_avg, mid);
        let (b1, b2) = split_opt(self.momentum_buffer, mid);
        let left = RmsPropKernel {
            p: p1,
            grad: g1,
            square_avg: v1,
            grad_avg: a1,
            momentum_buffer: b1,
            ..self
        };
        let right = RmsPropKernel {
            p: p2,
            grad: g2,
            square_avg: v2,
            grad_avg: a2,
            momentum_buffer: b2,
            ..left
        };
        (left, right)
    }
}

impl FusedKernel for RmsPropKernel<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        let n = self.p.len();
        let (p, grad, v) = (&mut self.p[..n], &self.grad[..n], &mut self.square_avg[..n]);
        let (sign, wd) = (self.grad_sign, self.weight_decay);
        let (alpha, one_minus_alpha, eps) = (self.alpha, self.one_minus_alpha, self.eps);
        let (momentum, neg_lr) = (self.momentum, self.neg_lr);
        let mut gavg = self.grad_avg.as_deref_mut();
        let mut buf = self.momentum_buffer.as_deref_mut();
        for i in 0..n {
            let mut g = grad[i] * sign;
            if let Some(wd) = wd {
                g = F::mul_add(wd, p[i], g);
            }
            v[i] = F::mul_add(one_minus_alpha * g, g, v[i] * alpha);
            let avg = match &mut gavg {
                Some(ga) => {
                    ga[i] = lerp::<F>(ga[i], g, one_minus_alpha);
                    F::mul_add(-ga[i], ga[i], v[i]).sqrt()
                }
                None => v[i].sqrt(),
            } + eps;
            match &mut buf {
                Some(b) => {
                    b[i] = b[i] * momentum + g / avg;
                    p[i] = F::mul_add(neg_lr, b[i], p[i]);
                }
                None => p[i] += neg_lr * g / avg,
            }
        }
    }
}

impl RmsProp {
    /// An RMSprop optimizer, or an error for out-of-range hyper-parameters.
    pub fn new(config: RmsPropConfig) -> Result<Self> {
        validate(&config)?;
        Ok(RmsProp {
            config,
            slots: Slots::default(),
        })
    }
}

fn validate(c: &RmsPropConfig) -> Result<()> {
    check_range("RMSprop", "lr", c.lr, 0.0, f64::MAX)?;
    check_range("RMSprop", "alpha", c.alpha, 0.0, f64::MAX)?;
    check_range("RMSprop", "eps", c.eps, 0.0, f64::MAX)?;
    check_range("RMSprop", "weight_decay", c.weight_decay, 0.0, f64::MAX)?;
    check_range("RMSprop", "momentum", c.momentum, 0.0, f64::MAX)
}

impl Optimizer for RmsProp {
    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()> {
        let c = &self.config;
        let alpha = c.alpha as f32;
        let one_minus_alpha = (1.0 - c.alpha) as f32;
        let wd = c.weight_decay as f32;
        let eps = c.eps as f32;
        let momentum = c.momentum as f32;
        let neg_lr = (-c.lr) as f32;
        let use_momentum = c.momentum > 0.0;
        self.slots.apply(model, grads, |p, grad, slot| {
            let n = p.len();
            let mut v = slot.take_or_zeros("square_avg", n);
            let mut gavg = c.centered.then(|| slot.take_or_zeros("grad_avg", n));
            let mut buf = use_momentum.then(|| slot.take_or_zeros("momentum_buffer", n));
            run_update(RmsPropKernel {
                p,
                grad,
                square_avg: &mut v,
                grad_avg: gavg.as_deref_mut(),
                momentum_buffer: buf.as_deref_mut(),
                grad_sign: if c.maximize { -1.0 } else { 1.0 },
                weight_decay: (c.weight_decay != 0.0).then_some(wd),
                alpha,
                one_minus_alpha,
                eps,
                momentum,
                neg_lr,
            });
            slot.put("square_avg", v);
            if let Some(ga) = gavg {
                slot.put("grad_avg", ga);
            }
            if let Some(b) = buf {
                slot.put("momentum_buffer", b);
            }
        })
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    fn config(&self) -> OptimizerConfig {
        OptimizerConfig::RmsProp(self.config.clone())
    }

    fn state(&self) -> OptimizerState {
        self.slots.to_state(self.config())
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        let OptimizerConfig::RmsProp(config) = &state.config else {
            return Err(kind_error("RMSprop", state));
        };
        validate(config)?;
        let slots = Slots::from_state(state, KNOWN)?;
        self.config = config.clone();
        self.slots = slots;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::RmsPropKernel;
    use crate::fma::{run_fused, test_values, Emulated};
    use gradwork_tensor::simd::FusedKernel;

    /// The dispatched loop and the exact emulation give the same bits for every variant.
    #[test]
    fn dispatched_update_matches_the_emulated_one_bit_for_bit() {
        let n = 1003;
        for variant in 0..4 {
            let run = |dispatch: bool| {
                let (mut p, grad) = (test_values(n, 8), test_values(n, 9));
                let mut v: Vec<f32> = test_values(n, 10).iter().map(|x| x * x + 1.0).collect();
                let (mut gavg, mut buf) = (test_values(n, 11), test_values(n, 12));
                let mut kernel = RmsPropKernel {
                    p: &mut p,
                    grad: &grad,
                    square_avg: &mut v,
                    grad_avg: (variant & 1 == 1).then_some(&mut gavg[..]),
                    momentum_buffer: (variant & 2 == 2).then_some(&mut buf[..]),
                    grad_sign: if variant == 2 { -1.0 } else { 1.0 },
                    weight_decay: (variant >= 1).then_some(1e-3),
                    alpha: 0.99,
                    one_minus_alpha: 0.01,
                    eps: 1e-8,
                    momentum: 0.9,
                    neg_lr: -0.01,
                };
                if dispatch {
                    run_fused(&mut kernel);
                } else {
                    kernel.run::<Emulated>();
                }
                [p, v, gavg, buf].map(|x| x.iter().map(|f| f.to_bits()).collect::<Vec<u32>>())
            };
            assert_eq!(run(true), run(false), "variant {variant}");
        }
    }
}
