//! Manifest tables that change what a run does besides training one classifier: `[ensemble]`,
//! `[prune]` (several members, pruning and fine-tuning) and `[language_model]` (next-character
//! prediction, sampling).

use serde::{Deserialize, Serialize};

/// `[ensemble]`: train several copies of the model with different seeds and average their class
/// probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleSpec {
    /// How many members; member `i` (from 0) uses seed `seed + i` for initialisation, shuffles
    /// and dropout.
    pub members: usize,
}

/// How pruning picks the weights to zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PruneScopeSpec {
    /// One magnitude threshold over all weight matrices of a member.
    #[default]
    Global,
    /// Each weight matrix pruned to the target on its own.
    PerLayer,
}

/// `[prune]`: after training, magnitude-prune every member to each sparsity in turn, each step
/// followed by fine-tuning with the pruned weights held at zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneSpec {
    /// Target fractions of zeroed weights, increasing, each in (0, 1).
    pub sparsities: Vec<f64>,
    /// Fine-tuning epochs after each pruning step (0: none).
    pub finetune_epochs: usize,
    /// Global (default) or per-layer thresholds.
    #[serde(default)]
    pub scope: PruneScopeSpec,
    /// Also prune biases and other one-axis parameters.
    #[serde(default)]
    pub include_biases: bool,
}

/// `[language_model]`: train to predict the next character of `char_corpus` windows, report the
/// validation loss in nats per character and write a sampled text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageModelSpec {
    /// Clip the global gradient norm to this before each step (none when absent).
    #[serde(default)]
    pub clip_grad_norm: Option<f64>,
    /// The text the generator is warmed up on.
    pub prompt: String,
    /// Characters to generate after the prompt.
    pub sample_length: usize,
    /// Sampling temperature (> 0): logits are divided by it before the softmax.
    pub temperature: f64,
}

impl PruneSpec {
    /// Checks the sparsities.
    pub fn validate(&self) -> Result<(), String> {
        if self.sparsities.is_empty() {
            return Err("prune.sparsities is empty".into());
        }
        if self
            .sparsities
            .iter()
            .any(|s| !(s.is_finite() && *s > 0.0 && *s < 1.0))
        {
            return Err(format!(
                "prune.sparsities {:?}: each must be in (0, 1)",
                self.sparsities
            ));
        }
        if self.sparsities.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "prune.sparsities {:?} must increase (a later step keeps the earlier zeros)",
                self.sparsities
            ));
        }
        Ok(())
    }
}

impl LanguageModelSpec {
    /// Checks the sampling settings.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!(
                "language_model.temperature = {} must be > 0",
                self.temperature
            ));
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c.is_finite() && c > 0.0) {
                return Err(format!("language_model.clip_grad_norm = {c} must be > 0"));
            }
        }
        if self.prompt.is_empty() {
            return Err("language_model.prompt is empty (generation starts from it)".into());
        }
        Ok(())
    }
}
