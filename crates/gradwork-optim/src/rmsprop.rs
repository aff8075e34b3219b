//! RMSprop (plain or centered, optional momentum and weight decay), as PyTorch's single-tensor
//! implementation computes it in f32.
//!
//! Rounding: PyTorch's CPU kernels for `add(x, alpha)`, `addcmul` and `lerp` compute
//! `a + s*b` in a scalar loop that the compiler fuses into one multiply-add, so the code below
//! uses a fused multiply-add (`crate::fma`, exactly rounded and fast) at exactly those places;
//! with it SGD reproduces torch's f32 run bit for bit.

use gradwork_nn::{Module, ParamGrads};
use serde::{Deserialize, Serialize};

use crate::adam::lerp;
use crate::error::Result;
use crate::fma::fma;
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
            for i in 0..n {
                let mut g = if c.maximize { -grad[i] } else { grad[i] };
                if c.weight_decay != 0.0 {
                    g = fma(wd, p[i], g);
                }
                v[i] = fma(one_minus_alpha * g, g, v[i] * alpha);
                let avg = match &mut gavg {
                    Some(ga) => {
                        ga[i] = lerp(ga[i], g, one_minus_alpha);
                        fma(-ga[i], ga[i], v[i]).sqrt()
                    }
                    None => v[i].sqrt(),
                } + eps;
                match &mut buf {
                    Some(b) => {
                        b[i] = b[i] * momentum + g / avg;
                        p[i] = fma(neg_lr, b[i], p[i]);
                    }
                    None => p[i] += neg_lr * g / avg,
                }
            }
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
