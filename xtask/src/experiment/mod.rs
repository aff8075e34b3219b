//! `cargo xtask experiment` and `cargo xtask verify`: reproducible training runs described by TOML
//! manifests in `experiments/`, recorded as `results.json` plus a checkpoint, SVG curves and a
//! Markdown summary (schemas in `docs/experiments.md`).
//!
//! Map:
//! - [`manifest`]: the manifest schema, loading and lookup; [`manifest_layers`]: the layer list.
//! - [`data`]: loading, splitting and scaling the data a manifest names; [`data_text`]: SST-2
//!   and character corpora; [`data_synthetic`]: `xor` and `linear_regression`.
//! - [`model`]: building the layer stack; [`network`]: the stack for token models.
//! - [`schedule`]: the `[schedule]` table; [`tasks`]: `[ensemble]`, `[prune]`,
//!   `[language_model]`; [`metrics`]: the `metrics` list.
//! - [`run`]: one run, end to end, inside a rayon pool; [`run_ensemble`] and [`run_lm`] for the
//!   ensemble-and-prune and language-model flows.
//! - [`results`]: the `results.json` document and the comparison used by `verify`.
//! - [`env_info`]: the environment record (versions, CPU, git).
//! - [`plots`]: the loss/accuracy SVG curves; [`summary`]: `summary.md`.
//! - [`cmd`]: the command-line drivers.

use std::path::{Path, PathBuf};

pub mod cmd;
pub mod data;
pub mod data_synthetic;
pub mod data_text;
pub mod env_info;
pub mod hashing;
pub mod manifest;
pub mod manifest_layers;
pub mod metrics;
pub mod model;
pub mod network;
pub mod plots;
pub mod results;
pub mod run;
pub mod run_ensemble;
pub mod run_lm;
pub mod schedule;
pub mod summary;
pub mod tasks;

/// Everything that can stop an experiment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExperimentError {
    /// A manifest that does not parse or validate.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No manifest has this name.
    #[error("no experiment named '{name}' (known: {})", known.join(", "))]
    UnknownExperiment {
        /// The name asked for.
        name: String,
        /// The shipped names.
        known: Vec<String>,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The data a manifest needs is missing or unusable.
    #[error("data: {0}")]
    Data(String),
    /// The model or training failed.
    #[error("training: {0}")]
    Train(String),
    /// A run did not reproduce (thread counts disagree, or `verify` found differences).
    #[error("not reproduced: {0}")]
    Mismatch(String),
}

impl ExperimentError {
    /// An I/O error at `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ExperimentError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps any library error as a training error.
    pub fn train(e: impl std::fmt::Display) -> Self {
        ExperimentError::Train(e.to_string())
    }

    /// Wraps any library error as a data error.
    pub fn data(e: impl std::fmt::Display) -> Self {
        ExperimentError::Data(e.to_string())
    }
}
