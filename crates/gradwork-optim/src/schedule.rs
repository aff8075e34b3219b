//! The [`LrSchedule`] trait and [`Schedule`], a stateful schedule whose state resumes exactly.

use serde::{Deserialize, Serialize};

use crate::error::{OptimError, Result};
use crate::optimizer::Optimizer;
use crate::schedule_config::ScheduleConfig;

/// A learning-rate schedule: a closed form `lr_at(step)` plus a step counter.
///
/// Dyn-compatible. The usual loop is `opt.set_learning_rate(sched.lr())` (or
/// [`LrSchedule::apply`]), the optimizer step, then `sched.step()`: as in PyTorch, the lr for
/// step `t` is read before the `t`-th `step()`.
pub trait LrSchedule {
    /// The learning rate for step `step` (from 0).
    fn lr_at(&self, step: u64) -> f64;

    /// How many times [`LrSchedule::step`] ran.
    fn current_step(&self) -> u64;

    /// Advances one step and returns the new learning rate.
    fn step(&mut self) -> f64;

    /// The learning rate for the current step.
    fn lr(&self) -> f64 {
        self.lr_at(self.current_step())
    }

    /// Sets the optimizer's learning rate to [`LrSchedule::lr`].
    fn apply(&self, optimizer: &mut dyn Optimizer) {
        optimizer.set_learning_rate(self.lr());
    }

    /// Everything needed to resume: the hyper-parameters and the step counter.
    fn state(&self) -> ScheduleState;

    /// Restores a state of the same kind of schedule (hyper-parameters included).
    fn load_state(&mut self, state: &ScheduleState) -> Result<()>;
}

/// A schedule's saved state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The hyper-parameters.
    pub config: ScheduleConfig,
    /// The step counter.
    pub step: u64,
}

/// Any [`ScheduleConfig`] with a step counter.
///
/// ```
/// use gradwork_optim::{LrSchedule, Schedule, ScheduleConfig};
/// let warmup = ScheduleConfig::Linear { base_lr: 0.1, start_factor: 0.1, end_factor: 1.0, total_iters: 10 };
/// let cosine = ScheduleConfig::CosineAnnealing { base_lr: 0.1, t_max: 190, eta_min: 0.001 };
/// let mut s = Schedule::new(ScheduleConfig::Sequential { schedules: vec![warmup, cosine], milestones: vec![10] }).unwrap();
/// assert!((s.lr() - 0.01).abs() < 1e-12);
/// for _ in 0..10 { s.step(); }
/// assert_eq!(s.lr(), 0.1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    config: ScheduleConfig,
    step: u64,
}

impl Schedule {
    /// A schedule at step 0, or an error for invalid hyper-parameters.
    pub fn new(config: ScheduleConfig) -> Result<Self> {
        config.validate()?;
        Ok(Schedule { config, step: 0 })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }
}

impl LrSchedule for Schedule {
    fn lr_at(&self, step: u64) -> f64 {
        self.config.lr_at(step)
    }

    fn current_step(&self) -> u64 {
        self.step
    }

    fn step(&mut self) -> f64 {
        self.step = self.step.saturating_add(1);
        self.lr()
    }

    fn state(&self) -> ScheduleState {
        ScheduleState {
            config: self.config.clone(),
            step: self.step,
        }
    }

    fn load_state(&mut self, state: &ScheduleState) -> Result<()> {
        if state.config.kind() != self.config.kind() {
            return Err(OptimError::StateKind {
                expected: self.config.kind().to_string(),
                found: state.config.kind().to_string(),
            });
        }
        state.config.validate()?;
        self.config = state.config.clone();
        self.step = state.step;
        Ok(())
    }
}
