//! The losses `fit` can optimise, computed from the model output and the batch targets.

use gradwork_autodiff::Var;
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
        let n = output.shape().first().copied().unwrap_or(1).max(1) as f32;
        Ok(match self {
            Loss::SparseCategoricalCrossEntropy => {
                let Targets::Classes(classes) = targets else {
                    return Err(TrainError::Data(
                        "sparse categorical cross-entropy needs class indices".into(),
                    ));
                };
                let c = output.shape().get(1).copied().unwrap_or(0);
                let one_hot = Tensor::try_one_hot(classes, c)?;
                output
                    .try_log_softmax(1)?
                    .mul(&Var::constant(one_hot))
                    .sum_all()
                    .mul_scalar(-1.0 / n)
            }
            Loss::CategoricalCrossEntropy => {
                let t = value_targets("categorical cross-entropy")?;
                output
                    .try_log_softmax(1)?
                    .mul(&Var::constant(t))
                    .sum_all()
                    .mul_scalar(-1.0 / n)
            }
            Loss::BinaryCrossEntropy => {
                let t = value_targets("binary cross-entropy")?;
                let one_minus_t = Var::constant(t.map(|v| 1.0 - v));
                let t = Var::constant(t);
                // Logs clamped at -100, as PyTorch, so a saturated probability costs 100, not inf.
                let log_p = output.ln().maximum(&Var::constant(Tensor::scalar(-100.0)));
                let log_1mp = output
                    .neg()
                    .add_scalar(1.0)
                    .ln()
                    .maximum(&Var::constant(Tensor::scalar(-100.0)));
                (t.mul(&log_p) + one_minus_t.mul(&log_1mp)).mean_all().neg()
            }
            Loss::BinaryCrossEntropyWithLogits => {
                let t = Var::constant(value_targets("binary cross-entropy")?);
                // max(x, 0) - x t + log(1 + exp(-|x|)): never overflows.
                let softplus = output.abs().neg().exp().add_scalar(1.0).ln();
                (output.relu() - output.mul(&t) + softplus).mean_all()
            }
            Loss::MeanSquaredError => {
                let t = Var::constant(value_targets("mse")?);
                output.sub(&t).square().mean_all()
            }
            Loss::MeanAbsoluteError => {
                let t = Var::constant(value_targets("mae")?);
                output.sub(&t).abs().mean_all()
            }
        })
    }
}
