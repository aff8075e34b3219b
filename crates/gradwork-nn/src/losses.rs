//! Loss functions: thin, documented wrappers over the fused, numerically stable losses of
//! [`gradwork_autodiff::loss`], under the names Keras users know, plus a [`Loss`] value so a
//! configuration can pick one.
//!
//! Reductions follow PyTorch: the elementwise losses ([`mse`], [`mae`], [`binary_cross_entropy`],
//! [`binary_cross_entropy_with_logits`]) average over **all elements**; the class losses
//! ([`categorical_cross_entropy`], [`sparse_categorical_cross_entropy`]) average over the
//! **batch** `N`.
//!
//! ```
//! use gradwork_autodiff::{Graph, Var};
//! use gradwork_nn::losses::{sparse_categorical_cross_entropy, Reduction};
//! use gradwork_tensor::Tensor;
//!
//! let graph = Graph::new();
//! let logits = graph.leaf(Tensor::from_vec(vec![2.0, 0.5, -1.0, 0.0, 0.0, 3.0], &[2, 3]));
//! let loss = sparse_categorical_cross_entropy(&logits, &[0, 2], Reduction::Mean).unwrap();
//! assert!(loss.value().item() > 0.0);
//! let grads = graph.backward(&loss).unwrap();
//! assert_eq!(grads.get(&logits).unwrap().shape(), &[2, 3]);
//! ```

use gradwork_autodiff::{loss, Var};
use gradwork_tensor::Tensor;

use crate::error::{NnError, Result};

pub use gradwork_autodiff::Reduction;

/// Mean squared error `(x - t)^2` (Keras' `mse`, PyTorch's `mse_loss`). `target` has the
/// prediction's shape.
pub fn mse(prediction: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    Ok(loss::try_mse_loss(prediction, target, reduction)?)
}

/// Mean absolute error `|x - t|` (Keras' `mae`, PyTorch's `l1_loss`); the gradient at `x = t`
/// is 0.
pub fn mae(prediction: &Var, target: &Tensor, reduction: Reduction) -> Result<Var> {
    Ok(loss::try_l1_loss(prediction, target, reduction)?)
}

/// Binary cross-entropy from **probabilities** in `[0, 1]` (after a sigmoid):
/// `-(t ln p + (1 - t) ln(1 - p))`, each log clamped at `-100` as PyTorch does, so a
/// saturated prediction costs 100 instead of infinity. Targets may be soft. A probability
/// outside `[0, 1]` is an error. Prefer [`binary_cross_entropy_with_logits`].
pub fn binary_cross_entropy(
    probabilities: &Var,
    target: &Tensor,
    reduction: Reduction,
) -> Result<Var> {
    Ok(loss::try_binary_cross_entropy(
        probabilities,
        target,
        reduction,
    )?)
}

/// Binary cross-entropy from **logits** (no sigmoid before it):
/// `max(x, 0) - x t + ln(1 + e^{-|x|})`, finite for any logit.
pub fn binary_cross_entropy_with_logits(
    logits: &Var,
    target: &Tensor,
    reduction: Reduction,
) -> Result<Var> {
    Ok(loss::try_binary_cross_entropy_with_logits(
        logits, target, reduction,
    )?)
}

/// Categorical cross-entropy from **logits** `[N, C]` (no softmax before it) and one-hot (or
/// soft) target rows `[N, C]`: `-Σ_c t_c log_softmax(x)_c` per sample; `Mean` divides by `N`.
/// This is Keras' `categorical_crossentropy(from_logits=True)`; for a model ending in a softmax
/// see [`categorical_cross_entropy_from_probabilities`].
pub fn categorical_cross_entropy(
    logits: &Var,
    one_hot: &Tensor,
    reduction: Reduction,
) -> Result<Var> {
    Ok(loss::try_cross_entropy_with_probs(
        logits, one_hot, reduction,
    )?)
}

/// The floor Keras puts under probabilities before the log.
const PROBABILITY_FLOOR: f32 = 1e-7;

/// Categorical cross-entropy from **probabilities** `[N, C]` (a model ending in a softmax, as
/// in Keras' default): `-Σ_c t_c ln(max(p_c, 1e-7))` per sample; `Mean` divides by `N`. Less
/// accurate than [`categorical_cross_entropy`] on logits, which should be preferred.
pub fn categorical_cross_entropy_from_probabilities(
    probabilities: &Var,
    one_hot: &Tensor,
    reduction: Reduction,
) -> Result<Var> {
    let shape = probabilities.shape();
    if shape.len() != 2 || one_hot.shape() != shape {
        return Err(NnError::BadInput {
            layer: "categorical_cross_entropy_from_probabilities".into(),
            expected: format!(
                "probabilities [N, C] and a target of the same shape (target {:?})",
                one_hot.shape()
            ),
            got: shape.to_vec(),
        });
    }
    let total = probabilities
        .clamp(PROBABILITY_FLOOR, 1.0)
        .ln()
        .try_mul(&Var::constant(one_hot.clone()))?
        .sum_all()
        .neg();
    Ok(match reduction {
        Reduction::Mean => total.div_scalar(shape[0].max(1) as f32),
        Reduction::Sum => total,
    })
}

/// Sparse categorical cross-entropy from **logits** `[N, C]` and `N` class indices (Keras'
/// `sparse_categorical_crossentropy(from_logits=True)`, PyTorch's `cross_entropy`). An index
/// `>= C` is an error naming it.
pub fn sparse_categorical_cross_entropy(
    logits: &Var,
    classes: &[usize],
    reduction: Reduction,
) -> Result<Var> {
    Ok(loss::try_cross_entropy_with_logits(
        logits, classes, reduction,
    )?)
}

/// A loss chosen at run time (e.g. from a configuration file), with its reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Loss {
    /// [`mse`].
    MeanSquaredError(Reduction),
    /// [`mae`].
    MeanAbsoluteError(Reduction),
    /// [`binary_cross_entropy`] (the prediction is a probability).
    BinaryCrossEntropy(Reduction),
    /// [`binary_cross_entropy_with_logits`].
    BinaryCrossEntropyWithLogits(Reduction),
    /// [`categorical_cross_entropy`] (logits, one-hot targets).
    CategoricalCrossEntropy(Reduction),
    /// [`sparse_categorical_cross_entropy`] (logits; the target tensor holds class indices as
    /// `f32`, one per row).
    SparseCategoricalCrossEntropy(Reduction),
}

impl Loss {
    /// The loss of `prediction` against `target`.
    ///
    /// For [`Loss::SparseCategoricalCrossEntropy`] `target` holds the `N` class indices as
    /// non-negative integers stored in `f32`; anything else is an error.
    pub fn compute(&self, prediction: &Var, target: &Tensor) -> Result<Var> {
        match *self {
            Loss::MeanSquaredError(r) => mse(prediction, target, r),
            Loss::MeanAbsoluteError(r) => mae(prediction, target, r),
            Loss::BinaryCrossEntropy(r) => binary_cross_entropy(prediction, target, r),
            Loss::BinaryCrossEntropyWithLogits(r) => {
                binary_cross_entropy_with_logits(prediction, target, r)
            }
            Loss::CategoricalCrossEntropy(r) => categorical_cross_entropy(prediction, target, r),
            Loss::SparseCategoricalCrossEntropy(r) => {
                let classes = class_indices(target)?;
                sparse_categorical_cross_entropy(prediction, &classes, r)
            }
        }
    }
}

/// Class indices stored as `f32`, checked to be non-negative integers.
pub fn class_indices(target: &Tensor) -> Result<Vec<usize>> {
    target
        .to_vec()
        .into_iter()
        .enumerate()
        .map(|(position, v)| {
            if v >= 0.0 && v.fract() == 0.0 && v < 16_777_216.0 {
                Ok(v as usize)
            } else {
                Err(NnError::BadInput {
                    layer: "sparse_categorical_cross_entropy".into(),
                    expected: format!(
                        "class indices as non-negative integers, but found {v} at position {position}"
                    ),
                    got: target.shape().to_vec(),
                })
            }
        })
        .collect()
}
