//! The manifest's `metrics` list: which names each task accepts, and computing exactly those.
//! The loss is always recorded; every other entry of `test_metrics` is one the manifest listed.

use std::collections::BTreeMap;

use gradwork::metrics::{
    accuracy, log_loss_from_probs, mean_absolute_error, mean_squared_error, precision_recall_f1,
    r2_score, roc_auc_from_scores, root_mean_squared_error, Average, PrfOptions, Reduction,
};
use gradwork::tensor::Tensor;

use super::ExperimentError;

/// What a run predicts, which decides the metrics it can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Class labels.
    Classification,
    /// Real values.
    Regression,
    /// The next character of a text.
    LanguageModel,
}

impl Task {
    /// The metric names this task accepts.
    pub fn allowed(self) -> &'static [&'static str] {
        match self {
            Task::Classification => &[
                "accuracy",
                "precision",
                "recall",
                "f1",
                "roc_auc",
                "log_loss",
            ],
            Task::Regression => &["mse", "mae", "rmse", "r2"],
            Task::LanguageModel => &["accuracy", "perplexity", "bits_per_char"],
        }
    }

    /// The task's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
            Task::LanguageModel => "language model",
        }
    }
}

/// Checks a manifest's `metrics` list for `task`: known names, no repeats.
pub fn check(task: Task, metrics: &[String]) -> Result<(), String> {
    let allowed = task.allowed();
    for (i, m) in metrics.iter().enumerate() {
        if !allowed.contains(&m.as_str()) {
            return Err(format!(
                "metrics: unknown metric `{m}` for a {} (known: {})",
                task.name(),
                allowed.join(", ")
            ));
        }
        if metrics[..i].contains(m) {
            return Err(format!("metrics: `{m}` is listed twice"));
        }
    }
    Ok(())
}

fn err(e: impl std::fmt::Display) -> ExperimentError {
    ExperimentError::train(e)
}

/// The listed classification metrics. `proba` (class probabilities `[n, C]` or `[n, 1]`) is
/// asked for only when `roc_auc` or `log_loss` is listed; precision, recall and F1 are binary
/// (class 1 positive) for two classes, macro-averaged otherwise.
pub fn classification(
    listed: &[String],
    y_true: &[usize],
    y_pred: &[usize],
    n_classes: usize,
    proba: &mut dyn FnMut() -> Result<Tensor, ExperimentError>,
) -> Result<BTreeMap<String, f64>, ExperimentError> {
    let mut out = BTreeMap::new();
    let prf_needed = listed
        .iter()
        .any(|m| matches!(m.as_str(), "precision" | "recall" | "f1"));
    let prf = if prf_needed {
        let average = if n_classes <= 2 {
            Average::Binary { pos_label: 1 }
        } else {
            Average::Macro
        };
        Some(precision_recall_f1(y_true, y_pred, average, &PrfOptions::default()).map_err(err)?)
    } else {
        None
    };
    let mut probabilities: Option<Tensor> = None;
    for m in listed {
        let value = match (m.as_str(), &prf) {
            ("accuracy", _) => accuracy(y_true, y_pred).map_err(err)?,
            ("precision", Some(p)) => p.precision,
            ("recall", Some(p)) => p.recall,
            ("f1", Some(p)) => p.f1,
            ("roc_auc", _) | ("log_loss", _) => {
                if probabilities.is_none() {
                    probabilities = Some(proba()?);
                }
                let p = probabilities.as_ref().expect("set above");
                let p = match p.shape() {
                    [n, 1] => p.reshape(&[*n]),
                    _ => p.clone(),
                };
                if m == "roc_auc" {
                    roc_auc_from_scores(y_true, &p).map_err(err)?
                } else {
                    log_loss_from_probs(y_true, &p, Reduction::Mean).map_err(err)?
                }
            }
            (other, _) => {
                return Err(ExperimentError::Train(format!(
                    "metric `{other}` is not a classification metric"
                )))
            }
        };
        out.insert(m.clone(), value);
    }
    Ok(out)
}

/// The listed regression metrics.
pub fn regression(
    listed: &[String],
    truth: &[f32],
    pred: &[f32],
) -> Result<BTreeMap<String, f64>, ExperimentError> {
    let mut out = BTreeMap::new();
    for m in listed {
        let value = match m.as_str() {
            "mse" => mean_squared_error(truth, pred).map_err(err)?,
            "mae" => mean_absolute_error(truth, pred).map_err(err)?,
            "rmse" => root_mean_squared_error(truth, pred).map_err(err)?,
            "r2" => r2_score(truth, pred).map_err(err)?,
            other => {
                return Err(ExperimentError::Train(format!(
                    "metric `{other}` is not a regression metric"
                )))
            }
        };
        out.insert(m.clone(), value);
    }
    Ok(out)
}

/// The listed language-model metrics from the mean loss (nats per character) and next-character
/// accuracy.
pub fn language_model(
    listed: &[String],
    loss: f64,
    next_char_accuracy: f64,
) -> Result<BTreeMap<String, f64>, ExperimentError> {
    let mut out = BTreeMap::new();
    for m in listed {
        let value = match m.as_str() {
            "accuracy" => next_char_accuracy,
            "perplexity" => loss.exp(),
            "bits_per_char" => loss / std::f64::consts::LN_2,
            other => {
                return Err(ExperimentError::Train(format!(
                    "metric `{other}` is not a language-model metric"
                )))
            }
        };
        out.insert(m.clone(), value);
    }
    Ok(out)
}
