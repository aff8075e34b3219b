//! Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's
//! single-tensor `SGD`).
//!
//! Rounding: PyTorch's CPU kernels for `add(x, alpha)`, `addcmul` and `lerp` compute
//! `a + s*b` in a scalar loop that the compiler fuses into one multiply-add, so the code below
//! uses a fused multiply-add (`crate::fma`, exactly rounded and fast) at exactly those places;
//! with it SGD reproduces torch's f32 run bit for bit.

use gradwork_nn::{Module, ParamGrads};
use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};
use gradwork_tensor::simd::FusedKernel;

use crate::fma::{run_update, split_opt, MulAdd, SplitKernel};
use crate::optimizer::{check_range, Optimizer, OptimizerConfig, OptimizerState, Slots};

/// SGD hyper-parameters; `Default` is PyTorch's (with lr 0.01, since PyTorch has none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 = plain SGD).
    pub momentum: f64,
    /// Dampening of the gradient added to the momentum buffer (not applied on the first step).
    pub dampening: f64,
    /// L2 penalty added to the gradient (`g += wd * p`).
    pub weight_decay: f64,
    /// Nesterov momentum (needs momentum > 0 and dampening 0).
    pub nesterov: bool,
    /// Maximise the objective instead of minimising it.
    pub maximize: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 0.01,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        }
    }
}

/// SGD. Per element, in f32 like PyTorch: `g += wd*p`; with momentum `buf = g` on the first
/// step, then `buf = momentum*buf + (1-dampening)*g`; `g = g + momentum*buf` (Nesterov) or
/// `g = buf`; finally `p -= lr*g`.
///
/// ```
/// use gradwork_optim::{Sgd, SgdConfig};
/// let sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, nesterov: true, ..SgdConfig::default() });
/// assert!(sgd.is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct Sgd {
    config: SgdConfig,
    slots: Slots,
}

const KNOWN: &[&str] = &["momentum_buffer"];

/// One parameter's SGD update over whole buffers (see [`run_fused`]).
struct SgdKernel<'a> {
    p: &'a mut [f32],
    grad: &'a [f32],
    momentum_buffer: Option<&'a mut [f32]>,
    /// The buffer is new: PyTorch starts it at the gradient itself, undamped.
    first: bool,
    nesterov: bool,
    /// -1 to maximise, else 1 (an exact negation).
    grad_sign: f32,
    weight_decay: Option<f32>,
    momentum: f32,
    keep: f32,
    neg_lr: f32,
}

impl SplitKernel for SgdKernel<'_> {
    fn len(&self) -> usize {
        self.p.len()
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let (p1, p2) = self.p.split_at_mut(mid);
        let (g1, g2) = self.grad.split_at(mid);
        let (b1, b2) = split_opt(self.momentum_buffer, mid);
        let left = SgdKernel {
            p: p1,
            grad: g1,
            momentum_buffer: b1,
            ..self
        };
        let right = SgdKernel {
            p: p2,
            grad: g2,
            momentum_buffer: b2,
            ..left
        };
        (left, right)
    }
}

impl FusedKernel for SgdKernel<'_> {
    #[inline(always)]
    fn run<F: MulAdd>(&mut self) {
        let n = self.p.len();
        let (p, grad) = (&mut self.p[..n], &self.grad[..n]);
        let (sign, wd, neg_lr) = (self.grad_sign, self.weight_decay, self.neg_lr);
        let g_at = |i: usize, p: &[f32]| {
            let g = grad[i] * sign;
            match wd {
                Some(wd) => F::mul_add(wd, p[i], g),
                None => g,
            }
        };
        let Some(buf) = self.momentum_buffer.as_deref_mut() else {
            for i in 0..n {
                p[i] = F::mul_add(neg_lr, g_at(i, p), p[i]);
            }
            return;
        };
        let buf = &mut buf[..n];
        let (momentum, keep) = (self.momentum, self.keep);
        for i in 0..n {
            let g = g_at(i, p);
            buf[i] = if self.first {
                g
            } else {
                F::mul_add(keep, g, buf[i] * momentum)
            };
            let step = if self.nesterov {
                F::mul_add(momentum, buf[i], g)
            } else {
                buf[i]
            };
            p[i] = F::mul_add(neg_lr, step, p[i]);
        }
    }
}

impl Sgd {
    /// An SGD optimizer, or an error for out-of-range hyper-parameters.
    pub fn new(config: SgdConfig) -> Result<Self> {
        validate(&config)?;
        Ok(Sgd {
            config,
            slots: Slots::default(),
        })
    }
}

fn validate(c: &SgdConfig) -> Result<()> {
    check_range("SGD", "lr", c.lr, 0.0, f64::MAX)?;
    check_range("SGD", "momentum", c.momentum, 0.0, f64::MAX)?;
    check_range("SGD", "dampening", c.dampening, f64::MIN, f64::MAX)?;
    check_range("SGD", "weight_decay", c.weight_decay, 0.0, f64::MAX)?;
    if c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0) {
        return Err(OptimError::InvalidConfig {
            what: "SGD",
            reason: "Nesterov momentum requires momentum > 0 and dampening 0".into(),
        });
    }
    Ok(())
}

impl Optimizer for Sgd {
    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()> {
        let c = &self.config;
        let wd = c.weight_decay as f32;
        let momentum = c.momentum as f32;
        let keep = (1.0 - c.dampening) as f32;
        let neg_lr = (-c.lr) as f32;
        let use_momentum = c.momentum != 0.0;
        self.slots.apply(model, grads, |p, grad, slot| {
            let existing = if use_momentum {
                slot.take("momentum_buffer")
            } else {
                None
            };
            let first = existing.is_none();
            let mut buf =
                existing.unwrap_or_else(|| vec![0.0; if use_momentum { p.len() } else { 0 }]);
            run_update(SgdKernel {
                p,
                grad,
                momentum_buffer: use_momentum.then_some(&mut buf[..]),
                first,
                nesterov: c.nesterov,
                grad_sign: if c.maximize { -1.0 } else { 1.0 },
                weight_decay: (c.weight_decay != 0.0).then_some(wd),
                momentum,
                keep,
                neg_lr,
            });
            if use_momentum {
                slot.put("momentum_buffer", buf);
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
        OptimizerConfig::Sgd(self.config.clone())
    }

    fn state(&self) -> OptimizerState {
        self.slots.to_state(self.config())
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        let OptimizerConfig::Sgd(config) = &state.config else {
            return Err(crate::optimizer::kind_error("SGD", state));
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
    use super::SgdKernel;
    use crate::fma::{run_fused, test_values, Emulated};
    use gradwork_tensor::simd::FusedKernel;

    /// The dispatched loop and the exact emulation give the same bits for every variant.
    #[test]
    fn dispatched_update_matches_the_emulated_one_bit_for_bit() {
        let n = 1003;
        for variant in 0..4 {
            let run = |dispatch: bool| {
                let (mut p, grad, mut buf) =
                    (test_values(n, 5), test_values(n, 6), test_values(n, 7));
                let mut kernel = SgdKernel {
                    p: &mut p,
                    grad: &grad,
                    momentum_buffer: (variant > 0).then_some(&mut buf[..]),
                    first: variant == 1,
                    nesterov: variant == 3,
                    grad_sign: if variant == 2 { -1.0 } else { 1.0 },
                    weight_decay: (variant >= 2).then_some(1e-3),
                    momentum: 0.9,
                    keep: 0.8,
                    neg_lr: -0.05,
                };
                if dispatch {
                    run_fused(&mut kernel);
                } else {
                    kernel.run::<Emulated>();
                }
                [p, buf].map(|x| x.iter().map(|f| f.to_bits()).collect::<Vec<u32>>())
            };
            assert_eq!(run(true), run(false), "variant {variant}");
        }
    }
}
