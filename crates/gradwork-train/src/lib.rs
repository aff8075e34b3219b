//! # gradwork-train
//!
//! Keras' verbs for gradwork models: [`Trainer::fit`] returns a [`History`],
//! [`Trainer::evaluate`] and [`Trainer::predict`] run in evaluation mode, and [`Callback`]s add
//! early stopping, checkpoints, learning-rate schedules, progress and metric logs. A NaN or
//! infinite loss stops training with an error naming the epoch, step, batch and the first op that
//! produced the bad value.
//!
//! The manual loop stays first class: a `Graph` per step, `Ctx::train`, forward, loss,
//! `graph.backward`, `cx.param_grads`, `optimizer.step` — `Trainer` only adds batching,
//! validation, metrics and callbacks around it.

mod callbacks;
mod dataset;
mod error;
mod history;
mod loss;
mod progress;
mod trainer;

pub use callbacks::{
    BatchInfo, Callback, Control, EarlyStopping, LogFormat, LrScheduler, MetricsLogger, Mode,
    ModelCheckpoint,
};
pub use dataset::{Dataset, Targets};
pub use error::{Result, TrainError};
pub use history::{EpochLogs, History};
pub use loss::Loss;
pub use progress::Progress;
pub use trainer::{streams, FitOptions, MetricKind, Trainer, Validation};
