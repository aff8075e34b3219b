//! Magnitude pruning: zero the smallest weights to reach a target sparsity, globally or per
//! layer, and keep them zero while fine-tuning.
//!
//! [`magnitude_prune`] ranks weights by `|w|` and zeroes the smallest, returning a 0/1 mask per
//! pruned parameter, keyed by its dotted path. Optimizers know nothing of masks, so call
//! [`apply_masks`] after every optimizer step: it re-zeroes the pruned weights, which therefore
//! stay exactly zero during fine-tuning. Calling [`magnitude_prune`] again with a higher target
//! (iterative pruning) keeps the earlier zeros, since they rank smallest.
//!
//! ```
//! use gradwork_nn::prune::{apply_masks, magnitude_prune, PruneConfig};
//! use gradwork_nn::{layers::Linear, Module};
//! use gradwork_tensor::Rng;
//!
//! let mut layer = Linear::new(10, 10, &mut Rng::seed_from(0));
//! let masks = magnitude_prune(&mut layer, &PruneConfig::global(0.7)).unwrap();
//! assert_eq!(masks.pruned(), 70); // the weight only: biases are kept by default
//! assert_eq!(masks.sparsity(), 0.7);
//! // ... an optimizer step changes the weights, then:
//! layer.weight.data_mut().iter_mut().for_each(|w| *w += 0.1);
//! apply_masks(&mut layer, &masks).unwrap();
//! assert_eq!(layer.weight.value().to_vec().iter().filter(|w| **w == 0.0).count(), 70);
//! ```

use std::collections::BTreeMap;

use gradwork_tensor::Tensor;

use crate::error::{NnError, Result};
use crate::module::Module;

/// Whether the target sparsity applies to all selected weights together or to each tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneScope {
    /// One threshold over every selected weight (layers end up with different sparsities).
    Global,
    /// Each selected tensor is pruned to the target on its own.
    PerLayer,
}

/// What to prune and how much.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PruneConfig {
    /// The fraction of selected weights to zero, in `[0, 1]`. The count is
    /// `round(sparsity * n)` (PyTorch's `l1_unstructured` rule).
    pub sparsity: f64,
    /// Global or per layer.
    pub scope: PruneScope,
    /// Also prune one-axis parameters (biases, normalisation scales). Default: false, so only
    /// weight matrices and kernels (two or more axes) are pruned.
    pub include_biases: bool,
}

impl PruneConfig {
    /// Global pruning of the weight matrices to `sparsity`.
    pub fn global(sparsity: f64) -> Self {
        PruneConfig {
            sparsity,
            scope: PruneScope::Global,
            include_biases: false,
        }
    }

    /// Per-layer pruning of the weight matrices to `sparsity`.
    pub fn per_layer(sparsity: f64) -> Self {
        PruneConfig {
            scope: PruneScope::PerLayer,
            ..Self::global(sparsity)
        }
    }

    /// With or without biases and other one-axis parameters.
    pub fn with_biases(self, include_biases: bool) -> Self {
        PruneConfig {
            include_biases,
            ..self
        }
    }
}

/// 0/1 masks (1 = kept) by parameter path, as returned by [`magnitude_prune`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneMasks {
    masks: BTreeMap<String, Tensor>,
}

impl PruneMasks {
    /// The mask of the parameter at `path`, if it is pruned.
    pub fn get(&self, path: &str) -> Option<&Tensor> {
        self.masks.get(path)
    }

    /// (path, mask) pairs in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Tensor)> {
        self.masks.iter()
    }

    /// The number of masked parameters.
    pub fn len(&self) -> usize {
        self.masks.len()
    }

    /// True when no parameter is masked.
    pub fn is_empty(&self) -> bool {
        self.masks.is_empty()
    }

    /// The number of pruned (zero-mask) elements.
    pub fn pruned(&self) -> usize {
        self.masks.values().map(count_zeros).sum()
    }

    /// The number of elements under a mask.
    pub fn total(&self) -> usize {
        self.masks.values().map(Tensor::numel).sum()
    }

    /// The actual fraction of masked elements that are pruned (0 when nothing is masked).
    pub fn sparsity(&self) -> f64 {
        ratio(self.pruned(), self.total())
    }

    /// The actual pruned fraction of the parameter at `path`.
    pub fn layer_sparsity(&self, path: &str) -> Option<f64> {
        self.masks
            .get(path)
            .map(|m| ratio(count_zeros(m), m.numel()))
    }
}

fn count_zeros(t: &Tensor) -> usize {
    t.to_vec().iter().filter(|v| **v == 0.0).count()
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Zeroes the smallest-magnitude weights of `model` to reach `config.sparsity` and returns the
/// masks. Ties in `|w|` are broken deterministically: the parameter visited first, then the
/// lower flat index, is pruned first.
pub fn magnitude_prune(model: &mut dyn Module, config: &PruneConfig) -> Result<PruneMasks> {
    if !(0.0..=1.0).contains(&config.sparsity) {
        return Err(NnError::InvalidConfig {
            layer: "magnitude_prune",
            reason: format!("sparsity must be in [0, 1], got {}", config.sparsity),
        });
    }
    let mut selected: Vec<(String, Tensor)> = Vec::new();
    model.visit_params("", &mut |path, p| {
        if config.include_biases || p.value().shape().len() >= 2 {
            selected.push((path.to_string(), p.value().contiguous()));
        }
    });
    let mut keep: Vec<Vec<f32>> = selected.iter().map(|(_, t)| vec![1.0; t.numel()]).collect();
    let count = |n: usize| (config.sparsity * n as f64).round() as usize;
    match config.scope {
        PruneScope::Global => {
            let mut order: Vec<(f32, usize, usize)> = Vec::new();
            for (which, (_, t)) in selected.iter().enumerate() {
                order.extend(
                    t.to_vec()
                        .iter()
                        .enumerate()
                        .map(|(i, w)| (w.abs(), which, i)),
                );
            }
            let k = count(order.len());
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            for &(_, which, i) in &order[..k] {
                keep[which][i] = 0.0;
            }
        }
        PruneScope::PerLayer => {
            for (which, (_, t)) in selected.iter().enumerate() {
                let mut order: Vec<(f32, usize)> =
                    t.to_vec().iter().map(|w| w.abs()).zip(0..).collect();
                let k = count(order.len());
                order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for &(_, i) in &order[..k] {
                    keep[which][i] = 0.0;
                }
            }
        }
    }
    let mut masks = PruneMasks::default();
    for ((path, t), mask) in selected.into_iter().zip(keep) {
        masks
            .masks
            .insert(path, Tensor::try_from_vec(mask, t.shape())?);
    }
    apply_masks(model, &masks)?;
    Ok(masks)
}

/// Sets every pruned weight of `model` back to exactly zero. Call it after each optimizer step
/// while fine-tuning a pruned model. A mask whose path is not a parameter of `model`, or whose
/// shape differs, is an error and nothing is changed.
pub fn apply_masks(model: &mut dyn Module, masks: &PruneMasks) -> Result<()> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    model.visit_params("", &mut |path, p| {
        if let Some(mask) = masks.get(path) {
            found.push(path.to_string());
            if mask.shape() != p.value().shape() {
                problems.push(format!(
                    "{path}: mask shape {:?}, parameter shape {:?}",
                    mask.shape(),
                    p.value().shape()
                ));
            }
        }
    });
    for path in masks.masks.keys().filter(|k| !found.contains(k)) {
        problems.push(format!("{path}: no such parameter in the model"));
    }
    if !problems.is_empty() {
        return Err(NnError::InvalidConfig {
            layer: "apply_masks",
            reason: problems.join("; "),
        });
    }
    model.visit_params_mut("", &mut |path, p| {
        if let Some(mask) = masks.get(path) {
            for (w, m) in p.data_mut().iter_mut().zip(mask.to_vec()) {
                if m == 0.0 {
                    *w = 0.0;
                }
            }
        }
    });
    Ok(())
}

/// The fraction of exactly-zero elements in the masked parameters of `model` as they are now
/// (after training steps, this shows whether [`apply_masks`] was called).
pub fn measured_sparsity(model: &dyn Module, masks: &PruneMasks) -> f64 {
    let (mut zeros, mut total) = (0, 0);
    model.visit_params("", &mut |path, p| {
        if masks.get(path).is_some() {
            zeros += count_zeros(p.value());
            total += p.numel();
        }
    });
    ratio(zeros, total)
}
