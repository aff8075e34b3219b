//! Callbacks: hooks into `fit` for early stopping, checkpoints, schedules, logs and progress.

use std::io::Write;
use std::path::{Path, PathBuf};

use gradwork_nn::{Module, StateDict};
use gradwork_optim::Optimizer;

use crate::error::{Result, TrainError};
use crate::history::{EpochLogs, History};

/// Whether training goes on after an epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// Stop after this epoch, with the reason.
    Stop(String),
}

/// What a callback sees after each optimisation step.
#[derive(Debug, Clone, Copy)]
pub struct BatchInfo {
    /// The epoch, from 1.
    pub epoch: usize,
    /// The batch within the epoch, from 0.
    pub batch: usize,
    /// The global step (optimizer updates so far, after this one).
    pub step: u64,
    /// The batch's loss.
    pub loss: f64,
    /// Samples in the batch.
    pub batch_size: usize,
}

/// A hook into the training loop. Every method has a default that does nothing.
pub trait Callback: Send {
    /// A short name for logs and errors.
    fn name(&self) -> &str;

    /// Before the first epoch; `batches_per_epoch` lets progress displays size themselves.
    fn on_train_begin(&mut self, _epochs: usize, _batches_per_epoch: usize) -> Result<()> {
        Ok(())
    }

    /// Before each optimizer step (`step` counts completed steps): set the learning rate here.
    fn on_batch_begin(&mut self, _step: u64, _optimizer: &mut dyn Optimizer) -> Result<()> {
        Ok(())
    }

    /// After each optimizer step.
    fn on_batch_end(&mut self, _info: &BatchInfo) -> Result<()> {
        Ok(())
    }

    /// After each epoch's metrics are known; may stop training.
    fn on_epoch_end(&mut self, _logs: &EpochLogs, _model: &mut dyn Module) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// After the last epoch (also when stopped early): may restore weights and annotate history.
    fn on_train_end(&mut self, _model: &mut dyn Module, _history: &mut History) -> Result<()> {
        Ok(())
    }
}

/// Whether a monitored metric should go down (loss) or up (accuracy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
    /// `Max` for names containing "acc", "auc", "f1", "precision" or "recall", else `Min` (as Keras).
    Auto,
}

impl Mode {
    fn resolve(self, metric: &str) -> Mode {
        match self {
            Mode::Auto => {
                let higher = ["acc", "auc", "f1", "precision", "recall"];
                if higher.iter().any(|h| metric.contains(h)) {
                    Mode::Max
                } else {
                    Mode::Min
                }
            }
            other => other,
        }
    }
}

/// Stops when a metric has not improved by more than `min_delta` for `patience` epochs, and
/// (with `restore_best_weights`) puts the best epoch's weights back at the end of training —
/// also when the epoch budget runs out before patience does.
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    /// The metric to watch, e.g. `val_loss`.
    pub monitor: String,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// The smallest change that counts as an improvement.
    pub min_delta: f64,
    /// Which direction is better.
    pub mode: Mode,
    /// Restore the best epoch's weights when training ends.
    pub restore_best_weights: bool,
    best: Option<(f64, usize, StateDict)>,
    wait: usize,
}

impl EarlyStopping {
    /// Watches `monitor` with the given patience; `min_delta` 0, mode auto, restoring best weights.
    pub fn new(monitor: &str, patience: usize) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            patience,
            min_delta: 0.0,
            mode: Mode::Auto,
            restore_best_weights: true,
            best: None,
            wait: 0,
        }
    }

    /// Sets `min_delta`.
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The best value seen and its epoch.
    pub fn best(&self) -> Option<(f64, usize)> {
        self.best.as_ref().map(|(v, e, _)| (*v, *e))
    }
}

impl Callback for EarlyStopping {
    fn name(&self) -> &str {
        "EarlyStopping"
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, model: &mut dyn Module) -> Result<Control> {
        let value = logs.get(&self.monitor).ok_or_else(|| TrainError::Callback {
            callback: "EarlyStopping".into(),
            reason: format!(
                "metric '{}' was not measured (available: {:?}); add validation data or monitor another metric",
                self.monitor,
                logs.metrics.keys().collect::<Vec<_>>()
            ),
        })?;
        let improved = match (&self.best, self.mode.resolve(&self.monitor)) {
            (None, _) => true,
            (Some((best, _, _)), Mode::Max) => value > best + self.min_delta,
            (Some((best, _, _)), _) => value < best - self.min_delta,
        };
        if improved {
            let weights = if self.restore_best_weights {
                model.state_dict()
            } else {
                StateDict::new()
            };
            self.best = Some((value, logs.epoch, weights));
            self.wait = 0;
            return Ok(Control::Continue);
        }
        self.wait += 1;
        if self.wait >= self.patience {
            return Ok(Control::Stop(format!(
                "early stopping at epoch {}: {} did not improve for {} epoch(s)",
                logs.epoch, self.monitor, self.patience
            )));
        }
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, model: &mut dyn Module, history: &mut History) -> Result<()> {
        if let (true, Some((_, epoch, weights))) = (self.restore_best_weights, &self.best) {
            let last = history.epochs.last().map(|e| e.epoch);
            if last != Some(*epoch) {
                model.load_state_dict(weights, true)?;
            }
            history.restored_epoch = Some(*epoch);
        }
        Ok(())
    }
}

/// Saves the model's weights after each epoch (`last.gwsd`) and whenever the monitored metric
/// improves (`best.gwsd`), atomically. A run that fails (e.g. on a non-finite loss) stops before
/// any save, so the last good files are never overwritten by a bad model.
#[derive(Debug, Clone)]
pub struct ModelCheckpoint {
    dir: PathBuf,
    monitor: String,
    mode: Mode,
    best: Option<f64>,
}

impl ModelCheckpoint {
    /// Writes into `dir` (created if missing), judging "best" by `monitor`.
    pub fn new(dir: impl AsRef<Path>, monitor: &str) -> Self {
        ModelCheckpoint {
            dir: dir.as_ref().to_path_buf(),
            monitor: monitor.to_string(),
            mode: Mode::Auto,
            best: None,
        }
    }

    /// The path of the best weights.
    pub fn best_path(&self) -> PathBuf {
        self.dir.join("best.gwsd")
    }

    /// The path of the last epoch's weights.
    pub fn last_path(&self) -> PathBuf {
        self.dir.join("last.gwsd")
    }
}

impl Callback for ModelCheckpoint {
    fn name(&self) -> &str {
        "ModelCheckpoint"
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, model: &mut dyn Module) -> Result<Control> {
        std::fs::create_dir_all(&self.dir).map_err(|e| TrainError::Io {
            path: self.dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let weights = model.state_dict();
        weights.save(self.last_path())?;
        if let Some(value) = logs.get(&self.monitor) {
            let better = match (self.best, self.mode.resolve(&self.monitor)) {
                (None, _) => true,
                (Some(best), Mode::Max) => value > best,
                (Some(best), _) => value < best,
            };
            if better {
                self.best = Some(value);
                weights.save(self.best_path())?;
            }
        }
        Ok(Control::Continue)
    }
}

/// Sets the optimizer's learning rate before every step from a closure of the step count
/// (wrap any `gradwork_optim` schedule: `LrScheduler::new(move |step| schedule.lr_at(step))`).
pub struct LrScheduler {
    lr_at: Box<dyn FnMut(u64) -> f64 + Send>,
}

impl LrScheduler {
    /// A scheduler from `step -> learning rate`.
    pub fn new(lr_at: impl FnMut(u64) -> f64 + Send + 'static) -> Self {
        LrScheduler {
            lr_at: Box::new(lr_at),
        }
    }
}

impl Callback for LrScheduler {
    fn name(&self) -> &str {
        "LrScheduler"
    }

    fn on_batch_begin(&mut self, step: u64, optimizer: &mut dyn Optimizer) -> Result<()> {
        let lr = (self.lr_at)(step);
        optimizer.set_learning_rate(lr);
        Ok(())
    }
}

/// The file format of a [`MetricsLogger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One CSV row per epoch, with a header (Keras' CSVLogger).
    Csv,
    /// One JSON object per line per epoch.
    Jsonl,
}

/// Appends each epoch's metrics to a CSV or JSON-lines file, flushing after every epoch.
pub struct MetricsLogger {
    path: PathBuf,
    format: LogFormat,
    columns: Option<Vec<String>>,
}

impl MetricsLogger {
    /// Logs to `path` (truncated when training begins).
    pub fn new(path: impl AsRef<Path>, format: LogFormat) -> Self {
        MetricsLogger {
            path: path.as_ref().to_path_buf(),
            format,
            columns: None,
        }
    }

    fn append(&self, line: &str) -> Result<()> {
        let io = |e: std::io::Error| TrainError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        writeln!(file, "{line}").map_err(io)?;
        file.flush().map_err(io)
    }
}

impl Callback for MetricsLogger {
    fn name(&self) -> &str {
        "MetricsLogger"
    }

    fn on_train_begin(&mut self, _: usize, _: usize) -> Result<()> {
        std::fs::write(&self.path, b"").map_err(|e| TrainError::Io {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        })?;
        self.columns = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _: &mut dyn Module) -> Result<Control> {
        match self.format {
            LogFormat::Jsonl => {
                let line = serde_json::to_string(logs).expect("EpochLogs serialises");
                self.append(&line)?;
            }
            LogFormat::Csv => {
                if self.columns.is_none() {
                    let columns: Vec<String> = logs.metrics.keys().cloned().collect();
                    self.append(&format!("epoch,learning_rate,{}", columns.join(",")))?;
                    self.columns = Some(columns);
                }
                let columns = self.columns.as_ref().expect("set above");
                let values: Vec<String> = columns
                    .iter()
                    .map(|c| logs.get(c).map(|v| v.to_string()).unwrap_or_default())
                    .collect();
                self.append(&format!(
                    "{},{},{}",
                    logs.epoch,
                    logs.learning_rate,
                    values.join(",")
                ))?;
            }
        }
        Ok(Control::Continue)
    }
}
