//! `History`: what `fit` measured, epoch by epoch (Keras' `History.history`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The metrics of one epoch. Keys follow Keras: `loss`, `accuracy`, ... for the training data and
/// `val_loss`, `val_accuracy`, ... for the validation data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochLogs {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// Metric name to value.
    pub metrics: BTreeMap<String, f64>,
    /// The learning rate used during the epoch (at its first step).
    pub learning_rate: f64,
}

impl EpochLogs {
    /// The value of a metric, if it was measured.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.metrics.get(name).copied()
    }
}

/// Per-epoch logs of a `fit` call, plus why it stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// One entry per completed epoch.
    pub epochs: Vec<EpochLogs>,
    /// Set when a callback stopped training early (e.g. "early stopping at epoch 7").
    pub stopped_early: Option<String>,
    /// The epoch whose weights the model holds at the end, when a callback restored them.
    pub restored_epoch: Option<usize>,
}

impl History {
    /// The series of one metric across epochs (missing values skipped).
    pub fn series(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().filter_map(|e| e.get(name)).collect()
    }

    /// The last epoch's logs.
    pub fn last(&self) -> Option<&EpochLogs> {
        self.epochs.last()
    }

    /// Every metric name that appears, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .epochs
            .iter()
            .flat_map(|e| e.metrics.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}
