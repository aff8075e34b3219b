//! The losses `fit` can optimise, computed from the model output and the batch targets with the
//! fused, numerically stable losses of `gradwork-nn`.

use gradwork_autodiff::{Reduction, Var};
use gradwork_tensor::Tensor;

use crate::dataset::Targets;
use crate::error::{Result, TrainError};

/// A training loss (Keras' names). Every variant reduces with the mean over the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Cross-entropy from logits `[n, C]` and class indices.
    SparseCategoricalCrossEntropy,
    /// Cross-entropy from logits `[n, C]` and one-hot (or probability) targets `[n, C]`.
    CategoricalCrossEntropy,
    /// Binary cross-entropy from probabilities `[n, 1]` (a sigmoid output layer) and 0/1 targets.
    BinaryCrossEntropy,
    /// Binary cross-entropy from logits `[n, 1]` and 0/1 targets (numerically safer).
    BinaryCrossEntropyWithLogits,
    /// Mean squared error.
    MeanSquaredError,
    /// Mean absolute error.
    MeanAbsoluteError,
}

impl Loss {
    /// The loss's name in logs.
    pub fn name(self) -> &'static str {
        match self {
            Loss::SparseCategoricalCrossEntropy => "sparse_categorical_crossentropy",
            Loss::CategoricalCrossEntropy => "categorical_crossentropy",
            Loss::BinaryCrossEntropy => "binary_crossentropy",
            Loss::BinaryCrossEntropyWithLogits => "binary_crossentropy_with_logits",
            Loss::MeanSquaredError => "mse",
            Loss::MeanAbsoluteError => "mae",
        }
    }

    /// True for losses whose model output is a logit (so probabilities need a softmax/sigmoid).
    pub fn takes_logits(self) -> bool {
        matches!(
            self,
            Loss::SparseCategoricalCrossEntropy
                | Loss::CategoricalCrossEntropy
                | Loss::BinaryCrossEntropyWithLogits
        )
    }

    /// The mean loss of `output` against `targets`.
    pub fn compute(self, output: &Var, targets: &Targets) -> Result<Var> {
        let value_targets = |op: &str| -> Result<Tensor> {
            let t = match targets {
                Targets::Values(t) => t.clone(),
                Targets::Classes(c) if output.shape().len() == 2 && output.shape()[1] == 1 => {
                    Tensor::from_vec(c.iter().map(|&c| c as f32).collect(), &[c.len(), 1])
                }
                Targets::Classes(_) => {
                    return Err(TrainError::Data(format!(
                        "{op} needs value targets shaped like the output {:?}",
                        output.shape()
                    )))
                }
            };
            if t.shape() != output.shape() {
                return Err(TrainError::Data(format!(
                    "{op}: targets have shape {:?} but the model output has shape {:?}",
                    t.shape(),
                    output.shape()
                )));
            }
            Ok(t)
        };
        use gradwork_nn::losses as nn_loss;
        let mean = Reduction::Mean;
        Ok(match self {
            Loss::SparseCategoricalCrossEntropy => {
                let Targets::Classes(classes) = targets else {
                    return Err(TrainError::Data(
                        "sparse categorical cross-entropy needs class indices (Targets::Classes)"
                            .into(),
                    ));
                };
                nn_loss::sparse_categorical_cross_entropy(output, classes, mean)?
            }
            Loss::CategoricalCrossEntropy => nn_loss::categorical_cross_entropy(
                output,
                &value_targets("categorical cross-entropy")?,
                mean,
            )?,
            Loss::BinaryCrossEntropy => nn_loss::binary_cross_entropy(
                output,
                &value_targets("binary cross-entropy")?,
                mean,
            )?,
            Loss::BinaryCrossEntropyWithLogits => nn_loss::binary_cross_entropy_with_logits(
                output,
                &value_targets("binary cross-entropy")?,
                mean,
            )?,
            Loss::MeanSquaredError => nn_loss::mse(output, &value_targets("mse")?, mean)?,
            Loss::MeanAbsoluteError => nn_loss::mae(output, &value_targets("mae")?, mean)?,
        })
    }
}
