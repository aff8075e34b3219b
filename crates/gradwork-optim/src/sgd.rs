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
use crate::fma::fma;
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
            for i in 0..p.len() {
                let mut g = if c.maximize { -grad[i] } else { grad[i] };
                if c.weight_decay != 0.0 {
                    g = fma(wd, p[i], g);
                }
                if use_momentum {
                    // PyTorch starts the buffer at the gradient itself, undamped.
                    buf[i] = if first {
                        g
                    } else {
                        fma(keep, g, buf[i] * momentum)
                    };
                    g = if c.nesterov {
                        fma(momentum, buf[i], g)
                    } else {
                        buf[i]
                    };
                }
                p[i] = fma(neg_lr, g, p[i]);
            }
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
