//! The [`Optimizer`] trait, its serialisable state, and the parameter walk every optimizer shares.

use std::collections::BTreeMap;

use gradwork_nn::{Module, ParamGrads, TensorRecord};
use serde::{Deserialize, Serialize};

use crate::adam::{Adam, AdamConfig};
use crate::error::{OptimError, Result};
use crate::rmsprop::{RmsProp, RmsPropConfig};
use crate::sgd::{Sgd, SgdConfig};

/// An optimizer: updates a model's trainable parameters from their gradients.
///
/// Dyn-compatible, so a configuration file can pick one at run time
/// ([`OptimizerConfig::build`]). Parameters are found through
/// [`Module::visit_params_mut`]; per-parameter state is keyed by the parameter's dotted path, so
/// it survives a save and load into a freshly built model. Frozen parameters
/// ([`Param::is_trainable`](gradwork_nn::Param::is_trainable) false) and parameters without a
/// gradient this step are skipped and their state is left untouched.
pub trait Optimizer: Send {
    /// Applies one update. Validates every gradient and state shape first, so an error leaves the
    /// model and the optimizer unchanged.
    fn step(&mut self, model: &mut dyn Module, grads: &ParamGrads) -> Result<()>;

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate (what a schedule does between steps).
    fn set_learning_rate(&mut self, lr: f64);

    /// The hyper-parameters.
    fn config(&self) -> OptimizerConfig;

    /// A snapshot of everything needed to resume: hyper-parameters, step count and every
    /// parameter's buffers.
    fn state(&self) -> OptimizerState;

    /// Restores a snapshot taken by [`Optimizer::state`] of the same kind of optimizer. The
    /// hyper-parameters (including the learning rate) are taken from the snapshot, as in
    /// PyTorch. Refuses another kind, unknown or malformed buffers with an error and changes
    /// nothing then; buffer shapes are checked against the model at the next step (or up front
    /// with [`OptimizerState::check_against`]).
    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;
}

/// Hyper-parameters of any optimizer, tagged by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OptimizerConfig {
    /// Stochastic gradient descent.
    Sgd(SgdConfig),
    /// Adam with coupled (L2) weight decay.
    Adam(AdamConfig),
    /// AdamW: Adam with decoupled weight decay.
    AdamW(AdamConfig),
    /// RMSprop.
    RmsProp(RmsPropConfig),
}

impl OptimizerConfig {
    /// The optimizer's name as PyTorch spells it ("SGD", "Adam", "AdamW", "RMSprop").
    pub fn kind(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd(_) => "SGD",
            OptimizerConfig::Adam(_) => "Adam",
            OptimizerConfig::AdamW(_) => "AdamW",
            OptimizerConfig::RmsProp(_) => "RMSprop",
        }
    }

    /// Builds the optimizer, validating the hyper-parameters.
    pub fn build(&self) -> Result<Box<dyn Optimizer>> {
        Ok(match self {
            OptimizerConfig::Sgd(c) => Box::new(Sgd::new(c.clone())?),
            OptimizerConfig::Adam(c) => Box::new(Adam::new(c.clone())?),
            OptimizerConfig::AdamW(c) => Box::new(Adam::new_decoupled(c.clone())?),
            OptimizerConfig::RmsProp(c) => Box::new(RmsProp::new(c.clone())?),
        })
    }
}

/// One parameter's optimizer state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamState {
    /// How many updates this parameter has received (PyTorch's per-parameter `step`).
    pub step: u64,
    /// Buffers by PyTorch's names (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`,
    /// `square_avg`, `grad_avg`), each shaped like the parameter.
    pub buffers: BTreeMap<String, TensorRecord>,
}

/// Everything an optimizer needs to resume exactly: serialisable, keyed by dotted path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// The hyper-parameters (and so the kind).
    pub config: OptimizerConfig,
    /// How many times [`Optimizer::step`] ran.
    pub steps: u64,
    /// Per-parameter state by dotted path, in sorted order.
    pub params: BTreeMap<String, ParamState>,
}

impl OptimizerState {
    /// Checks every stored buffer against the model's parameter shapes; a path the model lacks
    /// is an error too.
    pub fn check_against(&self, model: &dyn Module) -> Result<()> {
        let mut shapes = BTreeMap::new();
        model.visit_params("", &mut |path, p| {
            shapes.insert(path.to_string(), p.value().shape().to_vec());
        });
        for (path, ps) in &self.params {
            let Some(shape) = shapes.get(path) else {
                return Err(OptimError::StateContent {
                    path: path.clone(),
                    reason: "the model has no parameter with this path".into(),
                });
            };
            for (name, rec) in &ps.buffers {
                if &rec.shape != shape {
                    return Err(OptimError::StateShape {
                        path: path.clone(),
                        buffer: name.clone(),
                        expected: shape.clone(),
                        found: rec.shape.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// One parameter's state inside an optimizer: flat buffers plus the shape they belong to.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot {
    pub step: u64,
    pub shape: Vec<usize>,
    pub buffers: BTreeMap<String, Vec<f32>>,
}

impl Slot {
    /// Moves a buffer out (None when it does not exist yet).
    pub fn take(&mut self, name: &str) -> Option<Vec<f32>> {
        self.buffers.remove(name)
    }

    /// Moves a buffer out, or a zero buffer of `n` elements when it does not exist yet.
    pub fn take_or_zeros(&mut self, name: &str, n: usize) -> Vec<f32> {
        self.take(name).unwrap_or_else(|| vec![0.0; n])
    }

    /// Puts a buffer (back).
    pub fn put(&mut self, name: &str, data: Vec<f32>) {
        self.buffers.insert(name.to_string(), data);
    }
}

/// The state of all parameters by dotted path, shared by every optimizer.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slots {
    pub steps: u64,
    pub by_path: BTreeMap<String, Slot>,
}

impl Slots {
    /// Runs `update(param, grad, slot)` for every trainable parameter with a gradient, after
    /// validating all shapes (so an error changes nothing).
    pub fn apply(
        &mut self,
        model: &mut dyn Module,
        grads: &ParamGrads,
        mut update: impl FnMut(&mut [f32], &[f32], &mut Slot),
    ) -> Result<()> {
        let mut problem: Option<OptimError> = None;
        model.visit_params("", &mut |path, p| {
            if problem.is_some() || !p.is_trainable() {
                return;
            }
            let Some(g) = grads.get(p) else { return };
            let shape = p.value().shape();
            if g.shape() != shape {
                problem = Some(OptimError::GradShape {
                    path: path.to_string(),
                    param: shape.to_vec(),
                    grad: g.shape().to_vec(),
                });
            } else if let Some(slot) = self.by_path.get(path) {
                if !slot.buffers.is_empty() && slot.shape != shape {
                    let buffer = slot.buffers.keys().next().cloned().unwrap_or_default();
                    problem = Some(OptimError::StateShape {
                        path: path.to_string(),
                        buffer,
                        expected: shape.to_vec(),
                        found: slot.shape.clone(),
                    });
                }
            }
        });
        if let Some(e) = problem {
            return Err(e);
        }
        self.steps += 1;
        model.visit_params_mut("", &mut |path, p| {
            if !p.is_trainable() {
                return;
            }
            let Some(g) = grads.get(p) else { return };
            // Borrow the gradient when it is contiguous (it nearly always is).
            let grad: std::borrow::Cow<[f32]> = match g.as_slice() {
                Some(slice) => slice.into(),
                None => g.to_vec().into(),
            };
            let slot = self
                .by_path
                .entry(path.to_string())
                .or_insert_with(|| Slot {
                    shape: p.value().shape().to_vec(),
                    ..Slot::default()
                });
            if slot.buffers.is_empty() {
                slot.shape = p.value().shape().to_vec();
            }
            slot.step += 1;
            update(p.data_mut(), &grad, slot);
        });
        Ok(())
    }

    /// The serialisable form.
    pub fn to_state(&self, config: OptimizerConfig) -> OptimizerState {
        let params = self
            .by_path
            .iter()
            .map(|(path, slot)| {
                let buffers = slot
                    .buffers
                    .iter()
                    .map(|(name, data)| {
                        let rec = TensorRecord {
                            shape: slot.shape.clone(),
                            data: data.clone(),
                        };
                        (name.clone(), rec)
                    })
                    .collect();
                let ps = ParamState {
                    step: slot.step,
                    buffers,
                };
                (path.clone(), ps)
            })
            .collect();
        OptimizerState {
            config,
            steps: self.steps,
            params,
        }
    }

    /// Rebuilds from the serialisable form, accepting only the buffer names in `known`.
    pub fn from_state(state: &OptimizerState, known: &[&str]) -> Result<Slots> {
        let mut by_path = BTreeMap::new();
        for (path, ps) in &state.params {
            let mut slot = Slot {
                step: ps.step,
                ..Slot::default()
            };
            let mut shape: Option<&Vec<usize>> = None;
            for (name, rec) in &ps.buffers {
                if !known.contains(&name.as_str()) {
                    return Err(OptimError::StateContent {
                        path: path.clone(),
                        reason: format!(
                            "unknown buffer `{name}` for {} (known: {known:?})",
                            state.config.kind()
                        ),
                    });
                }
                let numel = rec.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                if numel != Some(rec.data.len()) {
                    return Err(OptimError::StateContent {
                        path: path.clone(),
                        reason: format!(
                            "buffer `{name}` has {} values for shape {:?}",
                            rec.data.len(),
                            rec.shape
                        ),
                    });
                }
                if let Some(s) = shape {
                    if s != &rec.shape {
                        return Err(OptimError::StateShape {
                            path: path.clone(),
                            buffer: name.clone(),
                            expected: s.clone(),
                            found: rec.shape.clone(),
                        });
                    }
                }
                shape = Some(&rec.shape);
                slot.buffers.insert(name.clone(), rec.data.clone());
            }
            slot.shape = shape.cloned().unwrap_or_default();
            by_path.insert(path.clone(), slot);
        }
        Ok(Slots {
            steps: state.steps,
            by_path,
        })
    }
}

/// The error for a state of another kind.
pub(crate) fn kind_error(expected: &'static str, state: &OptimizerState) -> OptimError {
    OptimError::StateKind {
        expected: expected.to_string(),
        found: state.config.kind().to_string(),
    }
}

/// Checks that a hyper-parameter is finite and at least `min`.
pub(crate) fn check_range(
    what: &'static str,
    name: &str,
    value: f64,
    min: f64,
    max: f64,
) -> Result<()> {
    if !(value.is_finite() && value >= min && value <= max) {
        return Err(OptimError::InvalidConfig {
            what,
            reason: format!("{name} = {value} is outside [{min}, {max}]"),
        });
    }
    Ok(())
}
