//! Experiment manifests: the TOML files in `experiments/` that describe a whole run (data, split,
//! preprocessing, model, optimizer, loss, epochs, seed, threads). Unknown keys are refused so a typo
//! never silently changes an experiment.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use super::manifest_layers::{Activation, LayerSpec};
use super::metrics::{self, Task};
use super::schedule::ScheduleSpec;
use super::tasks::{EnsembleSpec, LanguageModelSpec, PruneSpec};
use super::ExperimentError;

/// The manifest of the default experiment (`cargo xtask experiment` with no name).
pub const DEFAULT_EXPERIMENT: &str = "tabular-csv";

/// One experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Name, equal to the file stem (`tabular-csv` for `experiments/tabular-csv.toml`).
    pub name: String,
    /// One line saying what the experiment shows.
    pub description: String,
    /// Rough wall time of a release run on one core, for `--list`.
    #[serde(default)]
    pub estimated_seconds: Option<f64>,
    /// Where the samples come from.
    pub data: DataSpec,
    /// How the samples are split into train and test.
    #[serde(default)]
    pub split: SplitSpec,
    /// Feature preprocessing fitted on the training part.
    #[serde(default)]
    pub preprocessing: Preprocessing,
    /// The network.
    pub model: ModelSpec,
    /// The optimizer.
    pub optimizer: OptimizerSpec,
    /// The training loss.
    pub loss: LossSpec,
    /// Passes over the training data.
    pub epochs: usize,
    /// Samples per optimizer step.
    pub batch_size: usize,
    /// Fraction of the training part held out for validation each epoch (0 = none).
    #[serde(default)]
    pub validation_fraction: f64,
    /// The seed of every random choice of the run (initialisation, validation split, shuffles).
    pub seed: u64,
    /// Threads of the rayon pool the run executes in (results do not depend on it).
    #[serde(default = "one")]
    pub threads: usize,
    /// Metrics reported besides the loss, exactly these (see [`Task::allowed`]).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// A learning-rate schedule (the optimizer's `lr` is used when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleSpec>,
    /// Train several members and average them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensemble: Option<EnsembleSpec>,
    /// Prune the trained members and fine-tune them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<PruneSpec>,
    /// Next-character language modelling (with `data.kind = "char_corpus"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_model: Option<LanguageModelSpec>,
}

fn one() -> usize {
    1
}

/// The data source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSpec {
    /// A scikit-learn bundled CSV (first line `n_samples,n_features,class names...`; last column
    /// the class index).
    SklearnCsv {
        /// Path relative to the workspace root.
        #[serde(default)]
        path: Option<String>,
        /// Registry dataset name (with `file`), located in `datasets/` or the fetch cache.
        #[serde(default)]
        dataset: Option<String>,
        /// File inside the registry dataset.
        #[serde(default)]
        file: Option<String>,
    },
    /// A CSV with a header; `target` names the target column.
    Csv {
        /// Path relative to the workspace root.
        #[serde(default)]
        path: Option<String>,
        /// Registry dataset name (with `file`), located in `datasets/` or the fetch cache.
        #[serde(default)]
        dataset: Option<String>,
        /// File inside the registry dataset.
        #[serde(default)]
        file: Option<String>,
        /// The target column's name.
        target: String,
        /// True when the target is a class label (else a regression value).
        #[serde(default)]
        classification: bool,
    },
    /// MNIST from the fetch cache (`cargo xtask fetch mnist`); its own train/test split is used.
    Mnist {
        /// Images as `[n, 784]` (false) or `[n, 1, 28, 28]` (true).
        #[serde(default)]
        channels: bool,
        /// Use only the first N training images (all when absent).
        #[serde(default)]
        train_limit: Option<usize>,
        /// Use only the first N test images (all when absent).
        #[serde(default)]
        test_limit: Option<usize>,
    },
    /// The XOR problem: the four corners of the unit square, repeated with seeded Gaussian noise.
    Xor {
        /// Samples.
        samples: usize,
        /// Standard deviation of the noise added to each coordinate.
        noise: f64,
    },
    /// `y = w . x + b + noise` with seeded Gaussian `x` and fixed weights `w_i = i + 1`, `b = 0.5`.
    LinearRegression {
        /// Samples.
        samples: usize,
        /// Features.
        features: usize,
        /// Standard deviation of the target noise.
        noise: f64,
    },
    /// SST-2 from the fetch cache (`cargo xtask fetch sst2`): `train.tsv` trains, `dev.tsv`
    /// tests. Sentences become word ids (a vocabulary built on the training part), truncated to
    /// `max_len` and padded with `PAD_ID` (models drop all-padding columns per batch).
    Sst2 {
        /// Use only the first N training phrases (all 67,349 when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        train_limit: Option<usize>,
        /// Use only the first N dev sentences (all 872 when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dev_limit: Option<usize>,
        /// Tokens kept per sentence.
        max_len: usize,
        /// Vocabulary size including `<pad>` and `<unk>` (unbounded when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vocab_size: Option<usize>,
        /// Words seen fewer times in the training part map to `<unk>`.
        #[serde(default = "one")]
        min_count: usize,
    },
    /// A character corpus (`dataset` + `file` from the registry, or `path`): the first
    /// `train_fraction` of the characters train, the rest validate. Needs `[language_model]`.
    CharCorpus {
        /// Path relative to the workspace root.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// Registry dataset name (with `file`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dataset: Option<String>,
        /// File inside the registry dataset.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// Fraction of the characters (a prefix) used for training.
        train_fraction: f64,
        /// Characters per training window (targets are the next characters).
        seq_len: usize,
        /// Windows drawn at seeded random offsets of the training part per epoch.
        train_windows: usize,
        /// Fixed seeded windows of the validation part the loss is measured on.
        eval_windows: usize,
        /// Use only the first N characters of the file (all when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        char_limit: Option<usize>,
    },
}

/// The train/test split (ignored for datasets with an official split, such as MNIST).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// Fraction of rows in the test part (`ceil(fraction * n)` rows, as scikit-learn).
    pub test_fraction: f64,
    /// Keep the class proportions in both parts.
    #[serde(default)]
    pub stratify: bool,
    /// The split's seed.
    pub seed: u64,
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec {
            test_fraction: 0.2,
            stratify: false,
            seed: 42,
        }
    }
}

/// Feature preprocessing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preprocessing {
    /// Features as read.
    #[default]
    None,
    /// Zero mean, unit variance per feature, fitted on the training part.
    StandardScaler,
    /// Each feature mapped to `[0, 1]`, fitted on the training part.
    Minmax,
}

/// The network: an input shape and a stack of layers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The shape of one sample (checked against the data when given).
    #[serde(default)]
    pub input_shape: Option<Vec<usize>>,
    /// The layers, first to last.
    pub layers: Vec<LayerSpec>,
}

/// The optimizer: a kind and PyTorch-named hyper-parameters (defaults are PyTorch's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSpec {
    /// `sgd`, `adam`, `adamw` or `rmsprop`.
    pub kind: String,
    /// Learning rate.
    pub lr: f64,
    /// SGD/RMSprop momentum.
    #[serde(default)]
    pub momentum: Option<f64>,
    /// Weight decay.
    #[serde(default)]
    pub weight_decay: Option<f64>,
    /// Adam's first-moment decay.
    #[serde(default)]
    pub beta1: Option<f64>,
    /// Adam's second-moment decay.
    #[serde(default)]
    pub beta2: Option<f64>,
    /// Adam/RMSprop epsilon.
    #[serde(default)]
    pub eps: Option<f64>,
}

/// The loss, by Keras name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossSpec {
    /// Binary cross-entropy on a sigmoid output `[n, 1]`.
    BinaryCrossentropy,
    /// Cross-entropy from logits `[n, C]` and class indices.
    SparseCategoricalCrossentropy,
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
}

impl LossSpec {
    /// True for regression losses.
    pub fn is_regression(self) -> bool {
        matches!(self, LossSpec::Mse | LossSpec::Mae)
    }
}

impl Manifest {
    /// Parses manifest text; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, ExperimentError> {
        let m: Manifest = toml::from_str(text).map_err(|e| ExperimentError::Manifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        m.validate().map_err(|message| ExperimentError::Manifest {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(m)
    }

    /// Reads a manifest file.
    pub fn load(path: &Path) -> Result<Manifest, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|e| ExperimentError::io(path, e))?;
        Self::parse(&text, path)
    }

    /// Checks the values serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 || self.batch_size == 0 || self.threads == 0 {
            return Err("epochs, batch_size and threads must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err("validation_fraction must be in [0, 1)".into());
        }
        if !(self.split.test_fraction > 0.0 && self.split.test_fraction < 1.0) {
            return Err("split.test_fraction must be in (0, 1)".into());
        }
        if self.model.layers.is_empty() {
            return Err("model.layers is empty".into());
        }
        let lm = matches!(self.data, DataSpec::CharCorpus { .. });
        match (&self.language_model, lm) {
            (Some(spec), true) => spec.validate()?,
            (None, false) => {}
            (Some(_), false) => {
                return Err("[language_model] needs data.kind = \"char_corpus\"".into())
            }
            (None, true) => {
                return Err("data.kind = \"char_corpus\" needs a [language_model] table".into())
            }
        }
        if lm && self.loss != LossSpec::SparseCategoricalCrossentropy {
            return Err("a language model's loss must be sparse_categorical_crossentropy".into());
        }
        if let DataSpec::CharCorpus {
            train_fraction,
            seq_len,
            train_windows,
            eval_windows,
            ..
        } = &self.data
        {
            if !(*train_fraction > 0.0 && *train_fraction < 1.0) {
                return Err("data.train_fraction must be in (0, 1)".into());
            }
            if *seq_len == 0 || *train_windows == 0 || *eval_windows == 0 {
                return Err(
                    "data.seq_len, train_windows and eval_windows must be at least 1".into(),
                );
            }
        }
        if let Some(e) = &self.ensemble {
            if e.members == 0 {
                return Err("ensemble.members must be at least 1".into());
            }
        }
        if let Some(p) = &self.prune {
            p.validate()?;
        }
        if (self.ensemble.is_some() || self.prune.is_some()) && self.task() != Task::Classification
        {
            return Err("[ensemble] and [prune] need a classification loss".into());
        }
        metrics::check(self.task(), &self.metrics)
    }

    /// What the run predicts (from the loss and `[language_model]`).
    pub fn task(&self) -> Task {
        if self.language_model.is_some() {
            Task::LanguageModel
        } else if self.loss.is_regression() {
            Task::Regression
        } else {
            Task::Classification
        }
    }

    /// The manifest as canonical JSON (the form stored in results and hashed).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// SHA-256 of the canonical JSON text.
    pub fn sha256(&self) -> String {
        super::hashing::sha256_hex(self.to_json().to_string().as_bytes())
    }
}

/// The folder holding the shipped manifests: `<workspace>/experiments`.
pub fn manifests_dir(workspace: &Path) -> PathBuf {
    workspace.join("experiments")
}

/// Every manifest in `dir`, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<Manifest>, ExperimentError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ExperimentError::io(dir, e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    paths.iter().map(|p| load_named(p)).collect()
}

/// Loads a manifest and checks that its name equals its file stem.
pub fn load_named(path: &Path) -> Result<Manifest, ExperimentError> {
    let m = Manifest::load(path)?;
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if m.name != stem {
        return Err(ExperimentError::Manifest {
            path: path.to_path_buf(),
            message: format!("name '{}' differs from the file name '{stem}'", m.name),
        });
    }
    Ok(m)
}

/// Finds a manifest by name (or by path, when `name` ends in `.toml`).
pub fn find(workspace: &Path, name: &str) -> Result<Manifest, ExperimentError> {
    if name.ends_with(".toml") {
        return Manifest::load(Path::new(name));
    }
    let path = manifests_dir(workspace).join(format!("{name}.toml"));
    if path.exists() {
        return load_named(&path);
    }
    let known = load_all(&manifests_dir(workspace))
        .map(|all| all.into_iter().map(|m| m.name).collect::<Vec<_>>())
        .unwrap_or_default();
    Err(ExperimentError::UnknownExperiment {
        name: name.to_string(),
        known,
    })
}
