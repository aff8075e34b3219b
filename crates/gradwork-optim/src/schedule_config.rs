//! The learning-rate schedules' hyper-parameters and closed forms.

use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};

/// A learning-rate schedule's hyper-parameters. `lr_at(t)` is the learning rate for step `t`
/// (from 0), PyTorch's "lr used for the t-th optimizer step".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScheduleConfig {
    /// Always `lr`.
    Constant {
        /// The learning rate.
        lr: f64,
    },
    /// PyTorch `StepLR`: `base_lr * gamma^floor(t / step_size)`.
    Step {
        /// Initial learning rate.
        base_lr: f64,
        /// Steps between decays (> 0).
        step_size: u64,
        /// Multiplicative decay.
        gamma: f64,
    },
    /// PyTorch `ExponentialLR`: `base_lr * gamma^t`.
    Exponential {
        /// Initial learning rate.
        base_lr: f64,
        /// Multiplicative decay per step.
        gamma: f64,
    },
    /// TF/Keras `ExponentialDecay`: `initial_lr * decay_rate^(t / decay_steps)`, with
    /// `floor(t / decay_steps)` when `staircase`.
    ExponentialDecay {
        /// Initial learning rate.
        initial_lr: f64,
        /// Steps per decay period (> 0).
        decay_steps: u64,
        /// Decay per period.
        decay_rate: f64,
        /// Decay in whole periods only.
        staircase: bool,
    },
    /// PyTorch `CosineAnnealingLR`:
    /// `eta_min + (base_lr - eta_min) * (1 + cos(pi * t / t_max)) / 2`. Periodic like PyTorch's:
    /// past `t_max` it climbs back to `base_lr` at `2 * t_max` (it is not clamped).
    CosineAnnealing {
        /// Initial (maximum) learning rate.
        base_lr: f64,
        /// Half period in steps (> 0).
        t_max: u64,
        /// Minimum learning rate.
        eta_min: f64,
    },
    /// PyTorch `LinearLR` (warm-up): the factor goes linearly from `start_factor` to
    /// `end_factor` over `total_iters` steps, then stays at `end_factor`.
    Linear {
        /// The learning rate the factors multiply.
        base_lr: f64,
        /// Factor at step 0, in (0, 1].
        start_factor: f64,
        /// Factor from `total_iters` on, in [0, 1].
        end_factor: f64,
        /// Length of the ramp (> 0).
        total_iters: u64,
    },
    /// PyTorch `SequentialLR`: schedule `i` runs from `milestones[i-1]` (or 0), restarted at its
    /// own step 0 there.
    Sequential {
        /// The chained schedules (one more than milestones).
        schedules: Vec<ScheduleConfig>,
        /// Strictly increasing steps where the next schedule takes over.
        milestones: Vec<u64>,
    },
}

impl ScheduleConfig {
    /// A short name for errors ("StepLR", "CosineAnnealingLR", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            ScheduleConfig::Constant { .. } => "ConstantLR",
            ScheduleConfig::Step { .. } => "StepLR",
            ScheduleConfig::Exponential { .. } => "ExponentialLR",
            ScheduleConfig::ExponentialDecay { .. } => "ExponentialDecay",
            ScheduleConfig::CosineAnnealing { .. } => "CosineAnnealingLR",
            ScheduleConfig::Linear { .. } => "LinearLR",
            ScheduleConfig::Sequential { .. } => "SequentialLR",
        }
    }

    /// The closed form: the learning rate for step `t`, computed in f64.
    pub fn lr_at(&self, t: u64) -> f64 {
        let tf = t as f64;
        match self {
            ScheduleConfig::Constant { lr } => *lr,
            ScheduleConfig::Step {
                base_lr,
                step_size,
                gamma,
            } => base_lr * gamma.powf((t / (*step_size).max(1)) as f64),
            ScheduleConfig::Exponential { base_lr, gamma } => base_lr * gamma.powf(tf),
            ScheduleConfig::ExponentialDecay {
                initial_lr,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let steps = (*decay_steps).max(1);
                let p = if *staircase {
                    (t / steps) as f64
                } else {
                    tf / steps as f64
                };
                initial_lr * decay_rate.powf(p)
            }
            ScheduleConfig::CosineAnnealing {
                base_lr,
                t_max,
                eta_min,
            } => {
                let phase = std::f64::consts::PI * tf / (*t_max).max(1) as f64;
                eta_min + (base_lr - eta_min) * (1.0 + phase.cos()) / 2.0
            }
            ScheduleConfig::Linear {
                base_lr,
                start_factor,
                end_factor,
                total_iters,
            } => {
                let total = (*total_iters).max(1);
                let done = t.min(total) as f64 / total as f64;
                base_lr * (start_factor + (end_factor - start_factor) * done)
            }
            ScheduleConfig::Sequential {
                schedules,
                milestones,
            } => {
                let i = milestones.iter().take_while(|&&m| m <= t).count();
                let start = if i == 0 { 0 } else { milestones[i - 1] };
                match schedules.get(i) {
                    Some(s) => s.lr_at(t - start),
                    None => f64::NAN, // unreachable after validate()
                }
            }
        }
    }

    /// Checks the hyper-parameters (recursively for a chain).
    pub fn validate(&self) -> Result<()> {
        let what = self.kind();
        let bad = |reason: String| Err(OptimError::InvalidConfig { what, reason });
        let lr_ok = |name: &str, v: f64| -> Result<()> {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                bad(format!("{name} = {v} must be finite and >= 0"))
            }
        };
        match self {
            ScheduleConfig::Constant { lr } => lr_ok("lr", *lr),
            ScheduleConfig::Step {
                base_lr,
                step_size,
                gamma,
            } => {
                lr_ok("base_lr", *base_lr)?;
                lr_ok("gamma", *gamma)?;
                if *step_size == 0 {
                    return bad("step_size must be > 0".into());
                }
                Ok(())
            }
            ScheduleConfig::Exponential { base_lr, gamma } => {
                lr_ok("base_lr", *base_lr)?;
                lr_ok("gamma", *gamma)
            }
            ScheduleConfig::ExponentialDecay {
                initial_lr,
                decay_steps,
                decay_rate,
                ..
            } => {
                lr_ok("initial_lr", *initial_lr)?;
                lr_ok("decay_rate", *decay_rate)?;
                if *decay_steps == 0 {
                    return bad("decay_steps must be > 0".into());
                }
                Ok(())
            }
            ScheduleConfig::CosineAnnealing {
                base_lr,
                t_max,
                eta_min,
            } => {
                lr_ok("base_lr", *base_lr)?;
                lr_ok("eta_min", *eta_min)?;
                if *t_max == 0 {
                    return bad("t_max must be > 0".into());
                }
                Ok(())
            }
            ScheduleConfig::Linear {
                base_lr,
                start_factor,
                end_factor,
                total_iters,
            } => {
                lr_ok("base_lr", *base_lr)?;
                if !(*start_factor > 0.0 && *start_factor <= 1.0) {
                    return bad(format!("start_factor = {start_factor} must be in (0, 1]"));
                }
                if !(*end_factor >= 0.0 && *end_factor <= 1.0) {
                    return bad(format!("end_factor = {end_factor} must be in [0, 1]"));
                }
                if *total_iters == 0 {
                    return bad("total_iters must be > 0".into());
                }
                Ok(())
            }
            ScheduleConfig::Sequential {
                schedules,
                milestones,
            } => {
                if schedules.len() != milestones.len() + 1 {
                    return bad(format!(
                        "{} schedules need {} milestones, got {}",
                        schedules.len(),
                        schedules.len().saturating_sub(1),
                        milestones.len()
                    ));
                }
                if milestones.windows(2).any(|w| w[0] >= w[1]) {
                    return bad(format!("milestones {milestones:?} must increase strictly"));
                }
                schedules.iter().try_for_each(ScheduleConfig::validate)
            }
        }
    }
}
