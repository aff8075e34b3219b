//! The manifest's `[schedule]` table: gradwork-optim's [`ScheduleConfig`] (its own serde form,
//! one table named after the variant) plus `every`, which says whether the schedule's `t` counts
//! optimizer steps or epochs.
//!
//! ```toml
//! [schedule]
//! every = "epoch"
//! CosineAnnealing = { base_lr = 0.001, t_max = 3, eta_min = 0.0001 }
//! ```
//!
//! `ScheduleConfig` itself ignores unknown keys, so parsing re-serialises the config and refuses
//! any key the canonical form does not have: a misspelt `eta_mn` is an error, not a silent default.

use std::collections::BTreeMap;

use gradwork::optim::{Optimizer, ScheduleConfig};
use gradwork::train::{Callback, Result as TrainResult};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// What the schedule's step counter `t` counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleEvery {
    /// `t` is the epoch (from 0): the learning rate changes between epochs.
    #[default]
    Epoch,
    /// `t` is the optimizer step (from 0).
    Step,
}

/// A learning-rate schedule of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleSpec {
    /// Steps or epochs.
    pub every: ScheduleEvery,
    /// The schedule (gradwork-optim's closed forms).
    #[serde(flatten)]
    pub config: ScheduleConfig,
}

impl ScheduleSpec {
    /// The learning rate of optimizer step `step` when an epoch has `steps_per_epoch` steps.
    pub fn lr_at_step(&self, step: u64, steps_per_epoch: u64) -> f64 {
        match self.every {
            ScheduleEvery::Step => self.config.lr_at(step),
            ScheduleEvery::Epoch => self.config.lr_at(step / steps_per_epoch.max(1)),
        }
    }

    /// The learning rate of the first step of 1-based `epoch`.
    pub fn lr_for_epoch(&self, epoch: usize, steps_per_epoch: u64) -> f64 {
        self.lr_at_step(
            epoch.saturating_sub(1) as u64 * steps_per_epoch,
            steps_per_epoch,
        )
    }
}

impl<'de> Deserialize<'de> for ScheduleSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = BTreeMap::<String, Value>::deserialize(deserializer)?;
        let every = match table.remove("every") {
            None => ScheduleEvery::default(),
            Some(v) => serde_json::from_value(v).map_err(|e| {
                D::Error::custom(format!("schedule.every: {e} (use \"epoch\" or \"step\")"))
            })?,
        };
        let config = parse_config(table).map_err(D::Error::custom)?;
        Ok(ScheduleSpec { every, config })
    }
}

const VARIANTS: &str =
    "Constant, Step, Exponential, ExponentialDecay, CosineAnnealing, Linear, Sequential";

/// The one remaining key of the table is the `ScheduleConfig` variant.
fn parse_config(table: BTreeMap<String, Value>) -> Result<ScheduleConfig, String> {
    if table.len() != 1 {
        let keys: Vec<&String> = table.keys().collect();
        return Err(format!(
            "schedule: expected `every` and exactly one schedule table (one of {VARIANTS}), found keys {keys:?}"
        ));
    }
    let input = Value::Object(table.into_iter().collect());
    let config: ScheduleConfig = serde_json::from_value(input.clone()).map_err(|e| {
        // serde names a missing field; list what was given so a misspelt key shows too.
        let given = match input.as_object().and_then(|o| o.values().next()) {
            Some(Value::Object(fields)) => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                format!(" (keys given: {})", names.join(", "))
            }
            _ => String::new(),
        };
        format!("schedule: {e}{given}")
    })?;
    let canonical = serde_json::to_value(&config).map_err(|e| format!("schedule: {e}"))?;
    unknown_keys("schedule", &input, &canonical)?;
    config.validate().map_err(|e| format!("schedule: {e}"))?;
    Ok(config)
}

/// Errors naming the first key of `input` that `canonical` (the re-serialised config) lacks.
fn unknown_keys(path: &str, input: &Value, canonical: &Value) -> Result<(), String> {
    match (input, canonical) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    None => {
                        let known: Vec<&String> = b.keys().collect();
                        return Err(format!(
                            "{path}: unknown key `{k}` (known: {})",
                            known
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    Some(w) => unknown_keys(&format!("{path}.{k}"), v, w)?,
                }
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .try_for_each(|(i, (v, w))| unknown_keys(&format!("{path}[{i}]"), v, w)),
        _ => Ok(()),
    }
}

/// A [`Callback`] setting the learning rate before every step from a [`ScheduleSpec`].
pub struct ScheduleCallback {
    spec: ScheduleSpec,
    steps_per_epoch: u64,
}

impl ScheduleCallback {
    /// The callback for `spec`.
    pub fn new(spec: ScheduleSpec) -> Self {
        ScheduleCallback {
            spec,
            steps_per_epoch: 1,
        }
    }
}

impl Callback for ScheduleCallback {
    fn name(&self) -> &str {
        "ScheduleCallback"
    }

    fn on_train_begin(&mut self, _epochs: usize, batches_per_epoch: usize) -> TrainResult<()> {
        self.steps_per_epoch = batches_per_epoch as u64;
        Ok(())
    }

    fn on_batch_begin(&mut self, step: u64, optimizer: &mut dyn Optimizer) -> TrainResult<()> {
        optimizer.set_learning_rate(self.spec.lr_at_step(step, self.steps_per_epoch));
        Ok(())
    }
}
