//! `results.json`: everything a run determined, plus timings kept apart, and the field-by-field
//! comparison `verify` and `--threads` use.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::data::{FileRecord, ScalerRecord, SplitRecord};
use super::data_text::VocabularyRecord;
use super::env_info::Environment;
use super::manifest::Manifest;
use super::ExperimentError;

/// The results format version.
pub const RESULTS_FORMAT: u32 = 1;

/// One run's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Format version ([`RESULTS_FORMAT`]).
    pub format: u32,
    /// The experiment's name.
    pub name: String,
    /// The resolved manifest (after command-line overrides).
    pub manifest: Manifest,
    /// SHA-256 of the manifest's canonical JSON.
    pub manifest_sha256: String,
    /// The run's seed.
    pub seed: u64,
    /// Versions, CPU, git state, threads.
    pub environment: Environment,
    /// The input files and their SHA-256.
    pub data_files: Vec<FileRecord>,
    /// How the rows were split.
    pub split: SplitRecord,
    /// The fitted scaler, if any.
    pub scaler: Option<ScalerRecord>,
    /// Parameters in the model.
    pub num_params: usize,
    /// Per-epoch logs (loss, metrics, validation metrics, learning rate).
    pub history: Vec<EpochRecord>,
    /// Final metrics on the test part.
    pub test_metrics: BTreeMap<String, f64>,
    /// SHA-256 of the trained parameters (see `hashing::sha256_state_dict`).
    pub parameters_sha256: String,
    /// SHA-256 of the checkpoint file's bytes.
    pub checkpoint_sha256: String,
    /// Wall times; the only part allowed to differ between reproductions.
    pub timings: Timings,
    /// The token vocabulary (text data only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<VocabularyRecord>,
    /// Members and per-stage metrics of an `[ensemble]`/`[prune]` run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<EnsembleRecord>,
    /// The language model's extra record (initial loss, generated sample).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_model: Option<LanguageModelRecord>,
}

/// One trained member of an ensemble.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// Its seed (initialisation, shuffles, dropout).
    pub seed: u64,
    /// Its training history.
    pub history: Vec<EpochRecord>,
    /// Its final parameters' SHA-256.
    pub parameters_sha256: String,
}

/// The test metrics after one step of the ensemble-and-prune flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    /// `trained`, `pruned`, or `finetuned`.
    pub stage: String,
    /// The target sparsity (0 for `trained`).
    pub sparsity: f64,
    /// Each member's measured weight sparsity (empty for `trained`).
    pub measured_sparsity: Vec<f64>,
    /// Each member's listed metrics.
    pub members: Vec<BTreeMap<String, f64>>,
    /// The ensemble's (averaged probabilities) loss and listed metrics.
    pub ensemble: BTreeMap<String, f64>,
}

/// The members and stages of an ensemble run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleRecord {
    /// The members in order.
    pub members: Vec<MemberRecord>,
    /// Every step, in order.
    pub stages: Vec<StageRecord>,
}

/// What a language-model run adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanguageModelRecord {
    /// Vocabulary size (the output classes).
    pub vocabulary_size: usize,
    /// Validation loss (nats/char) before training.
    pub initial_val_loss: f64,
    /// Optimizer steps taken.
    pub steps: u64,
    /// The prompt of the sample.
    pub prompt: String,
    /// The sampling temperature.
    pub temperature: f64,
    /// The generated text (prompt included), also in `sample.txt`.
    pub sample: String,
}

/// One epoch of training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// The learning rate used.
    pub learning_rate: f64,
    /// `loss`, `accuracy`, `val_loss`, ...
    pub metrics: BTreeMap<String, f64>,
}

/// Wall-clock measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Whole run, seconds.
    pub total_seconds: f64,
    /// Loading, splitting and scaling, seconds.
    pub data_seconds: f64,
    /// `fit`, seconds.
    pub train_seconds: f64,
    /// Training samples processed per second (epochs x training rows / train time).
    pub train_samples_per_second: f64,
    /// Test evaluation, seconds.
    pub eval_seconds: f64,
}

impl Results {
    /// Writes pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), ExperimentError> {
        let text = serde_json::to_string_pretty(self).map_err(ExperimentError::train)?;
        std::fs::write(path, text + "\n").map_err(|e| ExperimentError::io(path, e))
    }

    /// Reads a `results.json`.
    pub fn load(path: &Path) -> Result<Results, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| ExperimentError::Manifest {
            path: path.to_path_buf(),
            message: format!("not a results.json: {e}"),
        })
    }
}

/// The dotted paths where two results differ, skipping any path that starts with one of
/// `ignore` (e.g. `timings`, `environment`). Numbers compare by their exact JSON text, so any
/// bit of difference in an f64 shows.
pub fn differences(a: &Results, b: &Results, ignore: &[&str]) -> Vec<String> {
    let a = serde_json::to_value(a).unwrap_or(Value::Null);
    let b = serde_json::to_value(b).unwrap_or(Value::Null);
    let mut out = Vec::new();
    diff_values("", &a, &b, ignore, &mut out);
    out
}

fn diff_values(path: &str, a: &Value, b: &Value, ignore: &[&str], out: &mut Vec<String>) {
    if ignore
        .iter()
        .any(|i| path == *i || path.starts_with(&format!("{i}.")))
    {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = Value::Null;
                diff_values(
                    &join(k),
                    x.get(k).unwrap_or(&null),
                    y.get(k).unwrap_or(&null),
                    ignore,
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                diff_values(&join(&i.to_string()), u, v, ignore, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {} != {}", short(a), short(b))),
        _ => {}
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}...", &s[..77])
    } else {
        s
    }
}
